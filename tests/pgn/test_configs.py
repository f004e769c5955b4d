"""Config smoke: every PGN yaml loads with the project's config keys and builds its model."""

import glob
import os

import pytest
import torch
from detectron2.config import get_cfg
from detectron2.modeling import build_model

from human_parsing.config import add_human_parsing_config
from pgn import add_pgn_config

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
PGN_CONFIGS = sorted(
    glob.glob(os.path.join(ROOT, "*", "pgn_*.yaml")) + glob.glob(os.path.join(ROOT, "Base-PGN.yaml"))
)


def load(path):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    add_pgn_config(cfg)
    cfg.merge_from_file(path)
    cfg.MODEL.DEVICE = "cpu"
    return cfg


def test_all_pgn_configs_found():
    names = {os.path.relpath(p, ROOT) for p in PGN_CONFIGS}
    assert {
        "Base-PGN.yaml",
        "CIHP/pgn_R_101.yaml",
        "PASCAL-Person-Part/pgn_R_101.yaml",
        "quick_schedules/pgn_R_18_synthetic.yaml",
    } <= names


@pytest.mark.parametrize("path", PGN_CONFIGS, ids=lambda p: os.path.relpath(p, ROOT))
def test_config_loads(path):
    cfg = load(path)
    assert cfg.MODEL.META_ARCHITECTURE == "PGN"
    assert cfg.MODEL.RESNETS.RES4_DILATION == 2 and cfg.MODEL.RESNETS.RES5_DILATION == 4
    assert cfg.MODEL.PGN.NUM_CLASSES in (7, 20)


def test_faithful_cihp_model_builds_with_official_widths():
    cfg = load(os.path.join(ROOT, "CIHP", "pgn_R_101.yaml"))
    assert cfg.SOLVER.MAX_ITER == (28280 + 1) * 100 + 1 and cfg.SOLVER.BASE_LR == 1e-5
    model = build_model(cfg)
    head = model.head
    assert head.parsing.predictor.in_channels == 512 and head.parsing.predictor.out_channels == 20
    assert head.parsing.pp_conv.in_channels == 512 + 4 * 512  # PPM concat: 2560
    assert head.edge.pp_conv.in_channels == 256 + 4 * 512  # 2304
    assert head.parsing_refine.conv.in_channels == 2 * (256 + 128)  # 768
    assert [len(s.branches) for s in head.edge_sides] == [5, 5, 5]
    assert len(model.backbone.res4) == 23
    shapes = model.backbone.output_shape()
    assert [shapes[f].channels for f in ("res3", "res4", "res5")] == [512, 1024, 2048]


def test_quick_model_runs():
    cfg = load(os.path.join(ROOT, "quick_schedules", "pgn_R_18_synthetic.yaml"))
    model = build_model(cfg).eval()
    with torch.no_grad():
        out = model([{"image": torch.zeros(3, 48, 64, dtype=torch.uint8)}])[0]
    assert out["parsing"].shape == (48, 64) and out["edges"].shape == (48, 64)
