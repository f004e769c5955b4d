"""Readable pictures: upscaling of small inputs, a legend beside the image (classes present only),
person labels placed without overlap, and the side-by-side panel (input | parts | people).

The drawing visualizers of this package keep the input size (they are also used on training
batches); the classes here wrap them for pictures meant to be looked at (``apply_net.py show``,
the demo). Text is drawn with OpenCV, whose text sizes are exact, so labels can be placed without
overlap and the legend's width is fixed per label space (videos keep one frame size).
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..data.label_spaces import IGNORE_LABEL, LabelSpace
from ..structures import PersonParsing
from .base import as_label_space, blend, person_colors
from .extractor import ParsingVisData, extract

__all__ = [
    "display_scale",
    "scale_vis_data",
    "classes_present",
    "legend_width",
    "draw_legend",
    "place_labels",
    "draw_labels",
    "ReadableVisualizer",
    "PanelVisualizer",
]

FONT = cv2.FONT_HERSHEY_SIMPLEX
Rect = Tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def display_scale(image_size: Tuple[int, int], min_long_side: int) -> int:
    """Integer factor that brings the long side to at least ``min_long_side`` (1 if it already
    is, or if ``min_long_side`` <= 0). Integer factors keep label maps blocky, not resampled."""
    long_side = max(image_size)
    if min_long_side <= 0 or long_side >= min_long_side or long_side == 0:
        return 1
    return int(np.ceil(min_long_side / long_side))


def _scale_person_parsing(pp: PersonParsing, s: int) -> PersonParsing:
    crops = [np.kron(c, np.ones((s, s), np.uint8)) if c.size else c for c in pp.crops]
    return PersonParsing(crops, pp.offsets * s, (pp.image_size[0] * s, pp.image_size[1] * s))


def scale_vis_data(data: ParsingVisData, s: int) -> ParsingVisData:
    """``data`` at ``s`` times its size: label maps by pixel repetition, boxes scaled, edge
    probabilities bilinear."""
    if s == 1:
        return data
    H, W = data.image_size

    def rep(a):
        return None if a is None else np.repeat(np.repeat(a, s, axis=0), s, axis=1)

    edges = None
    if data.edges is not None:
        edges = cv2.resize(data.edges.astype(np.float32), (W * s, H * s), interpolation=cv2.INTER_LINEAR)
    return ParsingVisData(
        (H * s, W * s),
        rep(data.parsing),
        None if data.person_parsing is None else _scale_person_parsing(data.person_parsing, s),
        None if data.boxes is None else data.boxes * s,
        data.scores,
        edges,
    )


def classes_present(parsing: Optional[np.ndarray], label_space: LabelSpace) -> List[int]:
    """Sorted ids of the foreground classes in a part map (none for ``None``)."""
    if parsing is None:
        return []
    return [int(i) for i in np.unique(parsing) if 0 < i < label_space.num_classes and i != IGNORE_LABEL]


def _text_size(text: str, scale: float) -> Tuple[int, int]:
    (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
    return w, h + base


def legend_width(label_space: LabelSpace, font_scale: float = 0.5) -> int:
    """Width of the legend column: swatch + the longest class name of the label space (so it
    does not depend on which classes an image shows)."""
    name_w = max(_text_size(n, font_scale)[0] for n in label_space.classes[1:])
    return 8 + 16 + 6 + name_w + 8


def draw_legend(present: Sequence[int], label_space: LabelSpace, height: int,
                font_scale: float = 0.5) -> np.ndarray:
    """(height, legend_width, 3) BGR column listing ``present`` classes: a swatch in the class
    colour and the class name, one row each (rows shrink to fit; what does not fit is cut)."""
    width = legend_width(label_space, font_scale)
    out = np.full((height, width, 3), 32, np.uint8)
    if not present:
        return out
    row = int(np.clip((height - 8) // len(present), 10, 24))
    palette_bgr = label_space.palette[:, ::-1]
    for k, cid in enumerate(present):
        y = 6 + k * row
        if y + row > height:
            break
        sw = min(16, row - 4)
        color = tuple(int(v) for v in palette_bgr[cid])
        cv2.rectangle(out, (8, y), (8 + sw, y + sw), color, thickness=-1)
        cv2.rectangle(out, (8, y), (8 + sw, y + sw), (255, 255, 255), thickness=1)
        scale = font_scale * min(1.0, row / 24)
        cv2.putText(out, label_space.classes[cid], (8 + 16 + 6, y + sw - 2), FONT, scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _overlap(a: Rect, b: Rect) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def place_labels(anchors: Sequence[Tuple[float, float]], sizes: Sequence[Tuple[int, int]],
                 image_size: Tuple[int, int]) -> List[Rect]:
    """Non-overlapping rectangles for labels of ``sizes`` (w, h), each as close as possible below
    its anchor (x, y) (e.g. a box's top-left corner), inside the image.

    Labels are placed in order; a label that would overlap an earlier one moves down (then up)
    by whole label heights; if no free place exists in its column, the least-overlapping one is
    used.
    """
    H, W = image_size
    placed: List[Rect] = []
    for (ax, ay), (w, h) in zip(anchors, sizes):
        x0 = int(np.clip(round(ax), 0, max(W - w, 0)))
        y_start = int(np.clip(round(ay), 0, max(H - h, 0)))
        candidates = [y_start + k * (h + 1) for k in range(H // (h + 1) + 1)]
        candidates += [y_start - k * (h + 1) for k in range(1, H // (h + 1) + 1)]
        candidates = [y for y in candidates if 0 <= y <= max(H - h, 0)]
        best, best_cost = None, None
        for y in candidates:
            r = (x0, y, x0 + w, y + h)
            cost = sum(_overlap(r, p) for p in placed)
            if best is None or cost < best_cost:
                best, best_cost = r, cost
            if cost == 0:
                break
        placed.append(best)
    return placed


def draw_labels(image_bgr: np.ndarray, texts: Sequence[str], anchors: Sequence[Tuple[float, float]],
                colors_rgb: np.ndarray, font_scale: float = 0.45) -> np.ndarray:
    """Write ``texts`` (white on a box of the person's colour) at non-overlapping places."""
    out = image_bgr.copy()
    sizes = [(_text_size(t, font_scale)[0] + 6, _text_size(t, font_scale)[1] + 4) for t in texts]
    rects = place_labels(anchors, sizes, out.shape[:2])
    for text, (x0, y0, x1, y1), c in zip(texts, rects, colors_rgb):
        bgr = tuple(int(v) for v in (np.asarray(c)[::-1] * 255 * 0.7))
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), bgr, thickness=-1)
        cv2.putText(out, text, (x0 + 3, y1 - 4 - cv2.getTextSize(text, FONT, font_scale, 1)[1] // 4),
                    FONT, font_scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def person_labels(data: ParsingVisData) -> Tuple[List[str], List[Tuple[float, float]]]:
    """``#id score`` per person and its anchor (box top-left, else the crop's)."""
    n = len(data)
    texts, anchors = [], []
    for i in range(n):
        if data.scores is None:
            texts.append(f"#{i + 1}")
        else:  # probabilities with 2 decimals; other scores (PGN's pixel counts) as integers
            sc = float(data.scores[i])
            texts.append(f"#{i + 1} {sc:.2f}" if sc <= 1 else f"#{i + 1} {sc:.0f}")
        if data.boxes is not None and i < len(data.boxes):
            anchors.append((float(data.boxes[i][0]), float(data.boxes[i][1])))
        else:
            anchors.append(tuple(float(v) for v in data.person_parsing.offsets[i]))
    return texts, anchors


def _titled(tile: np.ndarray, title: str) -> np.ndarray:
    bar = np.full((22, tile.shape[1], 3), 32, np.uint8)
    cv2.putText(bar, title, (6, 16), FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([bar, tile])


class ReadableVisualizer:
    """Draw named visualizers on the image upscaled to at least ``min_long_side`` pixels, write
    person labels without overlap, and put the legend (classes present) beside the image.

    Output: (s·H, s·W + legend, 3), the legend only when the parsing map is drawn.
    """

    def __init__(self, names: Sequence[str], label_space, min_long_side: int = 512):
        from . import VISUALIZERS
        from .instances import BoxVisualizer, InstancesVisualizer
        from .parsing import ParsingVisualizer

        self.label_space = as_label_space(label_space)
        self.names = list(names)
        self.min_long_side = min_long_side
        self.visualizers = []
        for n in self.names:
            cls = VISUALIZERS[n]
            if cls is ParsingVisualizer:
                self.visualizers.append(ParsingVisualizer(self.label_space, legend=False))
            elif cls in (InstancesVisualizer, BoxVisualizer):
                self.visualizers.append(cls(self.label_space, labels=False))
            else:
                self.visualizers.append(cls(self.label_space))
        self.labels = any(n in ("instances", "bbox") for n in self.names)
        self.legend = "parsing" in self.names

    def visualize(self, image_bgr: np.ndarray, data) -> np.ndarray:
        data = extract(data)
        s = display_scale(data.image_size, self.min_long_side)
        data = scale_vis_data(data, s)
        out = np.repeat(np.repeat(np.asarray(image_bgr), s, axis=0), s, axis=1) if s > 1 else image_bgr
        for v in self.visualizers:
            out = v.visualize(out, data)
        if self.labels and len(data) and (data.person_parsing is not None or data.boxes is not None):
            texts, anchors = person_labels(data)
            out = draw_labels(out, texts, anchors, person_colors(len(texts)))
        if self.legend:
            present = classes_present(data.parsing, self.label_space)
            out = np.hstack([out, draw_legend(present, self.label_space, out.shape[0])])
        return np.ascontiguousarray(out)


class PanelVisualizer:
    """Side by side: the input, its part map (legend of the classes present on the right) and
    its people (each filled in its own colour, outlined, labelled), all at the readable size."""

    def __init__(self, label_space, min_long_side: int = 512):
        self.label_space = as_label_space(label_space)
        self.parts = ReadableVisualizer(["parsing"], self.label_space, min_long_side)
        self.people = ReadableVisualizer(["instances"], self.label_space, min_long_side)
        self.min_long_side = min_long_side

    def visualize(self, image_bgr: np.ndarray, data) -> np.ndarray:
        data = extract(data)
        image_bgr = np.asarray(image_bgr)
        s = display_scale(data.image_size, self.min_long_side)
        big = np.repeat(np.repeat(image_bgr, s, axis=0), s, axis=1) if s > 1 else image_bgr
        people_img = image_bgr
        if data.person_parsing is not None and len(data.person_parsing):
            _, ids = data.person_parsing.paint(range(len(data.person_parsing)))
            colors = np.vstack([np.zeros((1, 3)), person_colors(len(data.person_parsing))])
            people_img = blend(image_bgr, colors[ids][:, :, ::-1] * 255, (ids > 0) * 0.55)
        tiles = [_titled(big, "input")]
        if data.parsing is not None:
            parts = self.parts.visualize(image_bgr, data)
            tiles.append(_titled(parts[:, : big.shape[1]], "parts"))
        tiles.append(_titled(self.people.visualize(people_img, data), "people"))
        if data.parsing is not None:
            tiles.append(_titled(parts[:, big.shape[1]:], "classes"))
        sep = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
        out = [tiles[0]]
        for t in tiles[1:]:
            out += [sep, t]
        return np.ascontiguousarray(np.hstack(out))
