"""DensePose GPS / GPSm average precision, number for number with the official evaluation
(DensePose's ``densepose_cocoeval.py`` as shipped by Parsing R-CNN; metrics.md §6).

Inputs per image: the GT persons (COCO dicts: ``id`` > 0, ``bbox`` [x, y, w, h], ``area``,
``iscrowd``, and ``dp_x, dp_y, dp_I, dp_U, dp_V, dp_masks`` on annotated ones) and the detections
(``bbox`` [x, y, w, h] with integer w, h, ``score``, ``uv``: (3, h, w) uint8 = I, U·255, V·255).

- GT without ``dp_x`` are ignored (this overrides ``iscrowd``).
- GPS(d, g): GT point p -> detection pixel ``row = int(dp_y·gh/255 + gy − dy)``,
  ``col = int(dp_x·gw/255 + gx − dx)`` (int truncates towards 0, as the official ``astype``);
  outside the box the prediction is "no part". Both (I, U, V) are snapped to the closest vertex of
  their patch; GPS = mean over GT points with a vertex of exp(−d²/(2κ²)), κ per coarse group.
- GPSm = sqrt(GPS · IoU), IoU between the detection's I > 0 pasted at its int box and the GT
  ``dp_masks`` (256×256 label map, bilinear resize to the int GT box, > 0.5), crowd-aware.
- Matching per threshold 0.50:0.05:0.95, detections by score (mergesort), maxDets 20, ties to the
  later GT; then the official box-IoU fallback (IoU ≥ 0.8 with a still-unmatched GT, evaluated with
  the *last* threshold's matches; sets the detection's ignore flag at every threshold to that
  GT's; for an ignored GT it also records the match at the last threshold). An image whose GT are
  all ignored (or that has none) ignores all its detections. 101-point interpolated precision;
  AP, AP50, AP75, APm (32²–96²), APl (> 96²).

Deliberate differences (degenerate inputs only): a GT with ``dp_x`` but no point with a patch gets
GPS 0 with every detection (the official code reuses the previous pair's value, or fails).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from ..data.densepose import decode_dp_masks
from .geodesics import VertexGeodesics

__all__ = [
    "gps_matrix",
    "dp_mask_iou_matrix",
    "evaluate_image",
    "accumulate",
    "densepose_ap",
    "prepare_image",
    "summarize_prepared",
    "IOU_THRESHOLDS",
    "AREA_RANGES",
]

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
REC_THRESHOLDS = np.linspace(0.0, 1.0, 101)
AREA_RANGES = {"all": (0, 1e5**2), "medium": (32**2, 96**2), "large": (96**2, 1e5**2)}
MAX_DETS = 20


def _sorted_dets(dts: Sequence[dict]) -> List[dict]:
    order = np.argsort([-d["score"] for d in dts], kind="mergesort")
    return [dts[i] for i in order][:MAX_DETS]


def _gps(gt: dict, dt: dict, geo: VertexGeodesics) -> float:
    gx, gy, gw, gh = gt["bbox"]
    dx, dy, dw, dh = dt["bbox"]
    col = (np.asarray(gt["dp_x"], np.float64) * gw / 255.0 + gx - dx).astype(np.int64)
    row = (np.asarray(gt["dp_y"], np.float64) * gh / 255.0 + gy - dy).astype(np.int64)
    if len(row) == 0:
        return 0.0
    out = (row >= dh) | (col >= dw) | (row < 0) | (col < 0)
    if out.all():
        return 0.0
    row, col = np.where(out, 0, row), np.where(out, 0, col)
    uv = dt["uv"]
    i_pred = uv[0, row, col].astype(np.int64)
    i_pred[out] = 0
    v_dt = geo.closest_vertices(i_pred, uv[1, row, col] / 255.0, uv[2, row, col] / 255.0)
    v_gt = geo.closest_vertices(gt["dp_I"], gt["dp_U"], gt["dp_V"])
    dist = geo.distances(v_gt, v_dt)
    if len(dist) == 0:
        return 0.0
    kappa = geo.normalisers(v_gt)
    return float(np.sum(np.exp(-(dist**2) / (2 * kappa**2))) / len(dist))


def gps_matrix(gts: Sequence[dict], dts: Sequence[dict], geo: VertexGeodesics) -> np.ndarray:
    """(D, G) GPS of each (score-sorted) detection with each GT; 0 for ignored GT."""
    out = np.zeros((len(dts), len(gts)))
    for j, g in enumerate(gts):
        if "dp_x" in g:
            for i, d in enumerate(dts):
                out[i, j] = _gps(g, d, geo)
    return out


def _paste(mask: np.ndarray, box, hw) -> dict:
    """RLE of ``mask`` pasted into an (H, W) image over the int box (x, y, w, h), clipped to the
    image, as the official ``computeDPIoU`` (the mask is read from its top-left corner)."""
    im_h, im_w = hw
    x, y, w, h = (int(v) for v in box[:4])
    im = np.zeros((im_h, im_w), np.uint8)
    x0, x1 = max(x, 0), min(x + w, im_w)
    y0, y1 = max(y, 0), min(y + h, im_h)
    if x1 > x0 and y1 > y0:
        im[y0:y1, x0:x1] = mask[y0 - y : y1 - y, x0 - x : x1 - x]
    return mask_utils.encode(np.asfortranarray(im[:, :, None]))[0]


def dp_mask_iou_matrix(gts: Sequence[dict], dts: Sequence[dict], hw) -> np.ndarray:
    """(D, G) IoU of the detections' I > 0 with the GT dense-pose masks (empty without one)."""
    gmasks = []
    for g in gts:
        if "dp_masks" in g:
            w, h = max(int(g["bbox"][2]), 1), max(int(g["bbox"][3]), 1)
            segm = decode_dp_masks(g["dp_masks"], f"image {g.get('image_id')}, annotation {g.get('id')}")
            m = cv2.resize(segm.astype(np.float64), (w, h))
            gmasks.append(_paste((m > 0.5).astype(np.uint8), g["bbox"], hw))
        else:
            gmasks.append(_paste(np.zeros((0, 0), np.uint8), (0, 0, 0, 0), hw))
    dmasks = [_paste((np.asarray(d["uv"][0]) > 0).astype(np.uint8), d["bbox"], hw) for d in dts]
    if not gmasks or not dmasks:
        return np.zeros((len(dts), len(gts)))
    return np.asarray(mask_utils.iou(dmasks, gmasks, [int(g.get("iscrowd", 0)) for g in gts]))


def _box_iou(gts, dts) -> np.ndarray:
    if not gts or not dts:
        return np.zeros((len(dts), len(gts)))
    return np.asarray(
        mask_utils.iou([list(map(float, d["bbox"])) for d in dts], [list(map(float, g["bbox"])) for g in gts],
                       [int(g.get("iscrowd", 0)) for g in gts])
    )


@dataclass
class ImageEval:
    """Per (image, area range): the official ``evalImgs`` entry."""

    dt_scores: np.ndarray  # (D,)
    dt_matches: np.ndarray  # (T, D) matched GT id or 0
    dt_ignore: np.ndarray  # (T, D) bool
    gt_ignore: np.ndarray  # (G,) bool


def evaluate_image(gts, dts, gps, miou, biou, area_range, mode: str = "GPSm") -> Optional[ImageEval]:
    """Official ``evaluateImg`` for one image and area range. ``gts``/``dts`` as given to the
    matrices (dts score-sorted, ≤ 20), ``gps``/``miou``/``biou`` their (D, G) matrices."""
    if not gts and not dts:
        return None
    ign = [("dp_x" not in g) or not (area_range[0] <= g["area"] <= area_range[1]) for g in gts]
    gind = np.argsort(ign, kind="mergesort")
    gts = [gts[i] for i in gind]
    gt_ig = np.array([ign[i] for i in gind], dtype=bool)
    crowd = [int(g.get("iscrowd", 0)) for g in gts]
    T, G, D = len(IOU_THRESHOLDS), len(gts), len(dts)
    gtm, dtm = np.zeros((T, G)), np.zeros((T, D))
    dt_ig = np.zeros((T, D), dtype=bool)
    if np.all(gt_ig):
        dt_ig[:] = True
    if G and D:
        gps, miou, biou = gps[:, gind], miou[:, gind], biou[:, gind]
        score = {"GPSm": np.sqrt(gps * miou), "GPS": gps, "IOU": miou}[mode]
        for t_i, t in enumerate(IOU_THRESHOLDS):
            for d_i in range(D):
                best, m = min(t, 1 - 1e-10), -1
                for g_i in range(G):
                    if gtm[t_i, g_i] > 0 and not crowd[g_i]:
                        continue
                    if m > -1 and not gt_ig[m] and gt_ig[g_i]:
                        break
                    s = score[d_i, g_i]
                    if s < best or s == 0.0:
                        continue
                    best, m = s, g_i
                if m == -1:
                    continue
                dt_ig[t_i, d_i] = gt_ig[m]
                dtm[t_i, d_i] = gts[m]["id"]
                gtm[t_i, m] = dts[d_i]["id"]
        last = T - 1  # the official fallback runs with the leaked loop index
        for d_i in range(D):
            if dtm[last, d_i] != 0:
                continue
            best, m = 0.8, -1
            for g_i in range(G):
                if gtm[last, g_i] > 0 and not crowd[g_i]:
                    continue
                if biou[d_i, g_i] < best:
                    continue
                best, m = biou[d_i, g_i], g_i
            if m > -1:
                dt_ig[:, d_i] = gt_ig[m]
                if gt_ig[m]:
                    dtm[last, d_i] = gts[m]["id"]
                    gtm[last, m] = dts[d_i]["id"]
    out_of_range = np.array([not (area_range[0] <= d["area"] <= area_range[1]) for d in dts], bool)
    dt_ig = dt_ig | ((dtm == 0) & out_of_range[None, :])
    return ImageEval(np.array([d["score"] for d in dts]), dtm, dt_ig, gt_ig)


def accumulate(evals: Sequence[Optional[ImageEval]]) -> np.ndarray:
    """(T, R) interpolated precision (−1 if there is no non-ignored GT), official ``accumulate``."""
    E = [e for e in evals if e is not None]
    prec = -np.ones((len(IOU_THRESHOLDS), len(REC_THRESHOLDS)))
    if not E:
        return prec
    scores = np.concatenate([e.dt_scores for e in E])
    inds = np.argsort(-scores, kind="mergesort")
    dtm = np.concatenate([e.dt_matches for e in E], axis=1)[:, inds]
    dt_ig = np.concatenate([e.dt_ignore for e in E], axis=1)[:, inds]
    npig = int(np.count_nonzero(np.concatenate([e.gt_ignore for e in E]) == 0))
    if npig == 0:
        return prec
    tps = np.cumsum((dtm != 0) & ~dt_ig, axis=1).astype(np.float64)
    fps = np.cumsum((dtm == 0) & ~dt_ig, axis=1).astype(np.float64)
    for t, (tp, fp) in enumerate(zip(tps, fps)):
        rc = tp / npig
        pr = (tp / (fp + tp + np.spacing(1))).tolist()
        for i in range(len(pr) - 1, 0, -1):
            if pr[i] > pr[i - 1]:
                pr[i - 1] = pr[i]
        q = np.zeros(len(REC_THRESHOLDS))
        ri = np.searchsorted(rc, REC_THRESHOLDS, side="left")
        n_ok = int((ri < len(pr)).sum())  # a prefix: the official try/except stops there
        q[:n_ok] = np.asarray(pr)[ri[:n_ok]]
        prec[t] = q
    return prec


def _mean_valid(a: np.ndarray) -> float:
    v = a[a > -1]
    return float(np.mean(v)) if v.size else -1.0


def prepare_image(gts: Sequence[dict], dts: Sequence[dict], hw, geo: VertexGeodesics) -> tuple:
    """What the matching needs of one image, without masks or maps: slim GT and detection dicts
    and the (D, G) GPS, mask-IoU and box-IoU matrices (detections score-sorted, ≤ 20).
    Detection ``id`` values only need to be > 0 and unique within the image."""
    dts = _sorted_dets(dts)
    mats = (gps_matrix(gts, dts, geo), dp_mask_iou_matrix(gts, dts, hw), _box_iou(gts, dts))
    slim_g = [
        {"id": g["id"], "area": g["area"], "iscrowd": g.get("iscrowd", 0), **({"dp_x": True} if "dp_x" in g else {})}
        for g in gts
    ]
    slim_d = [{"id": d["id"], "score": d["score"], "area": d["area"]} for d in dts]
    return (slim_g, slim_d) + mats


def summarize_prepared(prepared: Dict[object, tuple], mode: str = "GPSm") -> Dict[str, float]:
    """AP, AP50, AP75, APm, APl (fractions, −1 when undefined) from :func:`prepare_image` outputs
    keyed by image id (taken in sorted id order, as the official ``imgIds``)."""
    precision = {}
    for name, rng in AREA_RANGES.items():
        precision[name] = accumulate([evaluate_image(*prepared[i], rng, mode) for i in sorted(prepared)])
    t50, t75 = (np.where(np.abs(t - IOU_THRESHOLDS) < 0.001)[0] for t in (0.5, 0.75))
    return {
        "AP": _mean_valid(precision["all"]),
        "AP50": _mean_valid(precision["all"][t50]),
        "AP75": _mean_valid(precision["all"][t75]),
        "APm": _mean_valid(precision["medium"]),
        "APl": _mean_valid(precision["large"]),
    }


def densepose_ap(images: Dict[object, dict], geo: VertexGeodesics, mode: str = "GPSm") -> Dict[str, float]:
    """The official numbers over ``images``: image id -> ``{"height", "width", "gts": [...],
    "dts": [...]}``. Detections need ``id`` > 0 (the official loader numbers them 1.. in
    submission order) and ``area`` (w·h of their box)."""
    prepared = {
        iid: prepare_image(im["gts"], im["dts"], (im["height"], im["width"]), geo) for iid, im in images.items()
    }
    return summarize_prepared(prepared, mode)
