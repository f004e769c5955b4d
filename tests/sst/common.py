"""Tiny SST configs and hand-made multi-domain inputs shared by the SST tests."""
import torch
from detectron2.config import get_cfg

from human_parsing.config import add_human_parsing_config
from human_parsing.data.label_spaces import get_label_space
from sst import add_sst_config

DOMAINS = ("pascal_person_part", "atr")


def tiny_sst_cfg(domains=DOMAINS, **sst):
    """A random-init ResNet-18 SST with D = 32 that runs in a fraction of a second."""
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    add_sst_config(cfg)
    cfg.MODEL.META_ARCHITECTURE = "SSTParser"
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.BACKBONE.NAME = "build_resnet_backbone"
    cfg.MODEL.BACKBONE.FREEZE_AT = 0
    r = cfg.MODEL.RESNETS
    r.DEPTH, r.NORM, r.RES2_OUT_CHANNELS = 18, "GN", 64  # Detectron2 asserts 64 for R-18
    r.OUT_FEATURES = ["res2", "res3", "res4", "res5"]
    s = cfg.MODEL.SST
    s.EMBED_DIM, s.ENCODER_LAYERS, s.ENCODER_HEADS, s.ENCODER_POINTS, s.ENCODER_FFN_DIM = 32, 1, 4, 2, 64
    s.DECODER_HEADS, s.DECODER_FFN_DIM, s.DECODER_WINDOW = 4, 64, 4
    cfg.MODEL.SEMANTIC.DOMAINS = list(domains)
    for k, v in sst.items():
        setattr(s, k, v)
    return cfg


def domain_input(domain: str, size=(64, 48), seed=0):
    """An image with a bright 'person' whose top half is class 1 and bottom half class Z-1."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    img = (torch.rand(3, h, w, generator=g) * 40).to(torch.uint8)
    sem = torch.zeros(h, w, dtype=torch.int64)
    z = get_label_space(domain).num_classes
    x0, x1 = w // 4, 3 * w // 4
    img[:, h // 8 : h // 2, x0:x1] += 180
    img[0, h // 2 : 7 * h // 8, x0:x1] += 120
    sem[h // 8 : h // 2, x0:x1] = 1
    sem[h // 2 : 7 * h // 8, x0:x1] = z - 1
    sem[0, :] = 255  # an ignored row
    return {"image": img, "sem_seg": sem, "domain": domain, "height": h, "width": w, "file_name": f"{domain}_{seed}.jpg"}


def mixed_batch(domains=DOMAINS, per_domain=2):
    return [domain_input(d, seed=10 * i + j) for i, d in enumerate(domains) for j in range(per_domain)]
