"""Extractors: turn model outputs, ground-truth records or mapper outputs into one plain-numpy
:class:`ParsingVisData` that every visualizer reads (the DensePose ``vis/extractor.py`` split).
"""
from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np
import torch
from detectron2.structures import BoxMode

from ..data.io import load_person_parsing, load_sem_seg
from ..data.label_spaces import IGNORE_LABEL, LabelSpace
from ..structures import PersonParsing

__all__ = [
    "ParsingVisData",
    "extract",
    "extract_from_outputs",
    "extract_from_record",
    "extract_from_mapped",
]


@dataclass
class ParsingVisData:
    """What can be drawn for one image; absent fields are ``None``.

    Attributes:
        image_size: (H, W).
        parsing: (H, W) uint8 global part map (255 = ignore).
        person_parsing: per-person part maps (N people).
        boxes: (N, 4) float32 XYXY boxes in image pixels.
        scores: (N,) float32 detection scores (predictions only).
        edges: (H, W) float32 edge probability in [0, 1].
        densepose: per person, the chart result at its box: ``(labels (h, w) patch ids,
            uv (2, h, w) in [0, 1])`` (Detectron2 DensePose's chart-result layout), with ``boxes``.
    """

    image_size: Tuple[int, int]
    parsing: Optional[np.ndarray] = None
    person_parsing: Optional[PersonParsing] = None
    boxes: Optional[np.ndarray] = None
    scores: Optional[np.ndarray] = None
    edges: Optional[np.ndarray] = None
    densepose: Optional[list] = None

    def __len__(self) -> int:
        """Number of people."""
        if self.person_parsing is not None:
            return len(self.person_parsing)
        return 0 if self.boxes is None else len(self.boxes)


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


def extract_from_outputs(outputs: dict) -> ParsingVisData:
    """From a model output dict (project interface 5): ``"parsing"`` (H, W) int64 (or Detectron2's
    ``"sem_seg"`` (K, H, W) scores, argmax-ed), ``"instances"`` with ``pred_boxes``, ``scores``
    and ``pred_parsing`` (:class:`PersonParsing`) or ``pred_densepose`` (chart results), and
    ``"edges"`` (H, W) float."""
    parsing = boxes = scores = pp = edges = dp = None
    size = None
    if "parsing" in outputs:
        parsing = _np(outputs["parsing"]).astype(np.uint8)
    elif "sem_seg" in outputs:
        parsing = _np(outputs["sem_seg"].argmax(dim=0)).astype(np.uint8)
    if parsing is not None:
        size = parsing.shape
    if "instances" in outputs:
        inst = outputs["instances"]
        size = size or tuple(inst.image_size)
        if inst.has("pred_boxes"):
            boxes = _np(inst.pred_boxes.tensor).astype(np.float32)
        if inst.has("scores"):
            scores = _np(inst.scores).astype(np.float32)
        if inst.has("pred_parsing"):
            pp = inst.pred_parsing
        if inst.has("pred_densepose"):
            get = lambda c, k: c[k] if isinstance(c, dict) else getattr(c, k)  # noqa: E731
            dp = [(_np(get(c, "labels")), _np(get(c, "uv"))) for c in inst.pred_densepose]
    if "edges" in outputs:
        edges = _np(outputs["edges"]).astype(np.float32)
        size = size or edges.shape
    if size is None:
        raise ValueError(f"Nothing to visualize in model outputs with keys {sorted(outputs)}")
    return ParsingVisData(tuple(size), parsing, pp, boxes, scores, edges, dp)


def extract_from_record(
    record: dict, label_space: Union[LabelSpace, str, None] = None
) -> ParsingVisData:
    """Ground truth of a dataset dict (interface 1): the semantic map, the per-person maps and the
    annotated boxes, read from the files the record names. With ``label_space`` (the dataset's)
    the files are decoded and checked as the mapper does, so bad labels fail here too."""
    size = (record["height"], record["width"])
    parsing = load_sem_seg(record, label_space) if record.get("sem_seg_file_name") else None
    anns = record.get("annotations", [])
    pp = boxes = None
    if anns:
        pp = PersonParsing.from_full(load_person_parsing(record, label_space=label_space))
        boxes = np.array(
            [BoxMode.convert(a["bbox"], a["bbox_mode"], BoxMode.XYXY_ABS) for a in anns], np.float32
        )
    return ParsingVisData(size, parsing, pp, boxes)


def extract_from_mapped(mapped: dict) -> ParsingVisData:
    """Ground truth after a dataset mapper (interface 4): ``"sem_seg"``, ``"instances"``
    (``gt_boxes``, ``gt_parsing``) and ``"edges"`` (0/1 with 255 padding, drawn as 0)."""
    size = tuple(mapped["image"].shape[-2:])
    parsing = _np(mapped["sem_seg"]).astype(np.uint8) if "sem_seg" in mapped else None
    pp = boxes = edges = None
    if "instances" in mapped:
        inst = mapped["instances"]
        boxes = _np(inst.gt_boxes.tensor).astype(np.float32)
        if inst.has("gt_parsing"):
            maps = _np(inst.gt_parsing.tensor).copy()
            maps[maps == IGNORE_LABEL] = 0  # padding is not part of anybody
            pp = PersonParsing.from_full(maps) if len(maps) else PersonParsing([], np.zeros((0, 2)), size)
    if "edges" in mapped:
        e = _np(mapped["edges"])
        edges = np.where(e == IGNORE_LABEL, 0, e).astype(np.float32)
    return ParsingVisData(size, parsing, pp, boxes, None, edges)


def extract(obj) -> ParsingVisData:
    """Dispatch on what ``obj`` is: ``ParsingVisData`` (returned as is), an object with
    ``to_outputs()`` (e.g. ``human_parsing.apply.ParsingResult``), a mapper output (has
    ``"image"``), a dataset record (has ``"file_name"``) or a model output dict."""
    if isinstance(obj, ParsingVisData):
        return obj
    if hasattr(obj, "to_outputs"):
        return extract_from_outputs(obj.to_outputs())
    if not isinstance(obj, dict):
        raise TypeError(f"Cannot visualize an object of type {type(obj).__name__}")
    if "image" in obj:
        return extract_from_mapped(obj)
    if "file_name" in obj:
        return extract_from_record(obj)
    return extract_from_outputs(obj)
