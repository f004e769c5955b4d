#!/usr/bin/env python
"""Convert an official CIHP or LV-MHP-v2 split to the COCO-style json layout of Parsing R-CNN.

    python tools/convert_to_coco_parsing.py --layout cihp \
        --root datasets/CIHP/instance-level_human_parsing --split val --out datasets/CIHP-COCO

Writes ``<out>/{split}_img``, ``{split}_parsing``, ``{split}_seg`` and
``<out>/annotations/{CIHP,MHP-v2}_<split>.json`` (see ``human_parsing.data.converters``).
Every file is written as ``.tmp-convert_to_coco_parsing-<pid>-*`` and renamed; the ones a killed
run left under ``--out`` are removed at the start of the next run. Errors: one line, status 2
(``human_parsing/utils/cli.py``).
"""

import argparse
import sys

from detectron2.utils.logger import setup_logger

from human_parsing.data.converters import cihp_to_coco, mhp_v2_to_coco
from human_parsing.data.io import remove_stale_temporaries
from human_parsing.utils.cli import add_debug_argument, run_tool

TOOL = "convert_to_coco_parsing"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layout", required=True, choices=["cihp", "mhp_v2"])
    parser.add_argument("--root", required=True, help="the official dataset folder")
    parser.add_argument("--split", required=True, choices=["train", "val", "test"])
    parser.add_argument("--out", required=True, help="output folder of the COCO-style layout")
    parser.add_argument("--label-space", default=None, help="defaults to the layout's own")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing json, images and label files"
    )
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    logger = setup_logger(name="human_parsing")
    convert = cihp_to_coco if args.layout == "cihp" else mhp_v2_to_coco
    kwargs = {"label_space": args.label_space} if args.label_space else {}
    stale = remove_stale_temporaries(args.out, TOOL)
    if stale:
        logger.info(f"Removed {len(stale)} temporary files of an interrupted run under {args.out}")
    path = convert(args.root, args.split, args.out, overwrite=args.overwrite, **kwargs)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main, TOOL))
