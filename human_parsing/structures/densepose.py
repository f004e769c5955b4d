"""Dense-pose ground truth of the people of one image (:class:`DensePoseList`, an ``Instances``
field) and the per-ROI training targets of the UV head (:func:`densepose_roi_targets`).

Each person's data stays in the 256×256 frame of its GT box (DensePose's "relative" form), so
resizing the image needs no change; a horizontal flip is applied by the mapper
(``human_parsing.data.densepose.flip_densepose``). People without annotation hold ``None``.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch

from ..data.densepose import MASK_SIZE

__all__ = ["DensePoseGT", "DensePoseList", "DensePoseCharts", "densepose_roi_targets"]


@dataclass
class DensePoseGT:
    """One person: points ``x, y`` (256 frame), patch ``i`` (1..24), ``u, v`` (N,) and the
    coarse part map ``segm`` (256, 256) uint8 (0..14)."""

    x: np.ndarray
    y: np.ndarray
    i: np.ndarray
    u: np.ndarray
    v: np.ndarray
    segm: np.ndarray

    @classmethod
    def from_dict(cls, d: dict) -> "DensePoseGT":
        """From ``flip_densepose``-style arrays (``dp_x`` ... ``dp_segm``)."""
        f = lambda k: np.asarray(d[k], dtype=np.float64)  # noqa: E731
        return cls(f("dp_x"), f("dp_y"), f("dp_I").astype(np.int64), f("dp_U"), f("dp_V"),
                   np.asarray(d["dp_segm"], dtype=np.uint8))


class _ListField:
    """A per-instance Python list that indexes like an ``Instances`` field (int, slice, bool or
    index tensors / arrays); ``to`` is a no-op (the items are numpy / CPU data)."""

    def __init__(self, items: Sequence):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def _take(self, item):
        if isinstance(item, slice):
            return self.items[item]
        idx = torch.as_tensor(item)
        if idx.dtype == torch.bool:
            idx = torch.nonzero(idx).flatten()
        return [self.items[int(k)] for k in idx.tolist()]

    def __getitem__(self, item):
        return type(self)(self._take(item))

    def to(self, *args, **kwargs):
        return self

    @classmethod
    def cat(cls, lists: Sequence["_ListField"]):
        return cls([d for lst in lists for d in lst.items])


class DensePoseList(_ListField):
    """Per-person :class:`DensePoseGT` or ``None``; an int index gives a one-person list."""

    def __getitem__(self, item) -> "DensePoseList":
        return DensePoseList([self.items[item]] if isinstance(item, int) else self._take(item))

    @property
    def has_annotation(self) -> torch.Tensor:
        """(N,) bool: the person carries dense-pose points."""
        return torch.tensor([d is not None for d in self.items], dtype=torch.bool)

    def __repr__(self) -> str:
        return f"DensePoseList(num={len(self)}, annotated={int(self.has_annotation.sum())})"


def densepose_roi_targets(
    gt: DensePoseList, gt_boxes: torch.Tensor, rois: torch.Tensor, size: int = 128, max_points: int = 196
) -> Dict[str, torch.Tensor]:
    """Targets of R ROIs, each matched to the GT person of the same row (methods.md §2.9, the
    official ``uv_on_boxes``):

    - ``segm`` (R, size, size) int64: the person's coarse map sampled on the ROI grid
      ``x_j = x1 + j·(x2 − x1)/size`` mapped into the GT frame ``(x_j − gx1)·256/(gx2 − gx1)``
      (same for y), nearest neighbour (cv2.remap), 0 outside;
    - points moved into ROI heat-map coordinates ``(dp·gsize/256 + g0 − r0)·size/rsize``, kept
      when inside ``[0, size − 1]`` in both axes, at most ``max_points`` per ROI (the official
      196 slots): ``point_roi`` (P,) ROI index, ``point_xy`` (P, 2) float, ``point_i`` (P,)
      patch, ``point_u``, ``point_v`` (P,) float.
    Every row of ``gt`` must hold an annotation.
    """
    R = len(rois)
    boxes, r = gt_boxes.detach().cpu().double().numpy(), rois.detach().cpu().double().numpy()
    segm = np.zeros((R, size, size), np.int64)
    pts = {k: [] for k in ("roi", "x", "y", "i", "u", "v")}
    steps = np.arange(size, dtype=np.float64)
    for k in range(R):
        d = gt.items[k]
        if d is None:
            raise ValueError(f"densepose_roi_targets: ROI {k} is matched to a person without dense pose")
        gx1, gy1, gx2, gy2 = boxes[k]
        x1, y1, x2, y2 = r[k]
        gx = (x1 + steps * (x2 - x1) / size - gx1) * (MASK_SIZE / max(gx2 - gx1, 1e-6))
        gy = (y1 + steps * (y2 - y1) / size - gy1) * (MASK_SIZE / max(gy2 - gy1, 1e-6))
        mx, my = np.meshgrid(gx.astype(np.float32), gy.astype(np.float32))
        segm[k] = cv2.remap(d.segm, mx, my, interpolation=cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        hx = (d.x / MASK_SIZE * (gx2 - gx1) + gx1 - x1) * (size / max(x2 - x1, 1e-6))
        hy = (d.y / MASK_SIZE * (gy2 - gy1) + gy1 - y1) * (size / max(y2 - y1, 1e-6))
        keep = np.flatnonzero((hx >= 0) & (hx <= size - 1) & (hy >= 0) & (hy <= size - 1) & (d.i > 0))
        keep = keep[:max_points]
        for name, val in (("x", hx), ("y", hy), ("i", d.i), ("u", d.u), ("v", d.v)):
            pts[name].append(val[keep])
        pts["roi"].append(np.full(len(keep), k))
    cat = lambda key, dt: torch.as_tensor(np.concatenate(pts[key]) if R else np.zeros(0), dtype=dt)  # noqa: E731
    return {
        "segm": torch.as_tensor(segm),
        "point_roi": cat("roi", torch.int64),
        "point_xy": torch.stack([cat("x", torch.float32), cat("y", torch.float32)], dim=1),
        "point_i": cat("i", torch.int64),
        "point_u": cat("u", torch.float32),
        "point_v": cat("v", torch.float32),
    }


class DensePoseCharts(_ListField):
    """Per-detection chart results ``{"labels": (h, w) uint8, "uv": (2, h, w) float}`` at each
    box's size (Detectron2 DensePose's chart-result layout); an int index gives the result."""

    def __getitem__(self, item):
        return self.items[item] if isinstance(item, int) else DensePoseCharts(self._take(item))
