"""CorrPM speed and memory: (a) inference seconds per 384×384 crop at faithful widths (ResNet-101,
random weights) and the share of the heterogeneous non-local block; (b) training seconds per
iteration and peak memory of the quick schedule. Each part runs in its own subprocess so the peak
RSS is its own. Prints a markdown table.

    OMP_NUM_THREADS=1 python benchmarks/bench_corrpm.py [--iters 3] [--train-iters 20]
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
for p in (ROOT, os.path.join(ROOT, "projects", "CorrPM")):
    sys.path.insert(0, p)

FAITHFUL = "projects/CorrPM/configs/LIP/corrpm_R_101_150e.yaml"
QUICK = "projects/CorrPM/configs/quick_schedules/corrpm_R_50_synthetic.yaml"


def _cfg(path):
    from detectron2.config import get_cfg

    import corrpm
    from human_parsing.config import add_human_parsing_config

    cfg = get_cfg()
    add_human_parsing_config(cfg)
    corrpm.add_corrpm_config(cfg)
    cfg.merge_from_file(os.path.join(ROOT, path))
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.RESNETS.NORM = cfg.MODEL.CORRPM.NORM = "BN"  # one process: SyncBN == BN
    return cfg


def inference(iters: int) -> dict:
    import torch
    from detectron2.modeling import build_model

    torch.manual_seed(0)
    model = build_model(_cfg(FAITHFUL)).eval()
    nl_time = []
    model.head.nonlocal_block.register_forward_pre_hook(lambda m, i: nl_time.append(-time.process_time()))
    model.head.nonlocal_block.register_forward_hook(lambda m, i, o: nl_time.append(time.process_time()))
    image = {"image": torch.randint(0, 255, (3, 384, 384), dtype=torch.uint8)}
    totals, cpu, nls = [], [], []
    with torch.no_grad():
        for i in range(iters + 1):  # the first run is a warm-up
            nl_time.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            model([image])
            if i:
                totals.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                nls.append(sum(nl_time))
    return {"part": "inference, faithful R-101, 384×384", "params": sum(p.numel() for p in model.parameters()),
            "seconds": statistics.median(totals), "cpu_seconds": statistics.median(cpu),
            "hnl_seconds": statistics.median(nls), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def training(iters: int) -> dict:
    import numpy as np
    import torch
    from detectron2.data import DatasetCatalog
    from detectron2.modeling import build_model

    import human_parsing.data  # noqa: F401
    from human_parsing.data.mappers import build_mapper
    from human_parsing.engine.optimizer import build_optimizer

    torch.manual_seed(0)
    np.random.seed(0)
    cfg = _cfg(QUICK)
    model = build_model(cfg).train()
    opt = build_optimizer(cfg, model)
    mapper = build_mapper(cfg, True)
    records = DatasetCatalog.get(cfg.DATASETS.TRAIN[0])
    times, cpu = [], []
    n = cfg.SOLVER.IMS_PER_BATCH
    for it in range(iters + 2):  # the first two are a warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        batch = [mapper(records[(it * n + j) % len(records)]) for j in range(n)]  # data included
        loss = sum(model(batch).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it >= 2:
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    h, w = cfg.INPUT.CROP.SIZE
    return {"part": f"training, quick schedule (batch {n}, {h}×{w}, mapping included)",
            "params": sum(p.numel() for p in model.parameters()), "seconds": statistics.median(times),
            "cpu_seconds": statistics.median(cpu), "hnl_seconds": None,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--train-iters", type=int, default=20)
    parser.add_argument("--part", choices=["inference", "training"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        res = inference(args.iters) if args.part == "inference" else training(args.train_iters)
        print(json.dumps(res))
        return
    rows = []
    for part in ("inference", "training"):
        out = subprocess.run([sys.executable, __file__, "--part", part, "--iters", str(args.iters),
                              "--train-iters", str(args.train_iters)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"threads: {os.environ.get('OMP_NUM_THREADS', 'default')}")
    print("| part | params | wall s / image or iteration | CPU s | HNL CPU s (share) | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        hnl = "–" if r["hnl_seconds"] is None else f"{r['hnl_seconds']:.2f} ({100 * r['hnl_seconds'] / r['cpu_seconds']:.0f}%)"
        print(f"| {r['part']} | {r['params'] / 1e6:.2f} M | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {hnl} "
              f"| {r['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
