"""PGN test-time augmentation (methods.md §3.7): multi-scale + flip for parts, multi-scale +
flip for edges, then the same partition as single-scale inference."""

import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from detectron2.data import MetadataCatalog

from human_parsing.data.label_spaces import get_label_space
from human_parsing.engine import TTA_REGISTRY

from .post_processing import postprocess_at_output_size, working_size

__all__ = ["PGNWithTTA", "flip_perm_from_cfg"]

logger = logging.getLogger(__name__)


def flip_perm_from_cfg(cfg) -> np.ndarray:
    """(K,) channel permutation of the label space (``INPUT.LABEL_SPACE``, else the metadata of
    the first test dataset)."""
    name = cfg.INPUT.LABEL_SPACE
    if not name and cfg.DATASETS.TEST:
        name = MetadataCatalog.get(cfg.DATASETS.TEST[0]).get("label_space", "")
    if not name:
        raise ValueError("PGN TTA needs a label space for the flip: set INPUT.LABEL_SPACE or DATASETS.TEST")
    perm = get_label_space(name).flip_perm
    if len(perm) != cfg.MODEL.PGN.NUM_CLASSES:
        raise ValueError(
            f"Label space {name!r} has {len(perm)} classes, MODEL.PGN.NUM_CLASSES is "
            f"{cfg.MODEL.PGN.NUM_CLASSES}"
        )
    return perm


class PGNWithTTA(nn.Module):
    """Wraps a :class:`pgn.PGN`. For each image, at each scale s the image (and its mirror) is
    resized by s and run; part logits (mean of P1 and P2) of ``parsing_scales`` and edge logits
    (E2) of ``edge_scales`` are resized to the output size and averaged; mirrored part logits are
    flipped back with their left/right channels swapped (``flip_perm``), mirrored edge logits are
    only flipped back; the two copies are averaged. Output: the model's inference interface.
    """

    def __init__(
        self,
        cfg=None,
        model: nn.Module = None,
        *,
        parsing_scales: Sequence[float] = (1.0,),
        edge_scales: Sequence[float] = (1.0,),
        flip: bool = False,
        flip_perm: Optional[Sequence[int]] = None,
    ):
        """Build from ``(cfg, model)`` (keys ``TEST.PGN.*``) or from ``model`` + keywords."""
        super().__init__()
        if cfg is not None:
            parsing_scales, edge_scales = cfg.TEST.PGN.PARSING_SCALES, cfg.TEST.PGN.EDGE_SCALES
            flip = cfg.TEST.PGN.FLIP
            flip_perm = flip_perm_from_cfg(cfg) if flip else None
        if model is None:
            raise ValueError("PGNWithTTA needs a model")
        if not parsing_scales or any(s <= 0 for s in list(parsing_scales) + list(edge_scales)):
            raise ValueError(f"PGN TTA scales must be positive, got {parsing_scales} / {edge_scales}")
        if flip and flip_perm is None:
            raise ValueError("PGN TTA with flip needs flip_perm")
        self.model = model
        self.parsing_scales = tuple(float(s) for s in parsing_scales)
        self.edge_scales = tuple(float(s) for s in edge_scales)
        self.flip = flip
        self.flip_perm = (
            None if flip_perm is None else torch.as_tensor(np.asarray(flip_perm), dtype=torch.long)
        )

    @torch.no_grad()
    def forward(self, batched_inputs: List[Dict]) -> List[Dict]:
        return [self._inference_one(x) for x in batched_inputs]

    def _inference_one(self, record: Dict) -> Dict:
        image = record["image"]
        h0, w0 = image.shape[-2:]
        out_size = (record.get("height", h0), record.get("width", w0))
        H, W = working_size((h0, w0), out_size)  # where the scales are merged
        parsing_sum, edge_sum = None, None
        for s in sorted(set(self.parsing_scales) | set(self.edge_scales)):
            size = (max(1, int(round(h0 * s))), max(1, int(round(w0 * s))))
            x = image.to(self.model.device).float()
            if size != (h0, w0):
                # TF resize_images: bilinear, no corner alignment
                x = F.interpolate(x[None], size=size, mode="bilinear", align_corners=False)[0]
            inputs = [x, x.flip(-1)] if self.flip else [x]
            parsing, edges = self.model.predict(inputs)
            if s in self.parsing_scales:
                p = self._merge_flip([self._resize(t, (H, W)) for t in parsing], swap=True)
                parsing_sum = p if parsing_sum is None else parsing_sum + p
            if s in self.edge_scales and edges[0] is not None:
                e = self._merge_flip([self._resize(t[None], (H, W))[0] for t in edges], swap=False)
                edge_sum = e if edge_sum is None else edge_sum + e
        parsing = parsing_sum / len(self.parsing_scales)
        edge = None if edge_sum is None else edge_sum / len(self.edge_scales)
        return postprocess_at_output_size(
            parsing,
            edge,
            out_size,
            partition_mode=self.model.partition_mode,
            edge_thresh=self.model.partition_edge_thresh,
        )

    @staticmethod
    def _resize(t: torch.Tensor, size) -> torch.Tensor:
        if tuple(t.shape[-2:]) == tuple(size):
            return t
        return F.interpolate(t[None], size=size, mode="bilinear", align_corners=False)[0]

    def _merge_flip(self, maps: List[torch.Tensor], swap: bool) -> torch.Tensor:
        """Average the direct map with the mirrored one flipped back (channels swapped if ``swap``)."""
        if not self.flip:
            return maps[0]
        back = maps[1].flip(-1)
        if swap:
            back = back[self.flip_perm.to(back.device)]
        return (maps[0] + back) / 2


# TTA_REGISTRY is keyed by meta-architecture name, not by the wrapper's class name
TTA_REGISTRY._do_register("PGN", PGNWithTTA)
