#!/usr/bin/env bash
# The main job on the embedded synthetic data. Usage: scripts/demo.sh OUTPUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-output/demo}
PY=.venv/bin/python
export HUMAN_PARSING_DATASETS=${HUMAN_PARSING_DATASETS:-$OUT/datasets}
mkdir -p "$OUT"
echo "[demo] synthetic CIHP data -> $HUMAN_PARSING_DATASETS"
$PY tools/make_synthetic_dataset.py --layout cihp --num-images 64 --split train --out "$HUMAN_PARSING_DATASETS/synthetic/cihp" --seed 0
$PY tools/make_synthetic_dataset.py --layout cihp --num-images 16 --split val --out "$HUMAN_PARSING_DATASETS/synthetic/cihp" --seed 1
echo "[demo] ground-truth visualizations -> $OUT/gt_vis"
$PY tools/visualize_data.py --dataset synthetic_cihp_val --num 8 --output "$OUT/gt_vis"
echo "[demo] done: $OUT"
