"""Per-person outlines with id and score, and detection boxes."""
import numpy as np
from detectron2.utils.visualizer import GenericMask

from .base import BaseParsingVisualizer, person_colors
from .extractor import ParsingVisData

__all__ = ["InstancesVisualizer", "BoxVisualizer"]


def _label(i: int, data: ParsingVisData) -> str:
    if data.scores is None:
        return f"#{i + 1}"
    return f"#{i + 1} {data.scores[i]:.2f}"


class InstancesVisualizer(BaseParsingVisualizer):
    """Outline each person's labelled pixels (outer boundary and holes) in its own colour and
    write ``#id score`` at the top-left of its box. Person ``i`` gets id ``i + 1``, the value of
    the mapper's ``human_ids`` and of ``PersonParsing.paint``."""

    requires = "person_parsing"

    def __init__(self, label_space="cihp", line_width: float = 1.5, labels: bool = True):
        super().__init__(label_space)
        self.line_width = line_width
        self.labels = labels  # False: outlines only (display.ReadableVisualizer places the labels)

    def _draw(self, image_bgr: np.ndarray, data: ParsingVisData) -> np.ndarray:
        pp = data.person_parsing
        if len(pp) == 0:
            return image_bgr.copy()
        vis = self._canvas(image_bgr)
        for i, color in enumerate(person_colors(len(pp))):
            crop = pp.crops[i]
            x0, y0 = (int(v) for v in pp.offsets[i])
            if crop.size and (crop > 0).any():
                # a 1-px zero border closes outlines at the crop edge and keeps the mask at least
                # 3 px wide (GenericMask reads an (N, 2) array as polygon points)
                mask = np.pad((crop > 0).astype(np.uint8), 1)
                polygons = GenericMask(mask, *mask.shape).polygons
                for poly in polygons:
                    pts = poly.reshape(-1, 2) + np.array([x0 - 1, y0 - 1])
                    vis.output.ax.plot(
                        np.append(pts[:, 0], pts[0, 0]), np.append(pts[:, 1], pts[0, 1]),
                        color=color, linewidth=self.line_width,
                    )
            if data.boxes is not None and i < len(data.boxes):
                tx, ty = data.boxes[i][:2]
            else:
                tx, ty = x0, y0
            if self.labels:
                vis.draw_text(_label(i, data), (tx, ty), color=color, horizontal_alignment="left")
        return self._bgr(vis)


class BoxVisualizer(BaseParsingVisualizer):
    """Draw each person's box in its own colour with ``#id score`` (Detectron2 ``draw_box``)."""

    requires = "boxes"

    def __init__(self, label_space="cihp", labels: bool = True):
        super().__init__(label_space)
        self.labels = labels  # False: boxes only (display.ReadableVisualizer places the labels)

    def _draw(self, image_bgr: np.ndarray, data: ParsingVisData) -> np.ndarray:
        if len(data.boxes) == 0:
            return image_bgr.copy()
        vis = self._canvas(image_bgr)
        for i, (box, color) in enumerate(zip(data.boxes, person_colors(len(data.boxes)))):
            vis.draw_box(tuple(float(v) for v in box), alpha=0.9, edge_color=color)
            if self.labels:
                vis.draw_text(_label(i, data), (float(box[0]), float(box[3])), color=color,
                              horizontal_alignment="left")
        return self._bgr(vis)
