"""Grapy-ML speed and memory: (a) inference seconds per 512×512 image of DeepLab v3+ and the GPM
at the faithful CIHP widths (Xception-65, OS16, random weights, BN in eval mode), without and
with the official test-time augmentation (6 scales × swap-flip), and the GPM's extra cost;
(b) training seconds per iteration and peak RSS of the quick schedules on synthetic data.

Each measurement runs in its own subprocess (peak RSS per model); CPU time is reported next to
wall time because the machine may be shared. Prints markdown tables.

    OMP_NUM_THREADS=1 python benchmarks/bench_grapy_ml.py [--threads 1] [--iters 3] [--tta-iters 1]
        [--train-iters 20] [--skip-train] [--skip-inference]
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
for p in (ROOT, os.path.join(ROOT, "projects", "GrapyML")):
    sys.path.insert(0, p)

INFERENCE = {"DeepLab v3+": "CIHP/deeplab_v3plus_X65_os16.yaml", "GPM": "CIHP/gpm_X65_os16.yaml"}
TRAINING = {
    "quick DeepLab v3+ (CIHP)": "quick_schedules/deeplab_v3plus_X_tiny_synthetic_cihp.yaml",
    "quick GPM (CIHP)": "quick_schedules/gpm_X_tiny_synthetic_cihp.yaml",
    "quick Grapy-ML (3 datasets)": "quick_schedules/grapy_ml_X_tiny_synthetic_3datasets.yaml",
}


def _cfg(config: str, opts=()):
    from detectron2.config import get_cfg

    import grapy_ml
    import human_parsing.data  # noqa: F401
    from human_parsing.config import add_human_parsing_config

    cfg = get_cfg()
    add_human_parsing_config(cfg)
    grapy_ml.add_grapy_ml_config(cfg)
    cfg.merge_from_file(os.path.join(ROOT, "projects", "GrapyML", "configs", config))
    cfg.merge_from_list(list(opts))
    cfg.MODEL.DEVICE = "cpu"
    return cfg


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn, iters: int):
    fn()  # warm-up
    walls, cpus = [], []
    for _ in range(iters):
        w, c = time.perf_counter(), _cpu()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(_cpu() - c)
    return statistics.median(walls), statistics.median(cpus)


def run_inference(config: str, size: int, iters: int, tta_iters: int) -> dict:
    import torch
    from detectron2.modeling import build_model

    from human_parsing.engine.trainer import build_tta_model

    norms = ["MODEL.XCEPTION.NORM", "BN", "MODEL.DEEPLAB_V3PLUS.NORM", "BN", "MODEL.DEEPLAB_V3PLUS.POOL_NORM", "BN"]
    cfg = _cfg(config, norms)
    model = build_model(cfg).eval()
    g = torch.Generator().manual_seed(0)
    x = [{"image": torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g), "domain": "cihp"}]
    with torch.no_grad():
        wall, cpu = _timed(lambda: model(x), iters)
        tta = build_tta_model(cfg, model)
        tta_wall, tta_cpu = _timed(lambda: tta(x), tta_iters) if tta_iters > 0 else (float("nan"),) * 2
    return {"params": sum(p.numel() for p in model.parameters()), "wall": wall, "cpu": cpu,
            "tta_wall": tta_wall, "tta_cpu": tta_cpu,
            "tta_runs": len(cfg.TEST.SEMANTIC_AUG.SCALES) * (2 if cfg.TEST.SEMANTIC_AUG.FLIP else 1),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_training(config: str, iters: int) -> dict:
    import itertools

    import torch
    from detectron2.modeling import build_model

    from human_parsing.engine import ParsingTrainer
    from human_parsing.engine.optimizer import build_optimizer

    cfg = _cfg(config, ["DATALOADER.NUM_WORKERS", 0])
    model = build_model(cfg).train()
    optimizer = build_optimizer(cfg, model)
    batches = list(itertools.islice(iter(ParsingTrainer.build_train_loader(cfg)), iters + 1))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    walls, cpus = [], []
    for i, batch in enumerate(batches):
        w, c = time.perf_counter(), _cpu()
        loss = sum(model(batch).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i:  # the first iteration is a warm-up
            walls.append(time.perf_counter() - w)
            cpus.append(_cpu() - c)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "batch": cfg.SOLVER.IMS_PER_BATCH,
            "input": list(cfg.INPUT.CROP.SIZE), "rss_before": rss_before,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _subprocess(args: list) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--tta-iters", type=int, default=1)
    ap.add_argument("--train-iters", type=int, default=20)
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-inference", action="store_true")
    ap.add_argument("--_one", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    if a._one:
        kind, config = a._one
        res = run_inference(config, a.size, a.iters, a.tta_iters) if kind == "infer" else run_training(config, a.train_iters)
        print(json.dumps(res))
        return
    common = ["--threads", str(a.threads), "--size", str(a.size), "--iters", str(a.iters),
              "--tta-iters", str(a.tta_iters), "--train-iters", str(a.train_iters)]
    print(f"torch {torch.__version__}, {a.threads} thread(s), os.getloadavg() at start: "
          f"{tuple(round(x, 1) for x in os.getloadavg())}")
    if not a.skip_inference:
        res = {name: _subprocess(common + ["--_one", "infer", cfg]) for name, cfg in INFERENCE.items()}
        print(f"\n| model ({a.size}×{a.size}, faithful CIHP widths) | params | s/image (CPU s) | "
              f"s/image with TTA (CPU s) | peak RSS MB |")
        print("|---|---|---|---|---|")
        for name, r in res.items():
            print(f"| {name} | {r['params'] / 1e6:.2f} M | {r['wall']:.2f} ({r['cpu']:.2f}) | "
                  f"{r['tta_wall']:.1f} ({r['tta_cpu']:.1f}), {r['tta_runs']} runs | {r['peak_mb']:.0f} |")
        d, g = res["DeepLab v3+"], res["GPM"]
        print(f"\nGPM extra cost: {100 * (g['cpu'] / d['cpu'] - 1):+.1f}% CPU time "
              f"({100 * (g['wall'] / d['wall'] - 1):+.1f}% wall) without TTA; "
              f"{100 * (g['tta_cpu'] / d['tta_cpu'] - 1):+.1f}% CPU with TTA")
    if not a.skip_train:
        res = {name: _subprocess(common + ["--_one", "train", cfg]) for name, cfg in TRAINING.items()}
        print("\n| quick schedule | batch × input | s/iter (CPU s) | peak RSS MB (before training) |")
        print("|---|---|---|---|")
        for name, r in res.items():
            print(f"| {name} | {r['batch']} × {r['input'][0]}×{r['input'][1]} | {r['wall']:.2f} ({r['cpu']:.2f}) | "
                  f"{r['peak_mb']:.0f} ({r['rss_before']:.0f}) |")


if __name__ == "__main__":
    main()
