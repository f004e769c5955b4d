#!/usr/bin/env python
"""Draw the ground truth of a registered dataset: global parts in the label space's palette,
person outlines with ids, and a legend.

    python tools/visualize_data.py --dataset synthetic_cihp_train --num 8 --output vis/ \
        [--source annotation|dataloader] [--vis parsing,instances,bbox,edges] \
        [--config-file cfg.yaml] [KEY VALUE ...]

``annotation`` draws the records as stored; ``dataloader`` draws what the training mapper
(``INPUT.MAPPER_NAME``, built from the config) produces after augmentation, so flips, resizing
and crops can be checked (a flipped left arm must take the right-arm colour). Files are written
as ``<image_id>.png`` (``<image_id>_aug.png`` in dataloader mode).
"""
import argparse
import logging
import os
import sys

import numpy as np
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.utils.logger import setup_logger

import human_parsing.data  # noqa: F401  (registers the datasets)
from human_parsing.config import add_human_parsing_config
from human_parsing.data.io import read_image, write_image
from human_parsing.data.mappers import build_mapper
from human_parsing.utils.cli import add_debug_argument, merge_config, run_tool
from human_parsing.vis import (
    build_display_visualizer,
    build_visualizer,
    extract_from_mapped,
    extract_from_record,
)

logger = logging.getLogger("human_parsing.visualize_data")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, help="a name registered in DatasetCatalog")
    p.add_argument("--num", type=int, default=8, help="number of images (first N records)")
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--source", choices=["annotation", "dataloader"], default="annotation")
    p.add_argument("--vis", default="parsing,instances",
                   help="comma-separated visualizer names, or panel (input | parts | people, readable size)")
    p.add_argument("--config-file", default="", help="config for the mapper (dataloader mode)")
    add_debug_argument(p)
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides KEY VALUE ...")
    return p.parse_args(argv)


def _setup_cfg(args):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    try:  # method keys, if the config file uses them; the shared layer must not require them
        import parsing_rcnn
        import pgn

        parsing_rcnn.add_parsing_rcnn_config(cfg)
        pgn.add_pgn_config(cfg)
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    merge_config(cfg, args.config_file, args.opts)
    cfg.DATASETS.TRAIN = (args.dataset,)
    cfg.freeze()
    return cfg


def _to_bgr(image_chw, fmt: str) -> np.ndarray:
    img = image_chw.permute(1, 2, 0).numpy()
    return np.ascontiguousarray(img[:, :, ::-1]) if fmt == "RGB" else np.ascontiguousarray(img)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logger(name="human_parsing")
    if args.dataset not in DatasetCatalog.list():
        parsing = [n for n in DatasetCatalog.list()
                   if MetadataCatalog.get(n).get("evaluator_type", "") in ("parsing", "sem_seg_parsing")]
        raise ValueError(
            f"--dataset {args.dataset}: not registered; human-parsing datasets: {', '.join(parsing)}"
        )
    cfg = _setup_cfg(args) if args.source == "dataloader" else None  # config errors before any work
    records = DatasetCatalog.get(args.dataset)[: args.num]
    meta = MetadataCatalog.get(args.dataset)
    if args.vis.strip() == "panel":
        visualizer = build_display_visualizer(args.vis, meta)
    else:
        visualizer = build_visualizer(args.vis, meta)
    mapper = fmt = None
    if cfg is not None:
        mapper, fmt = build_mapper(cfg, is_train=True), cfg.INPUT.FORMAT
    os.makedirs(args.output, exist_ok=True)  # only once the arguments are known to be good
    for record in records:
        if mapper is None:
            data = extract_from_record(record, meta.label_space)  # validated like the loader
            image = read_image(record["file_name"], "BGR")
            name = f"{record['image_id']}.png"
        else:
            mapped = mapper(record)
            image, data = _to_bgr(mapped["image"], fmt), extract_from_mapped(mapped)
            name = f"{record['image_id']}_aug.png"
        write_image(os.path.join(args.output, name), visualizer.visualize(image, data))
    logger.info(f"Wrote {len(records)} images of {args.dataset} ({args.source}) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main, "visualize_data"))
