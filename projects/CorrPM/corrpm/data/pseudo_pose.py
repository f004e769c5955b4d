"""Pseudo ground-truth pose for datasets without keypoints (ATR, CIHP crops; paper §4.1): the
file written by ``tools/pseudo_pose.py`` and read by :class:`CorrPMDatasetMapper`.

Format (json)::

    {"keypoint_format": "coco", "num_joints": 17, "coordinates": "pixel_index",
     "images": {"<image_id>": [x0, y0, v0, x1, y1, v1, ...], ...}}

Coordinates are pixel indices (pixel centres at integers, as LIP's annotations); ``v`` is 2 for a
joint kept (score above the tool's threshold) and 0 otherwise, with x = y = 0.
"""
import json
import os
from typing import Dict, List

import numpy as np

from human_parsing.data.io import DataFormatError

__all__ = ["write_pseudo_pose", "read_pseudo_pose", "keypoints_from_instances"]


def write_pseudo_pose(path: str, keypoints: Dict[str, np.ndarray], keypoint_format: str = "coco") -> None:
    """Write ``{image_id: (J, 3) array}`` (x, y pixel indices, v) to ``path`` atomically."""
    joints = {len(np.asarray(k).reshape(-1, 3)) for k in keypoints.values()}
    if len(joints) > 1:
        raise ValueError(f"{path}: images have different joint counts {sorted(joints)}")
    data = {
        "keypoint_format": keypoint_format,
        "num_joints": joints.pop() if joints else 0,
        "coordinates": "pixel_index",
        "images": {str(i): [round(float(v), 2) for v in np.asarray(k).reshape(-1)] for i, k in keypoints.items()},
    }
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)  # never leaves a half-written file behind


def read_pseudo_pose(path: str, num_joints: int, keypoint_format: str) -> Dict[str, List[float]]:
    """``{image_id: flat [x, y, v] * J}``; errors name the file and what disagrees with the config."""
    try:
        with open(path) as f:
            data = json.load(f)
        images = data["images"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataFormatError(f"{path}: not a pseudo-pose json ({e})") from e
    if data.get("num_joints") != num_joints:
        raise DataFormatError(f"{path}: {data.get('num_joints')} joints but MODEL.CORRPM.NUM_JOINTS={num_joints}")
    if data.get("keypoint_format") != keypoint_format.replace("_corrpm", ""):
        raise DataFormatError(f"{path}: keypoint format {data.get('keypoint_format')!r} but "
                              f"INPUT.PARSING.KEYPOINT_FORMAT={keypoint_format!r}")
    for image_id, kps in images.items():
        if len(kps) != 3 * num_joints:
            raise DataFormatError(f"{path}: image {image_id} has {len(kps)} values, expected {3 * num_joints}")
    return images


def keypoints_from_instances(instances, num_joints: int, keypoint_thresh: float = 0.05):
    """The pseudo ground truth of one image from a keypoint R-CNN's ``Instances``: the joints of
    its highest-scoring person, as a (J, 3) array of pixel-index x, y and v (2 kept, 0 dropped).

    Detectron2's ``pred_keypoints`` are (x, y, score) in continuous coordinates (pixel corners at
    integers), so 0.5 is subtracted; joints whose score is below ``keypoint_thresh`` (Detectron2's
    visualizer threshold by default) are dropped. Returns None when there is no person.
    """
    if len(instances) == 0:
        return None
    if not instances.has("pred_keypoints"):
        raise ValueError("keypoints_from_instances: the model returned no pred_keypoints "
                         "(is MODEL.KEYPOINT_ON set in its config?)")
    best = int(instances.scores.argmax())
    kps = instances.pred_keypoints[best].detach().cpu().numpy().astype(np.float64)
    if len(kps) != num_joints:
        raise ValueError(f"the keypoint model predicts {len(kps)} joints, expected {num_joints}")
    out = np.zeros((num_joints, 3))
    keep = kps[:, 2] >= keypoint_thresh
    out[keep, :2] = kps[keep, :2] - 0.5
    out[keep, 2] = 2
    return out
