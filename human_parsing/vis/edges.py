"""Edge probability as a heat overlay (PGN's ``"edges"`` output or the mapper's edge targets)."""
import cv2
import numpy as np

from .base import BaseParsingVisualizer, blend
from .extractor import ParsingVisData

__all__ = ["EdgeVisualizer"]


class EdgeVisualizer(BaseParsingVisualizer):
    """Blend a JET colour-mapped edge probability over the image; the opacity is
    ``max_alpha * p``, so pixels with probability 0 are unchanged."""

    requires = "edges"

    def __init__(self, label_space="cihp", max_alpha: float = 0.8):
        super().__init__(label_space)
        self.max_alpha = max_alpha

    def _draw(self, image_bgr: np.ndarray, data: ParsingVisData) -> np.ndarray:
        p = np.clip(np.nan_to_num(data.edges.astype(np.float32)), 0.0, 1.0)
        heat = cv2.applyColorMap(np.rint(p * 255).astype(np.uint8), cv2.COLORMAP_JET)  # BGR
        return blend(image_bgr, heat, p * self.max_alpha)
