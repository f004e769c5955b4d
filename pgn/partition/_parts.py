"""Part instances of the PGN partition: ``generate_instance_part.m`` (methods.md §3.8 Stage B).

Every (class k, person h) pair with pixels becomes one part instance, numbered in order of k, then
h. Its score is ``area * mean(parsing_score) * edge_score``, where ``edge_score`` is the mean of
the non-zero values of ``part_edge + edge_prob`` inside the part, and ``part_edge`` marks pixels
where MATLAB's ``imgradient`` (Sobel, replicated borders) of the label map is non-zero.
"""

from typing import Optional, Tuple

import cv2
import numpy as np

__all__ = ["label_gradient_edges", "part_instances"]


def label_gradient_edges(parsing: np.ndarray) -> np.ndarray:
    """``imgradient(parsing) > 0``: (H, W) bool, a Sobel magnitude with replicated borders.

    MATLAB's ``imgradientxy`` filters with ``'replicate'`` padding (Octave pads differently, which
    marks labelled pixels on the image border). The magnitude is non-zero iff either component is.
    """
    img = parsing.astype(np.float32)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)
    return (gx != 0) | (gy != 0)


def part_instances(
    parsing: np.ndarray,
    human_map: np.ndarray,
    edge_prob: np.ndarray,
    parsing_score: Optional[np.ndarray],
    *,
    faithful: bool,
    num_part_classes: int = 19,
    empty_edge_score: float = 0.0,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(part_instance_map (H, W) int32, classes (M,) int64, scores (M,) float64).

    Faithful: the human map is read back as ``uint8`` (ids above 255 saturate, as the official
    PNG round trip does) and the score is computed as MATLAB does with a ``single`` score map
    (``single * double`` is single), giving NaN for a part without any edge pixel. Clean: exact
    human ids, float64 arithmetic, and ``empty_edge_score`` for parts without edge pixels.
    ``parsing_score=None`` uses 1 everywhere.
    """
    humans = np.minimum(human_map, 255) if faithful else human_map
    n_h = int(humans.max(initial=0)) + 1
    sel = (parsing >= 1) & (parsing <= num_part_classes) & (humans > 0)
    idx = np.flatnonzero(sel)  # only the pixels of part instances are touched from here on
    key = parsing.ravel()[idx].astype(np.intp) * n_h + humans.ravel()[idx]
    n_keys = (num_part_classes + 1) * n_h
    area = np.bincount(key, minlength=n_keys)
    present = np.flatnonzero(area)
    lut = np.zeros(n_keys, dtype=np.int32)
    lut[present] = np.arange(1, present.size + 1, dtype=np.int32)
    inst_map = np.zeros(parsing.shape, dtype=np.int32)
    inst_map.ravel()[idx] = lut[key]
    classes = present // n_h

    edge_sel = label_gradient_edges(parsing).ravel()[idx] + np.asarray(edge_prob, np.float64).ravel()[idx]
    edge_sum = np.bincount(key, weights=edge_sel, minlength=n_keys)[present]
    edge_cnt = np.bincount(key, weights=(edge_sel > 0), minlength=n_keys)[present]
    if parsing_score is None:
        score_sum = area[present].astype(np.float64)
    else:
        score_sum = np.bincount(key, weights=np.ravel(parsing_score)[idx], minlength=n_keys)[present]
    n = area[present]
    with np.errstate(invalid="ignore", divide="ignore"):
        edge_score = edge_sum / edge_cnt
        mean_score = score_sum / n
    if faithful:
        product = mean_score.astype(np.float32) * edge_score.astype(np.float32)
        scores = (n.astype(np.float32) * product).astype(np.float64)
    else:
        edge_score = np.where(edge_cnt > 0, edge_score, empty_edge_score)
        scores = n * mean_score * edge_score
    return inst_map, classes, scores
