"""Benchmark of the dataset mappers (data loading + augmentation + targets), one process.

Writes CIHP-style records (image, Category_ids, Human_ids PNGs; ``--people`` rectangles people)
of ``--size`` into a temporary folder, then times each mapper setting per image and prints a
markdown table: Parsing R-CNN (multi-scale shortest edge 512-864, flip), PGN (scale 0.5-2, flip,
512 pad-crop, human ids + instance edges) and a CorrPM-like semantic setting (flip, 384 crop,
part edges + 16 keypoint heatmaps).

    python benchmarks/bench_mappers.py [--num 30] [--size 480 640] [--people 3]
"""
import argparse
import os
import resource
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from detectron2.config import get_cfg  # noqa: E402
from detectron2.structures import BoxMode  # noqa: E402

from human_parsing.config import add_human_parsing_config  # noqa: E402
from human_parsing.data.io import write_image, write_label_png  # noqa: E402
from human_parsing.data.mappers import build_mapper  # noqa: E402

SETTINGS = {
    "Parsing R-CNN": [
        "INPUT.MIN_SIZE_TRAIN", "(512, 640, 704, 768, 800, 864)", "INPUT.MAX_SIZE_TRAIN", "1400",
    ],
    "PGN": [
        "INPUT.PARSING.RESIZE_TYPE", "RandomScale", "INPUT.CROP.ENABLED", "True",
        "INPUT.CROP.TYPE", "absolute_pad", "INPUT.CROP.SIZE", "(512, 512)",
        "INPUT.PARSING.HUMAN_IDS_ON", "True", "INPUT.PARSING.EDGES_ON", "True",
    ],
    "CorrPM-like (semantic)": [
        "INPUT.MAPPER_NAME", "SemanticParsingDatasetMapper", "INPUT.PARSING.RESIZE_TYPE", "none",
        "INPUT.CROP.ENABLED", "True", "INPUT.CROP.TYPE", "absolute_pad", "INPUT.CROP.SIZE", "(384, 384)",
        "INPUT.PARSING.SEMANTIC_EDGES_ON", "True", "INPUT.PARSING.HEATMAPS_ON", "True",
        "INPUT.PARSING.KEYPOINT_FORMAT", "mpii",
    ],
}


def make_records(root: str, num: int, size, people: int, rng) -> list:
    h, w = size
    records = []
    for i in range(num):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        cat, hid = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
        anns = []
        for k in range(1, people + 1):
            ph, pw = int(rng.integers(h // 4, h // 1.2)), int(rng.integers(w // 8, w // 3))
            y0, x0 = int(rng.integers(0, h - ph)), int(rng.integers(0, w - pw))
            cat[y0 : y0 + ph, x0 : x0 + pw] = 5
            cat[y0 : y0 + ph // 2, x0 : x0 + pw // 4] = 14
            cat[y0 : y0 + ph // 2, x0 + 3 * pw // 4 : x0 + pw] = 15
            cat[y0 + 9 * ph // 10 : y0 + ph, x0 : x0 + pw] = 18
            hid[y0 : y0 + ph, x0 : x0 + pw] = k
        paths = [os.path.join(root, f"{i:04d}_{n}.png") for n in ("img", "cat", "hid")]
        write_image(paths[0], img)
        write_label_png(paths[1], cat)
        write_label_png(paths[2], hid)
        for k in range(1, people + 1):
            ys, xs = np.nonzero(hid == k)
            if len(ys) == 0:
                continue
            anns.append({
                "bbox": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1],
                "bbox_mode": BoxMode.XYXY_ABS, "category_id": 0, "iscrowd": 0,
                "parsing": {"file_name": paths[1], "human_ids_file_name": paths[2], "human_id": k},
            })
        kps = np.c_[rng.uniform(0, w, 16), rng.uniform(0, h, 16), np.ones(16)].reshape(-1).tolist()
        records.append({
            "file_name": paths[0], "image_id": f"{i:04d}", "height": h, "width": w,
            "sem_seg_file_name": paths[1], "human_ids_file_name": paths[2], "annotations": anns,
            "keypoints": kps,
        })
    return records


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num", type=int, default=30)
    p.add_argument("--size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    p.add_argument("--people", type=int, default=3)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as root:
        records = make_records(root, args.num, args.size, args.people, rng)
        print(f"{args.num} images of {args.size[0]}x{args.size[1]}, {args.people} people each\n")
        print("| mapper setting | ms / image | output size (last) | peak RSS (MB) |")
        print("|---|---|---|---|")
        for name, opts in SETTINGS.items():
            cfg = get_cfg()
            add_human_parsing_config(cfg)
            cfg.merge_from_list(["INPUT.LABEL_SPACE", "cihp", "INPUT.RANDOM_FLIP", "horizontal"] + opts)
            mapper = build_mapper(cfg, is_train=True)
            np.random.seed(0)
            mapper(records[0])  # warm-up
            t = time.perf_counter()
            for r in records:
                out = mapper(r)
            dt = (time.perf_counter() - t) / len(records)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"| {name} | {dt * 1000:.1f} | {tuple(out['image'].shape[1:])} | {rss:.0f} |")


if __name__ == "__main__":
    main()
