"""Rendering for ``apply_net.py show``: the named visualizers of :mod:`human_parsing.vis`
(``parsing``, ``instances``, ``bbox``, ``edges``; a comma-separated list, drawn in order; or
``panel``: input | parts | people) applied to a :class:`ParsingResult`, upscaled to a readable
size with the legend beside the image (:func:`human_parsing.vis.build_display_visualizer`).
Models without edges leave ``edges`` out with one warning.
"""
from typing import Union

import numpy as np

from human_parsing.data.label_spaces import LabelSpace
from human_parsing.vis import ParsingVisData, build_display_visualizer

from .result import ParsingResult

__all__ = ["build_renderer", "to_vis_data", "render"]


def build_renderer(spec: str, label_space: Union[str, LabelSpace], min_long_side: int = 512):
    """Visualizers for a comma-separated list of names (or ``panel``); unknown names raise
    ``ValueError``. Inputs whose long side is below ``min_long_side`` are upscaled (0: never)."""
    return build_display_visualizer(spec, label_space, min_long_side)


def to_vis_data(result: ParsingResult) -> ParsingVisData:
    """The fields of ``result`` the visualizers read (no copy, no torch round trip)."""
    return ParsingVisData(result.image_size, result.parsing, result.person_parsing, result.boxes,
                          result.scores, result.edges)


def render(image_bgr: np.ndarray, result: ParsingResult, renderer) -> np.ndarray:
    """Draw ``result`` over the (H, W, 3) uint8 BGR image; the picture may be larger (upscaled,
    legend beside, panel), with one size per input size."""
    return renderer.visualize(np.ascontiguousarray(image_bgr), to_vis_data(result))
