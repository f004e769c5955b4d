#!/usr/bin/env bash
# The main job on the embedded synthetic data: generate synthetic CIHP, visualize its ground truth,
# train + evaluate the quick Parsing R-CNN and PGN schedules (learning curves as PNG), render
# predictions with apply_net (panels: input | parts | people), print the results and picture paths.
# Usage: scripts/demo.sh [OUTPUT_DIR]   (environment: DEMO_MODELS="parsing_rcnn pgn")
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-output/demo}
PY=.venv/bin/python
MODELS=${DEMO_MODELS:-"parsing_rcnn pgn"}
export HUMAN_PARSING_DATASETS=${HUMAN_PARSING_DATASETS:-$OUT/datasets}
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore::FutureWarning}
mkdir -p "$OUT"
start=$(date +%s)
say() { echo "[demo $(( $(date +%s) - start ))s] $*"; }

# --person-scale 1.8: CIHP-like framing (about 25% person pixels; the default scale gives 8%);
# 800 training images (~20 CPU-s to generate): 4 epochs of the quick schedules instead of 18-20
say "synthetic CIHP data -> $HUMAN_PARSING_DATASETS/synthetic/cihp"
for split_n in "train 800" "val 32"; do
  set -- $split_n
  $PY tools/make_synthetic_dataset.py --layout cihp --split "$1" --num-images "$2" --person-scale 1.8 \
      --out "$HUMAN_PARSING_DATASETS/synthetic/cihp"
done

say "ground-truth visualizations -> $OUT/gt_vis"
$PY tools/visualize_data.py --dataset synthetic_cihp_val --num 4 --vis panel --output "$OUT/gt_vis"

VAL_IMAGES="$HUMAN_PARSING_DATASETS/synthetic/cihp/Validation/Images/100000[1-4].jpg"
for model in $MODELS; do
  case $model in
    parsing_rcnn) cfg=configs/quick_schedules/parsing_rcnn_R_18_FPN_synthetic.yaml ;;
    pgn) cfg=configs/quick_schedules/pgn_R_18_synthetic.yaml ;;
    *) echo "unknown model $model" >&2; exit 2 ;;
  esac
  if [ -f "$OUT/$model/model_final.pth" ]; then
    say "$model: already trained ($OUT/$model/model_final.pth)"
  else
    say "$model: training + evaluation ($cfg) -> $OUT/$model"
    $PY tools/train_net.py --config-file "$cfg" OUTPUT_DIR "$OUT/$model" > "$OUT/$model.log" 2>&1 \
      || { tail -n 30 "$OUT/$model.log"; exit 1; }
  fi
  say "$model: learning curves -> $OUT/$model/training_curves.png"
  $PY scripts/plot_training.py "$OUT/$model/metrics.json" "$OUT/$model/training_curves.png" --title "$model ($cfg)" > /dev/null
  say "$model: prediction panels (input | parts | people) -> $OUT/apply_net/$model"
  $PY tools/apply_net.py show "$cfg" "$OUT/$model/model_final.pth" "$VAL_IMAGES" \
      --vis panel --output "$OUT/apply_net/$model" --overwrite --no-progress
done

say "results (synthetic_cihp_val):"
$PY scripts/summarize_results.py $(for m in $MODELS; do echo "$OUT/$m/eval_results.json"; done) \
    --overlays "$OUT/apply_net"
say "ground truth pictures: $OUT/gt_vis; logs: $OUT/<model>.log"
say "done in $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s"
