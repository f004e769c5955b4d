"""VOC-style precision/recall and average precision shared by APp (Parsing R-CNN) and APr (PGN).

metrics.md §1.2–1.3: continuous (all-point) VOC AP, precision ``tp / max(tp + fp, eps)``,
recall ``tp / npos``; detections are ordered with the *same numpy call* as the official
scripts so that ties come out in the same order.
"""

import numpy as np

__all__ = ["DEFAULT_THRESHOLDS", "voc_ap", "pr_curve", "descending_order", "first_hits"]

# The IoU thresholds of APp, PCP and APr (Parsing R-CNN ``ovthresh_seg``, PGN ``IOU_THRE``).
DEFAULT_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def voc_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    """All-point interpolated AP: area under the monotone precision envelope.

    Recall may exceed 1 (PGN's many-to-one matching); the area is then taken as is, so AP can
    exceed 1, exactly like the official ``voc_ap``. With no detections AP is 0.
    """
    mrec = np.concatenate(([0.0], np.asarray(rec, dtype=np.float64), [1.0]))
    mpre = np.concatenate(([0.0], np.asarray(prec, dtype=np.float64), [0.0]))
    # Precision envelope (right-to-left running maximum); max is exact, so this equals the loop.
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def pr_curve(tp: np.ndarray, fp: np.ndarray, npos: float):
    """Cumulative recall and precision of 0/1 TP and FP vectors already in score order.

    ``npos == 0`` gives NaN recall (0/0), as the official scripts do (numpy, not an exception).
    """
    tp = np.cumsum(np.asarray(tp, dtype=np.float64))
    fp = np.cumsum(np.asarray(fp, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        rec = tp / np.float64(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return rec, prec


def descending_order(scores: np.ndarray, style: str = "parsing_rcnn") -> np.ndarray:
    """Indices that sort ``scores`` descending, with the tie order of an official script.

    ``"parsing_rcnn"``: ``np.argsort(-s)`` (Parsing R-CNN / MHP); ``"pgn"``: ``np.argsort(s)[::-1]``
    (PGN; NaN sorts first). Both use numpy's default, non-stable sort, as the originals.
    """
    s = np.asarray(scores, dtype=np.float64)
    if style == "parsing_rcnn":
        return np.argsort(-s)
    if style == "pgn":
        return np.argsort(s)[::-1]
    raise ValueError(f"Unknown sort style {style!r}; expected 'parsing_rcnn' or 'pgn'")


def first_hits(hit: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Greedy one-to-one VOC matching for all thresholds at once.

    Args:
        hit: (T, D) bool, detection d (in score order) clears threshold t with its best target.
        target: (D,) int, the global id of that best target (the first maximum, as the scripts).
    Returns:
        (T, D) bool TP flags: the first hitting detection of each target; later ones are FPs
        (they are *not* re-matched to the next-best target, as in the official scripts).
    """
    T, D = hit.shape
    tp = np.zeros((T, D), dtype=bool)
    for t in range(T):
        idx = np.flatnonzero(hit[t])
        if idx.size:
            _, first = np.unique(target[idx], return_index=True)
            tp[t, idx[first]] = True
    return tp
