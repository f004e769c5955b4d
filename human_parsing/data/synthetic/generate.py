"""Generating a synthetic split on disk, safe to interrupt, to repeat and to run concurrently.

A split is written into a hidden temporary folder inside the output folder, then its files are
moved into place one ``os.replace`` at a time (split lists and json indexes last) and a marker
``.synthetic_<split>.json`` is written at the very end. A reader therefore never sees a list
naming a missing file, an interrupted run leaves no half-written file, and
:func:`ensure_synthetic_dataset` regenerates any split without a matching marker, under a file
lock so that concurrent callers generate it once. Train and val may share an output folder.
"""

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..datasets.common import progress
from ..io import write_text
from ..label_spaces import get_label_space
from .layouts import (
    LAYOUT_LABEL_SPACE,
    LAYOUTS,
    SPLITS,
    lip_joint_self,
    image_id,
    write_scene,
    write_split_index,
)
from ..densepose import PATCH_TO_COARSE
from .densepose import densepose_annotations, write_densepose_json
from .scene import generate_scene

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SIZE",
    "DEFAULT_NUM_IMAGES",
    "DEFAULT_SEEDS",
    "generate_split",
    "ensure_synthetic_dataset",
    "read_summary",
    "format_summary",
]

# Small on purpose: models train on CPU. 48 + 16 images of 256x192 take a few seconds to write.
DEFAULT_SIZE: Tuple[int, int] = (256, 192)  # (W, H)
DEFAULT_NUM_IMAGES: Dict[str, int] = {"train": 48, "val": 16}
DEFAULT_SEEDS: Dict[str, int] = {"train": 0, "val": 1}


def _marker_path(root: str, split: str) -> str:
    return os.path.join(root, f".synthetic_{split}.json")


def _is_index_file(rel: str) -> bool:
    """Split lists and json indexes: moved into place after every file they name."""
    base = os.path.basename(rel)
    return base.endswith(("_id.txt", ".json")) or os.path.basename(os.path.dirname(rel)) == "list"


def _merge(src: str, dst: str, overwrite: bool) -> int:
    files = sorted(
        (os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs),
        key=lambda rel: (_is_index_file(rel), rel),
    )
    existing = [f for f in files if os.path.exists(os.path.join(dst, f))]
    if existing and not overwrite:
        raise FileExistsError(
            f"{os.path.join(dst, existing[0])}: already exists ({len(existing)} of the {len(files)} "
            f"files to write are there already); pass --overwrite (overwrite=True in Python) to "
            "replace them"
        )
    for rel in files:
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        os.replace(os.path.join(src, rel), os.path.join(dst, rel))
    return len(files)


def _write_scenes(
    layout: str, out: str, split: str, num_images: int, seed: int, size, person_scale: float
) -> tuple:
    space = LAYOUT_LABEL_SPACE[layout]
    ids: List[str] = []
    joints, coco, counts, heights = [], [], [], []
    present = np.zeros(256, dtype=bool)
    dp_images, dp_anns = [], []
    for i in progress(range(num_images), f"writing synthetic {layout} {split}"):
        scene = generate_scene(seed, i, size, person_scale)
        iid = image_id(layout, split, i)
        write_scene(layout, out, split, iid, scene)
        ids.append(iid)
        joints.append(lip_joint_self(scene))
        coco.append([p.coco for p in scene.people])
        counts.append(len(scene.people))
        heights += [p.height / size[1] for p in scene.people]
        if layout == "densepose_coco":
            dp_images.append({"id": int(iid), "file_name": f"{iid}.jpg", "width": size[0], "height": size[1]})
            dp_anns.append(densepose_annotations(scene, seed, i))
            present[0] = True
            for a in dp_anns[-1]:
                present[PATCH_TO_COARSE[np.asarray(a.get("dp_I", []), dtype=np.int64)]] = True
        else:
            present[np.unique(scene.labels(space))] = True
    if layout == "densepose_coco":
        write_densepose_json(out, split, dp_images, dp_anns)
    else:
        write_split_index(layout, out, split, ids, joints)
    keypoints = dict(zip(ids, coco))
    names = get_label_space(space).classes
    return {  # summary, and per image id the (17, 3) COCO keypoints of each person
        "images": num_images,
        "people": int(sum(counts)),
        "people_per_image": [int(min(counts, default=0)), int(max(counts, default=0))],
        "height_fraction": [
            round(float(min(heights, default=0)), 3),
            round(float(max(heights, default=0)), 3),
        ],
        "classes_present": [n for k, n in enumerate(names) if present[k]],
        "num_classes": len(names),
    }, keypoints


def _cihp_to_coco_with_keypoints(cihp_root: str, split: str, out: str, keypoints: dict) -> str:
    """The COCO-style layout of the CIHP split in ``cihp_root`` (via the CIHP reader and the
    converter, as ``converters.cihp_to_coco`` does), with each person's COCO-17 keypoints added:
    flat ``[x, y, v] * 17``, v = 2 visible, 1 occluded, ``0, 0, 0`` outside the image; pixel
    centres at integer coordinates, as in COCO files."""
    from ..converters import records_to_coco
    from ..datasets.cihp import load_cihp_instances

    records = load_cihp_instances(cihp_root, split)
    for rec in records:
        for ann in rec.get("annotations", []):
            kps = keypoints[rec["image_id"]][ann["parsing"]["human_id"] - 1]
            ann["keypoints"] = [
                round(float(v), 2) for x, y, f in kps for v in ((x, y, f) if f > 0 else (0, 0, 0))
            ]
    records_to_coco(records, split, out, "cihp", "CIHP", overwrite=True)
    return out


def generate_split(
    layout: str,
    out: str,
    split: str = "train",
    num_images: Optional[int] = None,
    seed: Optional[int] = None,
    size: Tuple[int, int] = DEFAULT_SIZE,
    overwrite: bool = False,
    person_scale: float = 1.0,
) -> dict:
    """Write ``num_images`` scenes of ``split`` in ``layout`` under ``out``; returns a summary dict.

    Image ``i`` is ``generate_scene(seed, i, size, person_scale)``: the same arguments give the
    same bytes.
    Raises ``FileExistsError`` (before touching ``out``) if a file would be replaced and not
    ``overwrite``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown synthetic layout {layout!r}; expected one of {LAYOUTS}")
    if split not in SPLITS:
        raise ValueError(f"Unknown synthetic split {split!r}; expected one of {SPLITS}")
    num_images = DEFAULT_NUM_IMAGES[split] if num_images is None else int(num_images)
    seed = DEFAULT_SEEDS[split] if seed is None else int(seed)
    if num_images < 1:
        raise ValueError(f"num_images must be >= 1, got {num_images}")
    size = (int(size[0]), int(size[1]))
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".tmp-{layout}-{split}-", dir=out)
    try:
        src = os.path.join(tmp, "src")
        summary, keypoints = _write_scenes(
            layout, src, split, num_images, seed, size, float(person_scale)
        )
        if layout == "coco":
            src = _cihp_to_coco_with_keypoints(src, split, os.path.join(tmp, "coco"), keypoints)
        _merge(src, out, overwrite)
        params = {
            "layout": layout,
            "split": split,
            "num_images": num_images,
            "seed": seed,
            "size": list(size),
            "person_scale": float(person_scale),
        }
        summary.update(params, out=os.path.abspath(out))
        write_text(_marker_path(out, split), json.dumps(summary, indent=1))  # written last
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _read_marker(root: str, split: str) -> Optional[dict]:
    try:
        with open(_marker_path(root, split)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _locked(root: str, split: str) -> Iterator[None]:
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, f".synthetic_{split}.lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_synthetic_dataset(
    layout: str,
    root: str,
    split: str,
    num_images: Optional[int] = None,
    seed: Optional[int] = None,
    size: Optional[Tuple[int, int]] = None,
) -> str:
    """Make sure ``split`` of the synthetic ``layout`` dataset is complete in ``root`` (the layout
    folder, e.g. ``$HUMAN_PARSING_DATASETS/synthetic/cihp``) and return ``root``.

    A complete split (its marker is there) is used as it is, whatever it was generated with (e.g.
    by ``tools/make_synthetic_dataset.py`` with more images), unless an argument given here differs
    from what the marker records; then, or without a marker, the split is (re)generated with the
    arguments given and the defaults for the others: 48 train / 16 val images of 256x192, seed 0
    for train and 1 for val.
    """
    if layout not in LAYOUTS or split not in SPLITS:
        raise ValueError(
            f"Synthetic data: unknown layout {layout!r} or split {split!r}; "
            f"expected a layout in {LAYOUTS} and a split in {SPLITS}"
        )
    want = {"layout": layout, "split": split}
    for key, value in (("num_images", num_images), ("seed", seed), ("size", size)):
        if value is not None:
            want[key] = [int(v) for v in value] if key == "size" else int(value)

    def complete() -> bool:
        marker = _read_marker(root, split)
        return marker is not None and all(marker.get(k) == v for k, v in want.items())

    if not complete():
        with _locked(root, split):
            if not complete():  # another process may have finished it while we waited
                logger.info(f"Generating synthetic {layout} {split} in {root}")
                summary = generate_split(
                    layout, root, split, num_images, seed, size or DEFAULT_SIZE, overwrite=True
                )
                logger.info(format_summary(summary))
    return root


def read_summary(root: str, split: str) -> Optional[dict]:
    """The summary recorded by a complete split in ``root`` (its marker), else None."""
    return _read_marker(root, split)


def format_summary(summary: dict) -> str:
    """One line: images, people, sizes and classes present."""
    lo, hi = summary["people_per_image"]
    hmin, hmax = summary["height_fraction"]
    return (
        f"synthetic {summary['layout']} {summary['split']}: {summary['images']} images, "
        f"{summary['people']} people ({lo}-{hi} per image, {hmin:.0%}-{hmax:.0%} of the image "
        f"height), {len(summary['classes_present'])}/{summary['num_classes']} classes present "
        f"-> {summary['out']}"
    )
