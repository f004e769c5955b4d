"""Drawing body-frame shapes (polygons, ellipses, tapered capsules) into a label map with cv2 at
1/16-pixel precision. The body frame is in units of the person's height, y down; it is rotated by
``tilt``, scaled by ``h`` and translated to ``center`` to land in the image."""

from typing import Tuple

import cv2
import numpy as np

__all__ = ["BodyCanvas"]

_SHIFT = 4  # cv2 drawing at 1/16 pixel
_ONE = 1 << _SHIFT


class BodyCanvas:
    """Draws body-frame shapes into an image-sized uint8 label map."""

    def __init__(self, center: Tuple[float, float], h: float, tilt: float, shape: Tuple[int, int]):
        self.labels = np.zeros(shape, dtype=np.uint8)
        c, s = np.cos(tilt), np.sin(tilt)
        self.m = np.array([[c, -s], [s, c]]) * h  # body frame (units of h) -> image, then + t
        self.t = np.asarray(center, dtype=np.float64)
        self.h = h

    def to_image(self, pts) -> np.ndarray:
        return np.asarray(pts, dtype=np.float64).reshape(-1, 2) @ self.m.T + self.t

    def _fix(self, pts) -> np.ndarray:
        return np.round(self.to_image(pts) * _ONE).astype(np.int32)

    def poly(self, pts, value: int):
        cv2.fillPoly(self.labels, [self._fix(pts)], int(value), cv2.LINE_8, _SHIFT)

    def ellipse(self, center, axes, angle: float, value: int):
        """Body-frame ellipse; ``angle`` in radians relative to the body frame."""
        c = tuple(int(v) for v in self._fix(center)[0])
        ax = tuple(max(0, int(round(a * self.h * _ONE))) for a in axes)
        ang = np.degrees(angle + np.arctan2(self.m[1, 0], self.m[0, 0]))
        cv2.ellipse(self.labels, c, ax, float(ang), 0, 360, int(value), -1, cv2.LINE_8, _SHIFT)

    def capsule(self, p0, p1, r0: float, r1: float, value: int):
        """Tapered capsule from ``p0`` (radius ``r0``) to ``p1`` (radius ``r1``)."""
        p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
        d = p1 - p0
        n = np.array([-d[1], d[0]]) / max(np.hypot(*d), 1e-9)
        self.poly([p0 + n * r0, p1 + n * r1, p1 - n * r1, p0 - n * r0], value)
        for p, r in ((p0, r0), (p1, r1)):
            self.ellipse(p, (r, r), 0.0, value)
