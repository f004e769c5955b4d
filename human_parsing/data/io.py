"""Reading and writing images and label maps, with errors that name the file.

Label PNGs are read as *indices* by one function, :func:`read_label_map`, which every reader,
mapper, evaluator, converter and visualizer goes through: palette PNGs keep their indices (never
converted by luminance), MHP v2's 3-channel maps are read from channel 0, and colour-coded PNGs
are decoded through the label space's palette or rejected. Images are read as stored: the EXIF
orientation tag is ignored, so label maps drawn on the stored pixel grid stay aligned. Writers go
through a temporary file and a rename, so an interrupted run never leaves a half-written file.
Temporaries are named ``.tmp-<tag>-<pid>-<random><ext>`` inside a :func:`temporary_file_tag`
block (each tool sets its own tag), so the next run of the same tool can remove the ones a killed
run left (:func:`remove_stale_temporaries`) without touching anyone else's files.
"""
import contextlib
import contextvars
import logging
import os
import re
import tempfile
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from .label_spaces import IGNORE_LABEL, LabelSpace, get_label_space

__all__ = [
    "DataFormatError",
    "read_image",
    "read_png_array",
    "read_label_map",
    "check_label_values",
    "load_sem_seg",
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


logger = logging.getLogger(__name__)

# The VOC palette's "void" colour: colour-coded VOC-style labels (PASCAL-Person-Part) draw the
# ignore label 255 with it; the label spaces' own palettes draw it white.
_VOC_VOID = (224, 224, 192)
_warned = {"colour": False}  # log the colour decoding once per process


class DataFormatError(ValueError):
    """A dataset file is missing, unreadable or inconsistent (also with the config's label
    space). The message starts with the file (or config key) and says what is wrong."""


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


def _as_label_space(label_space: Union[LabelSpace, str, None]) -> Optional[LabelSpace]:
    return get_label_space(label_space) if isinstance(label_space, str) else label_space


def _colour_codes(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _palette_table(ls: LabelSpace):
    """(sorted colour codes, their indices): the K class colours, white and VOC void -> 255."""
    table = {}
    class_codes = _colour_codes(np.asarray(ls.palette[: ls.num_classes])).tolist()
    for k, code in enumerate(class_codes):
        table.setdefault(code, k)  # a colour used twice decodes to its first class
    for c in ((255, 255, 255), _VOC_VOID):
        table.setdefault(int(_colour_codes(np.asarray(c))), IGNORE_LABEL)
    codes = np.array(sorted(table), dtype=np.uint32)
    return codes, np.array([table[c] for c in codes.tolist()], dtype=np.uint8)


def _fmt_colours(codes) -> str:
    return ", ".join(f"({c >> 16}, {(c >> 8) & 255}, {c & 255})" for c in codes)


def _decode_colours(rgb: np.ndarray, ls: Optional[LabelSpace], path: str, strict: bool):
    """Indices of a colour-coded (H, W, 3) map through ``ls``'s palette. When a colour is not a
    palette colour: raise (``strict``) or return None."""
    uniq, inverse = np.unique(_colour_codes(rgb).reshape(-1), return_inverse=True)
    if ls is not None:
        codes, index = _palette_table(ls)
        pos = np.minimum(np.searchsorted(codes, uniq), len(codes) - 1)
        known = codes[pos] == uniq
        if known.all():
            if not _warned["colour"]:
                _warned["colour"] = True
                logger.warning(
                    f"{path}: colour-coded label PNG, decoded through the {ls.name} palette (every "
                    "colour is a palette colour); later colour-coded files are decoded silently"
                )
            return index[pos][inverse].reshape(rgb.shape[:2])
        bad = uniq[~known]
    if not strict:
        return None
    if ls is None:
        raise DataFormatError(
            f"{path}: colour-coded label PNG (RGB channels differ, colours e.g. "
            f"{_fmt_colours(uniq[:5].tolist())}) and no label space was given to decode it; "
            "label PNGs must hold class indices (grayscale or palette PNG)"
        )
    raise DataFormatError(
        f"{path}: colour-coded label PNG (RGB channels differ) with {len(bad)} colour(s) that are "
        f"not colours of the {ls.name} palette, e.g. {_fmt_colours(bad[:5].tolist())}; label PNGs "
        "must hold class indices (grayscale or palette PNG), or use the label space's colours"
    )


def read_label_map(
    path: str, label_space: Union[LabelSpace, str, None] = None, channel: Optional[int] = None
) -> np.ndarray:
    """Read a label PNG as (H, W) uint8 indices.

    Palette PNGs give their indices, grayscale and 16-bit PNGs their values (at most 255).
    A multi-channel PNG (RGB, RGBA: alpha ignored) is read
      - from ``channel`` if given (MHP v2: its annotation tool stores the index in channel 0);
      - as grayscale when its channels are equal and the values fit ``label_space``;
      - else as a colour-coded map, decoded through ``label_space``'s palette when every colour
        is one of its class colours (white or the VOC void colour = 255); logged once per process.
    Otherwise a ``DataFormatError`` names the file, says it is colour-coded and lists colours.
    """
    img = _open(path)
    if img.mode in ("P", "L"):
        arr = np.asarray(img)
    elif img.mode == "LA":
        arr = np.asarray(img)[:, :, 0]
    elif img.mode in ("RGB", "RGBA"):
        rgb = np.asarray(img)[:, :, :3]
        if channel is not None:
            arr = rgb[:, :, channel]
        else:
            ls = _as_label_space(label_space)
            arr = rgb[:, :, 0]
            gray = (arr == rgb[:, :, 1]).all() and (arr == rgb[:, :, 2]).all()
            if not gray:
                arr = _decode_colours(rgb, ls, path, strict=True)
            elif ls is not None and ((arr >= ls.num_classes) & (arr != IGNORE_LABEL)).any():
                # gray colours of the palette (e.g. VOC's (128, 128, 128)) in a colour-coded map
                decoded = _decode_colours(rgb, ls, path, strict=False)
                arr = arr if decoded is None else decoded
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


def _num_classes(num_classes: Optional[int], ls: Optional[LabelSpace]) -> Optional[int]:
    return num_classes if num_classes is not None else (ls.num_classes if ls is not None else None)


def load_sem_seg(
    record: dict,
    label_space: Union[LabelSpace, str, None] = None,
    num_classes: Optional[int] = None,
) -> np.ndarray:
    """The record's semantic map (``sem_seg_file_name``) as (H, W) uint8, read by
    :func:`read_label_map` with ``label_space``, its size checked against the record and its
    values against ``[0, K) ∪ {255}`` (K = ``num_classes``, else the label space's; unchecked if
    neither is given). Every door (mapper, evaluator, converter, visualizer, check) uses it."""
    ls = _as_label_space(label_space)
    path = record["sem_seg_file_name"]
    sem = read_label_map(path, ls)
    hw = (record["height"], record["width"])
    _check_size(sem, hw, path, f"semantic map of {record['file_name']}")
    k = _num_classes(num_classes, ls)
    if k is not None:
        check_label_values(sem, k, path)
    return sem


def load_person_parsing(
    record: dict,
    num_classes: Optional[int] = None,
    label_space: Union[LabelSpace, str, None] = None,
) -> np.ndarray:
    """Per-person part maps of one dataset record, as (N, H, W) uint8 (0 outside the person).

    Each annotation's ``parsing`` dict is one of
      - ``{"file_name": P}``: a per-person part-label PNG (COCO-style json; MHP v2 adds
        ``"channel": 0``, the channel holding the index in its 3-channel PNGs);
      - ``{"file_name": C, "human_ids_file_name": H, "human_id": k}``: CIHP, where the person's
        map is ``C * (H == k)``.
    Part files are read by :func:`read_label_map` with ``label_space`` (colour-coded files are
    decoded through its palette) and checked against ``[0, K) ∪ {255}``, K = ``num_classes`` or
    the label space's; sizes are checked against the record. Files shared by people are read once.
    """
    ls = _as_label_space(label_space)
    num_classes = _num_classes(num_classes, ls)
    hw = (record["height"], record["width"])
    cache = {}

    def _read(path, ids=False, channel=None):
        if path not in cache:
            arr = read_label_map(path, None if ids else ls, channel)
            _check_size(arr, hw, path, "label map")
            if num_classes is not None and not ids:
                check_label_values(arr, num_classes, path)
            cache[path] = arr
        return cache[path]

    maps = np.zeros((len(record.get("annotations", [])),) + hw, dtype=np.uint8)
    for i, ann in enumerate(record.get("annotations", [])):
        spec = ann["parsing"]
        labels = _read(spec["file_name"], channel=spec.get("channel"))
        if "human_id" in spec:
            humans = _read(spec["human_ids_file_name"], ids=True)
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
