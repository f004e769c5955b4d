"""A synthetic multi-person scene: a cluttered background, 1-6 people drawn back to front (they
occlude and touch each other and may be cut by the image border; unlabelled objects sometimes
stand in front of them), and the ground truth that comes with it: a fine part map, a person-id
map, tight boxes and COCO-17 / MPII-16 keypoints.

Appearance is deliberately a weak cue: every surface gets a colour from a broad per-class
tendency (skin-like tones, darkish hair, bluish pants...) that is replaced by a uniformly random
colour 30% of the time, garments get stripes, the background is made of unlabelled shapes in
the same colours (including limb-like capsules). What stays learnable is shape, position and the
layout of the parts relative to each other.
"""

import colorsys
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from ..label_spaces import label_mapping_lut
from .labels import FINE_LABEL_SPACE_NAME, fine_label_space
from .people import COCO_KEYPOINTS, KEYPOINT_SEGMENTS, MPII_KEYPOINTS, draw_person, sample_person

__all__ = ["SyntheticPerson", "Scene", "generate_scene", "MAX_PEOPLE"]

MAX_PEOPLE = 6
_PEOPLE_P = (0.22, 0.24, 0.2, 0.14, 0.1, 0.1)  # probabilities of 1..6 people
_HEIGHT_RANGE = (0.05, 0.9)  # person height as a fraction of the image height
_MIN_PIXELS = 16  # a person keeps at least this many visible pixels ...
_MIN_VISIBLE = 0.35  # ... and this fraction of its in-image area after occlusion
# Colour tendency per surface: (hue in degrees or None = any, hue sd, saturation range, value range).
_TENDENCY = {
    "skin": (22, 8, (0.25, 0.65), (0.3, 0.95)),
    "face": (22, 8, (0.25, 0.65), (0.3, 0.95)),
    "hair": (25, 15, (0.2, 0.7), (0.05, 0.45)),
    "hat": (None, 0, (0.3, 0.9), (0.2, 0.9)),
    "sunglasses": (None, 0, (0.0, 0.3), (0.02, 0.2)),
    "scarf": (None, 0, (0.5, 1.0), (0.4, 1.0)),
    "upper-clothes": (None, 0, (0.2, 0.9), (0.3, 1.0)),
    "coat": (30, 40, (0.1, 0.6), (0.1, 0.6)),
    "dress": (330, 40, (0.4, 0.9), (0.4, 1.0)),
    "pants": (220, 20, (0.3, 0.8), (0.15, 0.7)),
    "skirt": (None, 0, (0.3, 0.9), (0.2, 0.9)),
    "glove": (None, 0, (0.2, 0.9), (0.1, 0.9)),
    "socks": (None, 0, (0.0, 0.3), (0.1, 1.0)),
    "shoe": (None, 0, (0.1, 0.6), (0.05, 0.5)),
}
_STRIPED = ("upper-clothes", "coat", "dress", "pants", "skirt", "scarf", "hat", "socks")
_FACE_KEYPOINTS = ("nose", "left_eye", "right_eye")


@dataclass
class SyntheticPerson:
    """Ground truth of one person. Keypoints are (K, 3) rows ``x, y, v`` with v = 2 visible,
    1 inside the image but occluded (or facing away, for the face), 0 outside the image."""

    box: Tuple[int, int, int, int]  # tight box of the person's pixels, x1/y1 = max index + 1
    coco: np.ndarray  # (17, 3) COCO order
    mpii: np.ndarray  # (16, 3) MPII/LIP order
    face_box: np.ndarray  # (4,) x0, y0, x1, y1 (float, may leave the image)
    height: float  # standing height in pixels
    num_pixels: int
    facing: int = 1  # +1 facing the camera, -1 seen from the back
    joints: Optional[Dict[str, np.ndarray]] = None  # skeleton points in image coordinates
    frame: Optional[Tuple[np.ndarray, np.ndarray]] = None  # body frame -> image: m @ b + t


@dataclass
class Scene:
    """``image`` (H, W, 3) uint8 BGR; ``fine`` (H, W) uint8 ``synthetic_fine`` ids; ``human_ids``
    (H, W) uint8, 0 = background, k = ``people[k - 1]`` (ids are back-to-front drawing order)."""

    image: np.ndarray
    fine: np.ndarray
    human_ids: np.ndarray
    people: List[SyntheticPerson]

    def labels(self, label_space: str) -> np.ndarray:
        """(H, W) uint8 global part map in ``label_space``."""
        return label_mapping_lut(FINE_LABEL_SPACE_NAME, label_space)[self.fine]

    def person_labels(self, label_space: str) -> np.ndarray:
        """(N, H, W) uint8 part map of each person alone (0 outside the person)."""
        glob = self.labels(label_space)
        ids = np.arange(1, len(self.people) + 1, dtype=np.uint8)[:, None, None]
        return np.where(self.human_ids[None] == ids, glob[None], 0).astype(np.uint8)


def _color(rng: np.random.Generator, surface: str) -> np.ndarray:
    """A BGR colour (float, 0..255) following the surface's tendency 70% of the time."""
    hue, sd, sat, val = _TENDENCY.get(surface, (None, 0, (0.0, 1.0), (0.0, 1.0)))
    if rng.random() < 0.3:
        hue, sat, val = None, (0.0, 1.0), (0.05, 1.0)
    h = rng.uniform(0, 360) if hue is None else rng.normal(hue, sd)
    r, g, b = colorsys.hsv_to_rgb((h % 360) / 360, rng.uniform(*sat), rng.uniform(*val))
    return np.array([b, g, r]) * 255


def _random_shape(rng, canvas, value, h, w, max_size, center=None):
    kind = rng.integers(5)
    c = (int(rng.uniform(0, w)), int(rng.uniform(0, h))) if center is None else center
    s = max(2.0, rng.uniform(0.05, 1.0) * max_size)
    if kind == 0:
        cv2.ellipse(
            canvas,
            c,
            (int(s), int(s * rng.uniform(0.2, 1))),
            float(rng.uniform(0, 180)),
            0,
            360,
            value,
            -1,
        )
    elif kind == 1:
        cv2.rectangle(
            canvas,
            c,
            (int(c[0] + s * rng.uniform(-1, 1)), int(c[1] + s * rng.uniform(-1, 1))),
            value,
            -1,
        )
    elif kind == 2:
        pts = np.array(c) + rng.uniform(-s, s, size=(int(rng.integers(3, 7)), 2))
        cv2.fillPoly(canvas, [pts.astype(np.int32)], value)
    else:  # thick lines / limb-like capsules
        end = (int(c[0] + s * rng.uniform(-1, 1)), int(c[1] + s * rng.uniform(-1, 1)))
        cv2.line(canvas, c, end, value, int(max(1, s * rng.uniform(0.05, 0.3))))


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(H, W, 3) float background: gradient/stripes/checker base plus unlabelled clutter."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c0, c1 = _color(rng, "any"), _color(rng, "any")
    kind = rng.integers(4)
    if kind == 0:
        t = (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)) / max(h, w)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    elif kind == 1:
        a, period = rng.uniform(0, np.pi), rng.uniform(4, 40)
        t = (np.sin(2 * np.pi * (xx * np.cos(a) + yy * np.sin(a)) / period) > 0).astype(np.float32)
    elif kind == 2:
        p = int(rng.integers(6, 40))
        t = (((xx // p) + (yy // p)) % 2).astype(np.float32)
    else:
        t = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), rng.uniform(2, 12))
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    img = c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]
    for _ in range(int(rng.integers(3, 16))):
        surf = str(rng.choice(list(_TENDENCY)))  # distractors in person-like colours too
        layer = np.zeros((h, w), np.uint8)
        _random_shape(rng, layer, 1, h, w, 0.25 * max(h, w))
        img[layer > 0] = _color(rng, surf)
    return cv2.GaussianBlur(img.astype(np.float32), (0, 0), rng.uniform(0.3, 1.5))


def _keypoint_flags(kpts, names, pid, facing, fine, hum, seg_of_fine) -> np.ndarray:
    """(K, 3) rows x, y, v from (K, 2) coordinates and the final maps (see SyntheticPerson)."""
    h, w = hum.shape
    out = np.zeros((len(names), 3), dtype=np.float64)
    out[:, :2] = kpts
    for k, name in enumerate(names):
        x, y = int(round(kpts[k, 0])), int(round(kpts[k, 1]))
        if not (0 <= x < w and 0 <= y < h):
            continue
        # the joint's pixel and its 4-neighbours (thin limbs of small people rasterise unevenly)
        nb = [
            (yy, xx)
            for yy, xx in ((y, x), (y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1))
            if 0 <= yy < h and 0 <= xx < w and hum[yy, xx] == pid
        ]
        segs = [seg_of_fine[fine[yy, xx]] for yy, xx in nb]
        allowed = {f"{side}-{s}" if side else s for side, s in KEYPOINT_SEGMENTS[name]}
        visible = any(s in allowed for s in segs) and not (facing < 0 and name in _FACE_KEYPOINTS)
        out[k, 2] = 2 if visible else 1
    return out


def _sample_specs(rng, h, w, n, person_scale=1.0):
    """Candidate people (more than needed) in random order, and a fallback. ``person_scale``
    multiplies every height (and the upper bound of the height range)."""
    base = np.exp(rng.uniform(np.log(0.3), np.log(0.9)))
    specs = []
    for i in range(3 * n + 2):
        if rng.random() < 0.1:  # someone far away
            frac = np.exp(rng.uniform(np.log(_HEIGHT_RANGE[0]), np.log(0.12)))
        else:
            frac = np.clip(base * np.exp(rng.uniform(np.log(0.6), np.log(1.15))), *_HEIGHT_RANGE)
        ph = float(frac) * h * person_scale
        if specs and rng.random() < 0.5:  # next to someone already there: touching/overlapping
            ref = specs[int(rng.integers(len(specs)))]
            x = ref.center[0] + rng.choice([-1, 1]) * rng.uniform(0.1, 0.45) * max(ph, ref.h)
            feet = ref.center[1] + 0.48 * ref.h + rng.normal(0, 0.05 * h)
        else:
            x = rng.uniform(-0.1 * w, 1.1 * w)
            feet = rng.uniform(min(0.8 * ph, 0.95 * h), h + 0.35 * ph)
        specs.append(sample_person(rng, (x, feet - 0.48 * ph), ph))
    # A large centred person, used only if nobody else could be placed.
    return specs, sample_person(rng, (w / 2, h * 0.55), h * 0.6)


def _depth(spec) -> float:
    return spec.center[1] + 0.48 * spec.h  # feet lower in the image = nearer = drawn later


def _compose(drawings, shape):
    """Paint (spec, drawing) pairs back to front; returns fine map, human ids, in-image areas."""
    fine, hum = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    for pid, (_, d) in enumerate(drawings, start=1):
        m = d.labels > 0
        fine[m], hum[m] = d.labels[m], pid
    return fine, hum


def _place_people(rng, h, w, n, person_scale=1.0):
    """Accept candidates in random order while everybody keeps enough visible pixels; the
    accepted people are drawn in depth order, so the result is a consistent occlusion."""
    specs, fallback = _sample_specs(rng, h, w, n, person_scale)
    placed = []
    for spec in specs:
        if len(placed) == n:
            break
        d = draw_person(spec, (h, w))
        if int((d.labels > 0).sum()) < _MIN_PIXELS:
            continue
        trial = sorted(placed + [(spec, d)], key=lambda p: _depth(p[0]))
        _, hum = _compose(trial, (h, w))
        counts = np.bincount(hum.ravel(), minlength=len(trial) + 1)
        areas = [int((p[1].labels > 0).sum()) for p in trial]
        if all(counts[i + 1] >= max(_MIN_PIXELS, _MIN_VISIBLE * a) for i, a in enumerate(areas)):
            placed = trial
    if not placed:
        placed = [(fallback, draw_person(fallback, (h, w)))]
    fine, hum = _compose(placed, (h, w))
    return placed, fine, hum


def generate_scene(
    seed: int, index: int, size: Tuple[int, int] = (256, 192), person_scale: float = 1.0
) -> Scene:
    """Scene ``index`` of the stream ``seed``; ``size`` is (W, H). Deterministic in (seed, index).
    ``person_scale`` > 1 draws everybody taller (more of them cut by the border, a larger share of
    person pixels, closer to CIHP's framing); 1 is the default mix of 5%-90% image heights."""
    if not 0.2 <= person_scale <= 4.0:
        raise ValueError(f"Synthetic person_scale must be in [0.2, 4], got {person_scale}")
    w, h = int(size[0]), int(size[1])
    if w < 16 or h < 16:
        raise ValueError(f"Synthetic image size {w}x{h} is too small (min 16x16)")
    rng = np.random.default_rng([int(seed), int(index)])
    n = int(rng.choice(np.arange(1, MAX_PEOPLE + 1), p=_PEOPLE_P))
    placed, fine, hum = _place_people(rng, h, w, n, person_scale)
    occluders = _occlude(rng, fine, hum, placed)
    image = _render(rng, fine, hum, [s for s, _ in placed], occluders)
    fs = fine_label_space()
    seg_of_fine = np.array(["" if i == 0 else n.split(":")[0] for i, n in enumerate(fs.classes)])
    people = []
    for i, (spec, d) in enumerate(placed):
        ys, xs = np.nonzero(hum == i + 1)
        people.append(
            SyntheticPerson(
                box=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                coco=_keypoint_flags(
                    d.coco, COCO_KEYPOINTS, i + 1, spec.facing, fine, hum, seg_of_fine
                ),
                mpii=_keypoint_flags(
                    d.mpii, MPII_KEYPOINTS, i + 1, spec.facing, fine, hum, seg_of_fine
                ),
                face_box=d.face_box,
                height=spec.h,
                num_pixels=int(len(xs)),
                facing=spec.facing,
                joints=d.joints,
                frame=d.frame,
            )
        )
    return Scene(image=image, fine=fine, human_ids=hum, people=people)


def _occlude(rng, fine, hum, placed) -> list:
    """Unlabelled objects in front of people in ~30% of the scenes: the pixels they cover become
    background in ``fine`` and ``hum`` (in place), as long as everybody stays visible enough.
    Returns [(mask, colour)] for the renderer."""
    out = []
    if rng.random() >= 0.3:
        return out
    h, w = hum.shape
    areas = [int((d.labels > 0).sum()) for _, d in placed]
    for _ in range(int(rng.integers(1, 3))):
        ys, xs = np.nonzero(hum)
        k = int(rng.integers(len(ys)))
        layer = np.zeros((h, w), np.uint8)
        _random_shape(rng, layer, 1, h, w, 0.12 * max(h, w), center=(int(xs[k]), int(ys[k])))
        m = layer > 0
        trial = np.where(m, 0, hum)
        counts = np.bincount(trial.ravel(), minlength=len(placed) + 1)
        if all(counts[i + 1] >= max(_MIN_PIXELS, _MIN_VISIBLE * a) for i, a in enumerate(areas)):
            fine[m], hum[m] = 0, 0
            out.append((m, _color(rng, str(rng.choice(list(_TENDENCY))))))
    return out


def _render(rng, fine, hum, specs, occluders=()) -> np.ndarray:
    """Paint the people over a background: per-person surface colours, stripes, shading, noise."""
    h, w = fine.shape
    img = _background(rng, h, w)
    fs = fine_label_space()
    surf_of_fine = [n.split(":")[-1] for n in fs.classes]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dark_edges = rng.random() < 0.6
    for pid, spec in enumerate(specs, start=1):
        m = hum == pid
        skin = _color(rng, "skin")
        colors = {s: (skin if s == "skin" else _color(rng, s)) for s in _TENDENCY}
        colors["face"] = skin * rng.uniform(0.9, 1.1)
        lut = np.array([colors.get(s, skin) for s in surf_of_fine], np.float32)
        layer = lut[fine]
        for s in _STRIPED:
            if rng.random() < 0.3:
                ids = [i for i, n in enumerate(surf_of_fine) if n == s]
                a, period = rng.uniform(0, np.pi), max(2.0, rng.uniform(0.03, 0.08) * spec.h)
                stripes = np.sin(2 * np.pi * (xx * np.cos(a) + yy * np.sin(a)) / period) > 0
                sel = np.isin(fine, ids) & m & stripes
                layer[sel] *= rng.uniform(0.5, 0.8)
        g = rng.uniform(-0.4, 0.4)
        shade = 1 + g * (xx - spec.center[0]) / max(spec.h, 1.0)
        img[m] = (layer * np.clip(shade, 0.6, 1.4)[..., None])[m]
    if dark_edges:  # darken part boundaries inside people, as real clothing seams/shadows do
        edge = np.zeros((h, w), bool)
        edge[:, 1:] |= fine[:, 1:] != fine[:, :-1]
        edge[1:, :] |= fine[1:, :] != fine[:-1, :]
        img[edge & (hum > 0)] *= 0.8
    for m, color in occluders:
        img[m] = color
    img = img + rng.normal(0, rng.uniform(2, 8), size=img.shape)
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img.astype(np.float32), (3, 3), 0.6)
    return np.clip(img, 0, 255).astype(np.uint8)
