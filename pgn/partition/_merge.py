"""Region merge of the PGN partition: ``region_merge.m`` and the fixed-point loop of ``search.m``.

methods.md §3.8 Stage A steps 5-6. Regions with at least two parsing labels and more than
``min_human_area`` pixels are "humans"; every other region ("part") is visited in label order and
merged through the first of its boundary pixels (column-major) whose first valid probe
(``probe_dist`` pixels up, left, down, right) lies in a later part or in a human. Part masks grow
by union when a part is merged into a later one, as in MATLAB.

Masks are kept as sets of frozen region labels (``members``), so a mask test is a label lookup
and only the pixels of the part at hand are touched: the loop over parts is sequential (its
order matters), the work inside it is vectorised.
"""

import logging
from typing import Dict, List, Optional

import numpy as np

__all__ = ["region_merge", "border_fill", "merge_to_fixed_point", "part_boundary"]

logger = logging.getLogger(__name__)


class _PartMasks:
    """Pixels of the frozen part regions, extracted at once and split by label.

    The pixels are gathered in column-major image order and stably sorted by label, so each
    label's list is already in MATLAB ``find`` order.
    """

    def __init__(self, frozen: np.ndarray, part_labels: np.ndarray, pad: int):
        h, w = frozen.shape
        is_part = np.zeros(int(frozen.max()) + 1, dtype=bool)
        is_part[part_labels] = True
        colmaj = np.flatnonzero(is_part[frozen.T])  # c * h + r, column-major
        c, r = np.divmod(colmaj, h)
        labels = frozen[r, c]
        order = np.argsort(labels, kind="stable")
        self.key = colmaj[order]
        self.flat = ((r + pad) * (w + 2 * pad) + (c + pad))[order]
        sorted_labels = labels[order]
        self.start = dict(zip(part_labels.tolist(), np.searchsorted(sorted_labels, part_labels).tolist()))
        self.stop = dict(
            zip(part_labels.tolist(), np.searchsorted(sorted_labels, part_labels, "right").tolist())
        )

    def pixels(self, members: List[int]) -> np.ndarray:
        """Padded flat indices of the union of ``members``, in column-major image order."""
        if len(members) == 1:
            m = members[0]
            return self.flat[self.start[m] : self.stop[m]]
        sl = [slice(self.start[m], self.stop[m]) for m in members]
        flat = np.concatenate([self.flat[x] for x in sl])
        key = np.concatenate([self.key[x] for x in sl])
        return flat[np.argsort(key, kind="stable")]


def part_boundary(pix: np.ndarray, labels_flat: np.ndarray, inside: np.ndarray, row_width: int) -> np.ndarray:
    """MATLAB ``find(bwmorph(mask, 'remove'))`` for a mask given by its pixels.

    ``pix`` are the mask's flat indices (column-major image order) into ``labels_flat``, a label
    map zero-padded by at least one pixel with rows ``row_width`` long; the mask is the set of
    labels with ``inside[label]``. A pixel is kept when one of its 4-neighbours is outside the
    mask; pixels beyond the image frame are 0 in MATLAB's look-up table, so mask pixels on the
    frame are always boundary. The order of ``pix`` is kept.
    """
    four = np.array([-row_width, -1, row_width, 1], dtype=np.int64)
    return pix[~inside[labels_flat[pix[:, None] + four[None, :]]].all(axis=1)]


def label_histogram(regions: np.ndarray, parsing: np.ndarray) -> np.ndarray:
    """(max label + 1, max class + 1) pixel counts of every (region label, parsing value) pair.

    One pass gives both the region classification and the number of distinct labels, which the
    fixed-point loop needs after each call and the next call needs before it.
    """
    n_vals = int(parsing.max(initial=0)) + 1
    n_labels = int(regions.max(initial=0)) + 1
    key = np.multiply(regions, n_vals, dtype=np.intp)  # bincount wants intp: no further copy
    np.add(key, parsing, out=key)
    return np.bincount(key.ravel(), minlength=n_labels * n_vals).reshape(n_labels, n_vals)


def _classify(hist: np.ndarray, num_labels: int, min_human_area: int, min_human_labels: int = 2):
    """Per label 0..K: area and whether the region is a human (>= 2 parsing values, area > min)."""
    counts = np.zeros((num_labels + 1, hist.shape[1]), dtype=hist.dtype)
    k = min(num_labels + 1, hist.shape[0])
    counts[:k] = hist[:k]
    area = counts.sum(axis=1)
    is_human = ((counts > 0).sum(axis=1) >= min_human_labels) & (area > min_human_area)
    is_human[0] = False
    return area, is_human


def region_merge(
    regions: np.ndarray,
    parsing: np.ndarray,
    num_labels: int,
    *,
    border_pad: int,
    min_human_area: int = 30,
    min_human_labels: int = 2,
    probe_dist: int = 2,
    hist: Optional[np.ndarray] = None,
) -> np.ndarray:
    """One call of ``region_merge.m``: returns the new region map (labels 1..``num_labels`` visited).

    Labels above ``num_labels`` are neither humans nor parts (MATLAB only loops up to it).
    ``border_pad > 0`` adds the border fill of the first call. ``hist`` is
    :func:`label_histogram` of the input, when the caller already has it.
    """
    h, w = regions.shape
    d = max(int(probe_dist), 1)
    if hist is None:
        hist = label_histogram(regions, parsing)
    cur = np.zeros((h + 2 * d, w + 2 * d), dtype=np.int32)
    cur[d:-d, d:-d] = regions
    area, is_human = _classify(hist, num_labels, min_human_area, min_human_labels)
    part_labels = np.flatnonzero((area > 0) & ~is_human)
    part_labels = part_labels[part_labels > 0]
    if part_labels.size:
        above = hist.shape[0] > num_labels + 1 and hist[num_labels + 1 :].any()
        frozen = np.where(regions <= num_labels, regions, 0) if above else regions
        _merge_parts(cur, frozen.astype(np.int32, copy=False), part_labels, is_human, d)
    out = cur[d:-d, d:-d].copy()
    if border_pad > 0:
        border_fill(out, border_pad)
    return out


def _merge_parts(cur, frozen, part_labels, is_human, d) -> None:
    """The sequential loop over parts of ``region_merge.m``; updates ``cur`` (padded) in place."""
    h, w = frozen.shape
    wp = w + 2 * d
    masks = _PartMasks(frozen, part_labels, d)
    frozen_p = np.zeros_like(cur)
    frozen_p[d:-d, d:-d] = frozen
    cur_f = cur.ravel()
    frz_f = frozen_p.ravel()
    probes = np.array([-d * wp, -d, d * wp, d], dtype=np.int64)  # up, left, down, right
    # members[i]: frozen labels forming part i's mask; owners[L]: parts whose mask holds label L.
    members = [[int(lab)] for lab in part_labels]
    owners: Dict[int, List[int]] = {int(lab): [i] for i, lab in enumerate(part_labels)}
    in_mask = np.zeros(int(frozen.max()) + 2, dtype=bool)
    for i in range(len(members)):
        pix = masks.pixels(members[i])
        in_mask[members[i]] = True
        boundary = part_boundary(pix, frz_f, in_mask, wp)
        in_mask[members[i]] = False
        lab = cur_f[boundary]
        vals = cur_f[boundary[:, None] + probes[None, :]]
        valid = (vals > 0) & (vals != lab[:, None])
        has = valid.any(axis=1)
        if not has.any():
            continue
        boundary, lab = boundary[has], lab[has]
        probe = boundary + probes[valid[has].argmax(axis=1)]
        hit_label = frz_f[probe]
        target = _later_part(hit_label, owners, i)
        hit = is_human[hit_label] | (target >= 0)
        if not hit.any():
            continue
        j = int(np.argmax(hit))
        if target[j] >= 0:
            q = int(target[j])
            cur_f[masks.pixels(members[q])] = lab[j]
            for m in members[i]:
                if m not in members[q]:
                    members[q].append(m)
                owners[m].append(q)
        else:
            cur_f[pix] = hit_label[j]


def _later_part(hit_label: np.ndarray, owners: Dict[int, List[int]], i: int) -> np.ndarray:
    """For each probed frozen label, the first part after ``i`` whose mask holds it, else -1."""
    target = np.full(hit_label.shape, -1, dtype=np.int64)
    for lab in np.unique(hit_label):
        later = [q for q in owners.get(int(lab), ()) if q > i]
        if later:
            target[hit_label == lab] = min(later)
    return target


def border_fill(regions: np.ndarray, pad: int) -> None:
    """Border fill of ``region_merge.m`` (in place): extend labels into zeros near the borders.

    Rows first (right end, then left end), then columns (bottom, then top). The right sweep runs
    over columns W-pad-1 .. W (1-based) when column W-pad is labelled, each zero taking its left
    neighbour; the others are symmetric. MATLAB would fail on images of at most ``pad + 2`` pixels
    along an axis; here the sweeps are clipped to the image.
    """
    _fill_ends(regions, pad)
    _fill_ends(regions.T, pad)


def _fill_ends(m: np.ndarray, pad: int) -> None:
    """The row pass of the border fill on ``m`` (a view; the column pass uses the transpose)."""
    n = m.shape[1]
    if 0 <= n - pad - 1 < n:
        rows = np.flatnonzero(m[:, n - pad - 1] != 0)
        for c in range(max(n - pad - 2, 1), n):
            col = m[rows, c]
            m[rows, c] = np.where(col == 0, m[rows, c - 1], col)
    if 0 <= pad - 1 < n:
        rows = np.flatnonzero(m[:, pad - 1] != 0)
        for c in range(min(pad - 2, n - 2), -1, -1):
            col = m[rows, c]
            m[rows, c] = np.where(col == 0, m[rows, c + 1], col)


def _num_labels_faithful(hist: np.ndarray) -> int:
    """``length(unique(map)) - 1``: assumes a background pixel exists, as MATLAB does."""
    return int((hist.sum(axis=1) > 0).sum()) - 1


def _compact(regions: np.ndarray, hist: np.ndarray) -> tuple:
    """Relabel the present labels 1..K keeping their order; returns (map, its histogram, K)."""
    present = hist.sum(axis=1) > 0
    present[0] = False
    k = int(present.sum())
    lut = np.zeros(present.size, dtype=np.int32)
    lut[present] = np.arange(1, k + 1, dtype=np.int32)
    return lut[regions], np.concatenate([hist[:1], hist[present]]), k


def merge_to_fixed_point(
    regions: np.ndarray,
    num_regions: int,
    parsing: np.ndarray,
    *,
    faithful: bool,
    border_pad: int = 10,
    min_human_area: int = 30,
    min_human_labels: int = 2,
    probe_dist: int = 2,
    max_iter: int = 1000,
) -> np.ndarray:
    """``search.m``'s merge loop: one call with the border fill, then calls until the count is stable.

    Faithful: the count is ``len(unique) - 1`` and labels are never compacted, so labels above
    the count are skipped. Clean: labels are compacted before every call (every region is
    visited) and background pixels painted by the border fill are cleared again.
    """
    kw = dict(min_human_area=min_human_area, min_human_labels=min_human_labels, probe_dist=probe_dist)
    out = region_merge(regions, parsing, num_regions, border_pad=border_pad, **kw)
    if not faithful:
        out[parsing == 0] = 0
    n_prev = num_regions
    for _ in range(max_iter):
        hist = label_histogram(out, parsing)
        if faithful:
            count = _num_labels_faithful(hist)
        else:
            out, hist, count = _compact(out, hist)
        if count == n_prev:
            return out
        n_prev = count
        out = region_merge(out, parsing, count, border_pad=0, hist=hist, **kw)
    logger.warning("region merge did not reach a fixed point in %d iterations", max_iter)
    return out
