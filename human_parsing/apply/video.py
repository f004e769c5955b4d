"""Video decoding and encoding with OpenCV, with errors that name the file.

Frames are (H, W, 3) uint8 BGR, in decoding order. The writer encodes ``.mp4`` with ``mp4v``
and ``.avi`` with ``MJPG`` (both available in opencv-python-headless; H.264 is not), writes to a
temporary file and renames it on :meth:`VideoWriter.close`, so a failed run leaves no
half-written video behind.
"""
import logging
import os
from typing import Iterator, Tuple

import cv2
import numpy as np

from human_parsing.data.io import make_temp_path

__all__ = ["VIDEO_EXTENSIONS", "VideoDecodeError", "VideoReader", "VideoWriter", "is_video"]

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}
DEFAULT_FPS = 25.0  # when a container does not store its frame rate


def is_video(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in VIDEO_EXTENSIONS


class VideoDecodeError(ValueError):
    """A video cannot be opened or has no decodable frame. The message names the file."""


class VideoReader:
    """Iterate the frames of a video file. ``fps``, ``frame_count`` (as stored in the container,
    may be 0 or approximate) and ``size`` (W, H) are read when opening."""

    def __init__(self, path: str):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: video file not found")
        self.path = path
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise VideoDecodeError(f"{path}: cannot open video (unsupported codec or not a video)")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 and np.isfinite(fps) else DEFAULT_FPS
        self.frame_count = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        cap.release()

    def __iter__(self) -> Iterator[np.ndarray]:
        cap = cv2.VideoCapture(self.path)
        n = 0
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                n += 1
                yield frame
        finally:
            cap.release()
        if n == 0:
            raise VideoDecodeError(f"{self.path}: no frame could be decoded")
        if self.frame_count and n != self.frame_count:
            logger.info("%s: decoded %d frames, the container announced %d", self.path, n, self.frame_count)


class VideoWriter:
    """Encode (H, W, 3) uint8 BGR frames into ``path`` at ``fps``; the first frame fixes the size."""

    def __init__(self, path: str, fps: float):
        ext = os.path.splitext(path)[1].lower()
        if ext not in _FOURCC:
            raise ValueError(f"{path}: cannot write videos with extension {ext!r}; use one of {sorted(_FOURCC)}")
        self.path, self.fps, self.fourcc = path, float(fps), _FOURCC[ext]
        self._writer = None
        self._tmp = None
        self.size: Tuple[int, int] = None
        self.frames = 0

    def _open(self, size: Tuple[int, int]) -> None:
        self._tmp = make_temp_path(self.path)
        self._writer = cv2.VideoWriter(self._tmp, cv2.VideoWriter_fourcc(*self.fourcc), self.fps, size)
        if not self._writer.isOpened():
            self._discard()
            raise RuntimeError(f"{self.path}: OpenCV cannot encode {self.fourcc!r} video here")
        self.size = size

    def write(self, frame: np.ndarray) -> None:
        size = (frame.shape[1], frame.shape[0])
        if self._writer is None:
            self._open(size)
        elif size != self.size:
            raise ValueError(f"{self.path}: frame size {size} differs from the first frame's {self.size}")
        self._writer.write(np.ascontiguousarray(frame, dtype=np.uint8))
        self.frames += 1

    def close(self) -> None:
        """Finish the file and move it into place (nothing is written for zero frames)."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        os.replace(self._tmp, self.path)
        self._tmp = None

    def _discard(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._tmp and os.path.exists(self._tmp):
            os.remove(self._tmp)
        self._tmp = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()
