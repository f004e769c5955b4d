"""Slow reference implementations of the official PGN ``instance_tool`` with MATLAB's semantics.

Written from MATLAB's documented behaviour, independently of ``pgn.partition``, for the tests:
  - ``bwmorph`` operations are ``bwlookup`` passes over 3×3 neighbourhoods with every pixel
    outside the image taken as 0; the look-up tables are built as ``makelut`` does, by evaluating
    a rule on each of the 512 neighbourhoods (index weights ``[1 8 64; 2 16 128; 4 32 256]``);
  - ``'close'`` = dilation table then erosion table, ``'thin'`` = the two sub-iterations of
    Lam, Lee & Suen (1992), both repeated until the image stops changing (``n = Inf``);
  - ``'remove'`` keeps a pixel unless all four 4-neighbours are 1;
  - ``imgradient`` = hypot of the Sobel correlations with ``'replicate'`` padding;
  - ``find`` lists pixels in column-major order;
  - ``search.m``, ``bfs.m``, ``region_merge.m`` and ``generate_instance_part.m`` loop by loop
    (0-based indices).
"""

import numpy as np

_WEIGHTS = np.array([[1, 8, 64], [2, 16, 128], [4, 32, 256]])


# ---------------------------------------------------------------------------- bwlookup primitives
def makelut(rule) -> np.ndarray:
    """(512,) bool table: ``rule(nbhd)`` for the 3×3 neighbourhood of every MATLAB table index."""
    lut = np.zeros(512, bool)
    for idx in range(512):
        nbhd = ((idx // _WEIGHTS) % 2).astype(bool)
        lut[idx] = bool(rule(nbhd))
    return lut


def bwlookup(bw: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """MATLAB ``bwlookup`` with a 512-entry table: neighbourhood index with zero padding."""
    h, w = bw.shape
    p = np.zeros((h + 2, w + 2), np.int64)
    p[1:-1, 1:-1] = bw
    idx = np.zeros((h, w), np.int64)
    for dr in range(3):
        for dc in range(3):
            idx += _WEIGHTS[dr, dc] * p[dr : dr + h, dc : dc + w]
    return lut[idx]


def _neighbours(n):
    """x1..x8 of Lam, Lee & Suen: east, then counter-clockwise (NE, N, NW, W, SW, S, SE)."""
    return [None, n[1, 2], n[0, 2], n[0, 1], n[0, 0], n[1, 0], n[2, 0], n[2, 1], n[2, 2]]


def _thin_rule(second: bool):
    def rule(n):
        if not n[1, 1]:
            return False
        x = _neighbours(n)
        x = x + [x[1]]  # x9 = x1
        x_h = sum(1 for i in range(1, 5) if not x[2 * i - 1] and (x[2 * i] or x[2 * i + 1]))
        n1 = sum(1 for k in range(1, 5) if x[2 * k - 1] or x[2 * k])
        n2 = sum(1 for k in range(1, 5) if x[2 * k] or x[2 * k + 1])
        g1 = x_h == 1
        g2 = 2 <= min(n1, n2) <= 3
        if second:
            g3 = not ((x[6] or x[7] or not x[4]) and x[5])
        else:
            g3 = not ((x[2] or x[3] or not x[8]) and x[1])
        return not (g1 and g2 and g3)  # the pixel stays unless it is deleted

    return rule


LUT_DILATE = makelut(lambda n: n.any())
LUT_ERODE = makelut(lambda n: n.all())
LUT_REMOVE = makelut(lambda n: n[1, 1] and not (n[0, 1] and n[2, 1] and n[1, 0] and n[1, 2]))
LUT_THIN1 = makelut(_thin_rule(False))
LUT_THIN2 = makelut(_thin_rule(True))


def _until_stable(bw, step):
    bw = np.asarray(bw, bool)
    while True:
        nxt = step(bw)
        if np.array_equal(nxt, bw):
            return bw
        bw = nxt


def bwmorph_close_inf(bw):
    return _until_stable(bw, lambda b: bwlookup(bwlookup(b, LUT_DILATE), LUT_ERODE))


def bwmorph_thin_inf(bw):
    return _until_stable(bw, lambda b: bwlookup(bwlookup(b, LUT_THIN1), LUT_THIN2))


def bwmorph_remove(bw):
    return bwlookup(bw, LUT_REMOVE)


def find_colmajor(mask):
    """MATLAB ``[r, c] = find(mask)``: (rows, cols) in column-major order."""
    c, r = np.nonzero(np.asarray(mask).T)
    return r, c


def imgradient_nonzero(img):
    """``imgradient(img) > 0``: Sobel correlations with replicated borders, either one non-zero."""
    h, w = img.shape
    p = np.pad(np.asarray(img, np.float64), 1, mode="edge")
    sobel = -np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float64)  # -fspecial('sobel')
    gx, gy = np.zeros((h, w)), np.zeros((h, w))
    for dr in range(3):
        for dc in range(3):
            win = p[dr : dr + h, dc : dc + w]
            gy += sobel[dr, dc] * win
            gx += sobel.T[dr, dc] * win
    return np.hypot(gx, gy) > 0


# ---------------------------------------------------------------------------------------- search.m
def search_scans(parsing, skeleton, pad=10):
    """The two scans of ``search.m``: (V, Hm, B1, B2) with B1/B2 the edge map as each scan left it."""
    row, col = parsing.shape
    e = np.array(skeleton, int)
    maps, edges = [], []
    for axis in (0, 1):  # vertical scan (columns, rows), then horizontal (rows, columns)
        m, n = np.zeros((row, col), int), 0
        outer, inner = (col, row) if axis == 0 else (row, col)
        for a in range(outer):
            for b in range(inner):
                r, c = (b, a) if axis == 0 else (a, b)
                if e[r, c] == 1:
                    if (row - r - 1 if axis == 0 else col - c - 1) < pad:
                        if axis == 0:
                            e[r + 1 :, c] = 1
                        else:
                            e[r, c + 1 :] = 1
                    continue
                if parsing[r, c] != 0:
                    prev = (m[r - 1, c] if r > 0 else 0) if axis == 0 else (m[r, c - 1] if c > 0 else 0)
                    if prev:
                        m[r, c] = prev
                    else:
                        n += 1
                        m[r, c] = n
        maps.append(m)
        edges.append(e.astype(bool))
    return maps[0], maps[1], edges[0], edges[1]


def bfs(mh, mv):
    """``bfs.m``: region map labelled by size, descending (ties: the newer region first), and N."""
    row, col = mh.shape
    marked, regions = np.zeros((row, col), bool), []
    for i in range(row):
        for j in range(col):
            if not marked[i, j] and mh[i, j] and mv[i, j]:
                queue, reg = [(i, j)], []
                while queue:
                    x, y = queue.pop(0)
                    if marked[x, y]:
                        continue
                    marked[x, y] = True
                    reg.append((x, y))
                    for a, b, m in ((x - 1, y, mv), (x + 1, y, mv), (x, y - 1, mh), (x, y + 1, mh)):
                        if (
                            0 <= a < row
                            and 0 <= b < col
                            and m[a, b]
                            and m[a, b] == m[x, y]
                            and not marked[a, b]
                        ):
                            queue.append((a, b))
                regions.insert(sum(len(reg) < len(q) for q in regions), reg)
    comb = np.zeros((row, col), int)
    for k, reg in enumerate(regions):
        for x, y in reg:
            comb[x, y] = k + 1
    return comb, len(regions)


def border_fill(m, pad):
    """The ``padding > 0`` block of ``region_merge.m`` (in place): rows, then columns."""
    for mm in (m, m.T):
        n = mm.shape[1]
        for r in range(mm.shape[0]):
            if mm[r, n - pad - 1]:
                for c in range(n - pad - 2, n):
                    mm[r, c] = mm[r, c] or mm[r, c - 1]
            if mm[r, pad - 1]:
                for c in range(pad - 2, -1, -1):
                    mm[r, c] = mm[r, c] or mm[r, c + 1]
    return m


def region_merge(m, parsing, num, pad):
    """``region_merge.m``."""
    m, (row, col) = m.copy(), m.shape
    humans, parts = [], []
    for i in range(1, num + 1):
        reg = m == i
        if reg.any():
            (humans if len(np.unique(parsing[reg])) > 1 and reg.sum() > 30 else parts).append((i, reg))
    parts = [reg for _, reg in parts]
    for i, pi in enumerate(parts):
        merged = False
        for rr, cc in zip(*find_colmajor(bwmorph_remove(pi))):
            if merged:
                break
            for a, b in ((rr - 2, cc), (rr, cc - 2), (rr + 2, cc), (rr, cc + 2)):
                if 0 <= a < row and 0 <= b < col and m[a, b] > 0 and m[a, b] != m[rr, cc]:
                    cur = m[rr, cc]
                    for p in range(i + 1, len(parts)):
                        if parts[p][a, b]:
                            merged, m[parts[p]], parts[p] = True, cur, pi | parts[p]
                            break
                    for lab, hi in humans:
                        if hi[a, b]:
                            merged, m[pi] = True, lab
                            break
                    break
    if pad > 0:
        border_fill(m, pad)
    return m


def search(parsing, edge_prob, pad=10, thresh=0.2):
    """``search.m`` then the relabelling of ``generate_instance_human.m``: the human map 1..N."""
    skeleton = bwmorph_thin_inf(bwmorph_close_inf(edge_prob >= thresh))
    mv, mh, _, _ = search_scans(parsing, skeleton, pad)
    comb, num = bfs(mh, mv)
    refined = region_merge(comb, parsing, num, pad)
    while len(np.unique(refined)) - 1 != num:
        num = len(np.unique(refined)) - 1
        refined = region_merge(refined, parsing, num, 0)
    human = np.zeros(refined.shape, int)
    for k, lab in enumerate(lab for lab in range(1, refined.max() + 1) if (refined == lab).any()):
        human[refined == lab] = k + 1
    return human


def part_instances(parsing, human, edge_prob, score, num_classes=19):
    """``generate_instance_part.m``: (instance map, classes, scores in float64)."""
    human = np.minimum(human, 255)
    edge = imgradient_nonzero(parsing).astype(float) + edge_prob
    inst, classes, scores = np.zeros(parsing.shape, int), [], []
    for k in range(1, num_classes + 1):
        part_map = (parsing == k) * human
        for lab in np.unique(part_map):
            if lab == 0:
                continue
            sel = part_map == lab
            inst[sel] = len(classes) + 1
            with np.errstate(invalid="ignore"):
                edge_score = edge[sel].sum() / (edge[sel] > 0).sum()
            classes.append(k)
            scores.append(sel.sum() * score[sel].astype(np.float64).mean() * edge_score)
    return inst, np.array(classes, int), np.array(scores)


# ------------------------------------------------------------------------------- random test maps
def frame_touching_map(rng, h, w, density=0.08, blob=True):
    """Random (H, W) bool map whose pixels touch all four frame sides (lines, blobs, speckles)."""
    from scipy import ndimage

    bw = rng.random((h, w)) < density
    if blob:
        bw = ndimage.binary_dilation(bw, iterations=int(rng.integers(0, 3))) | (
            rng.random((h, w)) < density / 3
        )
    for side in range(4):  # a run of 1-3 px thickness on every side
        t, lo = int(rng.integers(1, 4)), int(rng.integers(0, (w if side % 2 == 0 else h) // 2))
        hi = lo + int(rng.integers(1, w if side % 2 == 0 else h))
        sl = {0: np.s_[:t, lo:hi], 1: np.s_[lo:hi, :t], 2: np.s_[h - t :, lo:hi], 3: np.s_[lo:hi, w - t :]}[
            side
        ]
        bw[sl] = True
    # lines from the frame into the image, 1 px wide, some of them diagonal
    for _ in range(int(rng.integers(1, 4))):
        r, c = int(rng.integers(0, h)), 0 if rng.random() < 0.5 else w - 1
        dr, dc = int(rng.integers(-1, 2)), 1 if c == 0 else -1
        for _ in range(int(rng.integers(2, w))):
            if not (0 <= r < h and 0 <= c < w):
                break
            bw[r, c] = True
            r, c = r + dr, c + dc
    return bw


def frame_touching_labels(rng, h, w, num_classes=20):
    """Random (H, W) uint8 label map of rectangles; every frame side is touched by a labelled part."""
    lab = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(2, 7))):
        r0, c0 = int(rng.integers(-3, h - 2)), int(rng.integers(-3, w - 2))
        lab[max(r0, 0) : r0 + int(rng.integers(2, h)), max(c0, 0) : c0 + int(rng.integers(2, w))] = (
            rng.integers(1, num_classes)
        )
    lab[0, int(rng.integers(0, w))] = rng.integers(1, num_classes)
    lab[-1, int(rng.integers(0, w))] = rng.integers(1, num_classes)
    lab[int(rng.integers(0, h)), 0] = rng.integers(1, num_classes)
    lab[int(rng.integers(0, h)), -1] = rng.integers(1, num_classes)
    speck = rng.random((h, w)) < 0.02
    lab[speck] = rng.integers(0, num_classes, int(speck.sum()))
    return lab
