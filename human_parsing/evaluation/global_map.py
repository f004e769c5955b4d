"""Instance-agnostic part map and part instances built from per-person predictions.

Parsing R-CNN's ``parsing_png`` (metrics.md §2.2, methods.md §2.6.5): start from background, skip
people with score < ``SEMSEG_SCORE_THRESH``, paint the rest in *ascending* score order, each person's
non-zero pixels over the canvas, so the highest score wins overlaps. Equal scores are painted in
index order (a stable sort; the original sorts a torch tensor, whose tie order is unspecified).

The same painting gives the PGN-style part instances used for APr from a top-down model
(metrics.md §4.3): one instance per (painted person, class) pair with remaining pixels, with the
person's score, numbered by class then by painting rank (the order of PGN's ``generate_instance_part``).
"""

from typing import Sequence, Tuple

import numpy as np

__all__ = ["SEMSEG_SCORE_THRESH", "semseg_score_thresh_for", "paint_instances", "part_instances"]

# Parsing R-CNN ``PRCNN.SEMSEG_SCORE_THRESH``: 0.3 by default and for CIHP, 0.05 in the MHP-v2 configs.
SEMSEG_SCORE_THRESH = {"default": 0.3, "cihp": 0.3, "mhp_v2": 0.05}


def semseg_score_thresh_for(label_space: str) -> float:
    """The official painting threshold of a label space (0.3 unless it is MHP v2)."""
    return SEMSEG_SCORE_THRESH.get(label_space, SEMSEG_SCORE_THRESH["default"])


def paint_instances(
    crops: Sequence[np.ndarray],
    offsets: np.ndarray,
    scores: np.ndarray,
    image_size: Tuple[int, int],
    score_thresh: float,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint people into a global part map.

    Returns:
        parts: (H, W) uint8 global part map.
        ids: (H, W) int32 map of the painted person at each part pixel, 1-based painting rank.
        order: (M,) indices of the painted people, ``ids == k`` <-> person ``order[k-1]``.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(scores, kind="stable")
    order = order[~(scores[order] < score_thresh)]
    parts = np.zeros(image_size, dtype=np.uint8)
    ids = np.zeros(image_size, dtype=np.int32)
    offsets = np.asarray(offsets).reshape(-1, 2)
    for rank, i in enumerate(order, start=1):
        c = np.asarray(crops[i])
        x0, y0 = int(offsets[i][0]), int(offsets[i][1])
        fg = c > 0
        sl = (slice(y0, y0 + c.shape[0]), slice(x0, x0 + c.shape[1]))
        parts[sl][fg] = c[fg]
        ids[sl][fg] = rank
    return parts, ids, order


def part_instances(
    parts: np.ndarray, ids: np.ndarray, person_scores: np.ndarray, num_classes: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a painted map into part instances (person, class), PGN-numbered.

    Args:
        parts, ids: output of :func:`paint_instances`.
        person_scores: (M,) score of painted person k (``scores[order]``).
    Returns:
        inst: (H, W) int32 part-instance map (0 = background, k = line k of a PGN txt).
        classes, scores: (K,) class and score of each part instance.
    """
    C = num_classes
    M = len(person_scores)
    fg = ids > 0
    code = ids[fg].astype(np.int64) * C + parts[fg]  # person rank * C + class (class >= 1 here)
    count = np.bincount(code, minlength=(M + 1) * C)
    present = np.flatnonzero(count)
    person, cls = present // C, present % C
    o = np.lexsort((person, cls))  # by class, then painting rank
    lut = np.zeros(count.size, dtype=np.int32)
    lut[present[o]] = np.arange(1, present.size + 1, dtype=np.int32)
    inst = np.zeros(ids.shape, dtype=np.int32)
    inst[fg] = lut[code]
    scores = np.asarray(person_scores, dtype=np.float64).reshape(-1)
    return inst, cls[o].astype(np.int64), scores[person[o] - 1] if M else np.zeros(0)
