"""Command line of the synthetic dataset generator (``tools/make_synthetic_dataset.py`` and
``python -m human_parsing.data.synthetic``)."""

import argparse
import logging
from typing import List, Optional, Tuple

from .generate import (
    DEFAULT_NUM_IMAGES,
    DEFAULT_SEEDS,
    DEFAULT_SIZE,
    format_summary,
    generate_split,
    read_summary,
)
from .layouts import LAYOUTS
from ...utils.cli import add_debug_argument

__all__ = ["parse_size", "main"]


def parse_size(text: str) -> Tuple[int, int]:
    """'256x192' -> (256, 192) as (W, H)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--size must look like WxH (e.g. 256x192), got {text!r}"
        ) from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError(f"--size {text}: width and height must be >= 16")
    return w, h


def main(argv: Optional[List[str]] = None) -> dict:
    p = argparse.ArgumentParser(description="Write a synthetic multi-person human-parsing dataset.")
    p.add_argument(
        "--layout", choices=LAYOUTS, default="cihp", help="on-disk layout (and label space)"
    )
    p.add_argument("--out", required=True, help="output folder (the layout root)")
    p.add_argument("--split", choices=("train", "val"), default="train")
    p.add_argument("--num-images", type=int, default=None, help="default: 48 train / 16 val")
    p.add_argument("--seed", type=int, default=None, help="default: 0 train / 1 val")
    p.add_argument("--size", type=parse_size, default=DEFAULT_SIZE, help="WxH, default 256x192")
    p.add_argument(
        "--person-scale",
        type=float,
        default=1.0,
        help="multiply every person's height (default 1: 5%%-90%% of the image height; the demo "
        "uses 1.8, about 25%% person pixels as in CIHP-like framing)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace files that already exist")
    add_debug_argument(p)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    num_images = DEFAULT_NUM_IMAGES[args.split] if args.num_images is None else args.num_images
    seed = DEFAULT_SEEDS[args.split] if args.seed is None else args.seed
    want = dict(layout=args.layout, split=args.split, num_images=num_images, seed=seed)
    want["size"] = list(args.size)
    want["person_scale"] = float(args.person_scale)
    done = read_summary(args.out, args.split)
    if done is not None and not args.overwrite and all(done.get(k) == v for k, v in want.items()):
        print(format_summary(done) + " (already complete)")  # the same files are there already
        return done
    summary = generate_split(
        args.layout,
        args.out,
        args.split,
        num_images,
        seed,
        args.size,
        overwrite=args.overwrite,
        person_scale=args.person_scale,
    )
    print(format_summary(summary))
    return summary
