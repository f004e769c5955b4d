"""Keypoint orders of the synthetic people (COCO-17 and MPII/LIP-16) and the body segments each
joint may be drawn on, used to decide whether a joint is visible."""

from typing import Dict, Optional, Tuple

__all__ = ["COCO_KEYPOINTS", "MPII_KEYPOINTS", "KEYPOINT_SEGMENTS"]

COCO_KEYPOINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
MPII_KEYPOINTS = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "thorax",
    "upper_neck",
    "head_top",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)
# Body segments whose pixels may carry each joint; visibility = the joint pixel shows one of them.
_JOINT_SEGS = {
    "nose": ("head",),
    "eye": ("head",),
    "ear": ("head",),
    "head_top": ("head",),
    "upper_neck": ("head", "torso"),
    "thorax": ("torso",),
    "pelvis": ("torso", "hips"),
    "shoulder": ("torso", "upper-arm"),
    "elbow": ("upper-arm", "lower-arm"),
    "wrist": ("lower-arm", "hand"),
    "hip": ("torso", "hips", "upper-leg"),
    "knee": ("upper-leg", "lower-leg", "hips"),
    "ankle": ("lower-leg", "foot", "hips"),
}


def _keypoint_segments() -> Dict[str, Tuple[Tuple[Optional[str], str], ...]]:
    out = {}
    for name in set(COCO_KEYPOINTS) | set(MPII_KEYPOINTS):
        sided = name.startswith(("left_", "right_"))
        side, joint = name.split("_", 1) if sided else (None, name)
        out[name] = tuple(
            (side if s not in ("head", "torso", "hips") else None, s) for s in _JOINT_SEGS[joint]
        )
    return out


# keypoint name -> ((side or None, segment), ...) of the fine classes it may lie on
KEYPOINT_SEGMENTS = _keypoint_segments()
