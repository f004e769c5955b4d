"""Config helpers shared by the CorrPM tests."""
import os

from detectron2.config import get_cfg

import corrpm
from human_parsing.config import add_human_parsing_config

CONFIG_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "projects", "CorrPM", "configs")
QUICK = os.path.join(CONFIG_ROOT, "quick_schedules", "corrpm_R_50_synthetic.yaml")


def load_cfg(path: str = QUICK, opts=()):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    corrpm.add_corrpm_config(cfg)
    cfg.merge_from_file(path)
    cfg.merge_from_list(list(opts))
    cfg.MODEL.DEVICE = "cpu"
    return cfg
