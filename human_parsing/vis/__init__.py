"""Visualization of human parsing, structured like DensePose ``vis/``: extractors turn model
outputs / ground truth into :class:`ParsingVisData`, visualizers draw it on a BGR image.

Named visualizers (for a CLI's comma-separated ``--vis`` list): "parsing", "instances", "bbox",
"edges", and for dense pose "dp_segm", "dp_u", "dp_v", "dp_contours" (``densepose.py``);
:func:`build_display_visualizer` also knows "panel" (input | parts | people) and draws at a
readable size with the legend beside the image (:mod:`.display`). Example::

    vis = build_visualizer("parsing,instances", MetadataCatalog.get("cihp_val"))
    out_bgr = vis.visualize(image_bgr, model_outputs)  # or a record, a mapper output, ParsingVisData
"""
from typing import Dict, List, Type, Union

import numpy as np

from .base import BaseParsingVisualizer, as_label_space, person_colors
from .densepose import (
    DensePoseContourVisualizer,
    DensePoseSegmVisualizer,
    DensePoseUVisualizer,
    DensePoseVVisualizer,
    iuv_image,
)
from .display import PanelVisualizer, ReadableVisualizer
from .edges import EdgeVisualizer
from .extractor import (
    ParsingVisData,
    extract,
    extract_from_mapped,
    extract_from_outputs,
    extract_from_record,
)
from .instances import BoxVisualizer, InstancesVisualizer
from .parsing import ParsingVisualizer

__all__ = [
    "VISUALIZERS",
    "build_visualizer",
    "build_display_visualizer",
    "ReadableVisualizer",
    "PanelVisualizer",
    "CompoundVisualizer",
    "ParsingVisData",
    "extract",
    "extract_from_outputs",
    "extract_from_record",
    "extract_from_mapped",
    "BaseParsingVisualizer",
    "ParsingVisualizer",
    "InstancesVisualizer",
    "BoxVisualizer",
    "EdgeVisualizer",
    "DensePoseSegmVisualizer",
    "DensePoseUVisualizer",
    "DensePoseVVisualizer",
    "DensePoseContourVisualizer",
    "iuv_image",
    "as_label_space",
    "person_colors",
]

VISUALIZERS: Dict[str, Type[BaseParsingVisualizer]] = {
    "parsing": ParsingVisualizer,
    "instances": InstancesVisualizer,
    "bbox": BoxVisualizer,
    "edges": EdgeVisualizer,
    "dp_segm": DensePoseSegmVisualizer,
    "dp_u": DensePoseUVisualizer,
    "dp_v": DensePoseVVisualizer,
    "dp_contours": DensePoseContourVisualizer,
}


class CompoundVisualizer:
    """Apply several visualizers one over the other, in order."""

    def __init__(self, visualizers: List[BaseParsingVisualizer]):
        self.visualizers = list(visualizers)

    def visualize(self, image_bgr: np.ndarray, data) -> np.ndarray:
        """Draw ``data`` (anything :func:`extract` accepts) on a BGR image; same size out."""
        data = extract(data)
        out = np.asarray(image_bgr)
        for v in self.visualizers:
            out = v.visualize(out, data)
        return out


def _names(spec: Union[str, List[str]], extra=()) -> List[str]:
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    known = sorted(VISUALIZERS) + list(extra)
    if not names:
        raise ValueError("No visualizer named; available: " + ", ".join(known))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"Unknown visualizer(s) {unknown}; available: {known}")
    return names


def build_visualizer(spec: Union[str, List[str]], label_space) -> CompoundVisualizer:
    """Visualizers for a comma-separated list of names (or a list), drawn in that order, at the
    input size.

    ``label_space``: a ``LabelSpace``, its name, or dataset metadata with ``label_space``.
    """
    space = as_label_space(label_space)
    return CompoundVisualizer([VISUALIZERS[n](space) for n in _names(spec)])


def build_display_visualizer(spec: Union[str, List[str]], label_space, min_long_side: int = 512):
    """Pictures to look at: ``"panel"`` (alone) gives :class:`PanelVisualizer`, any list of
    :data:`VISUALIZERS` names a :class:`ReadableVisualizer` (upscaled to ``min_long_side``,
    legend beside the image, labels without overlap). ``min_long_side`` 0 keeps the input size."""
    names = _names(spec, extra=("panel",))
    if "panel" in names:
        if len(names) > 1:
            raise ValueError(f"'panel' is drawn alone, got {names}")
        return PanelVisualizer(label_space, min_long_side)
    return ReadableVisualizer(names, label_space, min_long_side)
