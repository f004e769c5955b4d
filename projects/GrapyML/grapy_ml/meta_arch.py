"""Grapy-ML meta-architecture: backbone + :class:`GrapyMLHead` on the shared
:class:`SemanticParsingModel` (normalisation, padding, grouping by domain, post-processing).

With one domain it is the single-dataset DeepLab v3+ (``MODEL.GPM.ENABLED False``) or GPM model;
with several it is the multi-task DeepLab v3+ (stage 1 of the mutual learning) or Grapy-ML
(stages 2-3): shared backbone, decoder, GPM levels ``MODEL.GRAPY_ML.SHARED_LEVELS``, transforms
and fusion; per-domain level-3 reasoning and classifiers, chosen by each input's ``"domain"``.
"""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, SEM_SEG_HEADS_REGISTRY, build_backbone

from human_parsing.data.domains import check_num_classes
from human_parsing.modeling.semantic import SemanticParsingModel
from human_parsing.modeling.semantic_tta import register_semantic_tta

from .checkpoint import register_official_weights_hook
from .head import GrapyMLHead

__all__ = ["GrapyML"]


@META_ARCH_REGISTRY.register()
class GrapyML(SemanticParsingModel):
    """Inputs as :class:`SemanticParsingModel` (``"image"``, ``"domain"``, ``"sem_seg"``).

    Training returns ``loss_gpm`` = LOSS_WEIGHT_MAIN · CE(ŷ) (GPM enabled) and ``loss_sem_seg`` =
    LOSS_WEIGHT_AUX · CE(y), each the mean over the non-ignored pixels at input resolution
    (methods.md §4.5; a batch holds one domain in Grapy-ML's training). Inference returns
    ``[{"sem_seg": (K_d, height, width)}]`` from ŷ (from y without GPM).
    """

    @configurable
    def __init__(self, *, backbone: nn.Module, head: GrapyMLHead, loss_weight_main: float = 1.0,
                 loss_weight_aux: float = 1.0, ignore_value: int = 255, weights_format: str = "auto",
                 official_domains: Sequence[str] = ("cihp", "pascal_person_part", "atr"), **kwargs):
        """
        Args:
            backbone: returns the features named by the head's decoder.
            head: :class:`GrapyMLHead` with one classifier pair per domain.
            loss_weight_main, loss_weight_aux: weights of CE(ŷ) and CE(y).
            weights_format, official_domains: renaming of official checkpoints on load
                (:mod:`grapy_ml.checkpoint`).
            kwargs: :class:`SemanticParsingModel` arguments (domains, pixel_mean, ...).
        """
        super().__init__(**kwargs)
        if list(head.domains) != self.domains:
            raise ValueError(f"head domains {head.domains} != model domains {self.domains}")
        self.backbone = backbone
        self.head = head
        self.loss_weight_main = loss_weight_main
        self.loss_weight_aux = loss_weight_aux
        self.ignore_value = ignore_value
        shared = head.gpm.shared_levels if head.gpm is not None else ()
        register_official_weights_hook(self, weights_format, self.domains, official_domains, shared)

    @classmethod
    def from_config(cls, cfg):
        ret = super().from_config(cfg)
        ml = cfg.MODEL.GRAPY_ML
        if len(ml.NUM_CLASSES):
            if len(ml.NUM_CLASSES) != len(ret["domains"]):
                raise ValueError(f"MODEL.GRAPY_ML.NUM_CLASSES={tuple(ml.NUM_CLASSES)} needs one number per "
                                 f"domain {ret['domains']}")
            check_num_classes(dict(zip(ret["domains"], ml.NUM_CLASSES)), ret["domains"], "MODEL.GRAPY_ML.NUM_CLASSES")
        backbone = build_backbone(cfg)
        ret.update(
            backbone=backbone,
            head=SEM_SEG_HEADS_REGISTRY.get(ml.HEAD_NAME)(cfg, backbone.output_shape()),
            loss_weight_main=cfg.MODEL.GPM.LOSS_WEIGHT_MAIN,
            loss_weight_aux=cfg.MODEL.GPM.LOSS_WEIGHT_AUX,
            ignore_value=ml.IGNORE_VALUE,
            weights_format=ml.WEIGHTS_FORMAT,
            official_domains=tuple(ml.OFFICIAL_DOMAINS),
        )
        return ret

    def forward_features(self, images: torch.Tensor, domain: str) -> Dict[str, torch.Tensor]:
        """Stride-4 logits of one domain's normalised batch: ``"main"`` (y), ``"gpm"`` (ŷ, when
        enabled) and ``"sem_seg"`` (the inference output: ŷ, else y)."""
        out = self.head(self.backbone(images), domain)
        out["sem_seg"] = out.get("gpm", out["main"])
        return out

    def losses(self, outputs: Dict[str, torch.Tensor], targets: Dict[str, torch.Tensor],
               domain: str) -> Dict[str, torch.Tensor]:
        t = targets["sem_seg"]

        def ce(logits):
            return F.cross_entropy(self.upsample_logits(logits, t.shape[-2:]), t, ignore_index=self.ignore_value)

        losses = {"loss_sem_seg": self.loss_weight_aux * ce(outputs["main"])}
        if "gpm" in outputs:
            losses["loss_gpm"] = self.loss_weight_main * ce(outputs["gpm"])
        return losses


register_semantic_tta("GrapyML")

