"""Turn the INPUT argument of ``apply_net.py`` into a sorted list of sources, then into frames.

INPUT is an image file, a video file, a folder (walked recursively, files in sorted order of
their relative paths) or a glob pattern. Every source gets a ``name``: its path relative to the
folder (or to the common folder of the glob matches) without extension, so outputs are named
after the inputs and mirror sub-folders. Unreadable images become frames with an ``error``
(skipped with a warning by the caller); videos that cannot be decoded raise. Other files of a
folder or glob (``notes.txt``, ``.DS_Store``, ``Thumbs.db``) are not inputs: :func:`scan_inputs`
returns them separately so the run's summary can name and count them. Hidden sub-folders
(``.git``) are not walked.
"""
import glob
import logging
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import numpy as np

from human_parsing.data.io import DataFormatError, read_image

from .video import VIDEO_EXTENSIONS, VideoReader, is_video

__all__ = ["IMAGE_EXTENSIONS", "InputSource", "Frame", "scan_inputs", "list_inputs", "iter_frames",
           "count_frames"]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@dataclass(frozen=True)
class InputSource:
    """One input file: ``kind`` is "image" or "video"; ``name`` is the output stem (may contain
    "/" for files in sub-folders)."""

    path: str
    name: str
    kind: str


@dataclass
class Frame:
    """One image to process: ``image`` (H, W, 3) uint8 BGR, or None with ``error`` set.
    ``frame`` is the 0-based frame index for video frames, else None."""

    source: InputSource
    image: Optional[np.ndarray]
    frame: Optional[int] = None
    error: Optional[str] = None


def _is_input_file(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS


def _make_sources(files: List[str], root: str) -> List[InputSource]:
    rels = [os.path.relpath(f, root) for f in files]
    stems = [os.path.splitext(r)[0] for r in rels]
    dup = {s for s in stems if stems.count(s) > 1}
    out = []
    for f, rel, stem in zip(files, rels, stems):
        if stem in dup:  # "a.jpg" and "a.png" side by side: keep the extension in the name
            stem = stem + "_" + os.path.splitext(rel)[1].lstrip(".").lower()
        out.append(InputSource(f, stem.replace(os.sep, "/"), "video" if is_video(f) else "image"))
    return out


def scan_inputs(spec: str) -> Tuple[List[InputSource], List[str]]:
    """The sources named by ``spec`` (file, folder, or glob), sorted by relative path, and the
    other files found in the folder / matched by the glob (not images or videos), sorted."""
    if os.path.isfile(spec):
        return _make_sources([spec], os.path.dirname(spec) or "."), []
    if os.path.isdir(spec):
        files, others = [], []
        for d, subdirs, names in os.walk(spec):
            subdirs[:] = [s for s in subdirs if not s.startswith(".")]
            for n in names:
                (files if not n.startswith(".") and _is_input_file(n) else others).append(os.path.join(d, n))
        files.sort(key=lambda f: os.path.relpath(f, spec).split(os.sep))
        others.sort(key=lambda f: os.path.relpath(f, spec).split(os.sep))
        if not files:
            raise FileNotFoundError(
                f"{spec}: folder contains no images or videos (extensions "
                f"{IMAGE_EXTENSIONS + VIDEO_EXTENSIONS}){_others_note(others)}"
            )
        return _make_sources(files, spec), others
    if glob.has_magic(spec):
        matches = sorted(f for f in glob.glob(spec, recursive=True) if os.path.isfile(f))
        files = [f for f in matches if _is_input_file(f)]
        others = [f for f in matches if not _is_input_file(f)]
        if not files:
            raise FileNotFoundError(f"{spec}: the pattern matches no image or video{_others_note(others)}")
        root = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files])
        return _make_sources([os.path.abspath(f) for f in files], root), others
    raise FileNotFoundError(f"{spec}: no such file, folder or glob match")


def _others_note(others: List[str]) -> str:
    if not others:
        return ""
    names = ", ".join(os.path.basename(f) for f in others[:5])
    return f"; {len(others)} other file(s) skipped: {names}{', ...' if len(others) > 5 else ''}"


def list_inputs(spec: str) -> List[InputSource]:
    """The sources named by ``spec`` (see :func:`scan_inputs`)."""
    return scan_inputs(spec)[0]


def count_frames(sources: List[InputSource]) -> int:
    """Frames to process, for the progress bar (video frame counts as the containers announce)."""
    return sum(VideoReader(s.path).frame_count if s.kind == "video" else 1 for s in sources)


def iter_frames(sources: List[InputSource]) -> Iterator[Frame]:
    """Yield every frame of every source, in order."""
    for src in sources:
        if src.kind == "video":
            for i, frame in enumerate(VideoReader(src.path)):
                yield Frame(src, frame, frame=i)
            continue
        try:
            image = read_image(src.path, format="BGR")
        except DataFormatError as e:
            yield Frame(src, None, error=str(e))
            continue
        yield Frame(src, image)
