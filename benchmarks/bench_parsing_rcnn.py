"""Parsing R-CNN speed and memory on CPU; prints markdown tables.

(a) end-to-end inference latency at an 800-px short side, R-50-FPN Parsing R-CNN next to
    Detectron2's own Mask R-CNN R-50-FPN (one class) on the same images, with 20 and 100 forced
    detections per image (score threshold 0, DETECTIONS_PER_IMAGE = N; random weights);
(b) the parsing branch (GCE head + output) per ROI at 14/32/64 pooled resolution: time, fvcore
    FLOPs (1 multiply-add = 2 FLOPs) and throughput, next to a plain 3×3 512→512 conv on the
    same (R, 512, S, S) input;
(c) paste-back cost per detection in an 800×1200 image (K = 20, 128×128 ROI maps);
(d) training seconds per iteration and peak RSS of the quick schedule on synthetic CIHP.

    python benchmarks/bench_parsing_rcnn.py [--quick] [--threads 1] [--skip a,b,c,d]
"""
import argparse
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from detectron2 import model_zoo  # noqa: E402
from detectron2.config import get_cfg  # noqa: E402
from detectron2.layers import ShapeSpec  # noqa: E402
from detectron2.modeling import build_model  # noqa: E402
from detectron2.utils.events import EventStorage  # noqa: E402

import parsing_rcnn  # noqa: E402
from human_parsing.config import add_human_parsing_config  # noqa: E402
from parsing_rcnn.inference import paste_parsing  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def _cfg(path, opts=()):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    parsing_rcnn.add_parsing_rcnn_config(cfg)
    cfg.merge_from_file(path)
    cfg.merge_from_list(["MODEL.WEIGHTS", "", "MODEL.DEVICE", "cpu", *opts])
    return cfg


def _timeit(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _images(n, short=800, long_=1200):
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        # smooth random blobs: a non-trivial input for the random-weight detectors
        small = rng.integers(0, 255, size=(3, short // 16, long_ // 16)).astype(np.float32)
        img = torch.nn.functional.interpolate(torch.from_numpy(small)[None], size=(short, long_),
                                              mode="bilinear", align_corners=False)[0]
        out.append({"image": img.clamp(0, 255).to(torch.uint8), "height": short, "width": long_})
    return out


def bench_latency(args):
    """(a) Parsing R-CNN vs Mask R-CNN, R-50-FPN, at 20 / 100 detections per image."""
    rows = []
    images = _images(1 if args.quick else 2)
    for dets in (20,) if args.quick else (20, 100):
        common = ["MODEL.ROI_HEADS.SCORE_THRESH_TEST", 0.0, "TEST.DETECTIONS_PER_IMAGE", dets,
                  "MODEL.ROI_HEADS.NUM_CLASSES", 1]
        prcnn = build_model(_cfg(os.path.join(REPO, "configs/CIHP/parsing_rcnn_R_50_FPN_1x.yaml"), common)).eval()
        mcfg = get_cfg()
        mcfg.merge_from_file(model_zoo.get_config_file("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_1x.yaml"))
        mcfg.merge_from_list(["MODEL.WEIGHTS", "", "MODEL.DEVICE", "cpu", *common])
        mrcnn = build_model(mcfg).eval()
        for model in (prcnn, mrcnn):
            # random weights: zero the box deltas so detections are anchors/proposals of
            # realistic sizes inside the image (random deltas throw boxes out of the image)
            torch.nn.init.zeros_(model.proposal_generator.rpn_head.anchor_deltas.weight)
            torch.nn.init.zeros_(model.roi_heads.box_predictor.bbox_pred.weight)
            # and equal class scores (0.5), so no score threshold removes any detection
            torch.nn.init.zeros_(model.roi_heads.box_predictor.cls_score.weight)
            torch.nn.init.zeros_(model.roi_heads.box_predictor.cls_score.bias)
        # time the parsing head and the post-processing (paste) of Parsing R-CNN separately
        head_t = []
        h = prcnn.roi_heads.parsing_head
        h.register_forward_pre_hook(lambda m, i: head_t.append(-time.perf_counter()))
        h.register_forward_hook(lambda m, i, o: head_t.__setitem__(-1, head_t[-1] + time.perf_counter()))
        for name, model in (("Mask R-CNN R-50-FPN (Detectron2)", mrcnn), ("Parsing R-CNN R-50-FPN", prcnn)):
            total, counts, post = [], [], []
            head_t.clear()
            with torch.no_grad():
                model([images[0]])  # warm-up
                head_t.clear()
                for inp in images:
                    t = time.perf_counter()
                    raw = model.inference([inp], do_postprocess=False)
                    t1 = time.perf_counter()
                    if model is prcnn:
                        out = model.postprocess(raw, [inp])
                    else:
                        out = model._postprocess(raw, [inp], [(800, 1200)])
                    t2 = time.perf_counter()
                    total.append(t2 - t)
                    post.append(t2 - t1)
                    counts.append(len(out[0]["instances"]))
            row = [name, dets, f"{np.mean(counts):.0f}", f"{np.mean(total):.2f}"]
            if model is prcnn:
                row += [f"{np.mean(head_t):.2f}", f"{np.mean(post):.2f}"]
            else:
                row += ["–", f"{np.mean(post):.2f}"]
            rows.append(row)
    print("\n### (a) CPU inference latency, 800×1200 input, random weights\n")
    print("| model | max dets | dets/img | total s/img | parsing head s | post-process (paste) s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")


def _flops(module, x):
    from fvcore.nn import FlopCountAnalysis

    fca = FlopCountAnalysis(module, (x,))
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    return 2.0 * fca.total()  # fvcore counts one multiply-add as one flop


class _Layers(torch.nn.Module):
    def __init__(self, head):
        super().__init__()
        self.head = head

    def forward(self, x):
        return self.head.layers(x)


def bench_head(args):
    """(b) parsing branch per ROI vs a plain 3×3 512→512 conv of the same size."""
    print("\n### (b) parsing branch (GCE head, K = 20) per ROI vs a plain 3×3 512→512 conv\n")
    print("| pooled → output | ROIs | head ms/ROI | head GFLOP/ROI | head GFLOP/s | "
          "plain conv GFLOP/s | head / plain |")
    print("|---|---|---|---|---|---|---|")
    for s in (14, 32, 64):
        cfg = _cfg(os.path.join(REPO, "configs/CIHP/parsing_rcnn_R_50_FPN_1x.yaml"),
                   ["MODEL.ROI_PARSING_HEAD.POOLER_RESOLUTION", s, "MODEL.ROI_PARSING_HEAD.RESOLUTION", 4 * s])
        head = parsing_rcnn.build_parsing_head(cfg, ShapeSpec(channels=256, height=s, width=s)).eval()
        r = {14: 16, 32: 8, 64: 2}[s] if not args.quick else {14: 4, 32: 2, 64: 1}[s]
        x = torch.randn(r, 256, s, s)
        layers = _Layers(head)
        with torch.no_grad():
            t = _timeit(lambda: layers(x), args.repeat)
            flops = _flops(layers, x)
            conv = torch.nn.Conv2d(512, 512, 3, padding=1)
            y = torch.randn(r, 512, s, s)
            tc = _timeit(lambda: conv(y), args.repeat)
            conv_flops = 2.0 * 512 * 512 * 9 * r * s * s
        hp, cp = flops / t / 1e9, conv_flops / tc / 1e9
        print(f"| {s} → {4 * s} | {r} | {1e3 * t / r:.1f} | {flops / r / 1e9:.2f} | {hp:.1f} | "
              f"{cp:.1f} | {100 * hp / cp:.0f} % |")


def bench_paste(args):
    """(c) paste-back per detection, 800×1200 image."""
    rng = np.random.default_rng(0)
    n = 20 if args.quick else 100
    probs = torch.softmax(torch.randn(n, 20, 128, 128), dim=1)
    h = rng.uniform(100, 600, n)
    w = h * rng.uniform(0.3, 0.6, n)
    x0, y0 = rng.uniform(-50, 1200 - w / 2), rng.uniform(-50, 800 - h / 2)
    boxes = torch.tensor(np.stack([x0, y0, x0 + w, y0 + h], 1), dtype=torch.float32)
    t = _timeit(lambda: paste_parsing(probs, boxes, (800, 1200)), args.repeat)
    print("\n### (c) paste-back (K = 20, 128×128 ROI maps, boxes 100–600 px tall, 800×1200 image)\n")
    print("| detections | total ms | ms / detection |")
    print("|---|---|---|")
    print(f"| {n} | {1e3 * t:.0f} | {1e3 * t / n:.2f} |")


def bench_train(args):
    """(d) quick-schedule training: s/iter and peak RSS (real data loader on synthetic CIHP)."""
    from human_parsing.engine import ParsingTrainer
    import human_parsing.data  # noqa: F401  (registers the synthetic datasets)

    cfg = _cfg(os.path.join(REPO, "configs/quick_schedules/parsing_rcnn_R_18_FPN_synthetic.yaml"),
               ["DATALOADER.NUM_WORKERS", 0])
    model = build_model(cfg)
    model.train()
    from detectron2.solver import build_optimizer

    opt = build_optimizer(cfg, model)
    data = iter(ParsingTrainer.build_train_loader(cfg))
    n = 5 if args.quick else 20
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    with EventStorage() as storage:
        for it in range(n + 2):
            storage.iter = it
            batch = next(data)
            t = time.perf_counter()
            loss = sum(model(batch).values())
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n### (d) quick schedule training ({cfg.SOLVER.IMS_PER_BATCH} images/iter, "
          f"short side {tuple(cfg.INPUT.MIN_SIZE_TRAIN)})\n")
    print("| iterations timed | s / iter (median) | peak RSS MB (process) | peak RSS before training MB |")
    print("|---|---|---|---|")
    print(f"| {n} | {np.median(times[2:]):.2f} | {rss:.0f} | {rss0:.0f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer images / ROIs / iterations")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions (median)")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: a,b,c,d")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    skip = set(args.skip.split(",")) if args.skip else set()
    print(f"# Parsing R-CNN benchmark (torch {torch.__version__}, {args.threads} thread(s), "
          f"{'quick' if args.quick else 'full'})")
    # (d) first: its peak RSS is the process's, which the R-50 models of (a) would raise
    for key, fn in (("d", bench_train), ("b", bench_head), ("c", bench_paste), ("a", bench_latency)):
        if key not in skip:
            fn(args)


if __name__ == "__main__":
    main()
