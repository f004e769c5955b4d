"""SST speed and memory (CPU): inference seconds per 512x512 image of the faithful ResNet-50
network (random weights, auxiliary modules not built) with the deformable-attention encoder's
share, and training seconds per iteration and peak memory of the quick universal schedule with
and without the auxiliary modules. Each measurement runs in its own subprocess (peak RSS per
case); times are wall and CPU (process) seconds, the latter meaningful on a loaded machine.

    OMP_NUM_THREADS=1 python benchmarks/bench_sst.py [--threads 1] [--iters 3] [--train-iters 10]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, "projects", "SST")):
    sys.path.insert(0, p)

FAITHFUL = "projects/SST/configs/universal/sst_R_50_universal.yaml"
QUICK = "projects/SST/configs/quick_schedules/sst_R_18_universal_synthetic.yaml"


def _cfg(path, opts=()):
    from detectron2.config import get_cfg

    from human_parsing.config import add_human_parsing_config
    from sst import add_sst_config

    cfg = get_cfg()
    add_human_parsing_config(cfg)
    add_sst_config(cfg)
    cfg.merge_from_file(os.path.join(ROOT, path))
    cfg.merge_from_list(list(opts))
    cfg.MODEL.DEVICE = "cpu"
    return cfg


def _clock():
    return time.perf_counter(), time.process_time()


def run_inference(size: int, iters: int) -> dict:
    import torch
    from detectron2.modeling import build_model

    model = build_model(_cfg(FAITHFUL, ["MODEL.SST.AUX_ON", "False"])).eval()
    enc = {"wall": 0.0, "cpu": 0.0}
    start = {}
    model.encoder.register_forward_pre_hook(lambda m, i: start.update(t=_clock()))

    def _post(m, i, o):
        w, c = _clock()
        enc["wall"] += w - start["t"][0]
        enc["cpu"] += c - start["t"][1]

    model.encoder.register_forward_hook(_post)
    x = [{"image": torch.randint(0, 255, (3, size, size), dtype=torch.uint8), "domain": "cihp"}]
    with torch.no_grad():
        model(x)  # warm-up
        enc.update(wall=0.0, cpu=0.0)
        w0, c0 = _clock()
        for _ in range(iters):
            model(x)
        w1, c1 = _clock()
    return {
        "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
        "wall_s": (w1 - w0) / iters,
        "cpu_s": (c1 - c0) / iters,
        "encoder_wall_s": enc["wall"] / iters,
        "encoder_cpu_s": enc["cpu"] / iters,
    }


def run_training(aux: bool, iters: int) -> dict:
    import torch
    from detectron2.modeling import build_model

    from human_parsing.data.label_spaces import get_label_space
    from human_parsing.engine.optimizer import build_optimizer

    cfg = _cfg(QUICK, ["MODEL.SST.AUX_ON", str(aux)])
    torch.manual_seed(0)
    model = build_model(cfg).train()
    opt = build_optimizer(cfg, model)
    h, w = cfg.INPUT.CROP.SIZE
    doms = ["pascal_person_part", "pascal_person_part", "atr", "cihp"]  # the sampler's 2/1/1 split
    batch = [{"image": torch.randint(0, 255, (3, h, w), dtype=torch.uint8),
              "sem_seg": torch.randint(0, get_label_space(d).num_classes, (h, w)), "domain": d} for d in doms]

    def step():
        loss = sum(model(batch).values())
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    w0, c0 = _clock()
    for _ in range(iters):
        step()
    w1, c1 = _clock()
    return {"wall_s": (w1 - w0) / iters, "cpu_s": (c1 - c0) / iters,
            "params_M": sum(p.numel() for p in model.parameters()) / 1e6}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--train-iters", type=int, default=10)
    ap.add_argument("--case", default="")
    args = ap.parse_args()
    if args.case:
        import torch

        torch.set_num_threads(args.threads)
        res = run_inference(args.size, args.iters) if args.case == "inference" else run_training(args.case == "train_aux", args.train_iters)
        res["peak_rss_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(res))
        return
    rows = {}
    for case in ("inference", "train_aux", "train_base"):
        out = subprocess.run([sys.executable, __file__, "--case", case] + sys.argv[1:], capture_output=True, text=True, check=True)
        rows[case] = json.loads(out.stdout.strip().splitlines()[-1])
    inf = rows["inference"]
    print(f"| inference, R-50 faithful widths, {args.size}x{args.size}, {args.threads} thread(s) | "
          f"{inf['params_M']:.1f} M params | {inf['wall_s']:.2f} s wall / {inf['cpu_s']:.2f} s CPU per image | "
          f"encoder {inf['encoder_cpu_s']:.2f} s CPU ({100 * inf['encoder_cpu_s'] / inf['cpu_s']:.0f}%) | "
          f"peak {inf['peak_rss_MB']:.0f} MB |")
    a, b = rows["train_aux"], rows["train_base"]
    for name, r in (("with auxiliary modules", a), ("without (baseline)", b)):
        print(f"| quick universal training, batch 4, {name} | {r['params_M']:.1f} M params | "
              f"{r['wall_s']:.2f} s wall / {r['cpu_s']:.2f} s CPU per iteration | peak {r['peak_rss_MB']:.0f} MB |")
    print(f"auxiliary-module training overhead: {100 * (a['cpu_s'] / b['cpu_s'] - 1):.0f}% CPU time, "
          f"{100 * (a['peak_rss_MB'] / b['peak_rss_MB'] - 1):.0f}% peak memory")


if __name__ == "__main__":
    main()
