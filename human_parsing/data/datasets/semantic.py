"""Readers for the semantic-only layouts: LIP, ATR and PASCAL-Person-Part (methods.md §1.3).

Records are ``{file_name, sem_seg_file_name, height, width, image_id}``. At load time only the
image and label headers are read (sizes, compared to each other); label values are checked when
a map is loaded.
"""
import logging
import os
import time
from typing import List, NamedTuple, Optional

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

    def describe(self) -> str:
        return (
            f"  <root>/{self.image_dir}/<id>{self.image_ext}\n"
            f"  <root>/{self.label_dir}/<id>{self.label_ext}\n"
            f"  <root>/{self.list_file}   (split in {list(self.splits)})"
        )


SEMANTIC_LAYOUTS = {
    "lip": SemanticLayout("{split}_images", "{split}_segmentations", "{split}_id.txt"),
    "atr": SemanticLayout("JPEGImages", "SegmentationClassAug", "list/{split}_id.txt"),
    "pascal_person_part": SemanticLayout("JPEGImages", "SegmentationPart", "list/{split}_id.txt"),
}


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
        raise ValueError(f"Unknown semantic layout {layout!r}; expected one of {sorted(SEMANTIC_LAYOUTS)}")
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
        entries = dict(zip(ids, parallel_map(_scan, pairs)))
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
    logger.info(f"Loaded {len(records)} images of {name} from {root} in {time.perf_counter() - t0:.2f}s")
    return records
