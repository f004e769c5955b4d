"""Reader and registration of the COCO-style json layout with per-instance ``parsing`` fields
(the layout of Parsing R-CNN's CIHP/MHP-v2 releases, methods.md §1.3).

Every path is explicit: images under ``image_root``, per-instance part PNGs under
``parsing_root`` (json ``annotations[i].parsing`` is the file name), semantic GT under
``seg_root`` named ``<image stem>.png``. Nothing is derived by editing folder names.
The json is trusted for sizes and boxes at load time; only file existence is checked here, the
label sizes and values when an image is loaded (``load_person_parsing(record, K)``).
"""
import json
import logging
import os
import time
from collections import defaultdict
from typing import List, Optional

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import BoxMode

from ..io import DataFormatError
from ..label_spaces import get_label_space
from .common import stat_files

logger = logging.getLogger(__name__)

__all__ = ["load_coco_parsing_json", "register_coco_parsing"]


def _load_json(path: str) -> dict:
    if not os.path.isfile(path):
        raise DataFormatError(f"{path}: annotation json not found")
    try:
        with open(path) as f:
            data = json.load(f)
    except ValueError as e:
        raise DataFormatError(f"{path}: not a valid json file ({e})") from e
    if not isinstance(data, dict) or "images" not in data:
        raise DataFormatError(f"{path}: not a COCO-style json (no 'images' list)")
    return data


def load_coco_parsing_json(
    json_file: str,
    image_root: str,
    parsing_root: str,
    seg_root: Optional[str] = None,
    dataset_name: Optional[str] = None,
    num_classes: Optional[int] = None,
) -> List[dict]:
    """Load a COCO-style parsing json as instance-level dataset dicts (project interface 1).

    Args:
        json_file: the annotation file (``annotations/CIHP_<split>.json``).
        image_root, parsing_root, seg_root: folders of images, per-instance PNGs and semantic
            PNGs (``seg_root`` None: records carry no ``sem_seg_file_name``).
        num_classes: if given, the json's part-name list must have this length.
    Returns:
        one dict per json image, ``image_id`` = the image file's stem; json boxes [x, y, w, h]
        become XYXY_ABS; category 1 (person) becomes 0; ``keypoints`` are kept when present.
    """
    name = dataset_name or json_file
    t0 = time.perf_counter()
    data = _load_json(json_file)
    cats = data.get("categories", [])
    if len(cats) != 1:
        raise DataFormatError(f"{json_file}: expected one category (person), found {len(cats)}")
    parts = cats[0].get("parsing")
    if num_classes is not None and parts is not None and len(parts) != num_classes:
        raise DataFormatError(
            f"{json_file}: category 'parsing' lists {len(parts)} part names, the label space has {num_classes}"
        )
    person_id = cats[0]["id"]
    has_anns = "annotations" in data
    anns_per_image = defaultdict(list)
    for ann in data.get("annotations", []):
        anns_per_image[ann["image_id"]].append(ann)

    records, deps = [], []
    for img in data["images"]:
        stem = os.path.splitext(os.path.basename(img["file_name"]))[0]
        rec = {
            "file_name": os.path.join(image_root, img["file_name"]),
            "image_id": stem,
            "height": int(img["height"]),
            "width": int(img["width"]),
        }
        deps.append(rec["file_name"])
        if has_anns:
            if seg_root is not None:
                rec["sem_seg_file_name"] = os.path.join(seg_root, stem + ".png")
                deps.append(rec["sem_seg_file_name"])
            objs = []
            for ann in sorted(anns_per_image.get(img["id"], []), key=lambda a: a["id"]):
                if ann.get("category_id", person_id) != person_id:
                    continue
                if "parsing" not in ann or "bbox" not in ann:
                    raise DataFormatError(f"{json_file}: annotation {ann.get('id')} has no 'parsing' or 'bbox'")
                x, y, w, h = ann["bbox"]
                obj = {
                    "bbox": [x, y, x + w, y + h],
                    "bbox_mode": BoxMode.XYXY_ABS,
                    "category_id": 0,
                    "iscrowd": int(ann.get("iscrowd", 0)),
                    "parsing": {"file_name": os.path.join(parsing_root, ann["parsing"])},
                }
                if ann.get("keypoints"):
                    obj["keypoints"] = list(ann["keypoints"])
                if "area" in ann:  # the person's pixel count, for box AP's size ranges
                    obj["area"] = float(ann["area"])
                deps.append(obj["parsing"]["file_name"])
                objs.append(obj)
            rec["annotations"] = objs
        records.append(rec)
    if not records:
        raise DataFormatError(f"{json_file}: the split is empty (no images)")
    stat_files(deps)  # a missing image, parsing or semantic file fails here, named
    logger.info(
        f"Loaded {len(records)} images ({sum(len(r.get('annotations', ())) for r in records)} "
        f"persons) of {name} from {json_file} in {time.perf_counter() - t0:.2f}s"
    )
    return records


def register_coco_parsing(
    name: str,
    json_file: str,
    image_root: str,
    parsing_root: str,
    seg_root: Optional[str],
    label_space: str = "cihp",
    **metadata,
) -> None:
    """Register a COCO-style parsing dataset lazily, like ``register_coco_instances``.

    Extra ``metadata`` (e.g. ``semseg_score_thresh``, ``dataset_root``) is set as given.
    """
    assert isinstance(name, str), name
    for p in (json_file, image_root, parsing_root):
        assert isinstance(p, (str, os.PathLike)), p
    ls = get_label_space(label_space)
    DatasetCatalog.register(
        name,
        lambda: load_coco_parsing_json(
            json_file, image_root, parsing_root, seg_root, name, num_classes=ls.num_classes
        ),
    )
    meta = dict(ls.metadata())
    meta.update(
        evaluator_type="parsing",
        json_file=json_file,
        image_root=image_root,
        parsing_root=parsing_root,
        seg_root=seg_root,
        semseg_score_thresh=0.05 if label_space == "mhp_v2" else 0.3,
        dataset_root=os.path.dirname(os.path.dirname(os.path.abspath(json_file))),
    )
    meta.update(metadata)
    MetadataCatalog.get(name).set(**meta)
