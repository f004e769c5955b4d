"""Benchmark of the parsing evaluation (semantic + APp/PCP + APr) at CIHP-validation scale.

Draws a synthetic set procedurally in memory (people = rectangles/ellipses with CIHP part labels,
predictions = perturbed copies, misses, duplicates and false positives), evaluates it with the
same per-image core as ``ParsingEvaluator`` / ``tools/evaluate_parsing.py`` in worker processes,
and prints a markdown table of wall time, per-image cost and peak RSS.

    python benchmarks/bench_evaluation.py [--num-images 5000] [--workers 2]
"""

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from human_parsing.evaluation.pipeline import (
    ParsingEvalOptions,
    image_record,
    summarize,
)  # noqa: E402

NUM_CLASSES = 20


def draw_person(h: int, w: int, rng) -> np.ndarray:
    """(h, w) uint8 CIHP part labels of one schematic person (0 = background)."""
    m = np.zeros((h, w), np.uint8)
    r = lambda a, b: slice(int(a * h), max(int(b * h), int(a * h) + 1))  # noqa: E731
    c = lambda a, b: slice(int(a * w), max(int(b * w), int(a * w) + 1))  # noqa: E731
    m[r(0.18, 0.55), c(0.05, 0.25)] = 14  # arms
    m[r(0.18, 0.55), c(0.75, 0.95)] = 15
    m[r(0.50, 0.55), c(0.05, 0.25)] = 3 if rng.random() < 0.2 else 14  # glove
    m[r(0.55, 0.92), c(0.28, 0.49)] = 16  # legs
    m[r(0.55, 0.92), c(0.51, 0.72)] = 17
    lower = rng.choice([9, 12, 6])  # pants / skirt / dress
    m[r(0.55, 0.75 if lower != 6 else 0.8), c(0.25, 0.75)] = lower
    if rng.random() < 0.2:
        m[r(0.85, 0.92), c(0.28, 0.72)] = 8  # socks
    m[r(0.92, 1.0), c(0.25, 0.49)] = 18  # shoes
    m[r(0.92, 1.0), c(0.51, 0.75)] = 19
    m[r(0.18, 0.55), c(0.25, 0.75)] = (
        6 if lower == 6 else rng.choice([5, 7])
    )  # upper clothes / coat
    m[r(0.16, 0.2), c(0.42, 0.58)] = 11 if rng.random() < 0.2 else 10  # scarf / torso skin
    yy, xx = np.ogrid[:h, :w]
    head = ((yy - 0.09 * h) / (0.09 * h)) ** 2 + ((xx - 0.5 * w) / (0.2 * w)) ** 2 <= 1
    m[head] = 13  # face
    m[head & (yy < 0.06 * h)] = 1 if rng.random() < 0.3 else 2  # hat / hair
    if rng.random() < 0.2:
        m[r(0.08, 0.1), c(0.35, 0.65)] = 4  # sunglasses
    return m


def make_scene(seed: int, H: int = 500, W: int = 400):
    """One synthetic image: GT (semantic map, per-person maps) and a perturbed prediction."""
    rng = np.random.default_rng(seed)
    n = 1 + rng.poisson(2.4)  # 3.4 people per image on average
    sem = np.zeros((H, W), np.uint8)
    humans = np.zeros((H, W), np.uint8)
    for k in range(1, n + 1):
        h = int(rng.uniform(0.3, 0.9) * H)
        w = max(8, int(h * rng.uniform(0.3, 0.5)))
        y0, x0 = rng.integers(0, H - h + 1), rng.integers(0, W - w + 1)
        p = draw_person(h, w, rng)
        region = (slice(y0, y0 + h), slice(x0, x0 + w))
        sem[region] = np.where(p > 0, p, sem[region])
        humans[region] = np.where(p > 0, k, humans[region])
    persons = np.stack([np.where(humans == k, sem, 0) for k in range(1, n + 1)]).astype(np.uint8)
    crops, offsets, scores = [], [], []

    shift = max(1, round(0.015 * W))  # +-6 px at 400 px wide

    def add(full_crop, x0, y0, score):
        dx, dy = rng.integers(-shift, shift + 1, size=2)
        x0, y0 = int(np.clip(x0 + dx, 0, W - 1)), int(np.clip(y0 + dy, 0, H - 1))
        cr = full_crop[: H - y0, : W - x0].copy()
        if rng.random() < 0.7:  # label noise: a random block gets another label
            bh, bw = max(1, cr.shape[0] // 4), max(1, cr.shape[1] // 3)
            by, bx = rng.integers(0, cr.shape[0] - bh + 1), rng.integers(0, cr.shape[1] - bw + 1)
            blk = cr[by : by + bh, bx : bx + bw]
            blk[blk > 0] = rng.integers(0, NUM_CLASSES)
        crops.append(cr)
        offsets.append((x0, y0))
        scores.append(score)

    for k in range(n):
        rows, cols = np.flatnonzero(persons[k].any(1)), np.flatnonzero(persons[k].any(0))
        if rows.size == 0 or rng.random() < 0.1:  # missed person
            continue
        cr = persons[k][rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        add(cr, cols[0], rows[0], rng.uniform(0.4, 1.0))
        if rng.random() < 0.1:  # duplicate detection
            add(cr, cols[0], rows[0], rng.uniform(0.05, 0.6))
    for _ in range(rng.poisson(1.0)):  # false positives
        h = int(rng.uniform(0.2, 0.6) * H)
        w = max(8, int(h * 0.4))
        add(
            draw_person(h, w, rng),
            rng.integers(0, W - w),
            rng.integers(0, H - h),
            rng.uniform(0.001, 0.5),
        )
    gt = {"sem": sem, "persons": persons}
    pred = {
        "crops": crops,
        "offsets": np.array(offsets, np.int64).reshape(-1, 2),
        "scores": np.array(scores, np.float64),
    }
    return gt, pred


def _work(args):
    start, stop, opts = args
    hist = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    recs, t_gen, t_eval = [], 0.0, 0.0
    for i in range(start, stop):  # CPU time: robust to other load on the machine
        t0 = time.process_time()
        gt, pred = make_scene(i)
        t1 = time.process_time()
        rec = image_record(gt, pred, opts, f"synthetic image {i}")
        t_eval += time.process_time() - t1
        t_gen += t1 - t0
        h = rec.pop("hist")
        if h is not None:
            hist += h
        recs.append((i, rec))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return hist, recs, t_gen, t_eval, rss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-images", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=50, help="images per task")
    args = ap.parse_args(argv)
    opts = ParsingEvalOptions(num_classes=NUM_CLASSES)
    N = args.num_images
    tasks = [(s, min(s + args.chunk, N), opts) for s in range(0, N, args.chunk)]
    t0 = time.perf_counter()
    hist = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    records, t_gen, t_eval, child_rss = [], 0.0, 0.0, 0.0
    with mp.get_context("fork").Pool(args.workers) as pool:
        for h, recs, g, e, rss in pool.imap_unordered(_work, tasks):
            hist += h
            records += recs
            t_gen, t_eval, child_rss = t_gen + g, t_eval + e, max(child_rss, rss)
    t1 = time.perf_counter()
    res = summarize(hist, records, opts)
    t2 = time.perf_counter()
    load = os.getloadavg()[0]
    parent_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_det = sum(r["app"]["scores"].size for _, r in records)
    n_gt = sum(r["app"]["parts_gt"].size for _, r in records)
    print(
        f"| images | people (GT) | detections | workers | wall total (s) | data generation "
        f"(cpu s) | evaluation per image (ms, cpu) | final matching (s) | peak RSS parent / worker (MiB) | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {N} | {n_gt} | {n_det} | {args.workers} | {t2 - t0:.1f} | {t_gen:.1f} | "
        f"{1000 * t_eval / N:.2f} | {t2 - t1:.2f} | {parent_rss:.0f} / {child_rss:.0f} | {load:.1f} |"
    )
    print()
    print("| mIoU | pixAcc | APp50 | APp_vol | PCP50 | APr50 | APr_vol |")
    print("|---|---|---|---|---|---|---|")
    p, r = res["parsing"], res["region"]
    print(
        f"| {p['mIoU']:.2f} | {p['pixAcc']:.2f} | {p['APp50']:.2f} | {p['APp_vol']:.2f} | "
        f"{p['PCP50']:.2f} | {r['APr50']:.2f} | {r['APr_vol']:.2f} |"
    )
    return res


if __name__ == "__main__":
    main()
