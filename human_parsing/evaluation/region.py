"""Part-instance (region) AP of PGN / CIHP: APr@t, APr50, APr_vol (metrics.md §4).

A part instance is a mask with one part class. Per class c >= 1, the predictions of c over the
whole set are sorted by score; by default (``matching="official"``, as ``test_inst_part_ap.py``)
a prediction is a TP at t iff its best IoU with *any* GT instance of c in its image is ``> t`` —
no one-to-one assignment, so duplicates are all TPs and AP can exceed 1. ``matching="one_to_one"``
is the VOC rule used for APp instead: each prediction is assigned to its best GT (first maximum)
and is an FP if that GT was already taken by a higher-scoring prediction.
A class with no GT and no prediction has AP 0; a class with predictions but no GT has AP NaN
(``tp/0``), exactly as the script; both then enter the mean over the C-1 classes.
"""

import logging
from typing import Dict, Sequence

import numpy as np

from .voc import DEFAULT_THRESHOLDS, descending_order, first_hits, pr_curve, voc_ap

__all__ = ["GTLayer", "region_image_record", "evaluate_apr", "MATCHING_MODES"]

logger = logging.getLogger(__name__)

MATCHING_MODES = ("official", "one_to_one")

# A GT layer is (id_map (H, W) int, class_of_id (max_id + 1,) int[, (y0, y1, x0, x1) extent of
# id_map > 0]): pixel value v > 0 belongs to the GT part instance (layer, v) of class
# class_of_id[v] (0 = not an instance). Instances of one layer are disjoint; different layers may
# overlap (e.g. one layer per MHP person).
GTLayer = tuple


def _bbox(mask: np.ndarray):
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1) if rows.size else None


def region_image_record(
    gt_layers: Sequence[GTLayer],
    pred_ids: np.ndarray,
    pred_classes: np.ndarray,
    pred_scores: np.ndarray,
    num_classes: int,
) -> Dict[str, np.ndarray]:
    """Reduce one image to what APr needs.

    Args:
        gt_layers: GT part instances (see ``GTLayer``).
        pred_ids: (H, W) int map, value k >= 1 = predicted part instance k, 0 = none.
        pred_classes, pred_scores: (K,) class and score of instance k+1 (line k+1 of a PGN txt).
            Instances without any pixel are dropped (the script would mis-pair them).
    Returns:
        dict of ``pred_class``, ``pred_score`` (P,), ``n_gt`` (C,) GT instances per class, and the
        same-class pairs with non-zero IoU: ``pair_pred``, ``pair_gt`` (ints), ``pair_iou``.
    """
    C = num_classes
    pred_classes = np.asarray(pred_classes, dtype=np.int64).reshape(-1)
    pred_scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    K = pred_classes.size
    pred_area = np.bincount(pred_ids.ravel(), minlength=K + 1)[: K + 1]
    keep = pred_area[1:] > 0
    if not keep.all():
        logger.debug("APr: %d listed part instances have no pixel; dropped", int((~keep).sum()))
    # Compact index of kept predictions: 1..P (0 = none / unlisted id).
    lut = np.zeros(max(int(pred_ids.max(initial=0)), K) + 1, dtype=np.int64)
    lut[1 : K + 1][keep] = np.arange(1, int(keep.sum()) + 1)
    pcls = pred_classes[keep]
    parea = pred_area[1:][keep]
    P = pcls.size
    n_gt = np.zeros(C, dtype=np.int64)
    pairs_p, pairs_g, pairs_iou = [], [], []
    g_offset = 0
    for layer in gt_layers:
        id_map, class_of_id = layer[0], np.asarray(layer[1], dtype=np.int64)
        b = layer[2] if len(layer) > 2 else _bbox(id_map > 0)
        if b is None:
            continue
        box = (slice(b[0], b[1]), slice(b[2], b[3]))
        sub = id_map[box]
        present = np.bincount(sub.ravel(), minlength=class_of_id.size)[: class_of_id.size]
        ids = np.flatnonzero((present > 0) & (class_of_id > 0))
        ids = ids[ids > 0]
        if ids.size == 0:
            continue
        gcls = class_of_id[ids]
        garea = present[ids]
        np.add.at(n_gt, gcls, 1)
        glut = np.zeros(max(int(sub.max()), class_of_id.size - 1) + 1, dtype=np.int64)
        glut[ids] = np.arange(1, ids.size + 1)
        if P:
            m = sub > 0
            gi = glut[sub[m]]
            pi = lut[pred_ids[box][m]]
            inter = np.bincount(
                pi * (ids.size + 1) + gi, minlength=(P + 1) * (ids.size + 1)
            ).reshape(P + 1, ids.size + 1)[1:, 1:]
            same = pcls[:, None] == gcls[None, :]
            pp, gg = np.nonzero((inter > 0) & same)
            if pp.size:
                it = inter[pp, gg]
                pairs_p.append(pp)
                pairs_g.append(gg + g_offset)
                pairs_iou.append(it / (garea[gg] + parea[pp] - it))
        g_offset += ids.size
    cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
    pp, gg, io = cat(pairs_p, np.int64), cat(pairs_g, np.int64), cat(pairs_iou, np.float64)
    order = np.lexsort((gg, pp))
    return {
        "pred_class": pcls,
        "pred_score": pred_scores[keep],
        "n_gt": n_gt,
        "pair_pred": pp[order],
        "pair_gt": gg[order],
        "pair_iou": io[order],
    }


def _best_per_pred(r, gt_offset: int):
    """(best IoU, global id of the first best GT or -1) of each prediction of one record."""
    P = r["pred_class"].size
    best = np.zeros(P)
    target = np.full(P, -1, dtype=np.int64)
    pp, gg, io = r["pair_pred"], r["pair_gt"], r["pair_iou"]
    if pp.size:
        # Pairs are sorted by (pred, gt); the first maximum per prediction wins.
        o = np.lexsort((gg, -io, pp))
        first = np.ones(o.size, bool)
        first[1:] = pp[o][1:] != pp[o][:-1]
        sel = o[first]
        best[pp[sel]] = io[sel]
        target[pp[sel]] = gg[sel] + gt_offset
    return best, target


def evaluate_apr(
    records: Sequence[Dict[str, np.ndarray]],
    num_classes: int,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    matching: str = "official",
    class_names: Sequence[str] = None,
) -> Dict[str, float]:
    """APr over per-image records (in the image order). Returns ``APr@t``, ``APr50``,
    ``APr_vol`` and ``APr50-<class>``, as fractions (NaN as explained in the module doc)."""
    if matching not in MATCHING_MODES:
        raise ValueError(f"Unknown APr matching {matching!r}; expected one of {MATCHING_MODES}")
    C, T = num_classes, len(thresholds)
    thr = np.asarray(thresholds, dtype=np.float64)
    cls, score, best, target = [], [], [], []
    n_gt = np.zeros(C, dtype=np.int64)
    off = 0
    for r in records:
        b, tg = _best_per_pred(r, off)
        cls.append(r["pred_class"])
        score.append(r["pred_score"])
        best.append(b)
        target.append(tg)
        n_gt += r["n_gt"]
        off += int(r["n_gt"].sum())
    cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
    cls, score = cat(cls, np.int64), cat(score, np.float64)
    best, target = cat(best, np.float64), cat(target, np.int64)
    ap = np.zeros((C - 1, T))
    for c in range(1, C):
        m = np.flatnonzero(cls == c)
        o = m[descending_order(score[m], "pgn")]
        hit = best[o][None, :] > thr[:, None]
        tp = hit if matching == "official" else first_hits(hit, target[o])
        for t in range(T):
            rec, prec = pr_curve(tp[t], ~tp[t], n_gt[c])
            ap[c - 1, t] = voc_ap(rec, prec)
        if n_gt[c] == 0 and m.size:
            logger.warning("APr: class %d is predicted but has no GT instance: its AP is NaN", c)
    m_ap = ap.mean(0)
    out = {f"APr@{t:g}": float(v) for t, v in zip(thresholds, m_ap)}
    out["APr50"] = out.get("APr@0.5", float("nan"))
    out["APr_vol"] = float(np.mean(m_ap))
    names = list(class_names) if class_names is not None else [str(i) for i in range(C)]
    if 0.5 in list(thresholds):
        k = list(thresholds).index(0.5)
        for c in range(1, C):
            out[f"APr50-{names[c]}"] = float(ap[c - 1, k])
    return out
