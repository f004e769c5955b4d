"""The dense-pose (UV) head of Parsing R-CNN (methods.md §2.9, the official ``uv_rcnn``).

The parsing branch's trunk (``GCELayers``: ASPP + non-local + PBD convs, configured by
``MODEL.ROI_PARSING_HEAD``) followed by four output modules (``ParsingOutput``, ×2 deconv +
bilinear): coarse segmentation (15), patch index (25), U (25) and V (25) at RESOLUTION².

Losses (weights ``MODEL.ROI_UV_HEAD.{INDEX_WEIGHT, PART_WEIGHT, POINT_REGRESSION_WEIGHT}``):
``loss_uv_coarse`` = 2.0 × mean CE of the coarse map over all pixels; ``loss_uv_patch`` = 0.3 ×
mean CE of the patch logits sampled bilinearly at the points (pixel centres at integer heat-map
coordinates, as ``PoolPointsInterp``), valid points only, or with ``PATCH_LOSS_PADDING`` the
official quirk (every ROI's 196 slots, the empty ones sampled at (0, 0) of ROI 0 with label 0);
``loss_uv_u`` / ``loss_uv_v`` = 0.1 × *sum* over points of smooth-L1 (β = 1) of the U (V) channel
of the GT patch.
"""
from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.utils.registry import Registry
from human_parsing.structures.densepose import DensePoseCharts, densepose_roi_targets

from .output import ParsingOutput
from .parsing_head import GCELayers

__all__ = ["ROI_UV_HEAD_REGISTRY", "build_uv_head", "UVGCEHead", "uv_rcnn_losses", "uv_rcnn_inference",
           "uv_charts"]

ROI_UV_HEAD_REGISTRY = Registry("ROI_UV_HEAD")
ROI_UV_HEAD_REGISTRY.__doc__ = """
Dense-pose (UV) heads: pooled ROI features -> (coarse, patch, U, V) maps. Called with
``obj(cfg, input_shape)``.
"""
SLOTS = 196  # the official point slots per ROI


def build_uv_head(cfg, input_shape: ShapeSpec) -> nn.Module:
    return ROI_UV_HEAD_REGISTRY.get(cfg.MODEL.ROI_UV_HEAD.NAME)(cfg, input_shape)


def _sample(maps: torch.Tensor, roi: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Bilinear values (P, C) of (R, C, M, M) maps at heat-map points ``xy`` (P, 2) of ROIs ``roi``
    (integer coordinates = pixel centres). Each ROI samples only its own points (padded grid)."""
    R, C, M = maps.shape[0], maps.shape[1], maps.shape[-1]
    if len(roi) == 0:
        return maps.new_zeros((0, C))
    counts = torch.bincount(roi, minlength=R)
    order = torch.argsort(roi, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    pos = torch.empty_like(roi)
    pos[order] = torch.arange(len(roi), device=roi.device) - starts[roi[order]]
    grid = maps.new_zeros((R, int(counts.max()), 1, 2))
    grid[roi, pos, 0] = (xy / max(M - 1, 1) * 2 - 1).to(maps.dtype)
    vals = F.grid_sample(maps, grid, mode="bilinear", align_corners=True)  # (R, C, K, 1)
    return vals[roi, :, pos, 0]


def uv_rcnn_losses(outputs, targets: Dict[str, torch.Tensor], weights=(2.0, 0.3, 0.1),
                   padding_quirk: bool = False) -> Dict[str, torch.Tensor]:
    """The four UV losses of R ROIs.

    Args:
        outputs: (coarse (R, 15, M, M), patch (R, 25, M, M), U, V (R, 25, M, M)) logits/values.
        targets: ``densepose_roi_targets`` of the same ROIs.
        weights: (coarse, patch, U/V) weights.
        padding_quirk: include the empty point slots in the patch loss, as the official code.
    """
    coarse, index, u, v = outputs
    w_seg, w_patch, w_uv = weights
    if len(coarse) == 0:  # no positive ROI in the batch: zero losses that touch every output
        zero = sum(o.sum() for o in outputs) * 0
        return {k: zero for k in ("loss_uv_coarse", "loss_uv_patch", "loss_uv_u", "loss_uv_v")}
    loss_seg = F.cross_entropy(coarse, targets["segm"].to(coarse.device)) * w_seg
    roi, xy = targets["point_roi"].to(coarse.device), targets["point_xy"].to(coarse.device)
    pi = targets["point_i"].to(coarse.device)
    if len(roi) == 0:
        zero = index.sum() * 0 + u.sum() * 0 + v.sum() * 0
        return {"loss_uv_coarse": loss_seg, "loss_uv_patch": zero, "loss_uv_u": zero, "loss_uv_v": zero}
    p_logits = _sample(index, roi, xy)
    if padding_quirk:
        n_pad = SLOTS * len(coarse) - len(roi)
        pad = index[0, :, 0, 0].expand(max(n_pad, 0), -1)
        ce = F.cross_entropy(torch.cat([p_logits, pad]), torch.cat([pi, pi.new_zeros(max(n_pad, 0))]))
    else:
        ce = F.cross_entropy(p_logits, pi)
    take = pi[:, None]
    pu = _sample(u, roi, xy).gather(1, take)[:, 0]
    pv = _sample(v, roi, xy).gather(1, take)[:, 0]
    lu = F.smooth_l1_loss(pu, targets["point_u"].to(u.device), beta=1.0, reduction="sum")
    lv = F.smooth_l1_loss(pv, targets["point_v"].to(v.device), beta=1.0, reduction="sum")
    return {"loss_uv_coarse": loss_seg, "loss_uv_patch": ce * w_patch, "loss_uv_u": lu * w_uv,
            "loss_uv_v": lv * w_uv}


def uv_rcnn_inference(outputs, instances: List) -> None:
    """Store the per-ROI maps in the detections: ``pred_uv_coarse`` (r, 15, M, M),
    ``pred_uv_index``, ``pred_uv_u``, ``pred_uv_v`` (r, 25, M, M)."""
    counts = [len(i) for i in instances]
    for name, t in zip(("pred_uv_coarse", "pred_uv_index", "pred_uv_u", "pred_uv_v"), outputs):
        for inst, part in zip(instances, t.split(counts)):
            inst.set(name, part)


def uv_charts(instances) -> DensePoseCharts:
    """Chart results of detections whose ``pred_boxes`` are in output pixels (official
    ``uv_results``): the four maps resized bilinearly to the int box size
    ``max(int(h), 1) × max(int(w), 1)``, I = argmax(patch) where argmax(coarse) > 0, U/V read
    from channel I (0 on the background)."""
    out = []
    boxes = instances.pred_boxes.tensor
    for k in range(len(instances)):
        x1, y1, x2, y2 = boxes[k].tolist()
        size = (max(int(y2 - y1), 1), max(int(x2 - x1), 1))
        maps = [F.interpolate(instances.get(n)[k : k + 1].float(), size=size, mode="bilinear",
                              align_corners=False)[0]
                for n in ("pred_uv_coarse", "pred_uv_index", "pred_uv_u", "pred_uv_v")]
        labels = maps[1].argmax(0) * (maps[0].argmax(0) > 0)
        uv = torch.stack([maps[2].gather(0, labels[None])[0], maps[3].gather(0, labels[None])[0]])
        uv = uv * (labels > 0)  # background: U = V = 0, as the official output
        out.append({"labels": labels.to(torch.uint8).cpu(), "uv": uv.clamp(0, 1).cpu()})
    return DensePoseCharts(out)


@ROI_UV_HEAD_REGISTRY.register()
class UVGCEHead(nn.Module, GCELayers):
    """The GCE + PBD trunk of the parsing head and the four UV outputs."""

    @configurable
    def __init__(self, input_shape: ShapeSpec, *, num_coarse: int = 15, num_patches: int = 25,
                 pooled_resolution: int, resolution: int, gce=None, loss_weights=(2.0, 0.3, 0.1),
                 padding_quirk: bool = False):
        """
        Args:
            input_shape: shape of the pooled features.
            num_coarse, num_patches: output channels incl. background (15, 25).
            pooled_resolution, resolution: S and M of the output modules.
            gce: keyword arguments of ``GCELayers._init_gce`` (the parsing head's trunk).
            loss_weights: (coarse, patch, U/V) weights.
            padding_quirk: official patch-loss padding (see the module doc).
        """
        super().__init__()
        gce = dict(gce or {})
        self._init_gce(input_shape.channels, **gce)
        dim = gce.get("conv_dim", 512)
        self.outputs = nn.ModuleList(
            [ParsingOutput(dim, k, pooled_resolution, resolution)
             for k in (num_coarse, num_patches, num_patches, num_patches)]
        )
        self.loss_weights, self.padding_quirk = tuple(loss_weights), padding_quirk

    @classmethod
    def from_config(cls, cfg, input_shape):
        u, p = cfg.MODEL.ROI_UV_HEAD, cfg.MODEL.ROI_PARSING_HEAD
        return {
            "input_shape": input_shape,
            "num_coarse": u.NUM_COARSE,
            "num_patches": u.NUM_PATCHES,
            "pooled_resolution": input_shape.height or p.POOLER_RESOLUTION,
            "resolution": p.RESOLUTION,
            "gce": GCELayers.gce_args_from_config(cfg),
            "loss_weights": (u.INDEX_WEIGHT, u.PART_WEIGHT, u.POINT_REGRESSION_WEIGHT),
            "padding_quirk": u.PATCH_LOSS_PADDING,
        }

    def layers(self, x: torch.Tensor):
        f = self.gce_features(x)
        return tuple(o(f) for o in self.outputs)

    def forward(self, x: torch.Tensor, instances: List):
        """Training: ``instances`` are the sampled positives with ``proposal_boxes``,
        ``uv_gt_boxes`` and ``gt_densepose``; returns the losses. Inference: fills the
        ``pred_uv_*`` maps of the detections."""
        outs = self.layers(x)
        if not self.training:
            uv_rcnn_inference(outs, instances)
            return instances
        M = outs[0].shape[-1]
        if len(x) == 0:
            return uv_rcnn_losses(outs, {}, self.loss_weights)
        targets = [densepose_roi_targets(i.gt_densepose, i.uv_gt_boxes.tensor, i.proposal_boxes.tensor, M)
                   for i in instances if len(i)]
        instances = [i for i in instances if len(i)]
        offsets = torch.cumsum(torch.tensor([0] + [len(i) for i in instances]), 0)
        merged = {k: torch.cat([t[k] for t in targets]) for k in targets[0]}
        merged["point_roi"] = torch.cat([t["point_roi"] + o for t, o in zip(targets, offsets.tolist())])
        return uv_rcnn_losses(outs, merged, self.loss_weights, self.padding_quirk)
