"""Grapy-ML meta-architecture: backbone + :class:`GrapyMLHead`, one or several domains.

With one domain it is the single-dataset DeepLab v3+ (``MODEL.GPM.ENABLED False``) or GPM model;
with several it is the multi-task DeepLab v3+ (stage 1 of the mutual learning) or Grapy-ML
(stages 2-3): shared backbone, decoder, GPM levels ``MODEL.GRAPY_ML.SHARED_LEVELS``, transforms
and fusion; per-domain level-3 reasoning and classifiers, chosen by each input's ``"domain"``.
"""
import logging
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.modeling import META_ARCH_REGISTRY, build_backbone
from detectron2.modeling.postprocessing import sem_seg_postprocess
from detectron2.structures import ImageList

from .checkpoint import register_official_weights_hook
from .head import GrapyMLHead

__all__ = ["GrapyML"]

logger = logging.getLogger(__name__)


@META_ARCH_REGISTRY.register()
class GrapyML(nn.Module):
    """Input: Detectron2 list of dicts with ``"image"`` (C, H, W) uint8 in ``INPUT.FORMAT``,
    ``"domain"`` (label-space name; optional with one domain), ``"height"``/``"width"`` and, in
    training, ``"sem_seg"`` (H, W) int64 (255 ignored).

    Training returns ``loss_gpm`` = LOSS_WEIGHT_MAIN · CE(ŷ) (GPM enabled) and ``loss_sem_seg`` =
    LOSS_WEIGHT_AUX · CE(y), means over the batch's non-ignored pixels at input resolution
    (methods.md §4.5). Inference returns ``[{"sem_seg": (K_d, height, width) logits}]`` from ŷ
    (y without GPM), K_d of the input's domain or ``MODEL.SEMANTIC.TEST_DOMAIN``.
    """

    def __init__(self, cfg):
        super().__init__()
        self.backbone = build_backbone(cfg)
        self.head = GrapyMLHead(cfg, self.backbone.output_shape())
        self.domains = list(self.head.domains)
        self.test_domain = cfg.MODEL.SEMANTIC.TEST_DOMAIN or self.domains[0]
        g = cfg.MODEL.GPM
        self.loss_weight_main = g.LOSS_WEIGHT_MAIN
        self.loss_weight_aux = g.LOSS_WEIGHT_AUX
        self.ignore_value = cfg.MODEL.GRAPY_ML.IGNORE_VALUE
        self.align_corners = cfg.MODEL.DEEPLAB_V3PLUS.ALIGN_CORNERS
        self.size_divisibility = cfg.MODEL.GRAPY_ML.SIZE_DIVISIBILITY
        self.register_buffer("pixel_mean", torch.tensor(cfg.MODEL.PIXEL_MEAN).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(cfg.MODEL.PIXEL_STD).view(-1, 1, 1), False)
        ml = cfg.MODEL.GRAPY_ML
        register_official_weights_hook(self, ml.WEIGHTS_FORMAT, self.domains, ml.OFFICIAL_DOMAINS, ml.SHARED_LEVELS)

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def _domain_of(self, x: Dict) -> str:
        d = x.get("domain")
        if d is None:
            if self.training and len(self.domains) > 1:
                raise ValueError(f"Input {x.get('file_name', '?')} has no 'domain' but the model has "
                                 f"several {self.domains}; use the multi-domain train loader")
            return self.test_domain if not self.training else self.domains[0]
        if d not in self.domains:
            raise ValueError(f"Input {x.get('file_name', '?')}: domain {d!r} is not configured "
                             f"(MODEL.SEMANTIC.DOMAINS = {self.domains})")
        return d

    def _group(self, batched_inputs: List[Dict]) -> "OrderedDict[str, List[int]]":
        groups: "OrderedDict[str, List[int]]" = OrderedDict()
        for i, x in enumerate(batched_inputs):
            groups.setdefault(self._domain_of(x), []).append(i)
        return groups

    def preprocess_image(self, batched_inputs: List[Dict]) -> ImageList:
        images = [(x["image"].to(self.device).float() - self.pixel_mean) / self.pixel_std for x in batched_inputs]
        return ImageList.from_tensors(images, self.size_divisibility)

    def forward_features(self, images: torch.Tensor, domain: str) -> Dict[str, torch.Tensor]:
        """Stride-4 logits ``{"main": y[, "gpm": ŷ]}`` of a normalised (N, 3, H, W) batch."""
        return self.head(self.backbone(images), domain)

    def _upsample(self, logits: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=self.align_corners)

    def forward(self, batched_inputs: List[Dict]):
        if not self.training:
            return self.inference(batched_inputs)
        images = self.preprocess_image(batched_inputs)
        size = images.tensor.shape[-2:]
        targets = ImageList.from_tensors(
            [x["sem_seg"].to(self.device) for x in batched_inputs], self.size_divisibility, self.ignore_value
        ).tensor
        if tuple(targets.shape[-2:]) != tuple(size):  # images padded further than the labels
            targets = F.pad(targets, (0, size[1] - targets.shape[-1], 0, size[0] - targets.shape[-2]),
                            value=self.ignore_value)
        valid = (targets != self.ignore_value).sum().clamp_min(1)
        f = self.head.decoder(self.backbone(images.tensor))  # shared by every domain of the batch
        losses = {"loss_sem_seg": 0.0}
        if self.head.gpm is not None:
            losses["loss_gpm"] = 0.0
        for domain, idx in self._group(batched_inputs).items():
            out = self.head.predict(f[idx] if len(idx) < len(f) else f, domain)
            t = targets[idx]
            ce = {k: F.cross_entropy(self._upsample(v, size), t, ignore_index=self.ignore_value, reduction="sum")
                  for k, v in out.items()}
            losses["loss_sem_seg"] = losses["loss_sem_seg"] + ce["main"] * self.loss_weight_aux / valid
            if "gpm" in ce:
                losses["loss_gpm"] = losses["loss_gpm"] + ce["gpm"] * self.loss_weight_main / valid
        return losses

    def inference(self, batched_inputs: List[Dict]) -> List[Dict]:
        images = self.preprocess_image(batched_inputs)
        size = images.tensor.shape[-2:]
        f = self.head.decoder(self.backbone(images.tensor))
        results: List[Dict] = [None] * len(batched_inputs)
        for domain, idx in self._group(batched_inputs).items():
            out = self.head.predict(f[idx] if len(idx) < len(f) else f, domain)
            logits = self._upsample(out.get("gpm", out["main"]), size)
            for j, i in enumerate(idx):
                x = batched_inputs[i]
                h, w = images.image_sizes[i]
                r = sem_seg_postprocess(logits[j], (h, w), x.get("height", h), x.get("width", w))
                results[i] = {"sem_seg": r, "domain": domain}
        return results
