"""Training-target generators: pure, vectorised numpy functions (no per-pixel Python loops).

- :func:`instance_edges`: PGN's instance-boundary map (methods.md §1.3).
- :func:`semantic_edges`: CorrPM's part-boundary map (methods.md §5.3).
- :func:`gaussian_heatmaps`: CorrPM's keypoint heatmaps (methods.md §5.3).
- :func:`human_ids_from_person_maps`, :func:`tight_boxes`: person-level helpers of the mappers.
"""
from typing import Tuple

import cv2
import numpy as np

from .label_spaces import IGNORE_LABEL

__all__ = [
    "instance_edges",
    "semantic_edges",
    "gaussian_heatmaps",
    "human_ids_from_person_maps",
    "tight_boxes",
]


def _dilate(mask: np.ndarray, kernel_size: int) -> np.ndarray:
    """Binary dilation by a square of side ``kernel_size`` (cv2: the border never dilates in)."""
    if kernel_size <= 1:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_size, kernel_size))
    return cv2.dilate(mask.astype(np.uint8), kernel)


def instance_edges(human_ids: np.ndarray, dilation: int = 0) -> np.ndarray:
    """PGN's instance edges: ``1[|Sobel gradient| of the human-id map > 0]``.

    This reproduces PGN's ``datasets/CIHP/tool/write_edge.m``, ``uint8(imgradient(Human_ids) >
    0)``, with MATLAB's default "sobel" method. MATLAB documents that ``imgradient`` takes values
    outside the image equal to the nearest border value (like ``imfilter``'s 'replicate'), so the
    image border itself is not an edge. Every pixel whose 3×3 neighbourhood holds another id is marked unless the Sobel
    responses cancel exactly, so both sides of each person/person and person/background boundary
    are marked (2 px wide edges), including diagonal contacts.

    Args:
        human_ids: (H, W) integer map, 0 background and 1..N people.
        dilation: extra square dilation radius in pixels (0 = as PGN).
    Returns:
        (H, W) uint8 map of 0/1.
    """
    x = np.asarray(human_ids, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"instance_edges expects an (H, W) map, got {x.shape}")
    p = np.pad(x, 1, mode="edge")  # 'replicate'
    dx = p[:, 2:] - p[:, :-2]  # (H+2, W) central differences along x
    gx = dx[:-2] + 2 * dx[1:-1] + dx[2:]  # Sobel smoothing [1, 2, 1] along y
    dy = p[2:, :] - p[:-2, :]  # (H, W+2)
    gy = dy[:, :-2] + 2 * dy[:, 1:-1] + dy[:, 2:]
    edges = ((gx != 0) | (gy != 0)).astype(np.uint8)  # magnitude > 0 iff one component != 0
    return _dilate(edges, 2 * dilation + 1) if dilation > 0 else edges


def semantic_edges(
    label: np.ndarray, kernel_size: int = 3, ignore_label: int = IGNORE_LABEL
) -> np.ndarray:
    """CorrPM's part-boundary map of a (H, W) label map, as (H, W) uint8 0/1.

    A pair of neighbours with different labels, neither of them ``ignore_label``, marks one
    pixel: the lower one of a vertical pair, the left one of a horizontal pair, the upper-left one
    of a diagonal pair and the upper-right one of an anti-diagonal pair. The result is dilated
    with a ``kernel_size`` square (CorrPM ``generate_edge``, edge_width 3).
    """
    lab = np.asarray(label)
    if lab.ndim != 2:
        raise ValueError(f"semantic_edges expects an (H, W) map, got {lab.shape}")
    valid = lab != ignore_label
    edge = np.zeros(lab.shape, dtype=np.uint8)

    def _mark(a, b, out):
        out[(lab[a] != lab[b]) & valid[a] & valid[b]] = 1

    _mark((slice(1, None), slice(None)), (slice(None, -1), slice(None)), edge[1:, :])  # lower
    _mark((slice(None), slice(None, -1)), (slice(None), slice(1, None)), edge[:, :-1])  # left
    _mark((slice(None, -1), slice(None, -1)), (slice(1, None), slice(1, None)), edge[:-1, :-1])
    _mark((slice(None, -1), slice(1, None)), (slice(1, None), slice(None, -1)), edge[:-1, 1:])
    return _dilate(edge, kernel_size)


def gaussian_heatmaps(
    keypoints: np.ndarray, grid_size: Tuple[int, int], stride: float, sigma: float
) -> np.ndarray:
    """CorrPM's keypoint heatmaps (``target_generation.py``).

    Joint j at (x, y) in image pixels gets the centre ``mu = int(p / stride + 0.5)`` on the grid
    and ``exp(-((u - mu_x)² + (v - mu_y)²) / (2 sigma²))`` inside the (6·sigma + 1)² window
    centred on ``mu``, clipped to the grid; the peak is 1 at ``mu``. Invisible joints (v <= 0) and
    joints whose window misses the grid get all-zero maps.

    Args:
        keypoints: (J, 3) or flat (J*3,) array of (x, y, v).
        grid_size: (h, w) of the heatmaps, e.g. (96, 96) for a 384 crop and stride 4.
        stride: image pixels per heatmap cell.
        sigma: Gaussian sigma in cells (CorrPM: 7).
    Returns:
        (J, h, w) float32.
    """
    kps = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    h, w = int(grid_size[0]), int(grid_size[1])
    tmp = int(round(3 * sigma))  # half window; 21 for sigma = 7
    mu = np.trunc(kps[:, :2] / stride + 0.5).astype(np.int64)  # (J, 2), Python's int(p / stride + 0.5)
    dx = np.arange(w)[None, :] - mu[:, 0:1]  # (J, w)
    dy = np.arange(h)[None, :] - mu[:, 1:2]  # (J, h)
    gx = np.exp(-(dx**2) / (2.0 * sigma**2)) * (np.abs(dx) <= tmp)
    gy = np.exp(-(dy**2) / (2.0 * sigma**2)) * (np.abs(dy) <= tmp)
    heat = gy[:, :, None] * gx[:, None, :]  # (J, h, w); separable Gaussian
    heat[kps[:, 2] <= 0] = 0
    return heat.astype(np.float32)


def human_ids_from_person_maps(maps: np.ndarray) -> np.ndarray:
    """(N, H, W) per-person part maps -> (H, W) uint8 ids: 0 background, i+1 where person i has
    a part label (later people win where maps overlap). 255 in a map counts as no label."""
    maps = np.asarray(maps)
    n = maps.shape[0]
    if n >= IGNORE_LABEL:
        raise ValueError(f"Cannot encode {n} people in a uint8 id map")
    if n == 0:
        return np.zeros(maps.shape[1:], dtype=np.uint8)
    fg = (maps > 0) & (maps != IGNORE_LABEL)
    last = n - 1 - np.argmax(fg[::-1], axis=0)  # index of the last person covering each pixel
    return np.where(fg.any(axis=0), last + 1, 0).astype(np.uint8)


def tight_boxes(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) bool masks -> (N, 4) float32 XYXY boxes with x1, y1 = max index + 1.

    Empty masks get (0, 0, 0, 0).
    """
    masks = np.asarray(masks, dtype=bool)
    n, H, W = masks.shape
    rows, cols = masks.any(axis=2), masks.any(axis=1)  # (N, H), (N, W)
    y0, y1 = np.argmax(rows, axis=1), H - np.argmax(rows[:, ::-1], axis=1)
    x0, x1 = np.argmax(cols, axis=1), W - np.argmax(cols[:, ::-1], axis=1)
    boxes = np.stack([x0, y0, x1, y1], axis=1).astype(np.float32)
    boxes[~rows.any(axis=1)] = 0
    return boxes
