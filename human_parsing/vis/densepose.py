"""DensePose-style drawing of chart results (per box: patch labels and U/V at the box size).

- :func:`iuv_image`: the (H, W, 3) uint8 IUV image of DensePose's dumps (I, U·255, V·255), people
  pasted at their int boxes in ascending score, so higher scores end on top;
- visualizers (``--vis`` names): ``dp_segm`` (patches in the ``densepose_patches`` palette),
  ``dp_u`` / ``dp_v`` (JET colour map of U or V on the person), ``dp_contours`` (iso-lines of U
  and V every 1/``levels``, coloured by level, DensePose's contour look).
"""
import cv2
import numpy as np

from ..data.label_spaces import get_label_space
from .base import BaseParsingVisualizer, blend
from .extractor import ParsingVisData

__all__ = [
    "iuv_image",
    "DensePoseSegmVisualizer",
    "DensePoseUVisualizer",
    "DensePoseVVisualizer",
    "DensePoseContourVisualizer",
]


def iuv_image(image_size, boxes, charts, scores=None) -> np.ndarray:
    """Paste chart results ``[(labels (h, w), uv (2, h, w))]`` at the int XYXY ``boxes`` into an
    (H, W, 3) uint8 I/U/V image (0 = background), clipped to the image."""
    H, W = image_size
    out = np.zeros((H, W, 3), np.uint8)
    order = np.argsort(scores, kind="stable") if scores is not None else range(len(charts))
    for k in order:
        labels, uv = charts[k]
        x, y = int(boxes[k][0]), int(boxes[k][1])
        h, w = labels.shape
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        if x1 <= x0 or y1 <= y0:
            continue
        crop = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
        fg = labels[crop] > 0
        iuv = np.stack([labels[crop], np.clip(uv[0][crop], 0, 1) * 255, np.clip(uv[1][crop], 0, 1) * 255], -1)
        region = out[y0:y1, x0:x1]
        region[fg] = iuv[fg].astype(np.uint8)
    return out


class _DensePoseVisualizer(BaseParsingVisualizer):
    requires = "densepose"

    def __init__(self, label_space="densepose_patches", alpha: float = 0.7):
        super().__init__(label_space)
        self.alpha = alpha

    def _iuv(self, data: ParsingVisData) -> np.ndarray:
        return iuv_image(data.image_size, data.boxes, data.densepose, data.scores)


class DensePoseSegmVisualizer(_DensePoseVisualizer):
    """Patches in the palette of the ``densepose_patches`` label space."""

    def _draw(self, image_bgr, data):
        iuv = self._iuv(data)
        colors = get_label_space("densepose_patches").palette[iuv[..., 0]][..., ::-1]  # RGB -> BGR
        return blend(image_bgr, colors, (iuv[..., 0] > 0) * self.alpha)


class DensePoseUVisualizer(_DensePoseVisualizer):
    """U as a JET colour map on the person."""

    channel = 1

    def _draw(self, image_bgr, data):
        iuv = self._iuv(data)
        heat = cv2.applyColorMap(np.ascontiguousarray(iuv[..., self.channel]), cv2.COLORMAP_JET)
        return blend(image_bgr, heat, (iuv[..., 0] > 0) * self.alpha)


class DensePoseVVisualizer(DensePoseUVisualizer):
    """V as a JET colour map on the person."""

    channel = 2


class DensePoseContourVisualizer(_DensePoseVisualizer):
    """Iso-lines of U and V every 1/``levels`` (and patch borders), coloured by level."""

    def __init__(self, label_space="densepose_patches", levels: int = 10):
        super().__init__(label_space)
        self.levels = levels

    def _draw(self, image_bgr, data):
        iuv = self._iuv(data).astype(np.int64)
        fg = iuv[..., 0] > 0
        out = image_bgr.copy()
        for ch in (1, 2):
            level = np.where(fg, iuv[..., ch] * self.levels // 256 + 100 * iuv[..., 0], -1)
            edge = np.zeros(fg.shape, bool)
            edge[:, 1:] |= level[:, 1:] != level[:, :-1]
            edge[1:, :] |= level[1:, :] != level[:-1, :]
            edge &= fg
            lut = cv2.applyColorMap(np.linspace(0, 255, 256).astype(np.uint8)[:, None], cv2.COLORMAP_JET)[:, 0]
            out[edge] = lut[np.clip(iuv[..., ch], 0, 255)[edge]]
        return out
