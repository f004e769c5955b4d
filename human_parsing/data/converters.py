"""Converters from the official instance-level layouts to the COCO-style json layout of
Parsing R-CNN (methods.md §1.3)::

    <out>/{split}_img/<image_id>.jpg           images (copied byte for byte)
    <out>/{split}_parsing/<image_id>_<kk>.png  per-person part maps (full image size, 0 elsewhere)
    <out>/{split}_seg/<image_id>.png           semantic ground truth
    <out>/annotations/<PREFIX>_{split}.json    COCO json with a ``parsing`` file name per person

Boxes are the readers' tight boxes as COCO [x, y, w, h]; kk is the 1-based person index in
record order. Every file is written under a temporary name then renamed, the json last, so a
json on disk means a complete conversion. Without ``overwrite`` (``--overwrite``) nothing that
exists is replaced: an existing json, or any image or label file the conversion would write
(e.g. left by an interrupted run), makes it refuse before writing anything.
Reading the result with ``load_coco_parsing_json`` gives back the same maps and boxes.
"""

import json
import logging
import os
import shutil
import time
from typing import List, Optional

from detectron2.structures import BoxMode

from .datasets.cihp import load_cihp_instances
from .datasets.common import parallel_map
from .datasets.mhp_v2 import load_mhp_v2_instances
from .io import atomic_path, load_person_parsing, load_sem_seg, write_label_png
from .label_spaces import LabelSpace, get_label_space

logger = logging.getLogger(__name__)

__all__ = ["cihp_to_coco", "mhp_v2_to_coco", "records_to_coco", "coco_json_path"]


def coco_json_path(out_root: str, split: str, prefix: str = "CIHP") -> str:
    """Where the converters write the json of ``split``."""
    return os.path.join(out_root, "annotations", f"{prefix}_{split}.json")


def _output_files(record: dict, split: str, out_root: str) -> List[str]:
    """The image, semantic and per-person files the conversion of ``record`` writes, in order."""
    rid = record["image_id"]
    ext = os.path.splitext(record["file_name"])[1] or ".jpg"
    out = [os.path.join(out_root, f"{split}_img", f"{rid}{ext}")]
    if "annotations" in record:
        out.append(os.path.join(out_root, f"{split}_seg", f"{rid}.png"))
        out += [
            os.path.join(out_root, f"{split}_parsing", f"{rid}_{kk:02d}.png")
            for kk in range(1, len(record["annotations"]) + 1)
        ]
    return out


def _refuse_existing(paths: List[str], what: str) -> None:
    """Raise ``FileExistsError`` naming the first of ``paths`` that exist, and ``--overwrite``."""
    existing = [p for p in paths if os.path.lexists(p)]
    if existing:
        more = f" (and {len(existing) - 1} more {what})" if len(existing) > 1 else ""
        raise FileExistsError(
            f"{existing[0]}: already exists{more}; pass --overwrite (overwrite=True in Python) "
            "to replace it"
        )


def _convert_one(record: dict, split: str, out_root: str, ls: LabelSpace) -> tuple:
    """Write one record's files; return its json image entry and annotation entries (no ids)."""
    image_path, *label_paths = _output_files(record, split, out_root)
    with atomic_path(image_path) as tmp:
        shutil.copyfile(record["file_name"], tmp)
    image_name = os.path.basename(image_path)
    image = {"file_name": image_name, "height": record["height"], "width": record["width"]}
    if "annotations" not in record:
        return image, None
    sem = load_sem_seg(record, ls)
    write_label_png(label_paths[0], sem, ls.palette)
    maps = load_person_parsing(record, label_space=ls)
    anns = []
    for ann, m, path in zip(record["annotations"], maps, label_paths[1:]):
        assert ann["bbox_mode"] == BoxMode.XYXY_ABS, ann["bbox_mode"]
        x0, y0, x1, y1 = ann["bbox"]
        name = os.path.basename(path)
        write_label_png(path, m, ls.palette)
        anns.append(
            {
                "category_id": 1,
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "area": int((m > 0).sum()),
                "iscrowd": int(ann.get("iscrowd", 0)),
                "parsing": name,
                **({"keypoints": ann["keypoints"]} if "keypoints" in ann else {}),
            }
        )
    return image, anns


def records_to_coco(
    records: List[dict],
    split: str,
    out_root: str,
    label_space: str,
    prefix: str = "CIHP",
    overwrite: bool = False,
    num_workers: Optional[int] = None,
) -> str:
    """Write instance-level dataset dicts (project interface 1) as the COCO-style layout.

    Test records (no ``annotations``) give a json without an ``annotations`` list.
    Without ``overwrite``, refuses (``FileExistsError``, before writing) if the json or any
    file it would write exists. Returns the path of the json written.
    """
    json_file = coco_json_path(out_root, split, prefix)
    if not overwrite:
        _refuse_existing([json_file], "files")
        files = [p for r in records for p in _output_files(r, split, out_root)]
        _refuse_existing(files, "image or label files this conversion would write")
    ls = get_label_space(label_space)
    t0 = time.perf_counter()
    convert = lambda r: _convert_one(r, split, out_root, ls)  # noqa: E731
    results = parallel_map(convert, records, num_workers, desc=f"converting {split}")
    images, annotations = [], []
    for image_id, (image, anns) in enumerate(results, start=1):
        images.append({"id": image_id, **image})
        for ann in anns or ():
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, **ann})
    data = {
        "info": {"description": f"{prefix} {split} converted by human_parsing.data.converters"},
        "images": images,
        "categories": [{"id": 1, "name": "person", "parsing": list(ls.classes)}],
    }
    if any("annotations" in r for r in records):
        data["annotations"] = annotations
    with atomic_path(json_file) as tmp:
        with open(tmp, "w") as f:
            json.dump(data, f)
    logger.info(
        f"Wrote {len(images)} images and {len(annotations)} persons to {out_root} "
        f"({json_file}) in {time.perf_counter() - t0:.1f}s"
    )
    return json_file


def cihp_to_coco(
    cihp_root: str, split: str, out_root: str, label_space: str = "cihp", overwrite: bool = False
) -> str:
    """Convert a split ("train", "val", "test") of the official CIHP layout; returns the json path."""
    if not overwrite:  # before reading the dataset
        _refuse_existing([coco_json_path(out_root, split)], "files")
    records = load_cihp_instances(cihp_root, split)
    return records_to_coco(records, split, out_root, label_space, "CIHP", overwrite)


def mhp_v2_to_coco(
    mhp_root: str, split: str, out_root: str, label_space: str = "mhp_v2", overwrite: bool = False
) -> str:
    """Convert a split ("train", "val", "test") of the official LV-MHP-v2 layout; returns the json path."""
    if not overwrite:  # before reading the dataset
        _refuse_existing([coco_json_path(out_root, split, "MHP-v2")], "files")
    records = load_mhp_v2_instances(mhp_root, split)
    return records_to_coco(records, split, out_root, label_space, "MHP-v2", overwrite)
