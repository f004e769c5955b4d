"""Full PGN inference latency (network + partition) and peak memory at 512×512, per config.

Each config runs in its own subprocess (so peak RSS is per model): build the model (random init
unless ``--weights``), warm up once, then time ``--iters`` single-image inferences of a
synthetic 512×512 scene, split into the network (``model.predict`` + resize) and the
post-processing (argmax, sigmoid, ``pgn.partition`` and the output Instances). Prints a markdown
table. Random-init outputs make the partition time unrepresentative; pass trained ``--weights``
(for the first config) for real numbers.

    OMP_NUM_THREADS=2 python benchmarks/bench_pgn.py [--size 512] [--iters 2] [--mode faithful]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIGS = ["configs/CIHP/pgn_R_101.yaml", "configs/quick_schedules/pgn_R_18_synthetic.yaml"]


def _image(size: int):
    """A 512² BGR test image: a synthetic CIHP scene resized to the benchmark size."""
    import torch

    from human_parsing.data.synthetic.scene import generate_scene

    img = generate_scene(seed=0, index=0, size=(size, size)).image  # (H, W, 3) BGR
    return torch.from_numpy(img.transpose(2, 0, 1).copy())


def run_one(config: str, size: int, iters: int, mode: str, weights: str) -> dict:
    import torch
    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.config import get_cfg
    from detectron2.modeling import build_model

    import pgn
    from human_parsing.config import add_human_parsing_config
    from pgn.post_processing import pgn_postprocess

    cfg = get_cfg()
    add_human_parsing_config(cfg)
    pgn.add_pgn_config(cfg)
    cfg.merge_from_file(os.path.join(ROOT, config))
    cfg.MODEL.DEVICE = "cpu"
    model = build_model(cfg).eval()
    if weights:
        DetectionCheckpointer(model).load(weights)
    params = sum(p.numel() for p in model.parameters())
    try:
        image = _image(size)
    except Exception:  # the synthetic generator is optional here; noise works as well for timing
        image = torch.randint(0, 255, (3, size, size), dtype=torch.uint8)
    net, post = [], []
    with torch.no_grad():
        for i in range(iters + 1):
            t0 = time.perf_counter()
            parsing, edges = model.predict([image])
            t1 = time.perf_counter()
            out = pgn_postprocess(parsing[0], edges[0], partition_mode=mode)
            t2 = time.perf_counter()
            if i > 0:  # the first run is a warm-up
                net.append(t1 - t0)
                post.append(t2 - t1)
    return {
        "config": config,
        "params_M": params / 1e6,
        "net_s": statistics.median(net),
        "post_s": statistics.median(post),
        "people": len(out["instances"]),
        "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", nargs="+", default=CONFIGS)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--mode", default="faithful", choices=["faithful", "clean"])
    ap.add_argument("--weights", default="", help="checkpoint for the first config")
    ap.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.single:
        print(json.dumps(run_one(args.configs[0], args.size, args.iters, args.mode, args.weights)))
        return
    rows = []
    for k, config in enumerate(args.configs):
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--single",
            "--configs",
            config,
            "--size",
            str(args.size),
            "--iters",
            str(args.iters),
            "--mode",
            args.mode,
            "--weights",
            args.weights if k == 0 else "",
        ]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            sys.stderr.write(res.stderr)
            raise SystemExit(f"benchmark of {config} failed")
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(
        f"\nPGN inference, one {args.size}×{args.size} image, CPU, OMP_NUM_THREADS={threads}, "
        f"partition mode {args.mode}, median of {args.iters} runs after 1 warm-up\n"
    )
    print(
        "| config | params (M) | network (s) | partition + outputs (s) | total (s) | people | peak RSS (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['config']} | {r['params_M']:.1f} | {r['net_s']:.2f} | {r['post_s']:.3f} | "
            f"{r['net_s'] + r['post_s']:.2f} | {r['people']} | {r['peak_rss_MB']:.0f} |"
        )


if __name__ == "__main__":
    main()
