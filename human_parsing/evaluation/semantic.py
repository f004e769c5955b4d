"""Semantic (instance-agnostic) parsing metrics from one dataset-level confusion matrix.

metrics.md §2: every official script accumulates a single ``C x C`` matrix (rows = GT class,
columns = predicted class) over the whole set and derives pixel accuracy, mean accuracy, per-class
IoU, mIoU and frequency-weighted IoU from it. They differ only in *which classes are averaged*:

=============== ============================================= =========================================
``averaging``   rule                                          used by
=============== ============================================= =========================================
``official``    nanmean: a class counts if it is in GT or      Parsing R-CNN, PGN, Grapy-ML, SST
                predicted (IoU); in GT (accuracy)              (default)
``all_classes`` every class, ``TP / max(1, denominator)``      CorrPM / LIP ``compute_mean_ioU``
``gt_present``  only classes present in the GT                 Detectron2 ``SemSegEvaluator``
=============== ============================================= =========================================
"""

import logging
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = ["AVERAGING_MODES", "confusion_matrix", "semantic_metrics", "check_prediction_range"]

logger = logging.getLogger(__name__)

AVERAGING_MODES = ("official", "all_classes", "gt_present")


def check_prediction_range(pred: np.ndarray, num_classes: int, name: str = "prediction") -> None:
    """Raise ``ValueError`` (naming ``name``) if a predicted label is outside [0, num_classes).

    The official ``fast_hist`` does not check and silently misfiles such pixels (metrics.md §1.1).
    """
    if pred.size == 0:
        return
    lo, hi = int(pred.min()), int(pred.max())
    if lo < 0 or hi >= num_classes:
        bad = np.unique(pred[(pred < 0) | (pred >= num_classes)])[:10].tolist()
        raise ValueError(f"{name}: predicted labels {bad} outside [0, {num_classes})")


def confusion_matrix(
    gt: np.ndarray, pred: np.ndarray, num_classes: int, name: str = "prediction"
) -> np.ndarray:
    """(C, C) int64 confusion matrix of one image: rows GT, columns prediction.

    GT pixels outside [0, C) (the ignore label 255) are skipped, as ``fast_hist`` does;
    predictions outside [0, C) are an error. Implemented as one ``bincount`` of ``gt*C+pred``.
    """
    gt = np.asarray(gt)
    pred = np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(
            f"{name}: prediction size {pred.shape} differs from the GT size {gt.shape}"
        )
    check_prediction_range(pred, num_classes, name)
    gt = gt.ravel()
    pred = pred.ravel()
    valid = gt < num_classes
    if gt.dtype.kind == "i":
        valid &= gt >= 0
    if not valid.all():
        gt, pred = gt[valid], pred[valid]
    # gt*C+pred < C*C <= 65536 (labels are uint8): uint16 arithmetic, in place.
    dt = np.uint16 if num_classes <= 256 else np.intp
    idx = gt.astype(dt)
    idx *= num_classes
    np.add(idx, pred, out=idx, casting="unsafe")
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def semantic_metrics(
    hist: np.ndarray, averaging: str = "official", class_names: Optional[Sequence[str]] = None
) -> Dict[str, float]:
    """Metrics of an accumulated (C, C) confusion matrix, as fractions in [0, 1].

    Returns a dict with ``pixAcc``, ``meanAcc``, ``mIoU``, ``fwIoU`` and ``IoU-<name>`` per
    class (NaN where the class does not count under ``averaging``).
    """
    if averaging not in AVERAGING_MODES:
        raise ValueError(f"Unknown averaging {averaging!r}; expected one of {AVERAGING_MODES}")
    h = np.asarray(hist, dtype=np.float64)
    C = h.shape[0]
    tp = np.diag(h)
    g = h.sum(1)  # GT pixels per class
    p = h.sum(0)  # predicted pixels per class (at non-ignored GT pixels)
    union = g + p - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        if averaging == "all_classes":
            iou = tp / np.maximum(union, 1)
            acc = tp / np.maximum(g, 1)
            miou, macc = float(np.mean(iou)), float(np.mean(acc))
        else:
            iou = tp / union
            acc = tp / g
            if averaging == "gt_present":
                iou[g == 0] = np.nan
                acc[g == 0] = np.nan
            if np.all(np.isnan(iou)):
                miou = macc = float("nan")
            else:
                miou, macc = float(np.nanmean(iou)), float(np.nanmean(acc))
        total = g.sum()
        pix_acc = float(tp.sum() / total) if total > 0 else float("nan")
        freq = g / total if total > 0 else np.zeros(C)
        present = freq > 0
        fw = float((freq[present] * (tp[present] / union[present])).sum())
    names = list(class_names) if class_names is not None else [str(i) for i in range(C)]
    if len(names) != C:
        raise ValueError(f"{len(names)} class names for a {C}-class confusion matrix")
    out = {"mIoU": miou, "pixAcc": pix_acc, "meanAcc": macc, "fwIoU": fw}
    for name, v in zip(names, iou):
        out[f"IoU-{name}"] = float(v)
    return out
