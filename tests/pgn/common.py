"""Tiny PGN configs and hand-made inputs shared by the PGN tests."""

import torch
from detectron2.config import get_cfg

from human_parsing.config import add_human_parsing_config
from pgn import add_pgn_config


def tiny_pgn_cfg(num_classes: int = 4):
    """A random-init ResNet-10 / narrow-head PGN that runs in well under a second on CPU."""
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    add_pgn_config(cfg)
    cfg.MODEL.META_ARCHITECTURE = "PGN"
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.BACKBONE.NAME = "build_pgn_resnet_backbone"
    cfg.MODEL.BACKBONE.FREEZE_AT = 0
    cfg.MODEL.PIXEL_MEAN = [125.0, 114.4, 107.9]
    cfg.MODEL.PIXEL_STD = [58.0, 57.0, 57.0]
    r = cfg.MODEL.RESNETS
    r.DEPTH, r.NORM, r.STEM_OUT_CHANNELS, r.RES2_OUT_CHANNELS = 10, "GN", 32, 32
    r.RES4_DILATION, r.RES5_DILATION = 2, 4
    r.OUT_FEATURES = ["res3", "res4", "res5"]
    p = cfg.MODEL.PGN
    p.NUM_CLASSES = num_classes
    p.PARSING_BRANCH_DIM = p.PARSING_DIM = p.EDGE_PP_DIM = p.REFINE_DIM = 16
    p.EDGE_BRANCH_DIM = p.EDGE_DIM = p.PPM_DIM = p.FEA_DIM = p.REMAP_DIM = 8
    p.PPM_KERNELS = [8, 4, 2, 1]
    p.SIDE_DILATIONS = [1, 2]
    p.HEAD_INIT = "msra"
    return cfg


def two_people_input(size: int = 32, num_classes: int = 4):
    """A (3, size, size) image with two side-by-side 'people'; labels, human ids and edges."""
    img = torch.zeros(3, size, size, dtype=torch.uint8)
    sem = torch.zeros(size, size, dtype=torch.int64)
    ids = torch.zeros(size, size, dtype=torch.int64)
    h = size // 4
    for k, (x0, x1) in enumerate([(size // 8, size // 2), (size // 2, 7 * size // 8)], start=1):
        img[:, h : 3 * h, x0:x1] = 60 * k
        sem[h : 2 * h, x0:x1] = 1
        sem[2 * h : 3 * h, x0:x1] = num_classes - 1
        ids[h : 3 * h, x0:x1] = k
    from human_parsing.data.targets import instance_edges

    edges = torch.from_numpy(instance_edges(ids.numpy()).astype("int64"))
    return {"image": img, "sem_seg": sem, "human_ids": ids, "edges": edges, "height": size, "width": size}
