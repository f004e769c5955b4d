"""Config helpers of the Grapy-ML tests: the faithful configs and a tiny random-init variant."""
import os

from detectron2.config import get_cfg

import grapy_ml
import human_parsing.data  # noqa: F401  (registers the datasets)
from human_parsing.config import add_human_parsing_config

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "projects", "GrapyML", "configs")


def load_cfg(path: str = "", opts=()):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    grapy_ml.add_grapy_ml_config(cfg)
    if path:
        cfg.merge_from_file(os.path.join(CONFIGS, path))
    cfg.merge_from_list(list(opts))
    cfg.MODEL.DEVICE = "cpu"
    return cfg


def cpu_norms(cfg, norm: str = "BN"):
    """SyncBN -> ``norm`` (one CPU process)."""
    cfg.MODEL.XCEPTION.NORM = norm
    cfg.MODEL.DEEPLAB_V3PLUS.NORM = norm
    cfg.MODEL.DEEPLAB_V3PLUS.POOL_NORM = norm
    return cfg


def tiny_cfg(domains=("cihp",), gpm: bool = True, **gpm_opts):
    """Same network with narrow widths: runs a 32×32 image in milliseconds."""
    cfg = cpu_norms(load_cfg("Base-GrapyML.yaml"))
    cfg.MODEL.SEMANTIC.DOMAINS = tuple(domains)
    cfg.DATASETS.TRAIN = cfg.DATASETS.TEST = ()
    x = cfg.MODEL.XCEPTION
    x.STEM_CHANNELS, x.ENTRY_CHANNELS, x.NUM_MIDDLE_BLOCKS, x.EXIT_CHANNELS = [4, 8], [8, 16, 16], 1, [16, 16, 16, 24]
    d = cfg.MODEL.DEEPLAB_V3PLUS
    d.ASPP_CHANNELS, d.PROJECT_CHANNELS, d.DECODER_CHANNELS, d.ASPP_DILATIONS = 8, 4, 8, [1, 2, 3]
    g = cfg.MODEL.GPM
    g.ENABLED, g.NODE_DIM, g.HIDDEN_DIM, g.FUSION_CHANNELS = gpm, 16, 8, 12
    for k, v in gpm_opts.items():
        setattr(g, k.upper(), v)
    return cfg
