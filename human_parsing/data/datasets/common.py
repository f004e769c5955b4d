"""Helpers shared by the dataset readers: list files, layout checks, tight boxes, a thread pool
and the per-split json cache of what was computed from the label files.

Check policy (what is verified when):
  - at load time (``DatasetCatalog.get``), always: the dataset folder, the split list (missing
    or empty is an error naming it), and the existence of every image and label file the
    records will name (one ``os.stat`` each; the stats also key the cache);
  - at load time, on a cache miss only: whatever must be read anyway to build the records —
    image headers (height/width; an unreadable image fails here), CIHP ``Human_ids`` (boxes)
    and the sizes of label files against their image, MHP v2 per-person maps (boxes, values);
  - when an image is loaded (mapper, evaluator, ``check_dataset_dicts``): decoding of the full
    image (a truncated file fails here), label values in ``[0, K) ∪ {255}`` and label sizes via
    ``load_person_parsing(record, K)`` / ``check_label_values``.
"""
import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..io import DataFormatError, atomic_path
from ..label_spaces import IGNORE_LABEL

logger = logging.getLogger(__name__)

__all__ = [
    "require_dir",
    "read_id_list",
    "stat_files",
    "image_size",
    "tight_boxes",
    "parallel_map",
    "progress",
    "SplitCache",
    "cache_dir",
]

# Bump when the content of cache entries changes, so stale caches are ignored.
_CACHE_VERSION = 1
# Seconds before a progress bar appears: loops shorter than this show none.
PROGRESS_DELAY = 2.0

T = TypeVar("T")
R = TypeVar("R")


def require_dir(path: str, dataset: str, layout: str) -> None:
    """Raise a :class:`DataFormatError` naming ``path`` and the expected ``layout`` if absent."""
    if not os.path.isdir(path):
        raise DataFormatError(
            f"{path}: folder not found while loading {dataset}. Expected layout:\n{layout}\n"
            "Set $HUMAN_PARSING_DATASETS to the folder holding the datasets (default ./datasets)."
        )


def read_id_list(path: str) -> List[str]:
    """Ids of a split list file, one per line (first token; a file extension is dropped)."""
    if not os.path.isfile(path):
        raise DataFormatError(f"{path}: split list file not found")
    ids = []
    with open(path) as f:
        for line in f:
            tok = line.split()
            if tok:
                ids.append(os.path.splitext(os.path.basename(tok[0]))[0])
    if not ids:
        raise DataFormatError(f"{path}: split list is empty (no ids)")
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise DataFormatError(f"{path}: duplicate ids in split list, e.g. {dup}")
    return ids


def stat_files(paths: Sequence[str], what: str = "file") -> List[Tuple[int, int]]:
    """(mtime_ns, size) of each path; a missing one raises an error naming it."""
    out = []
    for p in paths:
        try:
            st = os.stat(p)
        except FileNotFoundError:
            raise DataFormatError(f"{p}: {what} not found") from None
        out.append((st.st_mtime_ns, st.st_size))
    return out


def image_size(path: str) -> Tuple[int, int]:
    """(height, width) from the image header, without decoding the pixels."""
    try:
        with Image.open(path) as img:
            w, h = img.size
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise DataFormatError(f"{path}: unreadable image ({e})") from e
    return h, w


def check_same_size(hw: Tuple[int, int], other: Tuple[int, int], path: str, image: str) -> None:
    if tuple(hw) != tuple(other):
        raise DataFormatError(
            f"{path}: label map has size {other[1]}x{other[0]} (WxH) but its image {image} is "
            f"{hw[1]}x{hw[0]}"
        )


def tight_boxes(ids: np.ndarray) -> Dict[int, List[int]]:
    """Tight XYXY boxes of every id > 0 (255 = ignore excluded) in an (H, W) id map.

    Returns ``{id: [x0, y0, x1, y1]}`` with x1, y1 = max pixel index + 1, in one pass over the map.
    """
    ys, xs = np.nonzero((ids > 0) & (ids != IGNORE_LABEL))
    if len(ys) == 0:
        return {}
    labels = ids[ys, xs]
    order = np.argsort(labels, kind="stable")
    labels, ys, xs = labels[order], ys[order], xs[order]
    uniq, starts = np.unique(labels, return_index=True)
    x0 = np.minimum.reduceat(xs, starts)
    y0 = np.minimum.reduceat(ys, starts)
    x1 = np.maximum.reduceat(xs, starts) + 1
    y1 = np.maximum.reduceat(ys, starts) + 1
    return {
        int(k): [int(a), int(b), int(c), int(d)] for k, a, b, c, d in zip(uniq, x0, y0, x1, y1)
    }


def progress(items: Iterable[T], desc: Optional[str], total: Optional[int] = None) -> Iterable[T]:
    """``items`` with a tqdm bar on stderr named ``desc`` (None: no bar). The bar appears only
    after ``PROGRESS_DELAY`` s (short loops stay quiet) and only on a terminal (tqdm's
    ``disable=None``), so logs, pipes and tests get no bars."""
    if desc is None:
        return items
    from tqdm import tqdm

    return tqdm(
        items, desc=desc, total=total, delay=PROGRESS_DELAY, disable=None, leave=False, dynamic_ncols=True
    )


def parallel_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    num_workers: Optional[int] = None,
    desc: Optional[str] = None,
) -> List[R]:
    """``[fn(x) for x in items]`` on a thread pool (file reads and PNG decoding release the GIL),
    with a progress bar named ``desc`` (see :func:`progress`)."""
    items = list(items)
    if num_workers is None:
        num_workers = min(8, 2 * (os.cpu_count() or 1))
    if len(items) < 4 or num_workers <= 1:
        return [fn(x) for x in progress(items, desc)]
    with ThreadPoolExecutor(max_workers=num_workers) as ex:
        return list(progress(ex.map(fn, items), desc, len(items)))


def cache_dir(root: str) -> str:
    """``<root>/.cache`` when writable; else a per-root folder under the user cache."""
    d = os.path.join(root, ".cache")
    if os.access(root, os.W_OK) and (not os.path.exists(d) or os.access(d, os.W_OK)):
        return d
    base = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    h = hashlib.sha1(os.path.abspath(root).encode()).hexdigest()[:12]
    return os.path.join(base, "human_parsing", h)


class SplitCache:
    """A json file remembering what a reader computed for one split (sizes, boxes).

    It is keyed by ``(mtime_ns, size)`` of every file the reader depends on: any change (file
    edited, added or removed) invalidates it. A cache that cannot be written is only a warning.
    """

    def __init__(self, root: str, name: str):
        self.path = os.path.join(cache_dir(root), f"{name}.json")

    @staticmethod
    def fingerprint(paths: Sequence[str], stats: Sequence[Tuple[int, int]]) -> str:
        h = hashlib.sha1(str(_CACHE_VERSION).encode())
        for p, (m, s) in zip(paths, stats):
            h.update(f"{os.path.basename(p)}\0{m}\0{s}\n".encode())
        return h.hexdigest()

    def get(self, key: str) -> Optional[dict]:
        try:
            with open(self.path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return None
        if data.get("key") != key:
            return None
        return data.get("entries")

    def put(self, key: str, entries: dict) -> None:
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with atomic_path(self.path) as tmp:
                with open(tmp, "w") as f:
                    json.dump({"key": key, "entries": entries}, f)
        except OSError as e:
            logger.warning(f"Could not write the dataset cache {self.path}: {e}")
