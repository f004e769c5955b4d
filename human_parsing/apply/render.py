"""Rendering for ``apply_net.py show``: a comma-separated list of named visualizers drawn one
over the other on the input image.

Names: ``parsing`` (parts in the label space's palette + legend of the classes present),
``instances`` (each person's outline in its own colour, with id and score), ``bbox`` (boxes
with scores), ``edges`` (instance-edge probability as a heat overlay; models without edges are
skipped with one warning). When ``human_parsing.vis`` provides a visualizer under the same
name it is used; the drawing below is the fallback.
"""
import logging
from typing import Callable, Dict, List

import cv2
import numpy as np
from detectron2.utils.colormap import colormap
from detectron2.utils.logger import log_first_n

from .result import ParsingResult

__all__ = ["RENDERERS", "build_renderers", "render"]

logger = logging.getLogger(__name__)

Renderer = Callable[[np.ndarray, ParsingResult], np.ndarray]
PARSING_ALPHA = 0.55
EDGE_ALPHA = 0.7
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _person_colors(n: int) -> np.ndarray:
    """(n, 3) BGR colours, one per person, cycling through Detectron2's colormap."""
    cmap = colormap(rgb=False, maximum=255).astype(np.uint8)
    return cmap[np.arange(n) % len(cmap)]


def _text(img: np.ndarray, text: str, org, color, scale: float) -> None:
    thick = max(1, int(round(scale * 2)))
    cv2.putText(img, text, org, _FONT, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, scale, tuple(int(c) for c in color), thick, cv2.LINE_AA)


def _font_scale(img: np.ndarray) -> float:
    return float(np.clip(min(img.shape[:2]) / 600.0, 0.3, 1.2))


def draw_parsing(img: np.ndarray, result: ParsingResult) -> np.ndarray:
    """Blend the global part map in palette colours over ``img``; legend in the top-left."""
    out = img.copy()
    pal_bgr = result.label_space.palette[:, ::-1]
    fg = result.parsing > 0
    out[fg] = (out[fg] * (1 - PARSING_ALPHA) + pal_bgr[result.parsing[fg]] * PARSING_ALPHA).astype(np.uint8)
    scale = _font_scale(img)
    line = int(22 * scale) + 4
    for k, name in enumerate(result.classes_present()):
        cid = result.label_space.classes.index(name)
        y = 4 + k * line
        if y + line > img.shape[0]:
            break
        cv2.rectangle(out, (4, y), (4 + line - 4, y + line - 4), tuple(int(c) for c in pal_bgr[cid]), -1)
        _text(out, name, (line + 4, y + line - 6), (255, 255, 255), scale * 0.6)
    return out


def draw_instances(img: np.ndarray, result: ParsingResult) -> np.ndarray:
    """Outline each person's pixels in its own colour and write ``#id score`` at the top."""
    out = img.copy()
    scale = _font_scale(img)
    for person, color in zip(result.people, _person_colors(len(result))):
        c = tuple(int(v) for v in color)
        x0, y0 = person.offset
        crop = (person.crop > 0).astype(np.uint8)
        if crop.any():
            contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE, offset=(x0, y0))
            cv2.drawContours(out, contours, -1, c, max(1, int(2 * scale)))
        bx, by = int(person.box[0]), int(person.box[1])
        _text(out, f"#{person.index + 1} {person.score:.2f}", (bx + 2, max(by - 3, 10)), c, scale * 0.5)
    return out


def draw_bbox(img: np.ndarray, result: ParsingResult) -> np.ndarray:
    """Draw each person's box with its score."""
    out = img.copy()
    scale = _font_scale(img)
    for person, color in zip(result.people, _person_colors(len(result))):
        c = tuple(int(v) for v in color)
        x0, y0, x1, y1 = (int(round(v)) for v in person.box)
        cv2.rectangle(out, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), c, max(1, int(2 * scale)))
        _text(out, f"{person.score:.2f}", (x0 + 2, min(y1 - 3, img.shape[0] - 2)), c, scale * 0.5)
    return out


def draw_edges(img: np.ndarray, result: ParsingResult) -> np.ndarray:
    """Heat overlay of the edge probability (opacity grows with the probability)."""
    if result.edges is None:
        log_first_n(logging.WARNING, "The model predicts no instance edges: the 'edges' visualizer "
                    "is skipped", n=1, name=__name__)
        return img
    p = np.clip(result.edges, 0.0, 1.0)
    heat = cv2.applyColorMap((p * 255).astype(np.uint8), cv2.COLORMAP_JET).astype(np.float32)
    a = (p * EDGE_ALPHA)[:, :, None]
    return (img.astype(np.float32) * (1 - a) + heat * a).astype(np.uint8)


RENDERERS: Dict[str, Renderer] = {
    "parsing": draw_parsing,
    "instances": draw_instances,
    "bbox": draw_bbox,
    "edges": draw_edges,
}


def build_renderers(spec: str) -> List[Renderer]:
    """Renderers for a comma-separated list of names; unknown names raise ``ValueError``."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError("--vis needs at least one visualizer name")
    unknown = [n for n in names if n not in RENDERERS]
    if unknown:
        raise ValueError(f"Unknown visualizer(s) {unknown}; available: {sorted(RENDERERS)}")
    return [RENDERERS[n] for n in names]


def render(image_bgr: np.ndarray, result: ParsingResult, renderers: List[Renderer]) -> np.ndarray:
    """Apply ``renderers`` in order; returns an image of the input size."""
    out = np.ascontiguousarray(image_bgr)
    for r in renderers:
        out = r(out, result)
    assert out.shape == image_bgr.shape, (out.shape, image_bgr.shape)
    return out
