"""Peak memory of single-image inference on a large photo (default 4000×3000), per method.

Each row runs in its own subprocess, so its peak RSS (``ru_maxrss``) is its own: build the model
with random weights (saved to a temporary checkpoint, so the path is ``ParsingPredictor``'s, the
one ``apply_net`` uses: size policy, model, outputs at the original size), then run one image.
Reports the RSS after building the model, the peak over the whole run, the size the network
actually saw, the output size and the CPU time of the inference. Rows: the paper configs of
Parsing R-CNN (R-50-FPN) and PGN (R-101, single scale) and the quick R-18 ones, plus the quick PGN
without the size limit (``INPUT.MAX_SIZE_TEST 0``, the old full-resolution behaviour).

    OMP_NUM_THREADS=2 python benchmarks/bench_memory.py [--size 4000x3000] [--rows 0 1 ...]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# (label, config, overrides)
ROWS = [
    ("Parsing R-CNN R-50-FPN (800/1333)", "configs/CIHP/parsing_rcnn_R_50_FPN_1x.yaml", []),
    ("PGN R-101, single scale (limit 1333)", "configs/CIHP/pgn_R_101.yaml", ["TEST.AUG.ENABLED", "False"]),
    ("Parsing R-CNN R-18-FPN quick (192/320)",
     "configs/quick_schedules/parsing_rcnn_R_18_FPN_synthetic.yaml", []),
    ("PGN R-18 quick (limit 1333)", "configs/quick_schedules/pgn_R_18_synthetic.yaml", []),
    ("PGN R-18 quick, no limit (MAX_SIZE_TEST 0)", "configs/quick_schedules/pgn_R_18_synthetic.yaml",
     ["INPUT.MAX_SIZE_TEST", "0"]),
]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(config: str, opts, size) -> dict:
    import numpy as np
    import torch
    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.modeling import build_model

    import parsing_rcnn
    import pgn
    from human_parsing.apply.cli import setup_config
    from human_parsing.config import add_human_parsing_config
    from human_parsing.predictor import ParsingPredictor

    fns = (add_human_parsing_config, parsing_rcnn.add_parsing_rcnn_config, pgn.add_pgn_config)
    opts = ["MODEL.DEVICE", "cpu"] + list(opts)
    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(0)
        DetectionCheckpointer(build_model(setup_config(os.path.join(ROOT, config), "", opts, fns)),
                              save_dir=d).save("random")
        predictor = ParsingPredictor(setup_config(os.path.join(ROOT, config), os.path.join(d, "random.pth"),
                                                  opts, fns))
    w, h = size
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    seen = []
    predictor.model.backbone.register_forward_pre_hook(lambda m, a: seen.append(tuple(a[0].shape[-2:])))
    rss_model = _rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    result = predictor(image)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "rss_model_MB": rss_model,
        "peak_rss_MB": _rss_mb(),
        "network_input": list(seen[0]) if seen else None,
        "output": list(result.parsing.shape),
        "people": len(result),
        "wall_s": wall,
        "cpu_s": cpu,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="4000x3000", help="WxH of the test image")
    ap.add_argument("--rows", type=int, nargs="+", default=list(range(len(ROWS))), help="indices into ROWS")
    ap.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    if args.single is not None:
        _, config, opts = ROWS[args.single]
        print(json.dumps(run_one(config, opts, size)))
        return
    results = []
    for i in args.rows:
        cmd = [sys.executable, os.path.abspath(__file__), "--single", str(i), "--size", args.size]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            sys.stderr.write(res.stderr[-3000:])
            raise SystemExit(f"benchmark row {ROWS[i][0]} failed")
        results.append((ROWS[i][0], json.loads(res.stdout.strip().splitlines()[-1])))
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(f"\nOne {size[0]}×{size[1]} image through ParsingPredictor, random weights, CPU, "
          f"OMP_NUM_THREADS={threads}\n")
    print("| model | network input (H×W) | output (H×W) | people | peak RSS after build (MB) | peak RSS (MB) "
          "| CPU s | wall s |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for label, r in results:
        net = "×".join(map(str, r["network_input"])) if r["network_input"] else "-"
        print(f"| {label} | {net} | {'×'.join(map(str, r['output']))} | {r['people']} | {r['rss_model_MB']:.0f} | "
              f"{r['peak_rss_MB']:.0f} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} |")


if __name__ == "__main__":
    main()
