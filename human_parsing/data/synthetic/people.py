"""One procedurally drawn person: a random pose and outfit, drawn part by part into a fine label
map (``synthetic_fine`` ids), with COCO-17 and MPII-16 keypoints taken from the same skeleton.

Geometry is set up in a *body frame* (see canvas.py) in units of the person's height ``h``: origin at the pelvis,
y down, +x towards the image right. A person facing the camera has their own left side on the
image right; a person seen from the back has it on the image left (``facing = -1``). The body
frame is rotated by ``tilt``, scaled by ``h`` and moved to ``center`` to land in the image.
Parts are drawn back to front (long hair, legs, hips garment, torso, neck/head, arms) with cv2
polygons, ellipses and tapered capsules at 1/16-pixel precision, so keypoints such as the wrist
are the exact end points of the drawn limbs.
"""

from dataclasses import dataclass, field
from typing import Dict, Tuple

import numpy as np

from .canvas import BodyCanvas
from .keypoints import COCO_KEYPOINTS, KEYPOINT_SEGMENTS, MPII_KEYPOINTS
from .labels import SIDES, fine_id

__all__ = [
    "COCO_KEYPOINTS",
    "MPII_KEYPOINTS",
    "KEYPOINT_SEGMENTS",
    "PersonSpec",
    "PersonDrawing",
    "sample_person",
    "draw_person",
]


@dataclass
class PersonSpec:
    """Sampled parameters of one person (all lengths in units of the height ``h``, angles in rad)."""

    center: Tuple[float, float]  # image position of the pelvis (x, y), pixels
    h: float  # standing height in pixels
    tilt: float
    facing: int  # +1 facing the camera, -1 seen from the back
    build: float  # width multiplier
    arm: Dict[str, Tuple[float, float]]  # side -> (shoulder angle, elbow bend); 0 = hanging down
    leg: Dict[str, Tuple[float, float]]  # side -> (hip angle, knee bend)
    foreshorten: Dict[
        str, Tuple[float, float, float, float]
    ]  # side -> (upper/lower arm, upper/lower leg)
    head_tilt: float
    outfit: Dict[str, object] = field(default_factory=dict)


@dataclass
class PersonDrawing:
    """``labels``: (H, W) uint8 fine ids of this person alone (0 elsewhere); keypoints: (K, 2)
    float image coordinates (pixel centres at integers), possibly outside the image."""

    labels: np.ndarray
    coco: np.ndarray  # (17, 2)
    mpii: np.ndarray  # (16, 2)
    face_box: np.ndarray  # (4,) x0, y0, x1, y1 of the head ellipse
    # Every skeleton point (incl. hands, toes, neck) in image coordinates, and the body frame
    # (2x2 matrix, translation) mapping body-frame points to the image: p = m @ b + t.
    joints: Dict[str, np.ndarray] = field(default_factory=dict)
    frame: Tuple[np.ndarray, np.ndarray] = (np.eye(2), np.zeros(2))


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def sample_person(rng: np.random.Generator, center: Tuple[float, float], h: float) -> PersonSpec:
    """Draw a random pose and outfit for a person of height ``h`` px with the pelvis at ``center``."""
    deg = np.pi / 180
    tilt = rng.normal(0, 6 * deg) if rng.random() > 0.08 else _u(rng, -60, 60) * deg
    arm = {s: (_u(rng, -25, 170) * deg, _u(rng, -40, 140) * deg) for s in SIDES}
    leg = {s: (_u(rng, -12, 40) * deg, _u(rng, -25, 55) * deg) for s in SIDES}
    fs = {s: tuple(float(v) for v in rng.uniform(0.72, 1.0, size=4)) for s in SIDES}
    top = rng.choice(["upper-clothes", "coat", "dress", "skin"], p=[0.55, 0.2, 0.18, 0.07])
    bottom = (
        "dress" if top == "dress" else rng.choice(["pants", "shorts", "skirt"], p=[0.55, 0.2, 0.25])
    )
    sleeve = rng.choice(["none", "short", "long"], p=[0.2, 0.4, 0.4]) if top != "coat" else "long"
    if top == "dress" and sleeve == "long":
        sleeve = "short"
    outfit = {
        "top": str(top),
        "bottom": str(bottom),
        "sleeve": str(sleeve),
        "sleeve_upper": _u(rng, 0.3, 0.75),  # fraction of the upper arm a short sleeve covers
        "sleeve_lower": _u(rng, 0.8, 1.0),  # fraction of the forearm a long sleeve covers
        "pants_lower": _u(rng, 0.85, 1.0),
        "shorts": _u(rng, 0.35, 0.9),
        "hem": _u(rng, 0.08, 0.32),  # skirt/dress length below the hips
        "flare": _u(rng, 0.2, 0.9),
        "coat_open": bool(rng.random() < 0.5),
        "coat_len": _u(rng, 0.0, 0.22),
        "v_neck": _u(rng, 0.0, 0.08) if rng.random() < 0.5 else 0.0,
        "hair": str(rng.choice(["short", "long", "bald"], p=[0.55, 0.35, 0.1])),
        "hat": bool(rng.random() < 0.25),
        "sunglasses": bool(rng.random() < 0.15),
        "scarf": bool(rng.random() < 0.12),
        "gloves": bool(rng.random() < 0.1),
        "socks": _u(rng, 0.1, 0.4) if rng.random() < 0.3 else 0.0,
        "feet": str(rng.choice(["shoe", "socks", "skin"], p=[0.85, 0.05, 0.1])),
    }
    return PersonSpec(
        center=(float(center[0]), float(center[1])),
        h=float(h),
        tilt=float(tilt),
        facing=1 if rng.random() > 0.12 else -1,
        build=_u(rng, 0.9, 1.45),
        arm=arm,
        leg=leg,
        foreshorten=fs,
        head_tilt=float(rng.normal(0, 8 * deg)),
        outfit=outfit,
    )


def _dir(angle: float, xsign: float) -> np.ndarray:
    """Unit vector ``angle`` away from straight down, towards ``xsign`` (outwards for a limb)."""
    return np.array([xsign * np.sin(angle), np.cos(angle)])


def _lerp(a, b, t):
    return np.asarray(a) + (np.asarray(b) - np.asarray(a)) * t


def draw_person(spec: PersonSpec, shape: Tuple[int, int]) -> PersonDrawing:
    """Render ``spec`` into an (H, W) fine label map of this person alone, plus keypoints."""
    cv = BodyCanvas(spec.center, spec.h, spec.tilt, shape)
    o, b = spec.outfit, spec.build
    xs = {side: spec.facing * (1.0 if side == "left" else -1.0) for side in SIDES}  # image-x sign
    J: Dict[str, np.ndarray] = {"pelvis": np.zeros(2), "thorax": np.array([0.0, -0.33])}
    for side in SIDES:
        fua, fla, ful, fll = spec.foreshorten[side]
        sh = np.array([xs[side] * 0.105 * b, -0.315])
        a1, a2 = spec.arm[side]
        J[f"{side}_shoulder"] = sh
        J[f"{side}_elbow"] = sh + 0.16 * fua * _dir(a1, xs[side])
        J[f"{side}_wrist"] = J[f"{side}_elbow"] + 0.14 * fla * _dir(a1 + a2, xs[side])
        J[f"{side}_hand"] = J[f"{side}_wrist"] + 0.045 * _dir(a1 + a2, xs[side])
        hip = np.array([xs[side] * 0.06 * b, 0.0])
        l1, l2 = spec.leg[side]
        J[f"{side}_hip"] = hip
        J[f"{side}_knee"] = hip + 0.24 * ful * _dir(l1, xs[side])
        J[f"{side}_ankle"] = J[f"{side}_knee"] + 0.22 * fll * _dir(l1 - l2 * 0.5, xs[side])
        J[f"{side}_toe"] = J[f"{side}_ankle"] + np.array([xs[side] * 0.012, 0.035])

    # Head geometry (rotated by head_tilt around the neck).
    neck = np.array([0.0, -0.345])
    ct, st = np.cos(spec.head_tilt), np.sin(spec.head_tilt)
    hr = np.array([[ct, -st], [st, ct]])
    rx, ry = 0.05 * (0.9 + 0.2 * (b - 0.8)), 0.065

    def head(p):
        return neck + hr @ (np.asarray(p, float) - neck)

    hc = head([0.0, -0.44])
    J["head_top"], J["upper_neck"] = head([0.0, -0.44 - ry]), head([0.0, -0.38])
    J["nose"] = head([0.0, -0.44 + 0.15 * ry])
    for side in SIDES:
        J[f"{side}_eye"] = head([xs[side] * 0.38 * rx, -0.44 - 0.12 * ry])
        J[f"{side}_ear"] = head([xs[side] * rx, -0.44])

    F = fine_id
    # 1. long hair behind everything.
    if o["hair"] == "long":
        cv.poly(
            [
                head([-1.15 * rx, -0.44]),
                head([1.15 * rx, -0.44]),
                [1.5 * rx, -0.27],
                [-1.5 * rx, -0.27],
            ],
            F("head", "hair"),
        )
    # 2. legs, feet, socks, pants.
    top, bottom = o["top"], o["bottom"]
    for side in SIDES:
        hip, knee, ankle, toe = (J[f"{side}_{k}"] for k in ("hip", "knee", "ankle", "toe"))
        r_hip, r_knee, r_ankle = 0.045 * b, 0.034 * b, 0.024 * b
        cv.capsule(hip, knee, r_hip, r_knee, F("upper-leg", "skin", side))
        cv.capsule(knee, ankle, r_knee, r_ankle, F("lower-leg", "skin", side))
        if o["socks"] > 0:
            cv.capsule(
                _lerp(ankle, knee, o["socks"]),
                ankle,
                r_ankle * 1.08,
                r_ankle * 1.08,
                F("lower-leg", "socks", side),
            )
        if bottom == "pants":
            cv.capsule(hip, knee, r_hip * 1.12, r_knee * 1.12, F("upper-leg", "pants", side))
            cv.capsule(
                knee,
                _lerp(knee, ankle, o["pants_lower"]),
                r_knee * 1.12,
                r_ankle * 1.2,
                F("lower-leg", "pants", side),
            )
        elif bottom == "shorts":
            cv.capsule(
                hip,
                _lerp(hip, knee, o["shorts"]),
                r_hip * 1.15,
                r_knee * 1.2,
                F("upper-leg", "pants", side),
            )
        foot = F("foot", o["feet"], side)
        cv.capsule(ankle, toe, r_ankle * 0.95, r_ankle * 1.05, foot)
    # 3. hips garment: pants/shorts crotch, or skirt/dress trapezoid over the legs.
    hw = 0.105 * b
    if bottom in ("pants", "shorts"):
        cv.poly(
            [[-hw, -0.04], [hw, -0.04], [0.09 * b, 0.05], [0, 0.075], [-0.09 * b, 0.05]],
            F("hips", "pants"),
        )
    else:
        surf = "dress" if bottom == "dress" else "skirt"
        hem = o["hem"]
        xs_hem = []
        for side in SIDES:
            t = min(1.0, hem / 0.24)
            p = _lerp(J[f"{side}_hip"], J[f"{side}_knee"], t)
            xs_hem.append(p[0] + np.sign(p[0] + 1e-9) * 0.05 * b)
        left_x, right_x = min(xs_hem + [-hw - o["flare"] * hem]), max(
            xs_hem + [hw + o["flare"] * hem]
        )
        cv.poly([[-hw, -0.05], [hw, -0.05], [right_x, hem], [left_x, hem]], F("hips", surf))
    # 4. torso with its garment, neck, scarf.
    torso = [
        [-0.115 * b, -0.325],
        [0.115 * b, -0.325],
        [0.1 * b, -0.24],
        [0.085 * b, -0.12],
        [0.1 * b, 0.0],
        [-0.1 * b, 0.0],
        [-0.085 * b, -0.12],
        [-0.1 * b, -0.24],
    ]
    cv.capsule(neck + [0, 0.02], head([0.0, -0.4]), 0.024 * b, 0.022 * b, F("torso", "skin"))
    inner = {"coat": "upper-clothes", "skin": "skin"}.get(top, top)
    cv.poly(torso, F("torso", inner))
    if top == "coat":
        gap = 0.022 * b if o["coat_open"] else 0.0
        for sgn in (-1, 1):
            half = [
                [sgn * gap, -0.325],
                [sgn * 0.115 * b, -0.325],
                [sgn * 0.1 * b, -0.24],
                [sgn * 0.085 * b, -0.12],
                [sgn * 0.1 * b, 0.0],
                [sgn * gap, 0.0],
            ]
            cv.poly(half, F("torso", "coat"))
        if o["coat_len"] > 0.01:
            cl = o["coat_len"]
            cv.poly(
                [
                    [-0.1 * b, -0.01],
                    [0.1 * b, -0.01],
                    [0.11 * b + 0.2 * cl, cl],
                    [-0.11 * b - 0.2 * cl, cl],
                ],
                F("hips", "coat"),
            )
    if o["v_neck"] > 0 and top != "skin":
        cv.poly(
            [[-0.04 * b, -0.326], [0.04 * b, -0.326], [0, -0.325 + o["v_neck"]]], F("torso", "skin")
        )
    if o["scarf"]:
        cv.capsule([-0.05 * b, -0.33], [0.05 * b, -0.33], 0.022 * b, 0.022 * b, F("torso", "scarf"))
        cv.capsule(
            [0.03 * b * spec.facing, -0.33],
            [0.035 * b * spec.facing, -0.2],
            0.017 * b,
            0.015 * b,
            F("torso", "scarf"),
        )
    # 5. head: hair cap, face, fringe, hat, sunglasses (a person seen from the back shows hair only).
    ang = spec.head_tilt
    if o["hair"] != "bald" or spec.facing < 0:
        cv.ellipse(head([0, -0.452]), (rx * 1.12, ry * 1.02), ang, F("head", "hair"))
    if spec.facing > 0:
        cv.ellipse(head([0, -0.436]), (rx * 0.93, ry * 0.9), ang, F("head", "face"))
        if o["hair"] != "bald":
            cv.ellipse(head([0, -0.44 - 0.62 * ry]), (rx * 0.98, ry * 0.42), ang, F("head", "hair"))
        if o["sunglasses"]:
            for sgn in (-1, 1):
                cv.ellipse(
                    head([sgn * 0.38 * rx, -0.44 - 0.1 * ry]),
                    (0.3 * rx, 0.18 * ry),
                    ang,
                    F("head", "sunglasses"),
                )
            cv.capsule(
                head([-0.3 * rx, -0.44 - 0.14 * ry]),
                head([0.3 * rx, -0.44 - 0.14 * ry]),
                0.05 * ry,
                0.05 * ry,
                F("head", "sunglasses"),
            )
    if o["hat"]:
        cv.ellipse(head([0, -0.44 - 0.62 * ry]), (rx * 1.05, ry * 0.5), ang, F("head", "hat"))
        cv.ellipse(head([0, -0.44 - 0.38 * ry]), (rx * 1.4, ry * 0.16), ang, F("head", "hat"))
    # 6. arms last, so they may cross the body and the face.
    sleeve = o["sleeve"] if top in ("upper-clothes", "dress", "coat") else "none"
    arm_surf = top if top in ("upper-clothes", "dress", "coat") else "skin"
    for side in SIDES:
        sh, el, wr, hd = (J[f"{side}_{k}"] for k in ("shoulder", "elbow", "wrist", "hand"))
        r_sh, r_el, r_wr = 0.028 * b, 0.023 * b, 0.018 * b
        cv.capsule(sh, el, r_sh, r_el, F("upper-arm", "skin", side))
        cv.capsule(el, wr, r_el, r_wr, F("lower-arm", "skin", side))
        if sleeve == "short":
            cv.capsule(
                sh,
                _lerp(sh, el, o["sleeve_upper"]),
                r_sh * 1.15,
                r_el * 1.2,
                F("upper-arm", arm_surf, side),
            )
        elif sleeve == "long":
            cv.capsule(sh, el, r_sh * 1.12, r_el * 1.12, F("upper-arm", arm_surf, side))
            cv.capsule(
                el,
                _lerp(el, wr, o["sleeve_lower"]),
                r_el * 1.12,
                r_wr * 1.15,
                F("lower-arm", arm_surf, side),
            )
        cv.capsule(
            wr, hd, r_wr * 1.05, r_wr * 1.2, F("hand", "glove" if o["gloves"] else "skin", side)
        )

    face_pts = cv.to_image([hc + [-rx, -ry], hc + [rx, ry], hc + [rx, -ry], hc + [-rx, ry]])
    face_box = np.concatenate([face_pts.min(0), face_pts.max(0)])
    return PersonDrawing(
        labels=cv.labels,
        coco=cv.to_image([J[k] for k in COCO_KEYPOINTS]),
        mpii=cv.to_image([J[k] for k in MPII_KEYPOINTS]),
        face_box=face_box,
        joints={k: cv.to_image(v)[0] for k, v in J.items()},
        frame=(cv.m.copy(), cv.t.copy()),
    )
