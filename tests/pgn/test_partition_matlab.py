"""Each primitive of the faithful PGN partition against a slow MATLAB-semantics reference.

The references (``tests/pgn/matlab_reference.py``) follow MATLAB's documented behaviour: look-up
table morphology with pixels outside the image taken as 0, ``imgradient`` with replicated
borders, column-major ``find``, the loops of ``search.m``/``bfs.m``/``region_merge.m``. The
random maps have edges and parts on all four frame sides, where MATLAB, Octave and OpenCV differ.
"""

import numpy as np
import pytest

from pgn.partition import partition_instances
from pgn.partition._edges import close_edges, extend_to_border, thin_edges
from pgn.partition._grouping import group_segments
from pgn.partition._merge import _PartMasks, border_fill, part_boundary, region_merge
from pgn.partition._parts import label_gradient_edges, part_instances
from tests.pgn import matlab_reference as ref

SIZES = [(3, 3), (4, 9), (7, 5), (12, 12), (23, 31), (40, 17), (36, 48)]


def _maps(seed, count=3, **kw):
    rng = np.random.default_rng(seed)
    for h, w in SIZES:
        for _ in range(count):
            yield ref.frame_touching_map(rng, h, w, **kw)


# ---------------------------------------------------------------------------------- bwmorph close


def test_closing_clears_the_frame_like_matlab_hand_example():
    # Two edge pixels one apart, inside the image: the closing bridges them. The same pair on the
    # top frame row is erased: MATLAB's erosion sees 0 above the frame.
    b = np.zeros((5, 6), bool)
    b[2, 1] = b[2, 3] = True
    expected = np.zeros((5, 6), bool)
    expected[2, 1:4] = True
    assert np.array_equal(close_edges(b), expected)
    top = np.zeros((5, 6), bool)
    top[0, 1] = top[0, 3] = True
    assert not close_edges(top).any()
    # A full frame ring disappears: every ring pixel has an outside neighbour.
    ring = np.zeros((6, 6), bool)
    ring[0], ring[-1], ring[:, 0], ring[:, -1] = True, True, True, True
    assert not close_edges(ring).any()
    # clear_frame=False (clean mode) pads the erosion with 1: frame pixels stay and are bridged;
    # (0, 0) joins too, its outside neighbours counting as edge.
    kept = close_edges(top, clear_frame=False)
    assert kept[0, 0:4].all() and kept.sum() == 4


@pytest.mark.parametrize("seed", [0, 1])
def test_closing_equals_matlab_reference(seed):
    for bw in _maps(seed, density=0.1):
        expected = ref.bwmorph_close_inf(bw)
        assert not (expected[0].any() or expected[-1].any() or expected[:, 0].any() or expected[:, -1].any())
        assert np.array_equal(close_edges(bw), expected)


def test_clean_closing_is_extensive_and_idempotent():
    for bw in _maps(2, count=2):
        out = close_edges(bw, clear_frame=False)
        assert not (bw & ~out).any()
        assert np.array_equal(close_edges(out, clear_frame=False), out)


# ----------------------------------------------------------------------------------- bwmorph thin


@pytest.mark.parametrize("seed", [3, 4])
def test_thinning_equals_matlab_reference(seed):
    for bw in _maps(seed, density=0.15):
        assert np.array_equal(thin_edges(bw), ref.bwmorph_thin_inf(bw))


def test_thinning_of_frame_bands_keeps_a_line_on_the_frame():
    # A 2-px band along the left frame thins to one line, and zero padding keeps it connected.
    b = np.zeros((12, 8), bool)
    b[:, :2] = True
    out = thin_edges(b)
    assert np.array_equal(out, ref.bwmorph_thin_inf(b))
    assert out[:, :2].any(axis=1)[1:-1].all() and not out[:, 2:].any()


# --------------------------------------------------------------------------- bwmorph remove + find


@pytest.mark.parametrize("seed", [5, 6])
def test_part_boundary_equals_remove_in_find_order(seed):
    rng = np.random.default_rng(seed)
    for bw in _maps(seed, density=0.2):
        h, w = bw.shape
        # The mask is the union of random labels 1 and 3 of a map with labels 1..3 (merged parts).
        frozen = np.where(bw, rng.integers(1, 4, bw.shape), 0).astype(np.int32)
        present = np.unique(frozen[frozen > 0])
        members = [m for m in (1, 3) if m in present]
        if not members:
            continue
        mask = np.isin(frozen, members)
        d = 2
        pix = _PartMasks(frozen, present, d).pixels(members)
        padded = np.zeros((h + 2 * d, w + 2 * d), np.int32)
        padded[d:-d, d:-d] = frozen
        inside = np.array([False, True, False, True])
        got = part_boundary(pix, padded.ravel(), inside, w + 2 * d)
        rows, cols = ref.find_colmajor(ref.bwmorph_remove(mask))
        assert np.array_equal(got, (rows + d) * (w + 2 * d) + cols + d)


# -------------------------------------------------------------------------------------- imgradient


def test_label_gradient_equals_imgradient_reference():
    rng = np.random.default_rng(7)
    for h, w in SIZES:
        for _ in range(3):
            lab = ref.frame_touching_labels(rng, h, w)
            assert np.array_equal(label_gradient_edges(lab), ref.imgradient_nonzero(lab))
    # Replicated borders: a constant label touching the frame has no gradient there.
    assert not label_gradient_edges(np.full((5, 7), 9, np.uint8)).any()


# ------------------------------------------------------------------ border rules, scans and BFS


def _skeleton_and_fg(rng, h, w):
    skeleton = ref.bwmorph_thin_inf(ref.frame_touching_map(rng, h, w, density=0.06))
    if rng.random() < 0.5:  # frame pixels, as the extension and clean mode produce them
        skeleton |= ref.frame_touching_map(rng, h, w, density=0.0, blob=False)
    fg = ref.frame_touching_labels(rng, h, w) > 0
    return skeleton, fg


@pytest.mark.parametrize("seed", [8, 9])
def test_border_extension_and_grouping_equal_the_scans_and_bfs(seed):
    rng = np.random.default_rng(seed)
    for h, w in SIZES + [(30, 45), (52, 33)]:
        for _ in range(3):
            skeleton, fg = _skeleton_and_fg(rng, h, w)
            mv, mh, b1_ref, b2_ref = ref.search_scans(fg.astype(np.uint8), skeleton)
            b1, b2 = extend_to_border(skeleton, 10)
            assert np.array_equal(b1, b1_ref) and np.array_equal(b2, b2_ref)
            regions, n = group_segments(fg, b1, b2)
            comb, n_ref = ref.bfs(mh, mv)
            assert n == n_ref and np.array_equal(regions, comb)


@pytest.mark.parametrize("seed", [10, 11])
def test_border_fill_and_region_merge_equal_reference(seed):
    rng = np.random.default_rng(seed)
    for h, w in [(24, 24), (30, 45), (52, 33), (41, 60)]:
        for _ in range(3):
            skeleton, _ = _skeleton_and_fg(rng, h, w)
            parsing = ref.frame_touching_labels(rng, h, w)
            mv, mh, _, _ = ref.search_scans(parsing, skeleton)
            comb, n = ref.bfs(mh, mv)
            filled = comb.astype(np.int32)
            border_fill(filled, 10)
            assert np.array_equal(filled, ref.border_fill(comb.copy(), 10))
            for pad in (10, 0):
                got = region_merge(comb.astype(np.int32), parsing, n, border_pad=pad)
                assert np.array_equal(got, ref.region_merge(comb, parsing, n, pad))


# ----------------------------------------------------------------------------- the whole partition


@pytest.mark.parametrize("seed", [12, 13])
def test_faithful_partition_equals_reference_on_frame_touching_maps(seed):
    rng = np.random.default_rng(seed)
    for h, w in [(25, 30), (34, 34), (48, 29), (40, 56)]:
        for _ in range(2):
            parsing = ref.frame_touching_labels(rng, h, w)
            edge = np.where(ref.frame_touching_map(rng, h, w, density=0.05), rng.uniform(0.2, 1, (h, w)), 0.0)
            score = rng.normal(3.0, 1.0, (h, w)).astype(np.float32)
            res = partition_instances(parsing, edge, score)
            human = ref.search(parsing, edge)
            assert np.array_equal(res.human_map, human)
            inst, classes, scores = ref.part_instances(parsing, human, edge, score)
            assert np.array_equal(res.part_instance_map, inst)
            assert np.array_equal(res.part_classes, classes)
            np.testing.assert_allclose(res.part_scores, scores, rtol=1e-6)


def test_part_instances_equal_reference_with_saturated_ids():
    # More than 255 people: MATLAB's uint8 PNG saturates the ids the part stage reads back.
    rng = np.random.default_rng(14)
    h, w = 40, 60
    parsing = ref.frame_touching_labels(rng, h, w)
    human = rng.integers(0, 300, (h, w))
    edge = rng.random((h, w)) * (rng.random((h, w)) < 0.3)
    score = rng.normal(3.0, 1.0, (h, w)).astype(np.float32)
    inst, classes, scores = part_instances(parsing, human, edge, score, faithful=True)
    inst_r, classes_r, scores_r = ref.part_instances(parsing, human, edge, score)
    assert np.array_equal(inst, inst_r) and np.array_equal(classes, classes_r)
    np.testing.assert_allclose(scores, scores_r, rtol=1e-6)
