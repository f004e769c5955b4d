"""Per-image core and final summary shared by ``ParsingEvaluator``, the offline CLI and the benchmark.

numpy only (no torch / Detectron2), so worker processes stay light. :func:`image_record` reduces
one image to small arrays; :func:`summarize` turns the summed confusion matrix and the records of
the whole set into the final metrics.
"""

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .atr import atr_metrics
from .global_map import paint_instances, part_instances
from .instance import SCORE_THRESH, app_image_record, evaluate_app, person_boxes
from .region import evaluate_apr, region_image_record
from .semantic import check_prediction_range, confusion_matrix, semantic_metrics
from .voc import DEFAULT_THRESHOLDS

__all__ = [
    "ParsingEvalOptions",
    "region_thresh",
    "image_record",
    "summarize",
    "image_sort_key",
    "format_results",
]


@dataclass(frozen=True)
class ParsingEvalOptions:
    """Every convention of the evaluation (defaults = the official scripts)."""

    num_classes: int
    class_names: Optional[Tuple[str, ...]] = None
    metrics: Tuple[str, ...] = ("semantic", "app", "apr")  # plus "atr"
    thresholds: Tuple[float, ...] = DEFAULT_THRESHOLDS
    score_thresh: float = SCORE_THRESH  # APp: detections below are ignored
    semseg_score_thresh: float = 0.3  # global map: people below are not painted
    # APr part instances of a top-down model: people painted from this score (None = score_thresh,
    # i.e. the detections APp uses; low scores go under higher ones and only add tail recall).
    region_score_thresh: Optional[float] = None
    empty_images: str = "skip"  # images with no detection in mIoU: "skip" (official) | "background"
    averaging: str = "official"  # semantic class averaging, see semantic.py
    apr_matching: str = "official"  # "official" (many-to-one) | "one_to_one"
    count_empty_gt: bool = True  # APp npos counts people with empty maps (Parsing R-CNN)
    atr_include_background: bool = True


def image_sort_key(image_id):
    """Order of images in the final matching (decides the order of equal scores): integer and
    all-digit ids numerically (Parsing R-CNN sorts COCO ids), then the others as strings."""
    s = str(image_id)
    return (0, int(s), s) if s.isdigit() else (1, 0, s)


def region_thresh(opts: ParsingEvalOptions) -> float:
    """Score from which people are painted into APr part instances."""
    return opts.score_thresh if opts.region_score_thresh is None else opts.region_score_thresh


def image_record(gt: dict, pred: Optional[dict], opts: ParsingEvalOptions, name: str) -> dict:
    """Reduce one image to the small arrays the final metrics need.

    Args:
        gt: ``sem`` (H, W) and/or ``persons`` (G, H, W) uint8, optional ``part_layers`` (region.py).
        pred: None (no prediction: counted as no detection) or a dict with any of ``sem`` (H, W);
            ``crops``/``offsets``/``scores`` (people); ``part_ids``/``part_classes``/``part_scores``
            (part instances, PGN style); ``size`` (H, W) of the person maps.
        name: names the prediction in error messages.
    Returns:
        ``{"hist": (C, C) or None, "app": record or None, "apr": record or None}``.
    """
    C, pred = opts.num_classes, pred or {}
    persons = gt.get("persons")
    hw = gt["sem"].shape if gt.get("sem") is not None else persons.shape[1:]
    for key in ("sem", "part_ids"):
        if pred.get(key) is not None and tuple(pred[key].shape) != tuple(hw):
            raise ValueError(
                f"{name}: prediction size {tuple(pred[key].shape)} != GT size {tuple(hw)}"
            )
    if pred.get("size") is not None and tuple(pred["size"]) != tuple(hw):
        raise ValueError(f"{name}: person map size {tuple(pred['size'])} != GT size {tuple(hw)}")
    crops = pred.get("crops", [])
    offsets = pred.get("offsets", np.zeros((0, 2), np.int64))
    scores = np.asarray(pred.get("scores", np.zeros(0)), dtype=np.float64)
    if len(scores) != len(crops):
        raise ValueError(f"{name}: {len(crops)} person maps but {len(scores)} scores")
    for c in crops:  # before painting: a label >= C would be misfiled, not caught later
        check_prediction_range(np.asarray(c), C, name)
    painted = {}

    def paint(thresh):
        if thresh not in painted:
            painted[thresh] = paint_instances(crops, offsets, scores, hw, thresh)
        return painted[thresh]

    out = {"hist": None, "app": None, "apr": None}
    if "semantic" in opts.metrics or "atr" in opts.metrics:
        sem = pred.get("sem")
        # "No detection" (Parsing R-CNN writes no png, so the official mIoU skips the image): no
        # prediction at all, or people predicted as an empty list with nothing in the part map.
        no_detection = (
            sem is None
            if "crops" not in pred
            else (len(crops) == 0 and (sem is None or not sem.any()))
        )
        if sem is None and len(crops):
            sem = paint(opts.semseg_score_thresh)[0]
        if no_detection:
            sem = np.zeros(hw, np.uint8) if opts.empty_images == "background" else None
        if sem is not None:
            gsem = gt.get("sem")
            if gsem is None:  # paint the GT people, later ones on top
                gsem = np.zeros(hw, np.uint8)
                for p in persons:
                    gsem = np.where(p > 0, p, gsem)
            out["hist"] = confusion_matrix(gsem, sem, C, name)
    boxes = person_boxes(persons) if persons is not None else None
    if "app" in opts.metrics and persons is not None:
        out["app"] = app_image_record(
            persons, crops, offsets, scores, C, opts.thresholds, name, boxes
        )
    if "apr" in opts.metrics and (persons is not None or gt.get("part_layers") is not None):
        layers = gt.get("part_layers")
        if layers is None:
            ident = np.arange(C)
            layers = [(p, ident, b) for p, b in zip(persons, boxes)]
        if pred.get("part_ids") is not None:
            ids, cls, sc = pred["part_ids"], pred["part_classes"], pred["part_scores"]
        else:
            parts, pids, order = paint(region_thresh(opts))
            ids, cls, sc = part_instances(parts, pids, scores[order], C)
        out["apr"] = region_image_record(layers, ids, cls, sc, C)
    return out


def summarize(
    hist: Optional[np.ndarray], records: Sequence[Tuple[object, dict]], opts: ParsingEvalOptions
) -> Dict[str, Dict[str, float]]:
    """Final metrics (percentages) from the summed confusion matrix and the per-image records."""
    records = sorted(records, key=lambda r: image_sort_key(r[0]))
    pc = lambda d: {k: 100.0 * v for k, v in d.items()}  # noqa: E731
    res = {"parsing": {}}
    if hist is not None and "semantic" in opts.metrics:
        res["parsing"].update(pc(semantic_metrics(hist, opts.averaging, opts.class_names)))
    app = [r["app"] for _, r in records if r["app"] is not None]
    if "app" in opts.metrics and app:
        res["parsing"].update(
            pc(evaluate_app(app, opts.thresholds, opts.score_thresh, opts.count_empty_gt))
        )
    apr = [r["apr"] for _, r in records if r["apr"] is not None]
    if "apr" in opts.metrics and apr:
        res["region"] = pc(
            evaluate_apr(
                apr, opts.num_classes, opts.thresholds, opts.apr_matching, opts.class_names
            )
        )
    if "atr" in opts.metrics and hist is not None:
        res["atr"] = pc(atr_metrics(hist, opts.atr_include_background))
    return res


def format_results(res: Dict[str, Dict[str, float]]) -> str:
    """A readable table of the headline numbers (per-class values last)."""
    lines = []
    for task, d in res.items():
        head = [k for k in d if "-" not in k]
        rest = [k for k in d if "-" in k]
        lines.append(f"[{task}]")
        lines += [f"  {k:<28s} {d[k]:8.3f}" for k in head + rest]
    return "\n".join(lines)
