"""Rendering for ``apply_net.py show``: the named visualizers of :mod:`human_parsing.vis`
(``parsing``, ``instances``, ``bbox``, ``edges``; a comma-separated list, drawn in order) applied
to a :class:`ParsingResult`. Models without edges leave ``edges`` out with one warning.
"""
from typing import Union

import numpy as np

from human_parsing.data.label_spaces import LabelSpace
from human_parsing.vis import CompoundVisualizer, ParsingVisData, build_visualizer

from .result import ParsingResult

__all__ = ["build_renderer", "to_vis_data", "render"]


def build_renderer(spec: str, label_space: Union[str, LabelSpace]) -> CompoundVisualizer:
    """Visualizers for a comma-separated list of names; unknown names raise ``ValueError``."""
    return build_visualizer(spec, label_space)


def to_vis_data(result: ParsingResult) -> ParsingVisData:
    """The fields of ``result`` the visualizers read (no copy, no torch round trip)."""
    return ParsingVisData(result.image_size, result.parsing, result.person_parsing, result.boxes,
                          result.scores, result.edges)


def render(image_bgr: np.ndarray, result: ParsingResult, renderer: CompoundVisualizer) -> np.ndarray:
    """Draw ``result`` over the (H, W, 3) uint8 BGR image; returns an image of the same size."""
    out = renderer.visualize(np.ascontiguousarray(image_bgr), to_vis_data(result))
    assert out.shape == image_bgr.shape, (out.shape, image_bgr.shape)
    return out
