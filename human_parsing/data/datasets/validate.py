"""Full check of a dataset: decode every image and label file the records name and check label
values and sizes (what the mapper would find later, found up front). Used by
``python -m human_parsing.data.datasets.builtin NAME --check``.
"""
import logging
from typing import List, Optional

from ..io import DataFormatError, check_label_values, load_person_parsing, read_image, read_label_map
from .common import check_same_size, parallel_map

logger = logging.getLogger(__name__)

__all__ = ["check_record", "check_dataset_dicts"]


def check_record(record: dict, num_classes: int) -> int:
    """Decode one record's files; raise ``DataFormatError`` naming the first bad file.

    Returns the number of people whose part map has at least one labelled pixel.
    """
    hw = (record["height"], record["width"])
    img = read_image(record["file_name"])
    if img.shape[:2] != hw:
        raise DataFormatError(
            f"{record['file_name']}: image is {img.shape[1]}x{img.shape[0]} (WxH) but its record "
            f"says {hw[1]}x{hw[0]}"
        )
    if "sem_seg_file_name" in record:
        sem = read_label_map(record["sem_seg_file_name"])
        check_same_size(hw, sem.shape, record["sem_seg_file_name"], record["file_name"])
        check_label_values(sem, num_classes, record["sem_seg_file_name"])
    if not record.get("annotations"):
        return 0
    maps = load_person_parsing(record, num_classes)
    return int((maps.reshape(len(maps), -1).max(axis=1) > 0).sum())


def check_dataset_dicts(dicts: List[dict], num_classes: int, num_workers: Optional[int] = None) -> int:
    """Check every record (thread pool); returns the number of people with labelled pixels."""
    counts = parallel_map(lambda r: check_record(r, num_classes), dicts, num_workers)
    logger.info(f"Checked {len(dicts)} records: all files readable, sizes and label values valid")
    return sum(counts)
