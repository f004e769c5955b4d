"""Person keypoint orders and their left/right symmetry, declared once by name.

COCO-17 is the order of dataset dicts (``annotations[i]["keypoints"]``); MPII-16 is the LIP pose
order used by CorrPM (methods.md §1.2). Flip indices are derived from the names, as Detectron2's
``create_keypoint_hflip_indices`` does from metadata.
"""
from typing import Dict, Sequence, Tuple

import numpy as np

__all__ = [
    "COCO_KEYPOINT_NAMES",
    "COCO_KEYPOINT_FLIP_MAP",
    "MPII_KEYPOINT_NAMES",
    "MPII_KEYPOINT_FLIP_MAP",
    "CORRPM_FAITHFUL_MPII_FLIP_PAIRS",
    "KEYPOINT_FORMATS",
    "keypoint_hflip_indices",
    "get_keypoint_hflip_indices",
]

# fmt: off
COCO_KEYPOINT_NAMES: Tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO_KEYPOINT_FLIP_MAP: Tuple[Tuple[str, str], ...] = tuple(
    (f"left_{p}", f"right_{p}") for p in ("eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")
)
# MPII order as used by LIP's pose annotations (methods.md §1.2).
MPII_KEYPOINT_NAMES: Tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis",
    "thorax", "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder",
    "left_shoulder", "left_elbow", "left_wrist",
)
MPII_KEYPOINT_FLIP_MAP: Tuple[Tuple[str, str], ...] = tuple(
    (f"left_{p}", f"right_{p}") for p in ("ankle", "knee", "hip", "wrist", "elbow", "shoulder")
)
# What CorrPM's training code actually swaps (methods.md §5.3 [!]): wrong for 4 of 6 pairs under
# the MPII order. Only for exact reproduction of the released models.
CORRPM_FAITHFUL_MPII_FLIP_PAIRS: Tuple[Tuple[int, int], ...] = (
    (0, 3), (1, 4), (2, 5), (10, 13), (11, 14), (12, 15),
)
# fmt: on

KEYPOINT_FORMATS: Dict[str, Tuple[Tuple[str, ...], Tuple[Tuple[str, str], ...]]] = {
    "coco": (COCO_KEYPOINT_NAMES, COCO_KEYPOINT_FLIP_MAP),
    "mpii": (MPII_KEYPOINT_NAMES, MPII_KEYPOINT_FLIP_MAP),
}


def keypoint_hflip_indices(names: Sequence[str], flip_map: Sequence[Tuple[str, str]]) -> np.ndarray:
    """(J,) int array: after a horizontal flip, keypoint ``j`` takes the data of ``indices[j]``."""
    index = {n: i for i, n in enumerate(names)}
    out = np.arange(len(names))
    for a, b in flip_map:
        if a not in index or b not in index:
            raise ValueError(f"Keypoint flip pair ({a!r}, {b!r}) names an unknown keypoint")
        out[index[a]], out[index[b]] = index[b], index[a]
    return out


def get_keypoint_hflip_indices(fmt: str) -> np.ndarray:
    """Flip indices of a keypoint format: "coco", "mpii" or "mpii_corrpm" (CorrPM's swap)."""
    if fmt == "mpii_corrpm":
        out = np.arange(len(MPII_KEYPOINT_NAMES))
        for a, b in CORRPM_FAITHFUL_MPII_FLIP_PAIRS:
            out[a], out[b] = b, a
        return out
    if fmt not in KEYPOINT_FORMATS:
        raise ValueError(f"Unknown keypoint format {fmt!r}; known: {sorted(KEYPOINT_FORMATS) + ['mpii_corrpm']}")
    return keypoint_hflip_indices(*KEYPOINT_FORMATS[fmt])
