"""Shared pieces of the visualizers: the label space lookup, per-person colours (Detectron2's
colormap, no new palette), alpha blending and a BGR wrapper around Detectron2's ``Visualizer``.
"""
import logging
from typing import Union

import numpy as np
from detectron2.data.catalog import Metadata
from detectron2.utils.colormap import colormap
from detectron2.utils.logger import log_first_n
from detectron2.utils.visualizer import Visualizer

from ..data.label_spaces import LabelSpace, get_label_space
from .extractor import ParsingVisData, extract

__all__ = ["BaseParsingVisualizer", "as_label_space", "person_colors", "blend"]


def as_label_space(space: Union[str, LabelSpace, Metadata]) -> LabelSpace:
    """A ``LabelSpace`` from itself, its name, or dataset metadata with ``label_space``."""
    if isinstance(space, LabelSpace):
        return space
    if isinstance(space, str):
        return get_label_space(space)
    name = space.get("label_space")
    if not name:
        raise ValueError(f"Metadata {space.get('name')!r} has no 'label_space'")
    return get_label_space(name)


def person_colors(n: int) -> np.ndarray:
    """(n, 3) RGB colours in [0, 1], one per person, cycling through Detectron2's colormap."""
    cmap = colormap(rgb=True, maximum=1)
    return cmap[np.arange(n) % len(cmap)]


def blend(image: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Per-pixel ``image * (1 - alpha) + color * alpha``; (H, W, 3) uint8 out.

    ``color`` is (H, W, 3) or (3,); ``alpha`` is (H, W) in [0, 1] or a scalar.
    """
    a = np.asarray(alpha, dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    out = image.astype(np.float32) * (1 - a) + np.asarray(color, np.float32) * a
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class BaseParsingVisualizer:
    """``visualize(image_bgr, data) -> image_bgr``: draws onto a copy of an (H, W, 3) uint8 BGR
    image and returns an image of the same size. Subclasses implement ``_draw``; data they need
    but do not get leave the image unchanged (with one warning)."""

    #: the ``ParsingVisData`` field a subclass needs
    requires = ""

    def __init__(self, label_space: Union[str, LabelSpace, Metadata] = "cihp"):
        self.label_space = as_label_space(label_space)

    def visualize(self, image_bgr: np.ndarray, data) -> np.ndarray:
        """Draw ``data`` (``ParsingVisData`` or anything :func:`extract` accepts)."""
        data = extract(data)
        image_bgr = np.asarray(image_bgr)
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"Expected an (H, W, 3) uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
        if tuple(image_bgr.shape[:2]) != tuple(data.image_size):
            raise ValueError(f"Image size {image_bgr.shape[:2]} != data size {data.image_size}")
        if self.requires and getattr(data, self.requires) is None:
            log_first_n(
                logging.WARNING,
                f"{type(self).__name__}: no '{self.requires}' to draw; image left unchanged",
                n=1,
                name=__name__,
            )
            return image_bgr.copy()
        out = self._draw(np.ascontiguousarray(image_bgr), data)
        assert out.shape == image_bgr.shape, (out.shape, image_bgr.shape)
        return out

    def _draw(self, image_bgr: np.ndarray, data: ParsingVisData) -> np.ndarray:
        raise NotImplementedError

    def _canvas(self, image_bgr: np.ndarray) -> Visualizer:
        """A Detectron2 ``Visualizer`` on the image (it works in RGB); read back with ``_bgr``."""
        return Visualizer(image_bgr[:, :, ::-1], metadata=None, scale=1.0)

    @staticmethod
    def _bgr(vis: Visualizer) -> np.ndarray:
        return np.ascontiguousarray(vis.output.get_image()[:, :, ::-1])
