"""Every Parsing R-CNN config builds (on the meta device: structure only, no weights, fast) into
the architecture its ablation row describes."""
import glob
import os

import pytest
import torch

from detectron2.modeling import build_model
from human_parsing.data.label_spaces import get_label_space

from .common import REPO, get_parsing_cfg

CONFIGS = sorted(glob.glob(os.path.join(REPO, "configs", "**", "parsing_rcnn_*.yaml"), recursive=True))


def _build(path):
    cfg = get_parsing_cfg(path, ["MODEL.DEVICE", "meta"])
    with torch.device("meta"):
        return cfg, build_model(cfg)


def test_all_configs_found():
    names = {os.path.relpath(p, os.path.join(REPO, "configs")) for p in CONFIGS}
    assert len(names) >= 20
    for must in ("CIHP/parsing_rcnn_R_50_FPN_1x.yaml", "MHP-v2/parsing_rcnn_X_101_32x8d_FPN_3x.yaml",
                 "quick_schedules/parsing_rcnn_R_18_FPN_instant_test.yaml"):
        assert must in names


@pytest.mark.parametrize("path", CONFIGS, ids=[os.path.relpath(p, REPO) for p in CONFIGS])
def test_config_builds_its_architecture(path):
    cfg, model = _build(path)
    h = cfg.MODEL.ROI_PARSING_HEAD
    assert type(model).__name__ == "ParsingRCNN" and cfg.MODEL.ROI_HEADS.NUM_CLASSES == 1
    rh = model.roi_heads
    assert type(rh).__name__ == "ParsingROIHeads" and rh.parsing_on
    assert type(rh.parsing_head).__name__ == h.NAME
    # PSS: one pooling level for ["p2"], FPN level assignment over several levels
    assert len(rh.parsing_pooler.level_poolers) == len(h.IN_FEATURES)
    assert rh.parsing_pooler.level_poolers[0].aligned is False  # faithful ROIAlign
    assert rh.parsing_pooler.output_size == (h.POOLER_RESOLUTION,) * 2
    # ERR: output maps are RESOLUTION = 4 × pooled (×2 deconv, then bilinear)
    c = model.backbone.output_shape()[h.IN_FEATURES[0]].channels
    x = torch.empty(2, c, h.POOLER_RESOLUTION, h.POOLER_RESOLUTION, device="meta")
    assert rh.parsing_head.layers(x).shape == (2, h.NUM_PARSING, h.RESOLUTION, h.RESOLUTION)
    assert h.RESOLUTION == 4 * h.POOLER_RESOLUTION
    # the label space the data and the TTA flip use has K classes
    assert get_label_space(cfg.INPUT.LABEL_SPACE).num_classes == h.NUM_PARSING
    if h.NAME == "ParsingGCEHead":
        g = h.GCE
        head = rh.parsing_head
        assert len(head.before) == g.NUM_CONVS_BEFORE and len(head.after) == g.NUM_CONVS_AFTER
        assert (head.nonlocal_block is not None) == g.USE_NL
        assert type(head.context).__name__ == ("ASPP" if g.USE_ASPP else "Conv2d")


def test_ablation_rows_differ_as_described():
    def cfg_of(name):
        return get_parsing_cfg(os.path.join(REPO, "configs", "CIHP", f"parsing_rcnn_R_50_FPN_1x{name}.yaml"))

    base, pss, p2 = cfg_of("_baseline"), cfg_of("_pss"), cfg_of("_p2_only")
    assert list(base.MODEL.ROI_PARSING_HEAD.IN_FEATURES) == ["p2", "p3", "p4", "p5"]
    assert list(pss.MODEL.ROI_PARSING_HEAD.IN_FEATURES) == ["p2"]
    assert list(pss.MODEL.ROI_HEADS.IN_FEATURES) == ["p2", "p3", "p4", "p5"]
    assert list(p2.MODEL.ROI_HEADS.IN_FEATURES) == ["p2"]
    assert [cfg_of(s).MODEL.ROI_PARSING_HEAD.POOLER_RESOLUTION for s in ("_pss", "_err32", "_err64")] == [14, 32, 64]
    pbd = {s: (cfg_of(s).MODEL.ROI_PARSING_HEAD.GCE.NUM_CONVS_BEFORE, cfg_of(s).MODEL.ROI_PARSING_HEAD.GCE.NUM_CONVS_AFTER)
           for s in ("_gce", "_4conv_gce", "_gce_4conv", "_4conv_gce_4conv", "")}
    assert pbd == {"_gce": (0, 0), "_4conv_gce": (4, 0), "_gce_4conv": (0, 4), "_4conv_gce_4conv": (4, 4), "": (0, 4)}
    mhp = get_parsing_cfg(os.path.join(REPO, "configs", "MHP-v2", "parsing_rcnn_R_50_FPN_3x.yaml"))
    assert mhp.MODEL.ROI_PARSING_HEAD.TEST.SEMSEG_SCORE_THRESH == 0.05 and mhp.SOLVER.MAX_ITER == 72000


@pytest.mark.parametrize("path", CONFIGS, ids=[os.path.relpath(p, REPO) for p in CONFIGS])
def test_official_detector_and_evaluation_settings(path):
    """Faithful configs: border-straddling anchors out of the RPN loss (official STRADDLE_THRESH 0),
    TTA base pass at the test max size, person box AP reported. The quick schedules keep
    Detectron2's -1 on purpose (small images; see their header)."""
    cfg, model = _build(path)
    quick = "quick_schedules" in path
    assert cfg.MODEL.RPN.BOUNDARY_THRESH == (-1 if quick else 0)
    assert model.proposal_generator.anchor_boundary_thresh == cfg.MODEL.RPN.BOUNDARY_THRESH
    assert cfg.TEST.AUG.BASE_SCALE_USES_TEST_MAX_SIZE and cfg.TEST.AUG.MAX_SIZE == 4000
    assert cfg.TEST.PARSING_EVAL.BOX_AP
