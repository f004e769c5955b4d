"""Dense-pose ground truth for the synthetic people, written as DensePose-COCO json.

Every visible pixel of a person gets a patch (the 24 DensePose patches) and chart coordinates
(U, V) in [0, 1], computed from the drawn skeleton (pixel centres at integer coordinates):

- limbs (upper/lower arm, hand, upper/lower leg, foot; axis from the proximal to the distal
  joint, e.g. shoulder -> elbow, wrist -> hand tip, ankle -> toe): U = position along the axis
  (0 proximal, 1 distal, clipped); ``m`` = signed distance from the axis towards the person's
  *medial* side (towards the body: the normal obtained by turning the axis 90° towards the
  midline, well defined for raised limbs too), divided by the largest |m| of that limb's pixels.
  Arms: the medial half is the ``*-inside`` patch, the lateral half ``*-outside``, V = |m|.
  Legs (``-front`` for a person facing the camera, ``-back`` otherwise), hands, feet:
  V = (1 + m) / 2.
- torso (incl. neck and hips garments): ``torso-front`` / ``torso-back`` by facing; U = (1 + x) / 2
  with x the body-frame abscissa towards the person's own *left*, normalised by the largest |x|
  of the torso pixels (so U runs from the person's right side to their left), V = body-frame
  height from the top (0) to the bottom (1) of the torso pixels.
- head: ``head-left`` where the body-frame abscissa points to the person's left, else
  ``head-right``; U = |x| / max |x| (0 on the midline), V as for the torso.

Mirroring a person swaps left and right and keeps every medial/lateral and top/bottom distance,
so the flip symmetry is exact: patches swap by name, U and V stay, except the torso's U, which
becomes 1 − U (``SyntheticUVSymmetry`` in ``human_parsing.data.densepose``).

Annotation (per person with at least ``MIN_DP_PIXELS`` visible pixels; others keep only box,
mask and keypoints, like unannotated DensePose-COCO people): ``dp_masks`` = the coarse part map
sampled on the 256×256 grid of the GT box (cell centres, nearest pixel), and 100–196 points
drawn uniformly without replacement from the person's visible pixels, ``dp_x = (px + 0.5 − x0)
· 256 / w`` (same for y), with the pixel's I, U, V.
"""
import json
import os
from typing import Dict, List, Tuple

import numpy as np
import pycocotools.mask as mask_utils

from ..densepose import MASK_SIZE, PATCH_TO_COARSE, encode_dp_masks
from ..io import write_text
from ..label_spaces import get_label_space
from .keypoints import COCO_KEYPOINTS
from .labels import fine_label_space
from .scene import Scene

__all__ = [
    "MIN_DP_PIXELS",
    "POINTS_RANGE",
    "densepose_paths",
    "person_iuv",
    "densepose_annotations",
    "write_densepose_json",
]

MIN_DP_PIXELS = 256  # smaller people get no dense-pose annotation (boxes only)
POINTS_RANGE = (100, 196)  # points per annotated person: uniform in this range (196 = slots)
_LIMBS = {  # segment -> (proximal, distal) joint
    "upper-arm": ("shoulder", "elbow"),
    "lower-arm": ("elbow", "wrist"),
    "hand": ("wrist", "hand"),
    "upper-leg": ("hip", "knee"),
    "lower-leg": ("knee", "ankle"),
    "foot": ("ankle", "toe"),
}
_TORSO_SEGMENTS = ("torso", "hips")


def densepose_paths(root: str, split: str) -> Tuple[str, str]:
    """(json file, image folder) of a synthetic DensePose-COCO split under ``root``."""
    return os.path.join(root, "annotations", f"densepose_{split}.json"), os.path.join(root, f"{split}_img")


def _segments() -> Tuple[np.ndarray, np.ndarray]:
    """Per fine id: segment name and side ("" for unsided)."""
    seg, side = [""], [""]
    for name in fine_label_space().classes[1:]:
        s = name.split(":")[0]
        sd = next((x for x in ("left", "right") if s.startswith(x + "-")), "")
        seg.append(s[len(sd) + 1 :] if sd else s)
        side.append(sd)
    return np.array(seg), np.array(side)


def _patch(name: str) -> int:
    return get_label_space("densepose_patches").classes.index(name)


def _unit_range(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(), a.max()
    return (a - lo) / max(hi - lo, 1e-6)


def person_iuv(scene: Scene, k: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W) patch ids (uint8, 0 outside person ``k``'s visible pixels) and U, V (float32)."""
    person = scene.people[k]
    if person.joints is None:
        raise ValueError("person_iuv needs people generated with their skeleton (joints, frame)")
    shape = scene.human_ids.shape
    I, U, V = np.zeros(shape, np.uint8), np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    ys, xs = np.nonzero(scene.human_ids == k + 1)
    if len(ys) == 0:
        return I, U, V
    seg_of, side_of = _segments()
    fine = scene.fine[ys, xs]
    seg, side = seg_of[fine], side_of[fine]
    p = np.stack([xs, ys], axis=1).astype(np.float64)
    J, facing = person.joints, person.facing
    i_, u_, v_ = np.zeros(len(ys), np.int64), np.zeros(len(ys)), np.zeros(len(ys))
    for sd in ("left", "right"):
        xsgn = facing * (1.0 if sd == "left" else -1.0)  # image-x sign of this side (body frame)
        for s, (a, b) in _LIMBS.items():
            sel = (seg == s) & (side == sd)
            if not sel.any():
                continue
            p0, d = J[f"{sd}_{a}"], J[f"{sd}_{b}"] - J[f"{sd}_{a}"]
            length = max(float(np.hypot(*d)), 1e-6)
            rel = p[sel] - p0
            t = np.clip(rel @ d / length**2, 0.0, 1.0)
            medial = xsgn * np.array([-d[1], d[0]]) / length
            m = rel @ medial
            m = m / max(np.abs(m).max(), 1e-6)
            u_[sel] = t
            if s in ("upper-arm", "lower-arm"):
                i_[sel] = np.where(m >= 0, _patch(f"{sd}-{s}-inside"), _patch(f"{sd}-{s}-outside"))
                v_[sel] = np.abs(m)
            else:
                suffix = "" if s in ("hand", "foot") else ("-front" if facing > 0 else "-back")
                i_[sel] = _patch(f"{sd}-{s}{suffix}")
                v_[sel] = (1 + m) / 2
    mat, t0 = person.frame
    body = (p - t0) @ np.linalg.inv(mat).T  # body-frame coordinates (units of the height)
    x_own = body[:, 0] * facing  # towards the person's own left
    sel = np.isin(seg, _TORSO_SEGMENTS)
    if sel.any():
        i_[sel] = _patch("torso-front" if facing > 0 else "torso-back")
        u_[sel] = (1 + x_own[sel] / max(np.abs(x_own[sel]).max(), 1e-6)) / 2
        v_[sel] = _unit_range(body[sel, 1])
    sel = seg == "head"
    if sel.any():
        i_[sel] = np.where(x_own[sel] > 0, _patch("head-left"), _patch("head-right"))
        u_[sel] = np.abs(x_own[sel]) / max(np.abs(x_own[sel]).max(), 1e-6)
        v_[sel] = _unit_range(body[sel, 1])
    I[ys, xs] = i_
    U[ys, xs] = np.clip(u_, 0, 1)
    V[ys, xs] = np.clip(v_, 0, 1)
    return I, U, V


def _box_grid(box, shape) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel rows / columns of the 256 cell centres of ``box`` (nearest pixel, clipped)."""
    x0, y0, x1, y1 = box
    c = (np.arange(MASK_SIZE) + 0.5) / MASK_SIZE
    cols = np.clip(np.floor(x0 + c * (x1 - x0)).astype(np.int64), 0, shape[1] - 1)
    rows = np.clip(np.floor(y0 + c * (y1 - y0)).astype(np.int64), 0, shape[0] - 1)
    return rows, cols


def _person_annotation(scene: Scene, k: int, rng: np.random.Generator) -> dict:
    person = scene.people[k]
    x0, y0, x1, y1 = person.box
    w, h = x1 - x0, y1 - y0
    mask = np.asfortranarray((scene.human_ids == k + 1).astype(np.uint8))
    rle = mask_utils.encode(mask)
    kps = [float(v) for x, y, f in person.coco for v in ((x, y, f) if f > 0 else (0, 0, 0))]
    ann = {
        "bbox": [float(x0), float(y0), float(w), float(h)],
        "area": float(mask.sum()),
        "iscrowd": 0,
        "category_id": 1,
        "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
        "num_keypoints": int((person.coco[:, 2] > 0).sum()),
        "keypoints": [round(v, 2) for v in kps],
    }
    if person.num_pixels < MIN_DP_PIXELS:
        return ann
    I, U, V = person_iuv(scene, k)
    rows, cols = _box_grid(person.box, I.shape)
    ann["dp_masks"] = encode_dp_masks(PATCH_TO_COARSE[I[rows[:, None], cols[None, :]]].astype(np.uint8))
    ys, xs = np.nonzero(I)
    n = min(len(ys), int(rng.integers(POINTS_RANGE[0], POINTS_RANGE[1] + 1)))
    pick = np.sort(rng.choice(len(ys), size=n, replace=False))
    ys, xs = ys[pick], xs[pick]
    ann.update(
        dp_x=[round(float(v), 3) for v in (xs + 0.5 - x0) * MASK_SIZE / w],
        dp_y=[round(float(v), 3) for v in (ys + 0.5 - y0) * MASK_SIZE / h],
        dp_I=[float(v) for v in I[ys, xs]],
        dp_U=[round(float(v), 5) for v in U[ys, xs]],
        dp_V=[round(float(v), 5) for v in V[ys, xs]],
    )
    return ann


def densepose_annotations(scene: Scene, seed: int, index: int) -> List[dict]:
    """The COCO person annotations of one scene (without ``id``/``image_id``), deterministic in
    (seed, index)."""
    rng = np.random.default_rng([int(seed), int(index), 7])
    return [_person_annotation(scene, k, rng) for k in range(len(scene.people))]


def write_densepose_json(out: str, split: str, images: List[Dict], annotations: List[List[dict]]) -> None:
    """Write ``annotations/densepose_<split>.json``: ``images`` [{id, file_name, width,
    height}], the per-image annotation lists (ids assigned here, 1-based in order)."""
    anns, next_id = [], 1
    for img, per_image in zip(images, annotations):
        for a in per_image:
            anns.append({"id": next_id, "image_id": img["id"], **a})
            next_id += 1
    data = {
        "images": images,
        "annotations": anns,
        "categories": [
            {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO_KEYPOINTS)}
        ],
    }
    write_text(densepose_paths(out, split)[0], json.dumps(data))
