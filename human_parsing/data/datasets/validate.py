"""Full check of a dataset: decode every image and label file the records name and check label
values and sizes (what the mapper would find later, found up front). Used by
``python -m human_parsing.data.datasets.builtin NAME --check``.
"""
import logging
from typing import List, Optional, Union

from ..densepose import decode_dp_masks
from ..io import DataFormatError, load_person_parsing, load_sem_seg, read_image
from ..label_spaces import LabelSpace
from .common import parallel_map

logger = logging.getLogger(__name__)

__all__ = ["check_record", "check_dataset_dicts"]


def check_record(record: dict, label_space: Union[LabelSpace, str, int]) -> int:
    """Decode one record's files as the mapper does; raise ``DataFormatError`` naming the first
    bad file. ``label_space`` (or only its number of classes, then without colour decoding)
    gives the valid values.

    Returns the number of people whose part map has at least one labelled pixel (dense-pose
    records: the number of people with dense pose, whose masks all decode).
    """
    hw = (record["height"], record["width"])
    img = read_image(record["file_name"])
    if img.shape[:2] != hw:
        raise DataFormatError(
            f"{record['file_name']}: image is {img.shape[1]}x{img.shape[0]} (WxH) but its record "
            f"says {hw[1]}x{hw[0]}"
        )
    k, ls = (label_space, None) if isinstance(label_space, int) else (None, label_space)
    if "sem_seg_file_name" in record:
        load_sem_seg(record, ls, k)
    if not record.get("annotations"):
        return 0
    if not any("parsing" in a for a in record["annotations"]):  # DensePose-COCO: decode the masks
        dp = [a for a in record["annotations"] if "dp_masks" in a]
        for a in dp:
            decode_dp_masks(a["dp_masks"], f"{record['file_name']}: annotation {a.get('id')}")
        return len(dp)
    maps = load_person_parsing(record, k, ls)
    return int((maps.reshape(len(maps), -1).max(axis=1) > 0).sum())


def check_dataset_dicts(
    dicts: List[dict], label_space: Union[LabelSpace, str, int], num_workers: Optional[int] = None
) -> int:
    """Check every record (thread pool); returns the number of people with labelled pixels."""
    check = lambda r: check_record(r, label_space)  # noqa: E731
    counts = parallel_map(check, dicts, num_workers, desc="checking")
    logger.info(f"Checked {len(dicts)} records: all files readable, sizes and label values valid")
    return sum(counts)
