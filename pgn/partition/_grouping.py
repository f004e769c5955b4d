"""Segment grouping of the PGN partition: the scans and breadth-first search of ``search.m``/``bfs.m``.

methods.md §3.8 Stage A steps 2-4. The MATLAB code labels every maximal vertical run of
foreground non-edge pixels (map V, on the edge map B1) and every maximal horizontal run (map Hm,
on B2), then runs a BFS from every pixel with V != 0 and Hm != 0 (row-major), joining up/down
neighbours of the same vertical run and left/right neighbours of the same horizontal run.

Vectorised equivalent used here:
  - Hm != 0 implies V != 0 (B2 contains B1), and two adjacent labelled pixels always share a run
    id, so on the pixels with Hm != 0 the BFS graph is plain 4-connectivity: ``ndimage.label``.
  - Pixels with V != 0 but Hm == 0 (only in the right ``border_pad`` columns, where B2 extends B1)
    have vertical links only. They join, and bridge, the components met by their vertical run.
    A run that holds no pixel with Hm != 0 is never reached by the BFS and stays 0.
  - ``bfs.m`` keeps regions sorted by size, descending, inserting a new region before older ones
    of equal size; regions are discovered in row-major order of their first seed pixel, which is
    the order of ``ndimage.label``'s numbers. So ties go to the later-discovered region first.
"""

from typing import Tuple

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["group_segments"]

_FOUR = ndimage.generate_binary_structure(2, 1)


def _bridge_vertical_runs(
    labels: np.ndarray, n: int, fg_v: np.ndarray, extra: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """Join components through vertical runs that contain pixels with V != 0 but Hm == 0.

    Returns ``comp`` ((n+1,) component id per 4-connected label, 0 for 0) and ``extra_comp`` (the
    component id of each ``extra`` pixel in row-major order, 0 when its run has no seed pixel).
    """
    cols = np.flatnonzero(extra.any(axis=0))
    sub = np.ascontiguousarray(fg_v[:, cols].T)  # one row per column: runs are contiguous
    starts = sub.copy()
    starts[:, 1:] &= ~sub[:, :-1]
    run = (np.cumsum(starts.ravel()) * sub.ravel()).reshape(sub.shape)
    n_runs = int(run.max())
    lab_t = labels[:, cols].T
    pair = (run > 0) & (lab_t > 0)
    # Graph nodes: 4-connected labels 0..n, then runs n+1..n+n_runs.
    rows = lab_t[pair]
    cols_g = run[pair] + n
    size = n + n_runs + 1
    graph = coo_matrix((np.ones(rows.size, np.int8), (rows, cols_g)), shape=(size, size))
    _, node_comp = connected_components(graph, directed=False)
    comp = node_comp[: n + 1].copy()
    has_seed = np.zeros(node_comp.max() + 1, dtype=bool)
    has_seed[node_comp[1 : n + 1]] = True
    # Component ids start at 1 for labelled regions; 0 stays background.
    comp_ids = np.zeros(node_comp.max() + 1, dtype=np.int64)
    seeded = np.flatnonzero(has_seed)
    comp_ids[seeded] = np.arange(1, seeded.size + 1)
    run_of_extra = np.zeros(fg_v.shape, dtype=np.int64)
    run_of_extra[:, cols] = run.T
    extra_run = run_of_extra[extra]
    extra_comp = comp_ids[node_comp[extra_run + n]]
    comp = comp_ids[comp]
    comp[0] = 0
    return comp, extra_comp


def group_segments(fg: np.ndarray, b1: np.ndarray, b2: np.ndarray) -> Tuple[np.ndarray, int]:
    """``bfs.m`` on the run maps of ``search.m``: (H, W) int32 regions labelled 1..N by size, and N.

    ``fg`` is ``parsing != 0``; ``b1``/``b2`` are the edge maps of the vertical and horizontal scans.
    """
    fg_v = fg & ~b1
    fg_h = fg & ~b2
    labels, n = ndimage.label(fg_h, structure=_FOUR)
    extra = fg_v & ~fg_h
    if n == 0:
        return np.zeros(fg.shape, dtype=np.int32), 0
    if extra.any():
        comp, extra_comp = _bridge_vertical_runs(labels, n, fg_v, extra)
        regions = comp[labels]
        regions[extra] = extra_comp
        n_comp = int(comp.max())
        # Discovery order: the smallest 4-connected label (first seed in row-major order).
        key = np.full(n_comp + 1, np.iinfo(np.int64).max)
        np.minimum.at(key, comp[1:], np.arange(1, n + 1))
    else:
        regions = labels
        n_comp = n
        key = np.arange(n_comp + 1)
    size = np.bincount(regions.ravel(), minlength=n_comp + 1)
    ids = np.arange(1, n_comp + 1)
    # Descending size; among equal sizes the later-discovered region first.
    order = ids[np.lexsort((-key[1:], -size[1:]))]
    rank = np.zeros(n_comp + 1, dtype=np.int32)
    rank[order] = np.arange(1, n_comp + 1, dtype=np.int32)
    return rank[regions], n_comp
