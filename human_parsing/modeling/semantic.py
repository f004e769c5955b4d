"""Base meta-architecture of the semantic-parsing methods (Grapy-ML, CorrPM, SST).

:class:`SemanticParsingModel` does what the three share (semantic_interface.md §3): pixel
normalisation, padding to ``size_divisibility``, grouping a batch by ``"domain"``, padding the
targets, and the post-processing of the logits to each record's ``height`` x ``width``.
Subclasses implement :meth:`forward_features` and :meth:`losses`, and register themselves in
``META_ARCH_REGISTRY``.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.modeling.postprocessing import sem_seg_postprocess
from detectron2.structures import ImageList
from torch import nn

from human_parsing.data.domains import pick_domain, resolve_domains
from human_parsing.data.label_spaces import IGNORE_LABEL, LabelSpace, get_label_space

__all__ = ["SemanticParsingModel"]


class SemanticParsingModel(nn.Module):
    """Base class: batched inputs of :class:`SemanticParsingDatasetMapper` in, losses (training)
    or ``[{"sem_seg": (K, height, width) logits}]`` (inference) out, K of the input's domain.

    Subclass contract:
        - ``forward_features(images, domain)``: ``images`` (N, C, Hp, Wp) normalised and padded,
          all of one ``domain``; returns a dict of outputs whose ``"sem_seg"`` entry holds the
          logits used at inference, (N, K, h, w) at any resolution (bilinearly upsampled to
          (Hp, Wp) here, ``align_corners`` from the config).
        - ``losses(outputs, targets, domain)``: ``targets`` maps each key of
          ``target_pad_values`` present in the inputs to its padded (N, ...) tensor; returns a
          dict of ``loss_*`` scalars.
        - ``@configurable __init__(self, *, <own args>, **kwargs)`` passing ``kwargs`` to this
          class, and ``from_config(cls, cfg)`` extending ``super().from_config(cfg)``.
    """

    # target keys of the inputs padded into the batch, and their padding value
    target_pad_values: Dict[str, float] = {"sem_seg": IGNORE_LABEL}

    @configurable
    def __init__(
        self,
        *,
        domains: Sequence[str],
        pixel_mean: Tuple[float, ...],
        pixel_std: Tuple[float, ...],
        size_divisibility: int = 0,
        test_domain: str = "",
        align_corners: bool = False,
    ):
        """
        Args:
            domains: label-space names the model has heads for.
            pixel_mean, pixel_std: per-channel normalisation of the input images.
            size_divisibility: pad the batch to a multiple of this.
            test_domain: inference domain overriding the inputs' ("" = theirs, else the first).
            align_corners: of the upsampling of logits to the padded input size.
        """
        super().__init__()
        if not domains:
            raise ValueError("SemanticParsingModel needs at least one domain")
        self.domains = list(domains)
        self.label_spaces: Dict[str, LabelSpace] = {d: get_label_space(d) for d in self.domains}
        pick_domain(self.domains, test_domain)  # validates test_domain
        self.test_domain = test_domain
        self.size_divisibility = size_divisibility
        self.align_corners = align_corners
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)

    @classmethod
    def from_config(cls, cfg) -> dict:
        return {
            "domains": resolve_domains(cfg),
            "pixel_mean": tuple(cfg.MODEL.PIXEL_MEAN),
            "pixel_std": tuple(cfg.MODEL.PIXEL_STD),
            "size_divisibility": cfg.MODEL.SEMANTIC.SIZE_DIVISIBILITY,
            "test_domain": cfg.MODEL.SEMANTIC.TEST_DOMAIN,
            "align_corners": cfg.MODEL.SEMANTIC.ALIGN_CORNERS,
        }

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def num_classes(self, domain: str) -> int:
        return self.label_spaces[domain].num_classes

    # ---- to implement ----------------------------------------------------------------------
    def forward_features(self, images: torch.Tensor, domain: str) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def losses(self, outputs: Dict[str, torch.Tensor], targets: Dict[str, torch.Tensor],
               domain: str) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    # ---- shared steps ----------------------------------------------------------------------
    def domain_of(self, batched_input: dict) -> str:
        """The domain an input is processed in: its ``"domain"`` in training; at inference
        ``test_domain`` if set, else its ``"domain"``, else the first domain."""
        if self.training:
            d = batched_input.get("domain")
            if d is None:
                if len(self.domains) > 1:
                    raise ValueError(
                        f"Training input {batched_input.get('file_name')} has no 'domain' but the model "
                        f"has domains {self.domains}: use the trainer's loaders, which add it"
                    )
                return self.domains[0]
            return pick_domain(self.domains, "", d)
        return pick_domain(self.domains, self.test_domain, batched_input.get("domain"))

    def group_by_domain(self, batched_inputs: List[dict]) -> "OrderedDict[str, List[int]]":
        """Indices of the inputs of each domain, domains in order of first appearance."""
        groups: "OrderedDict[str, List[int]]" = OrderedDict()
        for i, x in enumerate(batched_inputs):
            groups.setdefault(self.domain_of(x), []).append(i)
        return groups

    def preprocess_image(self, batched_inputs: List[dict]) -> ImageList:
        """Normalise and pad the ``"image"`` of every input (padding 0 after normalisation)."""
        images = [(x["image"].to(self.device).float() - self.pixel_mean) / self.pixel_std for x in batched_inputs]
        return ImageList.from_tensors(images, self.size_divisibility)

    def preprocess_targets(self, batched_inputs: List[dict], images: ImageList) -> Dict[str, torch.Tensor]:
        """Pad each target of ``target_pad_values`` to the padded image size (divided by the
        target's own stride, e.g. stride-4 heatmaps)."""
        hp, wp = images.tensor.shape[-2:]
        h0 = images.image_sizes[0][0]
        targets = {}
        for key, pad in self.target_pad_values.items():
            if key not in batched_inputs[0]:
                continue
            ts = [x[key].to(self.device) for x in batched_inputs]
            stride = max(1, round(h0 / ts[0].shape[-2]))
            out = ts[0].new_full((len(ts),) + tuple(ts[0].shape[:-2]) + (hp // stride, wp // stride), pad)
            for i, t in enumerate(ts):
                out[i, ..., : t.shape[-2], : t.shape[-1]].copy_(t)
            targets[key] = out
        return targets

    def upsample_logits(self, logits: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        if tuple(logits.shape[-2:]) == tuple(size):
            return logits
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=self.align_corners)

    def forward(self, batched_inputs: List[dict]):
        """
        Args:
            batched_inputs: dicts with ``"image"`` (C, H, W) in ``INPUT.FORMAT``, ``"domain"``,
                in training the targets (``"sem_seg"`` (H, W), ...), at inference optionally
                ``"height"``/``"width"`` of the output.
        Returns:
            training: dict of losses, each the image-weighted average over the domain groups;
            inference: ``[{"sem_seg": (K, height, width)}]`` in input order.
        """
        images = self.preprocess_image(batched_inputs)
        groups = self.group_by_domain(batched_inputs)
        if self.training:
            targets = self.preprocess_targets(batched_inputs, images)
            n = len(batched_inputs)
            losses: Dict[str, torch.Tensor] = {}
            for domain, idx in groups.items():
                sel = torch.as_tensor(idx, device=self.device)
                outputs = self.forward_features(images.tensor[sel], domain)
                group_losses = self.losses(outputs, {k: v[sel] for k, v in targets.items()}, domain)
                for k, v in group_losses.items():
                    losses[k] = losses.get(k, 0) + v * (len(idx) / n)
            return losses
        results: List[Optional[dict]] = [None] * len(batched_inputs)
        size = tuple(images.tensor.shape[-2:])
        for domain, idx in groups.items():
            sel = torch.as_tensor(idx, device=self.device)
            logits = self.upsample_logits(self.forward_features(images.tensor[sel], domain)["sem_seg"], size)
            for j, i in enumerate(idx):
                x = batched_inputs[i]
                image_size = images.image_sizes[i]
                h, w = x.get("height", image_size[0]), x.get("width", image_size[1])
                results[i] = {"sem_seg": sem_seg_postprocess(logits[j], image_size, h, w)}
        return results
