"""Test-time augmentation for Parsing R-CNN (methods.md §2.6 item 6).

Boxes of every augmented pass (flips, extra scales) are merged before the final NMS and cap, as
in Detectron2's ``GeneralizedRCNNWithTTA``; the parsing head then runs on the merged boxes mapped
into each augmented frame. Flipped ROI probabilities are mirrored back with the left/right
channels swapped (``LabelSpace.flip_perm``), and all passes are merged by ``TEST.AUG.PARSING_HEUR``.
As in the official code, the pass at the test scale (and its flip) may keep the test max size
while the extra scales use ``TEST.AUG.MAX_SIZE`` (``TEST.AUG.BASE_SCALE_USES_TEST_MAX_SIZE``).
"""
import logging
from typing import List, Optional, Sequence

import numpy as np
import torch

from detectron2.data import MetadataCatalog
from detectron2.data.transforms import HFlipTransform
from detectron2.config import configurable
from detectron2.modeling import DatasetMapperTTA, GeneralizedRCNNWithTTA
from detectron2.modeling.postprocessing import detector_postprocess
from human_parsing.data.label_spaces import get_label_space
from human_parsing.engine import TTA_REGISTRY

from .inference import parsing_rcnn_postprocess

__all__ = ["ParsingRCNNWithTTA", "ScaleMaxSizeMapperTTA", "merge_parsing_probs", "flip_parsing_probs",
           "flip_uv_outputs"]

UV_FIELDS = ("pred_uv_coarse", "pred_uv_index", "pred_uv_u", "pred_uv_v")

logger = logging.getLogger(__name__)

HEURISTICS = ("SOFT_AVG", "SOFT_MAX", "LOGIT_AVG")


def flip_parsing_probs(probs: torch.Tensor, flip_perm: Sequence[int]) -> torch.Tensor:
    """Map (R, K, M, M) ROI probabilities of a mirrored image back: swap left/right channels,
    mirror horizontally."""
    perm = torch.as_tensor(np.asarray(flip_perm), dtype=torch.int64, device=probs.device)
    return probs[:, perm].flip(dims=[3])


def merge_parsing_probs(probs: List[torch.Tensor], heuristic: str = "SOFT_AVG") -> torch.Tensor:
    """Merge aligned (R, K, M, M) probabilities of several passes: mean (SOFT_AVG), element-wise
    max (SOFT_MAX), or sigmoid of the mean logit log(p / (1 − p)) (LOGIT_AVG)."""
    stacked = torch.stack(probs, dim=0)
    if heuristic == "SOFT_AVG":
        return stacked.mean(dim=0)
    if heuristic == "SOFT_MAX":
        return stacked.max(dim=0).values
    if heuristic == "LOGIT_AVG":
        p = stacked.clamp(1e-6, 1 - 1e-6)
        return torch.sigmoid(torch.log(p / (1 - p)).mean(dim=0))
    raise ValueError(f"Unknown TEST.AUG.PARSING_HEUR {heuristic!r}; choose from {HEURISTICS}")


def flip_uv_outputs(maps: Sequence[torch.Tensor], symmetry) -> List[torch.Tensor]:
    """Map the UV head's (coarse, patch, U, V) ROI maps of a mirrored image back (the official
    ``flip_uv_featuremap``): mirror; coarse and patch channels swapped by the label spaces; the
    U/V of channel i (U, V clipped to [0, 1]) moved through the symmetry of patch i into channel
    ``perm[i]``."""
    parts = torch.as_tensor(get_label_space("densepose_parts").flip_perm, dtype=torch.int64)
    perm = get_label_space("densepose_patches").flip_perm
    coarse, index, u, v = (m.flip(dims=[3]) for m in maps)
    u_out, v_out = torch.zeros_like(u), torch.zeros_like(v)
    for i in range(1, u.shape[1]):
        ui, vi = u[:, i].clamp(0, 1).cpu().numpy(), v[:, i].clamp(0, 1).cpu().numpy()
        tu, tv = symmetry.transform(np.full(ui.size, i), ui.reshape(-1), vi.reshape(-1))
        u_out[:, perm[i]] = torch.as_tensor(tu.reshape(ui.shape), dtype=u.dtype, device=u.device)
        v_out[:, perm[i]] = torch.as_tensor(tv.reshape(vi.shape), dtype=v.dtype, device=v.device)
    idx = torch.as_tensor(perm, dtype=torch.int64, device=index.device)
    return [coarse[:, parts.to(coarse.device)], index[:, idx], u_out, v_out]


class ScaleMaxSizeMapperTTA(DatasetMapperTTA):
    """Detectron2's ``DatasetMapperTTA`` with one max size per scale (same passes, same order).

    With ``TEST.AUG.BASE_SCALE_USES_TEST_MAX_SIZE`` the scale equal to ``INPUT.MIN_SIZE_TEST``
    keeps ``INPUT.MAX_SIZE_TEST`` (official: the base pass and its flip at TEST.SCALE / TEST.MAX_SIZE
    = 800 / 1333, only BBOX_AUG.SCALES at BBOX_AUG.MAX_SIZE = 4000); otherwise every scale uses
    ``TEST.AUG.MAX_SIZE`` as in Detectron2.
    """

    @configurable
    def __init__(self, min_sizes: Sequence[int], max_size: int, flip: bool,
                 max_sizes: Optional[Sequence[int]] = None):
        """
        Args:
            min_sizes, max_size, flip: as ``DatasetMapperTTA``.
            max_sizes: the max size of each of ``min_sizes``; None = ``max_size`` for all.
        """
        super().__init__(min_sizes, max_size, flip)
        self.max_sizes = list(max_sizes) if max_sizes is not None else [max_size] * len(min_sizes)
        if len(self.max_sizes) != len(min_sizes):
            raise ValueError(f"{len(self.max_sizes)} max sizes for {len(min_sizes)} TTA scales")

    @classmethod
    def from_config(cls, cfg):
        ret = super().from_config(cfg)
        if cfg.TEST.AUG.get("BASE_SCALE_USES_TEST_MAX_SIZE", False):
            ret["max_sizes"] = [cfg.INPUT.MAX_SIZE_TEST if s == cfg.INPUT.MIN_SIZE_TEST else ret["max_size"]
                                for s in ret["min_sizes"]]
        return ret

    def __call__(self, dataset_dict):
        out = []
        for size, max_size in zip(self.min_sizes, self.max_sizes):
            out += DatasetMapperTTA(min_sizes=[size], max_size=max_size, flip=self.flip)(dataset_dict)
        return out


def _flip_perm_from_cfg(cfg) -> Optional[np.ndarray]:
    name = cfg.INPUT.LABEL_SPACE if "LABEL_SPACE" in cfg.INPUT else ""
    if not name and len(cfg.DATASETS.TEST):
        name = MetadataCatalog.get(cfg.DATASETS.TEST[0]).get("label_space", "")
    return get_label_space(name).flip_perm if name else None


class ParsingRCNNWithTTA(GeneralizedRCNNWithTTA):
    """A ``ParsingRCNN`` with flip / multi-scale TTA; same call interface as the model."""

    def __init__(self, cfg, model, tta_mapper=None, batch_size: int = 3,
                 flip_perm: Optional[Sequence[int]] = None):
        """
        Args:
            cfg, model, tta_mapper, batch_size: as ``GeneralizedRCNNWithTTA``; the default
                mapper is ``ScaleMaxSizeMapperTTA(cfg)``.
            flip_perm: (K,) left/right channel permutation; default from ``INPUT.LABEL_SPACE`` or
                the first test dataset's ``label_space`` metadata.
        """
        super().__init__(cfg, model, tta_mapper or ScaleMaxSizeMapperTTA(cfg), batch_size)
        self.uv_symmetry = None
        if getattr(self.model.roi_heads, "uv_on", False):
            from human_parsing.data.densepose_mapper import uv_symmetry_from_cfg

            self.uv_symmetry = uv_symmetry_from_cfg(cfg)
            if self.uv_symmetry is None and cfg.TEST.AUG.FLIP:
                raise ValueError("TEST.AUG.FLIP of the UV head needs the U/V symmetry: set "
                                 "INPUT.DENSEPOSE.UV_SYMMETRY_FILE (UV_symmetry_transforms.mat)")
        self.flip_perm = np.asarray(flip_perm) if flip_perm is not None else _flip_perm_from_cfg(cfg)
        parsing = self.model.roi_heads.parsing_on  # (the UV variant has no parsing channels)
        if parsing and self.flip_perm is None:
            if cfg.TEST.AUG.FLIP:
                raise ValueError("TEST.AUG.FLIP needs a label space (INPUT.LABEL_SPACE or the test "
                                 "dataset's 'label_space' metadata) to swap left/right parts")
        elif parsing and len(self.flip_perm) != cfg.MODEL.ROI_PARSING_HEAD.NUM_PARSING:
            raise ValueError(f"Label space has {len(self.flip_perm)} classes but "
                             f"ROI_PARSING_HEAD.NUM_PARSING is {cfg.MODEL.ROI_PARSING_HEAD.NUM_PARSING}")
        self.heuristic = cfg.TEST.AUG.PARSING_HEUR
        if self.heuristic not in HEURISTICS:
            raise ValueError(f"Unknown TEST.AUG.PARSING_HEUR {self.heuristic!r}; choose from {HEURISTICS}")

    def _inference_one_image(self, input):
        orig_shape = (input["height"], input["width"])
        augmented_inputs, tfms = self._get_augmented_inputs(input)
        with self._turn_off_roi_heads(["mask_on", "keypoint_on", "parsing_on", "uv_on"]):
            all_boxes, all_scores, all_classes = self._get_augmented_boxes(augmented_inputs, tfms)
        merged = self._merge_detections(all_boxes, all_scores, all_classes, orig_shape)
        if getattr(self.model.roi_heads, "uv_on", False) and not self.model.roi_heads.parsing_on:
            augmented_instances = self._rescale_detected_boxes(augmented_inputs, merged, tfms)
            outputs = self._batch_inference(augmented_inputs, augmented_instances)
            for name, m in zip(UV_FIELDS, self._merge_uv_maps(outputs, tfms)):
                merged.set(name, m)
            return self.model.postprocess([merged], [{"height": orig_shape[0], "width": orig_shape[1]}])[0]
        if not self.model.roi_heads.parsing_on:
            return {"instances": detector_postprocess(merged, *orig_shape)}
        augmented_instances = self._rescale_detected_boxes(augmented_inputs, merged, tfms)
        outputs = self._batch_inference(augmented_inputs, augmented_instances)
        del augmented_inputs, augmented_instances
        merged.pred_parsing_probs = self._merge_parsing_probs(outputs, tfms)
        return parsing_rcnn_postprocess(merged, *orig_shape, **self.model.postprocess_args)

    def _merge_uv_maps(self, outputs: List, tfms: List) -> List[torch.Tensor]:
        """Mean over the passes of the UV head's raw maps (coarse and patch logits, U, V),
        flipped passes mapped back by ``flip_uv_outputs``."""
        passes = []
        for out, tfm in zip(outputs, tfms):
            maps = [out.get(n) for n in UV_FIELDS]
            if any(isinstance(t, HFlipTransform) for t in tfm.transforms):
                maps = flip_uv_outputs(maps, self.uv_symmetry)
            passes.append(maps)
        return [torch.stack([p[k] for p in passes]).mean(dim=0) for k in range(4)]

    def _merge_parsing_probs(self, outputs: List, tfms: List) -> torch.Tensor:
        """(R, K, M, M) merged probabilities of the same R boxes seen in every augmented pass;
        flipped passes are mapped back first. ROI maps are scale-free, so resizes need nothing."""
        probs = []
        for out, tfm in zip(outputs, tfms):
            p = out.pred_parsing_probs
            if any(isinstance(t, HFlipTransform) for t in tfm.transforms):
                p = flip_parsing_probs(p, self.flip_perm)
            probs.append(p)
        return merge_parsing_probs(probs, self.heuristic)


@TTA_REGISTRY.register()
def ParsingRCNN(cfg, model):  # noqa: N802 (registered under the meta-architecture's name)
    """``TTA_REGISTRY`` entry for ``MODEL.META_ARCHITECTURE == "ParsingRCNN"``."""
    return ParsingRCNNWithTTA(cfg, model)
