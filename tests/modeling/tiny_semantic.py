"""A tiny ``SemanticParsingModel`` for tests: 2x2 average pooling, then one 1x1 conv per domain
(logits at half resolution, so the base class's upsampling is exercised)."""
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY
from torch import nn

from human_parsing.modeling.semantic import SemanticParsingModel


class TinySemanticParsing(SemanticParsingModel):
    @configurable
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.heads = nn.ModuleDict({d: nn.Conv2d(3, self.num_classes(d), 1) for d in self.domains})

    def forward_features(self, images, domain):
        return {"sem_seg": self.heads[domain](F.avg_pool2d(images, 2))}

    def losses(self, outputs, targets, domain):
        logits = self.upsample_logits(outputs["sem_seg"], targets["sem_seg"].shape[-2:])
        return {"loss_sem_seg": F.cross_entropy(logits, targets["sem_seg"], ignore_index=255)}


if "TinySemanticParsing" not in META_ARCH_REGISTRY:
    META_ARCH_REGISTRY.register(TinySemanticParsing)


def tiny_cfg(domains=("cihp", "atr"), **opts):
    from detectron2.config import get_cfg

    from human_parsing.config import add_human_parsing_config

    cfg = get_cfg()
    add_human_parsing_config(cfg)
    cfg.MODEL.META_ARCHITECTURE = "TinySemanticParsing"
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.PIXEL_MEAN = [127.5] * 3
    cfg.MODEL.PIXEL_STD = [127.5] * 3
    cfg.MODEL.SEMANTIC.DOMAINS = tuple(domains)
    cfg.DATASETS.TRAIN = ()
    cfg.DATASETS.TEST = ()
    cfg.merge_from_list([x for kv in opts.items() for x in kv])
    return cfg
