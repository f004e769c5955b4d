#!/usr/bin/env python
"""PGN instance partition over a folder: drop-in replacement for the official MATLAB ``instance_tool``.

Reads what ``test_pgn.py`` writes (``cihp_parsing_maps/<id>.png`` + ``<id>.mat``,
``cihp_edge_maps/<id>.png``, optional ``list/val_id.txt``) and writes what
``generate_instance_human.m`` and ``generate_instance_part.m`` write
(``cihp_human_maps/<id>.png|txt``, ``cihp_instance_part_maps/<id>.png|txt``).

    python tools/pgn_partition.py --input output/ --output output/ --mode faithful --jobs 2
"""

import argparse
import logging
import os
import sys
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tqdm import tqdm  # noqa: E402

from human_parsing.utils.cli import add_debug_argument, run_tool  # noqa: E402
from pgn.partition import MODES  # noqa: E402
from pgn.partition.io import (  # noqa: E402
    DataFormatError,
    init_worker,
    input_paths,
    list_image_ids,
    process_image,
)


def _check_inputs_exist(input_dir: str, ids) -> None:
    """Fail before any work when an input file is missing, naming the first one."""
    for img_id in ids:
        for path in input_paths(input_dir, img_id):
            if not os.path.isfile(path):
                raise DataFormatError(f"{path}: file not found")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="PGN instance partition (port of the official MATLAB tool).")
    p.add_argument("--input", required=True, help="folder with cihp_parsing_maps/ and cihp_edge_maps/")
    p.add_argument("--output", required=True, help="folder for cihp_human_maps/ and cihp_instance_part_maps/")
    p.add_argument("--mode", choices=MODES, default="faithful", help="faithful (official output) or clean")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--edge-thresh", type=float, default=0.2, help="edge probability threshold (official 0.2)")
    add_debug_argument(p)
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    ids = list_image_ids(args.input)
    _check_inputs_exist(args.input, ids)
    work = partial(
        process_image,
        input_dir=args.input,
        output_dir=args.output,
        mode=args.mode,
        edge_thresh=args.edge_thresh,
    )
    people = parts = 0
    if args.jobs <= 1:
        for n_h, n_p in tqdm(map(work, ids), total=len(ids), unit="img"):
            people, parts = people + n_h, parts + n_p
    else:
        with ProcessPoolExecutor(
            args.jobs, initializer=init_worker, mp_context=mp.get_context("spawn")
        ) as pool:
            for n_h, n_p in tqdm(pool.map(work, ids, chunksize=4), total=len(ids), unit="img"):
                people, parts = people + n_h, parts + n_p
    dt = time.perf_counter() - t0
    print(
        f"pgn_partition ({args.mode}): {len(ids)} images, {people} people, {parts} part instances "
        f"-> {args.output} in {dt:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main, "pgn_partition"))
