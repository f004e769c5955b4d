"""Readers for the semantic-only layouts: LIP, ATR and PASCAL-Person-Part (methods.md §1.3).

Records are ``{file_name, sem_seg_file_name, height, width, image_id}``. At load time only the
image and label headers are read (sizes, compared to each other); label values are checked when
a map is loaded. LIP records also get ``keypoints`` (flat ``[x, y, v] * 16``, MPII order) when the
pose json ``TrainVal_pose_annotations/LIP_SP_{TRAIN,VAL}_annotations.json`` is present.
"""

import json
import logging
import os
import time
from typing import Dict, List, NamedTuple, Optional

import numpy as np

from ..io import DataFormatError
from .common import (
    SplitCache,
    check_same_size,
    image_size,
    parallel_map,
    read_id_list,
    require_dir,
    stat_files,
)

logger = logging.getLogger(__name__)

__all__ = ["SemanticLayout", "SEMANTIC_LAYOUTS", "load_semantic_parsing"]


class SemanticLayout(NamedTuple):
    """Relative paths of one layout; ``{split}`` is replaced by the split name."""

    image_dir: str
    label_dir: str
    list_file: str
    splits: tuple = ("train", "val")
    image_ext: str = ".jpg"
    label_ext: str = ".png"
    pose_file: str = ""  # optional; ``{SPLIT}`` is the upper-case split

    def describe(self) -> str:
        return (
            f"  <root>/{self.image_dir}/<id>{self.image_ext}\n"
            f"  <root>/{self.label_dir}/<id>{self.label_ext}\n"
            f"  <root>/{self.list_file}   (split in {list(self.splits)})"
        )


SEMANTIC_LAYOUTS = {
    "lip": SemanticLayout(
        "{split}_images",
        "{split}_segmentations",
        "{split}_id.txt",
        pose_file="TrainVal_pose_annotations/LIP_SP_{SPLIT}_annotations.json",
    ),
    "atr": SemanticLayout("JPEGImages", "SegmentationClassAug", "list/{split}_id.txt"),
    "pascal_person_part": SemanticLayout("JPEGImages", "SegmentationPart", "list/{split}_id.txt"),
}


def _read_lip_pose(path: str) -> Dict[str, List[float]]:
    """``{image id: flat [x, y, v] * 16}`` from a LIP pose json (``{"root": [{"im_name",
    "joint_self"}]}``). As in CorrPM a joint is present iff x + y != 0: then v = 2 if its flag is
    1 (visible) else 1; absent joints are (0, 0, 0)."""
    try:
        with open(path) as f:
            entries = json.load(f)["root"]
    except (ValueError, KeyError, TypeError) as e:
        raise DataFormatError(f"{path}: not a LIP pose json with a 'root' list ({e})") from e
    out = {}
    for e in entries:
        joints = np.asarray(e.get("joint_self", []), dtype=np.float64)
        if joints.shape != (16, 3):
            raise DataFormatError(
                f"{path}: {e.get('im_name')}: joint_self must be 16 x 3, got {joints.shape}"
            )
        present = joints[:, 0] + joints[:, 1] != 0
        v = np.where(present, np.where(joints[:, 2] == 1, 2.0, 1.0), 0.0)
        kps = np.stack([joints[:, 0] * present, joints[:, 1] * present, v], axis=1)
        out[os.path.splitext(os.path.basename(e["im_name"]))[0]] = kps.reshape(-1).tolist()
    return out


def _scan(paths) -> dict:
    image, label = paths
    h, w = image_size(image)
    check_same_size((h, w), image_size(label), label, image)
    return {"h": h, "w": w}


def load_semantic_parsing(
    root: str, layout: str, split: str, dataset_name: Optional[str] = None
) -> List[dict]:
    """Load one split of a semantic-only dataset.

    Args:
        root: the dataset folder (e.g. ``datasets/LIP``).
        layout: a key of :data:`SEMANTIC_LAYOUTS` ("lip", "atr", "pascal_person_part").
        split: "train" or "val".
    """
    if layout not in SEMANTIC_LAYOUTS:
        raise ValueError(
            f"Unknown semantic layout {layout!r}; expected one of {sorted(SEMANTIC_LAYOUTS)}"
        )
    lay = SEMANTIC_LAYOUTS[layout]
    if split not in lay.splits:
        raise ValueError(f"Unknown {layout} split {split!r}; expected one of {list(lay.splits)}")
    name = dataset_name or f"{layout} {split}"
    require_dir(root, name, lay.describe())
    image_dir = os.path.join(root, lay.image_dir.format(split=split))
    label_dir = os.path.join(root, lay.label_dir.format(split=split))
    for d in (image_dir, label_dir):
        require_dir(d, name, lay.describe())
    list_file = os.path.join(root, lay.list_file.format(split=split))
    ids = read_id_list(list_file)
    t0 = time.perf_counter()

    pairs = [
        (os.path.join(image_dir, i + lay.image_ext), os.path.join(label_dir, i + lay.label_ext))
        for i in ids
    ]
    deps = [list_file] + [p for pair in pairs for p in pair]
    stats = stat_files(deps)
    cache = SplitCache(root, f"{layout}_{split}")
    key = SplitCache.fingerprint(deps, stats)
    entries = cache.get(key)
    if entries is None:
        entries = dict(zip(ids, parallel_map(_scan, pairs, desc=f"scanning {name}")))
        cache.put(key, entries)

    records = [
        {
            "file_name": image,
            "sem_seg_file_name": label,
            "height": entries[i]["h"],
            "width": entries[i]["w"],
            "image_id": i,
        }
        for i, (image, label) in zip(ids, pairs)
    ]
    pose_file = (
        os.path.join(root, lay.pose_file.format(SPLIT=split.upper())) if lay.pose_file else ""
    )
    if pose_file and os.path.isfile(pose_file):
        poses = _read_lip_pose(pose_file)
        for r in records:
            if r["image_id"] in poses:
                r["keypoints"] = poses[r["image_id"]]
    logger.info(
        f"Loaded {len(records)} images of {name} from {root} in {time.perf_counter() - t0:.2f}s"
    )
    return records
