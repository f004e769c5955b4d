"""Edge skeleton of the PGN partition: threshold, closing, thinning, border extension.

Port of the first lines of ``instance_tool/search.m`` (methods.md §3.8 Stage A steps 1-3):
``bwmorph(E >= t, 'close', inf)`` then ``bwmorph(., 'thin', inf)``, then the extension of edge
pixels close to the bottom and right borders. Border handling follows MATLAB (pixels outside the
image are 0 in every look-up-table operation), not Octave or OpenCV.
"""

from typing import Tuple

import cv2
import numpy as np

__all__ = ["close_edges", "thin_edges", "edge_skeleton", "extend_to_border"]


def close_edges(edge: np.ndarray, size: int = 3, clear_frame: bool = True) -> np.ndarray:
    """``size``×``size`` closing (dilation, then erosion) of a binary map (official: 3).

    ``clear_frame=True`` is MATLAB's ``bwmorph(bw, 'close', inf)``: both steps are 3×3
    ``bwlookup`` passes, which take every pixel outside the image as 0, so the erosion clears the
    ``size // 2``-pixel image frame whatever the input. Repeating it changes nothing (with zero
    padding X1 = ε(δ(X0)) lies in ε(image), so δ(X1) stays inside the image and εδε = ε), so
    one pass is ``inf``.
    ``clear_frame=False`` pads the erosion with 1 (``imclose``, Octave's ``bwmorph``, OpenCV's
    default): an extensive, idempotent closing that keeps edge pixels on the frame.
    """
    kernel = np.ones((size, size), dtype=np.uint8)
    img = edge.astype(np.uint8)
    if not clear_frame:
        return cv2.morphologyEx(img, cv2.MORPH_CLOSE, kernel).astype(bool)
    dilated = cv2.dilate(img, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return cv2.erode(dilated, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


def _thin_luts() -> Tuple[np.ndarray, np.ndarray]:
    """Deletion tables of the two sub-iterations of MATLAB's ``thin`` (Lam, Lee & Suen 1992, p. 879).

    A neighbourhood code has bit k-1 set when neighbour x_k is on; x1..x8 run counter-clockwise
    from east (E, NE, N, NW, W, SW, S, SE). Conditions G1 (X_H = 1), G2 (2 <= min(n1, n2) <= 3),
    G3 for the first sub-iteration and G3' for the second.
    """
    codes = np.arange(256)
    x = [(codes >> k) & 1 for k in range(8)]  # x[0] is x1 … x[7] is x8
    xk = lambda k: x[(k - 1) % 8]  # noqa: E731  (1-based, cyclic: x9 = x1)
    x_h = sum(((1 - xk(2 * i - 1)) & (xk(2 * i) | xk(2 * i + 1))) for i in range(1, 5))
    n1 = sum((xk(2 * k - 1) | xk(2 * k)) for k in range(1, 5))
    n2 = sum((xk(2 * k) | xk(2 * k + 1)) for k in range(1, 5))
    g12 = (x_h == 1) & (np.minimum(n1, n2) >= 2) & (np.minimum(n1, n2) <= 3)
    g3 = ((xk(2) | xk(3) | (1 - xk(8))) & xk(1)) == 0
    g3p = ((xk(6) | xk(7) | (1 - xk(4))) & xk(5)) == 0
    return g12 & g3, g12 & g3p


_LUT_A, _LUT_B = _thin_luts()


def thin_edges(edge: np.ndarray) -> np.ndarray:
    """MATLAB ``bwmorph(bw, 'thin', inf)`` (zero padding), same result as ``skimage.morphology.thin``.

    Each sub-iteration decides all deletions in parallel from the state before it. After the first
    pass only pixels whose 8-neighbourhood changed since the same sub-iteration last ran can change
    their decision, so only those are re-examined: the work follows the shrinking front.
    """
    h, w = edge.shape
    wp = w + 2
    img = np.zeros((h + 2, wp), dtype=np.uint8)
    img[1:-1, 1:-1] = edge
    flat = img.ravel()
    offs = np.array([1, -wp + 1, -wp, -wp - 1, -1, wp - 1, wp, wp + 1], dtype=np.int64)
    ring = np.concatenate([offs, [0]])
    # deleted[s]: pixels removed by sub-iteration s the last time it ran.
    deleted = [np.empty(0, np.int64), np.empty(0, np.int64)]
    first_pass = True
    while True:
        for s, lut in enumerate((_LUT_A, _LUT_B)):
            if first_pass:
                cand = np.flatnonzero(flat)
            else:
                # Deletions since s last ran: its own last ones and the other sub-iteration's.
                touched = np.concatenate(deleted)
                near = np.unique((touched[:, None] + ring[None, :]).ravel())
                cand = near[flat[near] == 1]
            # Bit k of the code is neighbour x_(k+1): pack the 8 gathered 0/1 bytes little-endian.
            code = np.packbits(flat[cand[:, None] + offs[None, :]], axis=1, bitorder="little")[:, 0]
            deleted[s] = cand[lut[code]]
            flat[deleted[s]] = 0
        first_pass = False
        if deleted[0].size == 0 and deleted[1].size == 0:
            break
    return img[1:-1, 1:-1].astype(bool)


def edge_skeleton(
    edge_prob: np.ndarray, edge_thresh: float, close_size: int = 3, clear_frame: bool = True
) -> np.ndarray:
    """Thresholded (``>= edge_thresh``), closed and thinned edge map, (H, W) bool.

    ``clear_frame``: MATLAB's closing, which empties the image frame (see :func:`close_edges`).
    """
    return thin_edges(close_edges(edge_prob >= edge_thresh, close_size, clear_frame))


def extend_to_border(edge: np.ndarray, border_pad: int) -> Tuple[np.ndarray, np.ndarray]:
    """The border extension of ``search.m``'s two scans, as (B1, B2).

    Vertical scan: in each column, an edge pixel within ``border_pad`` rows of the bottom turns
    every pixel below it into edge (B1, the map of the vertical scan). Horizontal scan: in each row
    of B1, an edge pixel within ``border_pad`` columns of the right border turns every pixel right
    of it into edge (B2, the map of the horizontal scan). MATLAB modifies the map in place, so B2
    builds on B1.
    """
    h, w = edge.shape
    b1 = edge.copy()
    r0 = max(h - border_pad, 0)
    b1[r0:] = np.logical_or.accumulate(b1[r0:], axis=0)
    b2 = b1.copy()
    c0 = max(w - border_pad, 0)
    b2[:, c0:] = np.logical_or.accumulate(b2[:, c0:], axis=1)
    return b1, b2
