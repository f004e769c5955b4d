#!/usr/bin/env python
"""Pseudo ground-truth pose for a dataset without keypoints (CorrPM on ATR / CIHP crops, paper
§4.1): run any Detectron2 keypoint R-CNN config + weights over a registered dataset and write
the json ``INPUT.PSEUDO_POSE_FILE`` reads (``corrpm/data/pseudo_pose.py``: COCO-17 joints,
highest-scoring person per image, pixel-index coordinates).

    tools/pseudo_pose.py --config-file KEYPOINT_CFG.yaml --weights W.pkl --dataset atr_train \
        --output datasets/ATR/pseudo_pose_train.json [--keypoint-thresh 0.05] [--opts KEY VALUE ...]

Images without a detected person are left out (the mapper gives them zero heatmaps); their
number is reported. An existing output is kept unless ``--overwrite``.
"""
import argparse
import logging
import os
import sys

import torch
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog
from detectron2.engine import DefaultPredictor
from detectron2.utils.logger import setup_logger

import human_parsing.data  # noqa: F401  (registers the datasets)
from corrpm.data.pseudo_pose import keypoints_from_instances, write_pseudo_pose
from human_parsing.data.io import read_image
from human_parsing.utils.cli import ConfigError, add_debug_argument, merge_config, run_tool

logger = logging.getLogger("corrpm.pseudo_pose")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config-file", required=True, help="a Detectron2 keypoint R-CNN config")
    p.add_argument("--weights", default="", help="its weights (MODEL.WEIGHTS); empty = random init")
    p.add_argument("--dataset", required=True, help="a name registered in DatasetCatalog")
    p.add_argument("--output", required=True, help="pseudo-pose json to write")
    p.add_argument("--keypoint-thresh", type=float, default=0.05, help="drop joints scored below this")
    p.add_argument("--limit", type=int, default=0, help="only the first N images (0 = all)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--opts", nargs=argparse.REMAINDER, default=[], help="config overrides KEY VALUE ...")
    add_debug_argument(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_logger(name="corrpm")
    if os.path.exists(args.output) and not args.overwrite:
        raise FileExistsError(f"{args.output}: exists; pass --overwrite to replace it")
    cfg = merge_config(get_cfg(), args.config_file, args.opts)
    cfg.MODEL.WEIGHTS = args.weights
    if not torch.cuda.is_available():
        cfg.MODEL.DEVICE = "cpu"
    if not cfg.MODEL.KEYPOINT_ON:
        raise ConfigError(f"{args.config_file}: MODEL.KEYPOINT_ON is False; a keypoint R-CNN config is needed")
    num_joints = cfg.MODEL.ROI_KEYPOINT_HEAD.NUM_KEYPOINTS
    predictor = DefaultPredictor(cfg)
    records = DatasetCatalog.get(args.dataset)
    if args.limit:
        records = records[: args.limit]
    out, missing = {}, 0
    for i, r in enumerate(records):
        image = read_image(r["file_name"], format="BGR")  # DefaultPredictor converts to INPUT.FORMAT
        kps = keypoints_from_instances(predictor(image)["instances"], num_joints, args.keypoint_thresh)
        if kps is None:
            missing += 1
        else:
            out[str(r["image_id"])] = kps
        if (i + 1) % 100 == 0:
            logger.info(f"{i + 1}/{len(records)} images")
    write_pseudo_pose(args.output, out, "coco" if num_joints == 17 else f"{num_joints}_joints")
    logger.info(f"{len(out)} images with a person, {missing} without -> {args.output}")
    return len(out), missing


if __name__ == "__main__":
    sys.exit(run_tool(main, "pseudo_pose"))
