"""Global part map in the label space's palette, with a legend of the classes present."""
from typing import List

import matplotlib.patches as mpatches
import numpy as np

from ..data.label_spaces import IGNORE_LABEL
from .base import BaseParsingVisualizer, blend
from .display import classes_present
from .extractor import ParsingVisData

__all__ = ["ParsingVisualizer"]


class ParsingVisualizer(BaseParsingVisualizer):
    """Blend each labelled pixel with its class colour (``LabelSpace.palette``, the colours of
    ``stuff_colors`` in metadata) and list the classes present, top-left, with Detectron2's
    ``draw_text``. Background (0) and ignore (255) pixels are left as they are."""

    requires = "parsing"

    def __init__(self, label_space="cihp", alpha: float = 0.6, legend: bool = True):
        super().__init__(label_space)
        self.alpha = alpha
        self.legend = legend

    def classes_present(self, parsing: np.ndarray) -> List[int]:
        """Sorted ids of the foreground classes in ``parsing``."""
        return classes_present(parsing, self.label_space)

    def _draw(self, image_bgr: np.ndarray, data: ParsingVisData) -> np.ndarray:
        parsing = data.parsing
        palette_bgr = self.label_space.palette[:, ::-1]
        fg = (parsing > 0) & (parsing != IGNORE_LABEL)
        out = blend(image_bgr, palette_bgr[parsing], fg * self.alpha)
        present = self.classes_present(parsing)
        if not self.legend or not present:
            return out
        vis = self._canvas(out)
        font = vis._default_font_size
        step = font * 1.6
        for row, cid in enumerate(present):
            y = 2 + row * step
            if y + step > out.shape[0]:
                break
            color = self.label_space.palette[cid] / 255.0
            vis.output.ax.add_patch(
                mpatches.Rectangle((2, y), font, font, facecolor=color, edgecolor="white", linewidth=0.5)
            )
            vis.draw_text(
                self.label_space.classes[cid], (font + 5, y), color="white",
                horizontal_alignment="left", font_size=font * 0.9,
            )
        return self._bgr(vis)
