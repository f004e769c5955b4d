"""Every *_official_weights.yaml config has a registered converter whose table covers its model."""
import glob
import os

import pytest

from human_parsing.official_weights import get_converter, model_shapes
from tests.official_weights.common import REPO, get_config

CONFIGS = sorted(glob.glob(os.path.join(REPO, "configs", "**", "*_official_weights.yaml"), recursive=True)
                 + glob.glob(os.path.join(REPO, "projects", "*", "configs", "**", "*_official_weights.yaml"),
                             recursive=True))
METHOD = {"parsing_rcnn_": "parsing_rcnn", "pgn_": "pgn", "corrpm_": "corrpm", "grapy_ml_": "grapy_ml",
          "deeplab_v3plus_": "grapy_ml", "gpm_": "grapy_ml"}


def test_configs_found():
    names = {os.path.relpath(p, REPO) for p in CONFIGS}
    assert {"configs/CIHP/parsing_rcnn_R_50_FPN_3x_official_weights.yaml", "configs/CIHP/pgn_R_101_official_weights.yaml",
            "configs/MHP-v2/parsing_rcnn_R_50_FPN_3x_official_weights.yaml",
            "projects/CorrPM/configs/LIP/corrpm_R_101_official_weights.yaml",
            "projects/GrapyML/configs/CIHP/gpm_X65_os16_official_weights.yaml",
            "projects/GrapyML/configs/PASCAL-Person-Part/grapy_ml_stage3_X65_os16_official_weights.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.relpath(p, REPO))
def test_converter_table_covers_config(path):
    base = os.path.basename(path)
    method = next((m for prefix, m in METHOD.items() if base.startswith(prefix)), None)
    if method is None:
        pytest.skip(f"{base}: converter registered by another package")
    cfg = get_config(os.path.relpath(path, REPO))
    assert cfg.MODEL.WEIGHTS == "" and cfg.INPUT.FORMAT == "BGR" and cfg.INPUT.LABEL_SPACE
    table = get_converter(method).table(cfg, {})
    shapes = model_shapes(cfg)
    assert {e.ours for e in table.entries} | {f.ours for f in table.fills} == set(shapes)
