"""The flip-with-swap path of both quick schedules, end to end on synthetic CIHP data.

A synthetic person facing the camera (88% of them) has their own left arm/leg on the image
right. Through the quick configs' train mappers, with the flip forced on or off, "Left-arm"
("Left-leg") must stay to the image right of "Right-arm" ("Right-leg") for most people, in the
semantic map (PGN) and in each person's map (Parsing R-CNN). A flip without the label swap would
put the left classes on the image left for most people.
"""
import os

import numpy as np
import pytest

import parsing_rcnn
import pgn
from detectron2.config import get_cfg
from human_parsing.config import add_human_parsing_config
from human_parsing.data.datasets.cihp import load_cihp_instances
from human_parsing.data.mappers import build_mapper
from human_parsing.data.synthetic import generate_split
from human_parsing.data.transforms import RandomFlipParsing

QUICK = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "quick_schedules")
PAIRS = ((14, 15), (16, 17))  # (Left-arm, Right-arm), (Left-leg, Right-leg)


def _cfg(name, flip_prob):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    parsing_rcnn.add_parsing_rcnn_config(cfg)
    pgn.add_pgn_config(cfg)
    cfg.merge_from_file(os.path.join(QUICK, name))
    cfg.INPUT.PARSING.FLIP_PROB = flip_prob
    return cfg


def _left_on_image_right(maps):
    """Per (map, pair) with both classes present: is the left class's mean x right of the other's?"""
    votes = []
    for m in maps:
        for left, right in PAIRS:
            xl, xr = np.nonzero(m == left)[1], np.nonzero(m == right)[1]
            if len(xl) and len(xr):
                votes.append(xl.mean() > xr.mean())
    return votes


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synthetic_cihp"))
    generate_split("cihp", root, "train", 12, seed=0, person_scale=1.8)
    return load_cihp_instances(root, "train")


@pytest.mark.parametrize("config", ["pgn_R_18_synthetic.yaml", "parsing_rcnn_R_18_FPN_synthetic.yaml"])
@pytest.mark.parametrize("flip_prob,swap", [(0.0, True), (1.0, True), (1.0, False)])
def test_left_classes_stay_on_the_image_right_after_flip(records, config, flip_prob, swap):
    cfg = _cfg(config, flip_prob)
    assert cfg.INPUT.RANDOM_FLIP == "horizontal"
    mapper = build_mapper(cfg, is_train=True)
    flips = [a for a in mapper.augmentations.augs if isinstance(a, RandomFlipParsing)]
    assert len(flips) == 1
    if not swap:  # negative control: a plain mirror puts the left classes on the wrong side
        flips[0].flip_lut = np.arange(256, dtype=np.uint8)
    votes = []
    for rec in records:
        out = mapper(dict(rec))
        if "instances" in out and out["instances"].has("gt_parsing"):
            maps = out["instances"].gt_parsing.tensor.numpy()
        else:
            maps = out["sem_seg"].numpy()[None]
        votes += _left_on_image_right(maps)
    assert len(votes) >= 10
    share = np.mean(votes)
    assert (share > 0.75) if swap else (share < 0.25), (share, len(votes))
