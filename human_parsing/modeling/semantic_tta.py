"""Multi-scale and swap-flip test-time augmentation for semantic parsing models.

Grapy-ML's inference (methods.md §4.7), reused by SST (§6.5) and optionally CorrPM: the image
is resized by each relative scale of ``TEST.SEMANTIC_AUG.SCALES``, optionally mirrored; each run
returns scores at the record's size; mirrored scores are mirrored back with their left/right
channels swapped in the domain's label space (:func:`flip_logits`); the runs are combined by
``TEST.SEMANTIC_AUG.COMBINE``.
"""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from human_parsing.data.domains import pick_domain, resolve_domains
from human_parsing.data.label_spaces import get_label_space
from human_parsing.data.transforms import flip_logits
from human_parsing.engine.trainer import TTA_REGISTRY

__all__ = ["SemanticParsingWithTTA", "COMBINE_MODES", "register_semantic_tta"]

COMBINE_MODES = ("sum", "mean", "prob_mean")


@TTA_REGISTRY.register()
class SemanticParsingWithTTA(nn.Module):
    """Wraps any model whose inference returns ``[{"sem_seg": (K, H, W)}]`` at each input's
    ``height`` x ``width``. Same interface as the model; returns combined ``"sem_seg"`` scores
    (for ``prob_mean``: probabilities) at the record's size.
    """

    @configurable
    def __init__(self, model: nn.Module, *, scales: Sequence[float] = (1.0,), flip: bool = True,
                 combine: str = "sum", domains: Sequence[str] = (), test_domain: str = ""):
        """
        Args:
            model: the semantic model (a DDP wrapper is unwrapped).
            scales: relative resize factors of the input image.
            flip: also run the mirrored image (swap-flip).
            combine: "sum" or "mean" of the scores, or "prob_mean" of their softmax.
            domains, test_domain: choose each input's label space for the channel swap
                (a :class:`SemanticParsingModel` knows its own; these serve other models).
        """
        super().__init__()
        if isinstance(model, DistributedDataParallel):
            model = model.module
        if combine not in COMBINE_MODES:
            raise ValueError(f"TEST.SEMANTIC_AUG.COMBINE={combine!r}: expected one of {COMBINE_MODES}")
        if not scales or any(s <= 0 for s in scales):
            raise ValueError(f"TEST.SEMANTIC_AUG.SCALES must be positive numbers, got {tuple(scales)}")
        self.model = model
        self.scales = [float(s) for s in scales]
        self.flip = flip
        self.combine = combine
        self.domains = list(domains)
        self.test_domain = test_domain

    @classmethod
    def from_config(cls, cfg, model):
        return {
            "model": model,
            "scales": tuple(cfg.TEST.SEMANTIC_AUG.SCALES),
            "flip": cfg.TEST.SEMANTIC_AUG.FLIP,
            "combine": cfg.TEST.SEMANTIC_AUG.COMBINE,
            "domains": resolve_domains(cfg),
            "test_domain": cfg.MODEL.SEMANTIC.TEST_DOMAIN,
        }

    def _domain(self, x: dict) -> str:
        if hasattr(self.model, "domain_of"):
            return self.model.domain_of(x)
        return pick_domain(self.domains, self.test_domain, x.get("domain"))

    @staticmethod
    def _resize(image: torch.Tensor, scale: float) -> torch.Tensor:
        """(C, H, W) image resized bilinearly to round(H * scale) x round(W * scale)."""
        if scale == 1.0:
            return image
        h, w = image.shape[-2:]
        size = (max(1, int(round(h * scale))), max(1, int(round(w * scale))))
        out = F.interpolate(image[None].float(), size=size, mode="bilinear", align_corners=False)[0]
        return out.round().clamp(0, 255).to(image.dtype) if image.dtype == torch.uint8 else out

    def _inference_one(self, x: dict) -> dict:
        image = x["image"]
        h, w = x.get("height", image.shape[-2]), x.get("width", image.shape[-1])
        domain = self._domain(x)
        label_space = get_label_space(domain)
        total, count = None, 0
        for s in self.scales:
            scaled = self._resize(image, s)
            inputs = [dict(x, image=scaled, height=h, width=w, domain=domain)]
            if self.flip:
                inputs.append(dict(inputs[0], image=scaled.flip(-1)))
            outs = [o["sem_seg"] for o in self.model(inputs)]
            if self.flip:
                outs[1] = flip_logits(outs[1], label_space)
            for o in outs:
                o = o.softmax(dim=0) if self.combine == "prob_mean" else o
                total = o if total is None else total + o
                count += 1
        if self.combine != "sum":
            total = total / count
        return {"sem_seg": total}

    def forward(self, batched_inputs: List[dict]) -> List[dict]:
        with torch.no_grad():
            return [self._inference_one(x) for x in batched_inputs]


def register_semantic_tta(meta_architecture: str) -> None:
    """Register :class:`SemanticParsingWithTTA` under a meta-architecture name (TTA_REGISTRY is
    keyed by ``MODEL.META_ARCHITECTURE``). Optional: ``build_tta_model`` already falls back to
    it for every ``SemanticParsingModel``."""
    if meta_architecture not in TTA_REGISTRY:
        TTA_REGISTRY._do_register(meta_architecture, SemanticParsingWithTTA)
