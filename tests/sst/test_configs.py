"""Config smoke: every SST yaml loads with the project's keys and builds its model."""
import glob
import os

import pytest
from detectron2.config import get_cfg
from detectron2.modeling import build_model

from human_parsing.config import add_human_parsing_config
from sst import add_sst_config

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "projects", "SST", "configs")
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "**", "*.yaml"), recursive=True))


def load(path):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    add_sst_config(cfg)
    cfg.merge_from_file(path)
    cfg.MODEL.DEVICE = "cpu"
    return cfg


def test_configs_found():
    names = {os.path.relpath(p, ROOT) for p in CONFIGS}
    assert {
        "universal/sst_R_50_universal.yaml", "universal/sst_R_101_universal.yaml",
        "universal/sst_R_50_universal_progressive.yaml", "universal/multi_datasets_R_50.yaml",
        "ablations/sst_R_50_aux_none.yaml", "ablations/sst_R_50_aux_intra.yaml",
        "ablations/sst_R_50_scr_dataset.yaml", "ablations/sst_R_50_scr_image.yaml",
        "dedicated/fine_to_coarse_cihp_to_pascal_R_50.yaml", "dedicated/coarse_to_fine_pascal_to_cihp_R_50.yaml",
        "dedicated/universal_to_specific_atr_cihp_to_pascal_R_50.yaml",
        "quick_schedules/sst_R_18_universal_synthetic.yaml", "quick_schedules/sst_R_18_baseline_synthetic.yaml",
    } <= names


def test_paper_values_in_base_config():
    cfg = load(os.path.join(ROOT, "universal", "sst_R_50_universal.yaml"))
    s = cfg.MODEL.SST
    assert (s.LOSS_SEG_WEIGHT, s.LOSS_AUX_WEIGHT, s.LOSS_SCR_WEIGHT) == (10.0, 1.0, 5.0)
    assert cfg.SOLVER.BASE_LR == 1e-4 and cfg.SOLVER.IMS_PER_BATCH == 4
    # the drop at epoch 125 of 150
    assert cfg.SOLVER.STEPS[0] / cfg.SOLVER.MAX_ITER == pytest.approx(125 / 150)
    assert tuple(cfg.INPUT.CROP.SIZE) == (512, 512) and tuple(cfg.INPUT.PARSING.SCALE_RANGE) == (0.5, 2.0)


@pytest.mark.parametrize("path", [p for p in CONFIGS if not os.path.basename(p).startswith("Base-")],
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_config_builds(path):
    cfg = load(path)
    if cfg.MODEL.RESNETS.DEPTH == 101:  # same code path as R-50, saves test time
        cfg.MODEL.RESNETS.DEPTH = 50
    model = build_model(cfg)
    assert list(model.heads) == list(cfg.MODEL.SEMANTIC.DOMAINS)
    assert (model.aux is None) == (not cfg.MODEL.SST.AUX_ON)
    assert (model.teacher is not None) == (cfg.MODEL.SST.MODE == "dedicated")
