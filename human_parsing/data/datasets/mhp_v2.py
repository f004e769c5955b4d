"""Reader for the official LV-MHP-v2 layout (methods.md §1.3).

Each person has its own label PNG ``parsing_annos/<id>_<NN>_<kk>.png`` (NN persons, kk 1-based),
whose 3 channels are read from channel 0 (the official README: the annotation tool saved 3
channels, use the first); records say so with ``parsing["channel"] = 0``. MHP v2 ships no
per-image semantic map, so one is derived at first load into the cache folder (people painted in
kk order, later wins, like ``PersonParsing.paint``); records point to it through
``sem_seg_file_name``.
"""
import logging
import os
import re
import time
from collections import defaultdict
from typing import Dict, List, Optional

import numpy as np
from detectron2.structures import BoxMode

from ..io import DataFormatError, check_label_values, read_label_map, write_label_png
from ..label_spaces import get_label_space
from .common import (
    SplitCache,
    cache_dir,
    check_same_size,
    image_size,
    parallel_map,
    read_id_list,
    require_dir,
    stat_files,
    tight_boxes,
)

logger = logging.getLogger(__name__)

__all__ = ["load_mhp_v2_instances", "MHP_V2_LISTS", "MHP_V2_LAYOUT", "paint_people"]

# split -> list file under <root>/list
MHP_V2_LISTS = {"train": "train.txt", "val": "val.txt", "test": "test_all.txt"}

MHP_V2_LAYOUT = """  <root>/{train,val,test}/images/<id>.jpg
  <root>/{train,val}/parsing_annos/<id>_<NN>_<kk>.png (NN persons, kk = 1..NN)
  <root>/list/{train,val,test_all}.txt"""

_ANNO_RE = re.compile(r"^(.+)_(\d+)_(\d+)\.png$")


def paint_people(maps: np.ndarray) -> np.ndarray:
    """(N, H, W) per-person part maps -> (H, W) semantic map; a later person wins on overlap."""
    out = np.zeros(maps.shape[1:], dtype=np.uint8)
    for m in maps:
        out = np.where(m > 0, m, out)
    return out


def _person_files(anno_dir: str, ids: List[str]) -> Dict[str, List[str]]:
    """Map each id to its per-person files in kk order; a gap in 1..NN is a missing file."""
    found = defaultdict(dict)
    for entry in os.scandir(anno_dir):
        m = _ANNO_RE.match(entry.name)
        if m:
            found[m.group(1)][int(m.group(3))] = (int(m.group(2)), entry.path)
    out = {}
    for i in ids:
        files = found.get(i)
        if not files:
            raise DataFormatError(
                f"{os.path.join(anno_dir, i + '_<NN>_<kk>.png')}: no per-person label file for image {i}"
            )
        nn = max(v[0] for v in files.values())
        for kk in range(1, nn + 1):
            if kk not in files:
                raise DataFormatError(
                    f"{os.path.join(anno_dir, f'{i}_{nn:02d}_{kk:02d}.png')}: file not found "
                    f"(image {i} has {nn} persons)"
                )
        out[i] = [files[kk][1] for kk in sorted(files)]
    return out


def _scan(image: str, person_files: List[str], seg_file: Optional[str], num_classes: int) -> dict:
    h, w = image_size(image)
    entry = {"h": h, "w": w}
    if seg_file is None:
        return entry
    maps = np.zeros((len(person_files), h, w), dtype=np.uint8)
    for j, path in enumerate(person_files):
        m = read_label_map(path, channel=0)
        check_same_size((h, w), m.shape, path, image)
        check_label_values(m, num_classes, path)
        maps[j] = m
    entry["persons"], entry["empty"] = [], []
    for j, path in enumerate(person_files):
        box = tight_boxes((maps[j] > 0).astype(np.uint8)).get(1)
        if box is None:
            entry["empty"].append(path)
        else:
            entry["persons"].append([j] + box)
    write_label_png(seg_file, paint_people(maps), get_label_space("mhp_v2").palette)
    return entry


def load_mhp_v2_instances(root: str, split: str, dataset_name: Optional[str] = None) -> List[dict]:
    """Load one split of MHP v2 as instance-level dataset dicts (project interface 1).

    Args:
        root: the ``LV-MHP-v2`` folder.
        split: "train", "val" or "test" (test records have no annotations).
    Returns:
        one dict per image; annotated ones have ``sem_seg_file_name`` (derived, in the cache
        folder) and ``annotations`` in kk order with ``parsing = {"file_name": <person PNG>}``.
    """
    name = dataset_name or f"MHP v2 {split}"
    if split not in MHP_V2_LISTS:
        raise ValueError(f"Unknown MHP v2 split {split!r}; expected one of {sorted(MHP_V2_LISTS)}")
    require_dir(root, name, MHP_V2_LAYOUT)
    list_file = os.path.join(root, "list", MHP_V2_LISTS[split])
    ids = read_id_list(list_file)
    image_dir = os.path.join(root, split, "images")
    require_dir(image_dir, name, MHP_V2_LAYOUT)
    annotated = split != "test"
    t0 = time.perf_counter()

    images = [os.path.join(image_dir, f"{i}.jpg") for i in ids]
    deps = [list_file] + images
    persons: Dict[str, List[str]] = {i: [] for i in ids}
    seg_dir = os.path.join(cache_dir(root), f"mhp_v2_seg_{split}")
    segs = {i: None for i in ids}
    if annotated:
        anno_dir = os.path.join(root, split, "parsing_annos")
        require_dir(anno_dir, name, MHP_V2_LAYOUT)
        persons = _person_files(anno_dir, ids)
        deps += [p for i in ids for p in persons[i]]
        segs = {i: os.path.join(seg_dir, f"{i}.png") for i in ids}
    stats = stat_files(deps)

    cache = SplitCache(root, f"mhp_v2_{split}")
    key = SplitCache.fingerprint(deps, stats)
    entries = cache.get(key)
    if entries is not None and annotated and not all(os.path.isfile(s) for s in segs.values()):
        entries = None  # the derived semantic maps were removed: derive them again
    if entries is None:
        k = get_label_space("mhp_v2").num_classes
        args = [(im, persons[i], segs[i]) for i, im in zip(ids, images)]
        scanned = parallel_map(lambda a: _scan(*a, k), args, desc=f"scanning {name}")
        entries = dict(zip(ids, scanned))
        cache.put(key, entries)

    records, empty = [], []
    for i, image in zip(ids, images):
        e = entries[i]
        rec = {"file_name": image, "image_id": i, "height": e["h"], "width": e["w"]}
        if annotated:
            rec["sem_seg_file_name"] = segs[i]
            rec["annotations"] = [
                {
                    "bbox": box,
                    "bbox_mode": BoxMode.XYXY_ABS,
                    "category_id": 0,
                    "iscrowd": 0,
                    "parsing": {"file_name": persons[i][j], "channel": 0},
                }
                for j, *box in e["persons"]
            ]
            empty.extend(e["empty"])
        records.append(rec)
    if empty:
        logger.warning(f"{name}: skipped {len(empty)} person file(s) with no labelled pixels, e.g. {empty[:3]}")
    num_persons = sum(len(r.get("annotations", ())) for r in records)
    logger.info(
        f"Loaded {len(records)} images ({num_persons} persons) of {name} from {root} "
        f"in {time.perf_counter() - t0:.2f}s"
    )
    return records
