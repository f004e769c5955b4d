"""Person-level parsing metrics of Parsing R-CNN / MHP v2: APp@t, APp50, APp_vol, PCP@t, PCP50.

metrics.md §3. The overlap of a predicted person d with a GT person g is the nanmean over classes
(background included) of their full-image class IoUs; GT pixels >= C (255) are ignored for both.
Matching is VOC greedy in descending score with strict ``>``; a detection is matched only to its
best GT (first maximum) and is an FP if that GT is already taken. ``npos`` counts every GT person.

Streaming: :func:`app_image_record` reduces one image to a few small arrays (overlap matrix
(D, G), correctly-parsed part counts (D, G, T), GT part counts, scores); :func:`evaluate_app`
does the global sort and matching over the records of the whole set. All (D x G x C) class IoUs
come from counts: per GT person its class areas (one bincount over its box); per detection the
class histogram of its crop, and, only for the people whose box meets the crop, the counts of
GT-equal and GT-background pixels under the crop's part pixels. Background IoU follows in closed
form (everything outside a crop is predicted background), so no full-image map is ever built.
"""

import logging
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .semantic import check_prediction_range
from .voc import DEFAULT_THRESHOLDS, descending_order, first_hits, pr_curve, voc_ap

__all__ = ["crops_from_full", "person_boxes", "app_image_record", "evaluate_app", "SCORE_THRESH"]

logger = logging.getLogger(__name__)

# Parsing R-CNN ``PRCNN.SCORE_THRESH``: detections below it are neither TP nor FP.
SCORE_THRESH = 0.001


def crops_from_full(maps: np.ndarray) -> Tuple[List[np.ndarray], np.ndarray]:
    """Crop (N, H, W) full-image maps to the extent of their non-zero pixels.

    Returns (crops, offsets) with offsets (N, 2) int64 (x0, y0); an empty map gives a (0, 0) crop.
    """
    crops, offsets = [], np.zeros((len(maps), 2), dtype=np.int64)
    for i, m in enumerate(maps):
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        if rows.size == 0:
            crops.append(np.zeros((0, 0), np.uint8))
            continue
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        crops.append(np.ascontiguousarray(m[y0:y1, x0:x1]))
        offsets[i] = (x0, y0)
    return crops, offsets


def person_boxes(maps: np.ndarray) -> List[Optional[Tuple[int, int, int, int]]]:
    """(y0, y1, x0, x1) extent of the non-zero pixels of each (H, W) map (None if empty)."""
    out = []
    for m in maps:
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        out.append((rows[0], rows[-1] + 1, cols[0], cols[-1] + 1) if rows.size else None)
    return out


def app_image_record(
    gt_maps: np.ndarray,
    crops: Sequence[np.ndarray],
    offsets: np.ndarray,
    scores: np.ndarray,
    num_classes: int,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    name: str = "prediction",
    gt_boxes: Optional[Sequence] = None,
) -> Dict[str, np.ndarray]:
    """Reduce one image to what APp and PCP need.

    Args:
        gt_maps: (G, H, W) uint8 per-person GT part maps (0 outside the person, >= C ignored).
        crops, offsets: D predicted part-label crops and their (x0, y0) in the image; pixels
            outside a crop are background.
        scores: (D,) detection scores.
        gt_boxes: ``person_boxes(gt_maps)`` if already computed.
    Returns:
        dict of ``scores`` (D,), ``overlap`` (D, G) float64 (NaN if undefined), ``parts_ok``
        (D, G, T) uint8 = #{c >= 1 : IoU_c > t}, ``parts_gt`` (G,) = #distinct GT labels in
        [1, C), ``gt_empty`` (G,) bool.
    """
    C, T = num_classes, len(thresholds)
    gt_maps = np.asarray(gt_maps)
    G, HW = gt_maps.shape[0], int(np.prod(gt_maps.shape[1:]))
    D = len(crops)
    thr = np.asarray(thresholds, dtype=np.float64)
    boxes = person_boxes(gt_maps) if gt_boxes is None else gt_boxes
    # gcount[g, v]: pixels of GT value v in person g's map, every value >= C folded into bin C.
    gcount = np.zeros((G, C + 1), dtype=np.int64)
    for g, b in enumerate(boxes):
        if b is not None:
            sub = gt_maps[g, b[0] : b[1], b[2] : b[3]]
            gcount[g] = np.bincount(np.minimum(sub, C).ravel(), minlength=C + 1)
        gcount[g, 0] += HW - gcount[g].sum()
    gt_area = gcount[:, :C]  # G_c: GT pixels of class c (background = rest of the valid image)
    valid = gt_area.sum(1)
    parts_gt = (gt_area[:, 1:] > 0).sum(1)
    overlap = np.full((D, G), np.nan)
    parts_ok = np.zeros((D, G, T), dtype=np.uint8)
    for d, (crop, (x0, y0)) in enumerate(zip(crops, np.asarray(offsets).reshape(-1, 2))):
        crop = np.asarray(crop)
        check_prediction_range(crop, C, name)
        if G == 0:
            continue
        h, w = crop.shape
        fg = crop > 0
        lab = crop[fg]
        ch = np.bincount(lab, minlength=C)
        # People whose box misses this crop see all its part pixels on their background.
        inter = np.zeros((G, C), dtype=np.int64)
        pred_area = np.zeros((G, C), dtype=np.int64)
        pred_area[:, 1:] = ch[1:]
        inter[:, 0] = gt_area[:, 0] - ch[1:].sum()
        for g, b in enumerate(boxes):
            if b is None or not (b[0] < y0 + h and y0 < b[1] and b[2] < x0 + w and x0 < b[3]):
                continue
            sub = gt_maps[g, y0 : y0 + h, x0 : x0 + w][
                fg
            ]  # GT value under each predicted part pixel
            inter[g, 1:] = np.bincount(lab[sub == lab], minlength=C)[1:]
            inter[g, 0] = gt_area[g, 0] - np.count_nonzero(sub == 0)
            if gcount[g, C]:  # parts predicted on ignored GT pixels do not count
                pred_area[g, 1:] -= np.bincount(lab[sub >= C], minlength=C)[1:]
        # Background: predicted 0 = every valid pixel not predicted as a part.
        pred_area[:, 0] = valid - pred_area[:, 1:].sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = inter / (gt_area + pred_area - inter).astype(np.float64)
            overlap[d] = _nanmean_rows(iou)
        parts_ok[d] = (iou[:, 1:, None] > thr).sum(1)
    return {
        "scores": np.asarray(scores, dtype=np.float64).reshape(D),
        "overlap": overlap,
        "parts_ok": parts_ok,
        "parts_gt": parts_gt.astype(np.int64),
        "gt_empty": np.array([b is None for b in boxes], dtype=bool),
    }


def _nanmean_rows(a: np.ndarray) -> np.ndarray:
    """Row-wise ``np.nanmean`` (same arithmetic) without the all-NaN warning."""
    out = np.full(a.shape[0], np.nan)
    ok = ~np.isnan(a).all(1)
    if ok.any():
        out[ok] = np.nanmean(a[ok], axis=1)
    return out


def evaluate_app(
    records: Sequence[Dict[str, np.ndarray]],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    score_thresh: float = SCORE_THRESH,
    count_empty_gt: bool = True,
) -> Dict[str, float]:
    """APp and PCP over per-image records given in the official image order (sorted ids).

    ``count_empty_gt=False`` is the MHP v2 script's rule (GT persons with an all-zero map are
    dropped from ``npos`` and from matching); the default is Parsing R-CNN's (all counted).
    Returns ``APp@t`` and ``PCP@t`` for every t, ``APp50``, ``APp_vol``, ``PCP50`` as fractions.
    """
    T = len(thresholds)
    thr = np.asarray(thresholds, dtype=np.float64)
    scores, ovmax, target, ok, pgt = [], [], [], [], []
    npos, gt_offset = 0, 0
    for r in records:
        ov = r["overlap"]
        D, G = ov.shape
        keep_gt = np.ones(G, bool) if count_empty_gt else ~r["gt_empty"]
        ovm = np.where(np.isnan(ov) | ~keep_gt[None, :], -np.inf, ov)
        j = ovm.argmax(1) if G else np.zeros(D, np.intp)  # first maximum, as the strict ">" loop
        best = ovm[np.arange(D), j] if G else np.full(D, -np.inf)
        scores.append(r["scores"])
        ovmax.append(best)
        target.append(np.where(np.isfinite(best), gt_offset + j, -1))
        ok.append(r["parts_ok"][np.arange(D), j] if G else np.zeros((D, T), np.uint8))
        pgt.append(r["parts_gt"][j] if G else np.zeros(D, np.int64))
        npos += int(keep_gt.sum())
        gt_offset += G
    if not records:
        return _app_results(thresholds, [0.0] * T, [float("nan")] * T)
    scores = np.concatenate(scores)
    order = descending_order(scores, "parsing_rcnn")
    order = order[~(scores[order] < score_thresh)]  # below the threshold: neither TP nor FP
    ovmax = np.concatenate(ovmax)[order]
    target = np.concatenate(target)[order]
    ok = np.concatenate(ok)[order]
    pgt = np.concatenate(pgt)[order]
    hit = ovmax[None, :] > thr[:, None]  # (T, D)
    tp = first_hits(hit, target)
    aps, pcps = [], []
    for t in range(T):
        rec, prec = pr_curve(tp[t], ~tp[t], npos)
        aps.append(voc_ap(rec, prec))
        m = tp[t]
        with np.errstate(divide="ignore", invalid="ignore"):
            entries = np.where(pgt[m] > 0, ok[m, t] / np.maximum(pgt[m], 1), 0.0)
        padded = np.concatenate([entries, np.zeros(max(npos - entries.size, 0))])
        pcps.append(float(np.mean(padded)) if padded.size else float("nan"))
    if npos == 0:
        logger.warning("APp/PCP: the ground truth has no person; results are NaN")
    return _app_results(thresholds, aps, pcps)


def _app_results(thresholds, aps, pcps) -> Dict[str, float]:
    out = {}
    for t, ap, pcp in zip(thresholds, aps, pcps):
        out[f"APp@{t:g}"] = float(ap)
        out[f"PCP@{t:g}"] = float(pcp)
    out["APp50"] = out.get("APp@0.5", float("nan"))
    out["APp_vol"] = float(np.mean(aps))
    out["PCP50"] = out.get("PCP@0.5", float("nan"))
    return out
