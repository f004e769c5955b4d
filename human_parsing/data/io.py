"""Reading and writing images and label maps, with errors that name the file.

Label PNGs are read as *indices*: palette PNGs keep their indices (never converted by luminance)
and 3-channel label PNGs (MHP v2) are read from channel 0. Writers go through a temporary file
and a rename, so an interrupted run never leaves a half-written file behind. Temporaries are
named ``.tmp-<tag>-<pid>-<random><ext>`` inside a :func:`temporary_file_tag` block (each tool
sets its own tag), so the next run of the same tool can remove the ones a killed run left
(:func:`remove_stale_temporaries`) without touching anyone else's files.
"""
import contextlib
import contextvars
import os
import re
import tempfile
from typing import Iterator, List, Optional, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from .label_spaces import IGNORE_LABEL

__all__ = [
    "DataFormatError",
    "read_image",
    "read_png_array",
    "read_label_map",
    "check_label_values",
    "load_person_parsing",
    "atomic_path",
    "make_temp_path",
    "temporary_file_tag",
    "remove_stale_temporaries",
    "write_label_png",
    "write_image",
    "write_text",
]


_UMASK = os.umask(0)
os.umask(_UMASK)


class DataFormatError(ValueError):
    """A dataset file is missing, unreadable or inconsistent. The message names the file."""


def _open(path: str) -> Image.Image:
    if not os.path.isfile(path):
        raise DataFormatError(f"{path}: file not found")
    try:
        img = Image.open(path)
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise DataFormatError(f"{path}: unreadable or truncated image ({e})") from e
    return img


def read_png_array(path: str) -> np.ndarray:
    """Read an image's raw pixel array as stored (8/16-bit ids, palette indices kept)."""
    return np.asarray(_open(path))


def read_image(path: str, format: str = "BGR") -> np.ndarray:
    """Read an image as (H, W, 3) uint8 in ``format`` ("BGR" or "RGB")."""
    img = _open(path)
    arr = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(arr[:, :, ::-1]) if format == "BGR" else arr


def read_label_map(path: str) -> np.ndarray:
    """Read a label PNG as (H, W) uint8 indices (palette indices, grayscale, or channel 0)."""
    img = _open(path)
    if img.mode in ("P", "L"):
        arr = np.asarray(img)
    elif img.mode in ("RGB", "RGBA"):
        arr = np.asarray(img)[:, :, 0]
    elif img.mode in ("I", "I;16", "I;16B", "I;16L"):
        arr = np.asarray(img)
        if arr.max(initial=0) > 255:
            raise DataFormatError(f"{path}: label values above 255 in a {img.mode} image")
    else:
        raise DataFormatError(f"{path}: unsupported label image mode {img.mode!r}")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def check_label_values(label: np.ndarray, num_classes: int, path: str) -> None:
    """Raise unless every value is in [0, num_classes) or is the ignore label."""
    bad = (label >= num_classes) & (label != IGNORE_LABEL)
    if bad.any():
        vals = np.unique(label[bad])[:10].tolist()
        raise DataFormatError(
            f"{path}: label values {vals} outside [0, {num_classes}) ∪ {{{IGNORE_LABEL}}}"
        )


def _check_size(arr: np.ndarray, hw: Sequence[int], path: str, what: str) -> None:
    if tuple(arr.shape[:2]) != tuple(hw):
        raise DataFormatError(
            f"{path}: {what} has size {arr.shape[1]}x{arr.shape[0]} (WxH) but the image is "
            f"{hw[1]}x{hw[0]}"
        )


def load_person_parsing(record: dict, num_classes: Optional[int] = None) -> np.ndarray:
    """Per-person part maps of one dataset record, as (N, H, W) uint8 (0 outside the person).

    Each annotation's ``parsing`` dict is one of
      - ``{"file_name": P}``: a per-person part-label PNG (MHP v2, COCO-style json);
      - ``{"file_name": C, "human_ids_file_name": H, "human_id": k}``: CIHP, where the person's
        map is ``C * (H == k)``.
    Files shared by several people are read once.
    """
    hw = (record["height"], record["width"])
    cache = {}

    def _read(path):
        if path not in cache:
            arr = read_label_map(path)
            _check_size(arr, hw, path, "label map")
            if num_classes is not None:
                check_label_values(arr, max(num_classes, 256 if path in human_files else 0), path)
            cache[path] = arr
        return cache[path]

    human_files = {a["parsing"].get("human_ids_file_name") for a in record.get("annotations", [])}
    maps = np.zeros((len(record.get("annotations", [])),) + hw, dtype=np.uint8)
    for i, ann in enumerate(record.get("annotations", [])):
        spec = ann["parsing"]
        labels = _read(spec["file_name"])
        if "human_id" in spec:
            humans = _read(spec["human_ids_file_name"])
            maps[i] = np.where(humans == spec["human_id"], labels, 0)
        else:
            maps[i] = labels
    return maps


# The tag of the tool writing files now ("" = untagged ``.tmp-*`` names, never cleaned up).
# A context variable rather than an argument of every writer: the writers sit several calls
# below the tool (converter -> record writer -> write_label_png).
_TEMP_TAG = contextvars.ContextVar("human_parsing_temp_tag", default="")


@contextlib.contextmanager
def temporary_file_tag(tag: str) -> Iterator[None]:
    """Within this block, temporaries are named ``.tmp-<tag>-<pid>-*`` (tag: letters, digits, _)."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", tag):
        raise ValueError(f"temporary file tag must be letters, digits or '_', got {tag!r}")
    token = _TEMP_TAG.set(tag)
    try:
        yield
    finally:
        _TEMP_TAG.reset(token)


def make_temp_path(path: str, suffix: Optional[str] = None) -> str:
    """Create an empty temporary file next to ``path`` (same folder, so a rename is atomic) and
    return its name; ``suffix`` defaults to ``path``'s extension (writers pick formats by it)."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tag = _TEMP_TAG.get()
    prefix = f".tmp-{tag}-{os.getpid()}-" if tag else ".tmp-"
    ext = os.path.splitext(path)[1] if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=ext, dir=d)
    os.close(fd)
    return tmp


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's live process
        return True
    except (ProcessLookupError, OverflowError):  # gone, or a number no process can have
        return False
    return True


def remove_stale_temporaries(folder: str, tag: Optional[str] = None, recursive: bool = True) -> List[str]:
    """Delete the ``.tmp-<tag>-<pid>-*`` files under ``folder`` whose process is gone (a killed
    run of the same tool); return their paths. Other tools' and untagged temporaries, and those of
    running processes, are left alone. ``tag`` defaults to the current :func:`temporary_file_tag`."""
    tag = _TEMP_TAG.get() if tag is None else tag
    if not tag or not os.path.isdir(folder):
        return []
    pattern = re.compile(r"\.tmp-" + re.escape(tag) + r"-(\d+)-")
    removed = []
    for d, subdirs, names in os.walk(folder):
        for n in names:
            m = pattern.match(n)
            if m and not _pid_alive(int(m.group(1))):
                path = os.path.join(d, n)
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                    removed.append(path)
        if not recursive:
            break
    return removed


@contextlib.contextmanager
def atomic_path(path: str, suffix: Optional[str] = None) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success."""
    tmp = make_temp_path(path, suffix)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_label_png(path: str, label: np.ndarray, palette: Optional[np.ndarray] = None) -> None:
    """Write (H, W) uint8 indices as a PNG; with ``palette`` (256×3) as a palette ('P') PNG."""
    label = np.asarray(label)
    if label.ndim != 2 or label.dtype != np.uint8:
        raise ValueError(f"{path}: expected an (H, W) uint8 label map, got {label.shape} {label.dtype}")
    img = Image.fromarray(label, mode="L")
    if palette is not None:
        img = img.convert("P")
        img.putpalette(np.asarray(palette, dtype=np.uint8).reshape(-1).tolist())
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def write_image(path: str, image: np.ndarray, format: str = "BGR", quality: int = 95) -> None:
    """Write an (H, W, 3) uint8 image (JPEG or PNG by extension)."""
    rgb = image[:, :, ::-1] if format == "BGR" else image
    img = Image.fromarray(np.ascontiguousarray(rgb))
    ext = os.path.splitext(path)[1].lower()
    with atomic_path(path) as tmp:
        if ext in (".jpg", ".jpeg"):
            img.save(tmp, format="JPEG", quality=quality)
        else:
            img.save(tmp, format="PNG")


def write_text(path: str, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
