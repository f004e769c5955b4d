"""Reader for the official CIHP layout (instance-level human parsing, methods.md §1.3).

Person k of an image is ``Human_ids == k``; its part map ``Category_ids * [Human_ids == k]`` is
derived when the image is loaded (``human_parsing.data.io.load_person_parsing``), so records
carry only file names. Tight boxes are computed here from ``Human_ids`` once and cached.
"""
import logging
import os
import time
from typing import Dict, List, Optional

from detectron2.structures import BoxMode

from ..io import DataFormatError, read_label_map
from .common import (
    SplitCache,
    check_same_size,
    image_size,
    parallel_map,
    read_id_list,
    require_dir,
    stat_files,
    tight_boxes,
)

logger = logging.getLogger(__name__)

__all__ = ["load_cihp_instances", "CIHP_SPLITS", "CIHP_LAYOUT"]

# split -> (folder, list file inside it)
CIHP_SPLITS = {
    "train": ("Training", "train_id.txt"),
    "val": ("Validation", "val_id.txt"),
    "test": ("Testing", "test_id.txt"),
}

CIHP_LAYOUT = """  <root>/Training/{Images/<id>.jpg, Category_ids/<id>.png, Human_ids/<id>.png, \
Instance_ids/<id>.txt (optional)}, <root>/Training/train_id.txt
  <root>/Validation/... with val_id.txt, <root>/Testing/Images/<id>.jpg with test_id.txt"""


def _read_instance_txt(path: str) -> List[int]:
    """Human ids listed in an ``Instance_ids/<id>.txt`` (lines: part-instance id, class, human)."""
    humans = set()
    with open(path) as f:
        for n, line in enumerate(f, 1):
            tok = line.split()
            if not tok:
                continue
            if len(tok) != 3 or not all(t.lstrip("-").isdigit() for t in tok):
                raise DataFormatError(
                    f"{path}:{n}: expected 'part_instance_id class_id human_id', got {line.strip()!r}"
                )
            humans.add(int(tok[2]))
    return sorted(humans)


def _scan(paths: Dict[str, Optional[str]], annotated: bool) -> dict:
    """Read what one image's records need: its size and, if annotated, per-person boxes."""
    h, w = image_size(paths["image"])
    entry = {"h": h, "w": w}
    if not annotated:
        return entry
    check_same_size((h, w), image_size(paths["category"]), paths["category"], paths["image"])
    humans = read_label_map(paths["human"])
    check_same_size((h, w), humans.shape, paths["human"], paths["image"])
    boxes = tight_boxes(humans)
    listed = set(boxes)
    if paths["txt"] is not None:
        listed |= set(_read_instance_txt(paths["txt"])) - {0}
    entry["persons"] = [[k] + boxes[k] for k in sorted(boxes)]
    entry["empty"] = sorted(k for k in listed if k not in boxes)
    return entry


def load_cihp_instances(root: str, split: str, dataset_name: Optional[str] = None) -> List[dict]:
    """Load one split of CIHP as instance-level dataset dicts (project interface 1).

    Args:
        root: the ``instance-level_human_parsing`` folder.
        split: "train", "val" or "test" (test records have no annotations).
    Returns:
        one dict per image with ``file_name``, ``image_id``, ``height``, ``width`` and, for
        annotated splits, ``sem_seg_file_name`` (Category_ids), ``human_ids_file_name`` and
        ``annotations`` (one per person with pixels, ordered by human id).
    """
    name = dataset_name or f"CIHP {split}"
    if split not in CIHP_SPLITS:
        raise ValueError(f"Unknown CIHP split {split!r}; expected one of {sorted(CIHP_SPLITS)}")
    folder, list_name = CIHP_SPLITS[split]
    require_dir(root, name, CIHP_LAYOUT)
    split_dir = os.path.join(root, folder)
    require_dir(split_dir, name, CIHP_LAYOUT)
    list_file = os.path.join(split_dir, list_name)
    ids = read_id_list(list_file)
    annotated = split != "test"
    t0 = time.perf_counter()

    per_id, deps = [], [list_file]
    for i in ids:
        p = {"image": os.path.join(split_dir, "Images", f"{i}.jpg"), "txt": None}
        if annotated:
            p["category"] = os.path.join(split_dir, "Category_ids", f"{i}.png")
            p["human"] = os.path.join(split_dir, "Human_ids", f"{i}.png")
            txt = os.path.join(split_dir, "Instance_ids", f"{i}.txt")
            p["txt"] = txt if os.path.isfile(txt) else None
        per_id.append(p)
        deps.extend(v for v in p.values() if v is not None)
    stats = stat_files(deps)  # every missing image or label file fails here, named

    cache = SplitCache(root, f"cihp_{split}")
    key = SplitCache.fingerprint(deps, stats)
    entries = cache.get(key)
    if entries is None:
        scanned = parallel_map(lambda p: _scan(p, annotated), per_id, desc=f"scanning {name}")
        entries = dict(zip(ids, scanned))
        cache.put(key, entries)

    records, empty = [], []
    for i, p in zip(ids, per_id):
        e = entries[i]
        rec = {"file_name": p["image"], "image_id": i, "height": e["h"], "width": e["w"]}
        if annotated:
            rec["sem_seg_file_name"] = p["category"]
            rec["human_ids_file_name"] = p["human"]
            rec["annotations"] = [
                {
                    "bbox": box,
                    "bbox_mode": BoxMode.XYXY_ABS,
                    "category_id": 0,
                    "iscrowd": 0,
                    "parsing": {
                        "file_name": p["category"],
                        "human_ids_file_name": p["human"],
                        "human_id": k,
                    },
                }
                for k, *box in e["persons"]
            ]
            empty.extend(f"{p['human']}: id {k}" for k in e["empty"])
        records.append(rec)
    if empty:
        logger.warning(
            f"{name}: skipped {len(empty)} person id(s) listed in Instance_ids txt files with no "
            f"pixels in Human_ids, e.g. {empty[:3]}"
        )
    num_persons = sum(len(r.get("annotations", ())) for r in records)
    logger.info(
        f"Loaded {len(records)} images ({num_persons} persons) of {name} from {split_dir} "
        f"in {time.perf_counter() - t0:.2f}s"
    )
    return records

