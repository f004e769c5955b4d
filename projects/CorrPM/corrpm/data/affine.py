"""CorrPM's affine crop (methods.md §5.3): centre, scale and rotation of the whole image mapped
onto a fixed-size crop, as a Detectron2 ``Transform`` moving image, labels and keypoints together.

Matrices map *pixel indices* (pixel centres at integers, OpenCV's ``warpAffine`` convention, used
by the official code): the source centre ``c`` goes to ``(w_out / 2, h_out / 2)``, a source length
``scale_w`` along the rotated x axis to ``w_out``. ``apply_coords`` takes Detectron2 coordinates
(pixel corners at integers) and converts them, so flips (``x -> W - x``) and this crop compose
exactly as the official ``x -> W - 1 - x`` followed by the warp.
"""
from typing import Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from detectron2.data import transforms as T
from fvcore.transforms.transform import Transform

__all__ = [
    "affine_matrix",
    "invert_affine",
    "center_scale",
    "AffineTransform",
    "RandomAffineCrop",
    "warp_affine_torch",
]


def center_scale(height: int, width: int, aspect_ratio: float) -> Tuple[np.ndarray, np.ndarray]:
    """Centre and (w, h) size of the whole-image box ``[0, 0, w - 1, h - 1]`` grown to
    ``aspect_ratio`` = crop w / h (official ``_box2cs``)."""
    w, h = float(width - 1), float(height - 1)
    center = np.array([w * 0.5, h * 0.5])
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w, h])


def affine_matrix(center, scale_w: float, rotation: float, out_size: Tuple[int, int]) -> np.ndarray:
    """(2, 3) float64 matrix: ``dst = k R(-rotation) (src - center) + (w_out / 2, h_out / 2)``
    with ``k = w_out / scale_w`` (a similarity; rotation in degrees, counter-clockwise in the
    image as the official ``get_affine_transform``). ``out_size`` is (h, w)."""
    h_out, w_out = out_size
    if scale_w <= 0:
        raise ValueError(f"affine_matrix: scale must be positive, got {scale_w}")
    k = w_out / float(scale_w)
    t = np.deg2rad(rotation)
    cs, sn = np.cos(t), np.sin(t)
    a = k * np.array([[cs, sn], [-sn, cs]])
    b = np.array([w_out * 0.5, h_out * 0.5]) - a @ np.asarray(center, dtype=np.float64)
    return np.concatenate([a, b[:, None]], axis=1)


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix (float64)."""
    return cv2.invertAffineTransform(np.asarray(m, dtype=np.float64))


class AffineTransform(Transform):
    """Warp by a (2, 3) pixel-index matrix to an ``(out_h, out_w)`` canvas.

    Image: bilinear, border ``image_pad``; segmentation: nearest, border ``seg_pad`` (255);
    coordinates: the same map (Detectron2 convention, see module docstring).
    """

    def __init__(self, matrix: np.ndarray, in_h: int, in_w: int, out_h: int, out_w: int,
                 image_pad: float = 0.0, seg_pad: int = 255):
        super().__init__()
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != (2, 3):
            raise ValueError(f"AffineTransform needs a (2, 3) matrix, got {matrix.shape}")
        self._set_attributes(locals())

    def _warp(self, img: np.ndarray, flags: int, border) -> np.ndarray:
        return cv2.warpAffine(img, self.matrix, (int(self.out_w), int(self.out_h)), flags=flags,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=border)

    def apply_image(self, img: np.ndarray, interp=None) -> np.ndarray:
        if img.shape[:2] != (self.in_h, self.in_w):
            raise ValueError(f"AffineTransform built for {self.in_h}x{self.in_w}, got {img.shape[:2]}")
        pad = self.image_pad
        border = (pad,) * (img.shape[2] if img.ndim == 3 else 1)
        return self._warp(img, cv2.INTER_LINEAR if interp is None else interp, border)

    def apply_segmentation(self, segmentation: np.ndarray) -> np.ndarray:
        return self._warp(segmentation, cv2.INTER_NEAREST, int(self.seg_pad))

    def apply_coords(self, coords: np.ndarray) -> np.ndarray:
        xy = np.asarray(coords, dtype=np.float64) - 0.5  # corner -> index convention
        out = xy @ self.matrix[:, :2].T + self.matrix[:, 2]
        return (out + 0.5).astype(coords.dtype, copy=False)

    def inverse(self) -> Transform:
        return AffineTransform(invert_affine(self.matrix), self.out_h, self.out_w, self.in_h, self.in_w,
                               self.image_pad, self.seg_pad)


class RandomAffineCrop(T.Augmentation):
    """CorrPM's training crop: centre = image centre, scale = the whole image box grown to the
    crop's aspect ratio times ``clip(N(1, sf), 1 - sf, 1 + sf)``, rotation ``clip(N(0, rf), -2rf,
    2rf)`` degrees with probability ``rot_prob`` (else 0). ``sf = rf = 0`` gives the test crop."""

    def __init__(self, crop_size: Tuple[int, int], scale_factor: float = 0.25,
                 rot_factor: float = 30.0, rot_prob: float = 0.6, image_pad: float = 0.0):
        super().__init__()
        if len(crop_size) != 2 or min(crop_size) <= 0:
            raise ValueError(f"RandomAffineCrop: crop_size must be (h, w) > 0, got {crop_size}")
        if not 0 <= scale_factor < 1 or rot_factor < 0 or not 0 <= rot_prob <= 1:
            raise ValueError(f"RandomAffineCrop: bad factors scale={scale_factor} rot={rot_factor} "
                             f"prob={rot_prob}")
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.scale_factor, self.rot_factor = float(scale_factor), float(rot_factor)
        self.rot_prob, self.image_pad = float(rot_prob), float(image_pad)

    def get_transform(self, image: np.ndarray) -> Transform:
        h, w = image.shape[:2]
        out_h, out_w = self.crop_size
        center, scale = center_scale(h, w, out_w / out_h)
        sf, rf = self.scale_factor, self.rot_factor
        s = scale[0] * np.clip(np.random.randn() * sf + 1, 1 - sf, 1 + sf)
        r = np.clip(np.random.randn() * rf, -2 * rf, 2 * rf) if np.random.rand() <= self.rot_prob else 0.0
        m = affine_matrix(center, s, r, self.crop_size)
        return AffineTransform(m, h, w, out_h, out_w, self.image_pad)

    def __repr__(self) -> str:
        return (f"RandomAffineCrop(crop_size={self.crop_size}, scale_factor={self.scale_factor}, "
                f"rot_factor={self.rot_factor}, rot_prob={self.rot_prob})")


def warp_affine_torch(x: torch.Tensor, matrix: np.ndarray, out_size: Tuple[int, int],
                      mode: str = "bilinear") -> torch.Tensor:
    """``cv2.warpAffine`` for a (N, C, H, W) tensor with a pixel-index (2, 3) src->dst matrix:
    output pixel p samples the input at ``matrix⁻¹ p``; outside the input gives 0."""
    n, _, h, w = x.shape
    out_h, out_w = out_size
    inv = torch.as_tensor(invert_affine(matrix), dtype=x.dtype, device=x.device)
    ys, xs = torch.meshgrid(torch.arange(out_h, dtype=x.dtype, device=x.device),
                            torch.arange(out_w, dtype=x.dtype, device=x.device), indexing="ij")
    src_x = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    src_y = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    # align_corners=True: -1 and 1 are the centres of the first and last pixels
    grid = torch.stack([2 * src_x / max(w - 1, 1) - 1, 2 * src_y / max(h - 1, 1) - 1], dim=-1)
    return F.grid_sample(x, grid.expand(n, -1, -1, -1), mode=mode, padding_mode="zeros",
                         align_corners=True)
