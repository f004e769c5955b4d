"""PGN instance partition (pgn.partition): hand-built maps with hand-worked expected values.

Coordinates are 0-based (row, col). With the official constants (edge threshold 0.2, border pad
10, human = >= 2 labels and > 30 pixels, probes at distance 2) the border fill acts on the
rows/columns whose pixel at index W-11 / 9 (resp. H-11 / 9) is labelled; most maps below keep
people away from those lines unless the test is about the border.
"""

import importlib.util
import os

import numpy as np
import pytest
import scipy.io
from PIL import Image

from pgn.partition import PartitionResult, partition_instances, person_part_maps
from pgn.partition._edges import thin_edges
from pgn.partition.io import format_matlab_float, human_txt, part_txt
from tests.pgn import matlab_reference as ref

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _two_people(h=30, w=40):
    """A (rows 5..24, cols 5..19) and B (cols 20..34): class 2 on rows 5..14, class 5 below.

    A 1-px edge (probability 1) runs down column 20, B's first column.
    """
    parsing = np.zeros((h, w), np.uint8)
    parsing[5:15, 5:35] = 2
    parsing[15:25, 5:35] = 5
    edge = np.zeros((h, w), np.float64)
    edge[5:25, 20] = 1.0
    return parsing, edge


# ---------------------------------------------------------------- morphology (see test_partition_matlab.py)


def test_thinning_keeps_lines_and_thins_bars():
    line = np.zeros((10, 10), bool)
    line[2:8, 4] = True
    assert np.array_equal(thin_edges(line), line)
    bar = np.zeros((9, 9), bool)
    bar[2:7, 3:6] = True  # 5x3 bar -> one connected 1-px stroke inside it
    out = thin_edges(bar)
    assert out.sum() < bar.sum() and not (out & ~bar).any()
    assert out[:, 4].sum() == out.sum()  # a vertical stroke on the middle column


def test_thinning_matches_skimage_on_random_blobs():
    from scipy import ndimage
    from skimage.morphology import thin

    rng = np.random.default_rng(0)
    for _ in range(5):
        b = ndimage.binary_dilation(rng.random((40, 50)) > 0.97, iterations=2) | (rng.random((40, 50)) > 0.92)
        assert np.array_equal(thin_edges(b), thin(b))


# ---------------------------------------------------------------- people


def test_edge_splits_touching_people_faithful():
    parsing, edge = _two_people()
    res = partition_instances(parsing, edge, np.full(parsing.shape, 2.0, np.float32))
    hm = res.human_map
    # A (300 px) is larger than B (280 px), so A is person 1. The border fill paints the
    # background: A grows to rows 0..29 x cols 0..19, B to rows 0..29 x cols 21..39.
    assert np.all(hm[:, :20] == 1) and np.all(hm[:, 21:] == 2)
    assert np.all(hm[:, 20] == 0)  # the thinned edge never gets an id
    np.testing.assert_array_equal(res.human_scores, [600.0, 570.0])
    # Parts: (class 2, A), (2, B), (5, A), (5, B); A's parts 150 px, B's 140 px. Every non-zero
    # combined-edge pixel inside them is a Sobel pixel of value 1 (the edge column is in no part),
    # so edge_score = 1 and score = area * 2.0.
    np.testing.assert_array_equal(res.part_classes, [2, 2, 5, 5])
    np.testing.assert_allclose(res.part_scores, [300.0, 280.0, 300.0, 280.0])
    assert res.part_instance_map[10, 10] == 1 and res.part_instance_map[10, 30] == 2
    assert res.part_instance_map[20, 10] == 3 and res.part_instance_map[20, 30] == 4
    assert res.part_instance_map[0, 0] == 0  # painted background is class 0: no part


def test_edge_splits_touching_people_clean():
    parsing, edge = _two_people()
    res = partition_instances(parsing, edge, np.full(parsing.shape, 2.0, np.float32), mode="clean")
    hm = res.human_map
    assert np.all(hm[parsing == 0] == 0)  # no painted background
    # The edge column goes to the left neighbour (same class; sweep order up, left, down, right).
    assert np.all(hm[5:25, 5:21] == 1) and np.all(hm[5:25, 21:35] == 2)
    np.testing.assert_array_equal(res.human_scores, [320.0, 280.0])
    # A's parts now hold column 20 (edge probability 1): 160 px, 48 pixels with edge > 0 summing
    # to 50 (two of them are both a Sobel pixel and an edge pixel): 160 * 2 * 50 / 48.
    np.testing.assert_allclose(res.part_scores, [160 * 2 * 50 / 48, 280.0, 160 * 2 * 50 / 48, 280.0])


def test_fragment_merges_into_its_person():
    parsing = np.zeros((50, 50), np.uint8)
    parsing[12:22, 12:32] = 2
    parsing[22:32, 12:32] = 5
    parsing[20:22, 33:35] = 13  # 2x2 fragment, one background column (32) away
    res = partition_instances(parsing, np.zeros((50, 50)))
    assert res.num_humans == 1
    np.testing.assert_array_equal(res.human_scores, [404.0])
    assert np.all(res.human_map[20:22, 33:35] == 1) and np.all(res.human_map[20:22, 32] == 0)


def test_fragment_too_far_stays_its_own_person():
    parsing = np.zeros((50, 50), np.uint8)
    parsing[12:22, 12:32] = 2
    parsing[22:32, 12:32] = 5
    parsing[20:22, 34:36] = 13  # two background columns away: the probes (distance 2) miss it
    res = partition_instances(parsing, np.zeros((50, 50)))
    np.testing.assert_array_equal(res.human_scores, [400.0, 4.0])
    assert np.all(res.human_map[20:22, 34:36] == 2)


def test_piece_cut_off_by_a_spurious_edge_rejoins_and_gap_is_filled_in_clean():
    parsing = np.zeros((50, 50), np.uint8)
    parsing[12:17, 12:32] = 2
    parsing[17:32, 12:32] = 5
    edge = np.zeros((50, 50))
    edge[14, 10:34] = 0.9  # cuts rows 12..13 (class 2 only: a "part") from the rest
    faithful = partition_instances(parsing, edge)
    np.testing.assert_array_equal(faithful.human_scores, [380.0])
    assert np.all(faithful.human_map[12:14, 12:32] == 1)
    assert np.all(faithful.human_map[14, 12:32] == 0)  # the 1-px gap of the official output
    clean = partition_instances(parsing, edge, mode="clean")
    np.testing.assert_array_equal(clean.human_scores, [400.0])
    assert np.all(clean.human_map[parsing > 0] == 1)


def test_foreground_covered_by_edges_is_unlabelled_faithful_nearest_person_clean():
    parsing = np.zeros((50, 50), np.uint8)
    parsing[12:22, 12:32] = 2
    parsing[22:32, 12:32] = 5
    parsing[15:25, 36] = 13  # a 1-px line of foreground, 4 columns right of the person...
    edge = np.zeros((50, 50))
    edge[15:25, 36] = 1.0  # ...entirely on an edge: it never gets a segment id
    faithful = partition_instances(parsing, edge)
    np.testing.assert_array_equal(faithful.human_scores, [400.0])
    assert np.all(faithful.human_map[15:25, 36] == 0)
    clean = partition_instances(parsing, edge, mode="clean")  # not 4-connected: nearest person
    np.testing.assert_array_equal(clean.human_scores, [410.0])
    assert np.all(clean.human_map[15:25, 36] == 1)


def _split_by_column(top, split, bottom, edge_rows):
    """40×40: class 2 on rows top..split-1 and class 5 on rows split..bottom-1 of cols 5..34, and
    an edge (probability 1) down column 20 over ``edge_rows`` (a slice)."""
    parsing = np.zeros((40, 40), np.uint8)
    parsing[top:split, 5:35] = 2
    parsing[split:bottom, 5:35] = 5
    edge = np.zeros((40, 40))
    edge[edge_rows, 20] = 1.0
    return parsing, edge


def test_edge_near_bottom_border_is_extended():
    # A (cols 5..20) and B (cols 21..34) touch the bottom border; the edge down column 20 stops
    # 5 rows above it, but edge pixels within 10 rows of the bottom cut their whole column below.
    parsing, edge = _split_by_column(10, 20, 40, slice(10, 35))
    res = partition_instances(parsing, edge)
    # A = cols 5..19 (450 px) -> 1, B = cols 21..34 (420 px) -> 2; the fill paints cols 0..4
    # (A) and 35..39 (B) on rows 10..39; row 9 is empty so nothing is filled upwards.
    assert np.all(res.human_map[10:, :20] == 1) and np.all(res.human_map[10:, 21:] == 2)
    assert np.all(res.human_map[:10] == 0) and np.all(res.human_map[:, 20] == 0)
    np.testing.assert_array_equal(res.human_scores, [600.0, 570.0])
    clean = partition_instances(parsing, edge, mode="clean")
    np.testing.assert_array_equal(clean.human_scores, [480.0, 420.0])


def test_edge_reaching_the_top_frame_is_cut_faithful_kept_clean():
    # A (cols 5..19) and B (cols 20..34) stand on rows 0..29, cut by the top frame, split by an
    # edge down column 20 from the frame to row 29. MATLAB's closing erases the edge pixel on the
    # frame row, so row 0 joins A and B into one horizontal run: one person. Clean mode keeps
    # frame pixels in the closing: two people.
    parsing, edge = _split_by_column(0, 15, 30, slice(0, 30))
    faithful = partition_instances(parsing, edge)
    # 900 px minus the 29 edge pixels on rows 1..29, plus the border fill: cols 0..4 and 35..39
    # on rows 0..29 (300 px), and rows 30..39 under cols 0..19 and 21..39 (390 px).
    np.testing.assert_array_equal(faithful.human_scores, [1561.0])
    assert faithful.human_map[0, 20] == 1 and np.all(faithful.human_map[1:30, 20] == 0)
    clean = partition_instances(parsing, edge, mode="clean")
    assert clean.num_humans == 2
    assert np.all(clean.human_map[:30, 5:20] == 1) and np.all(clean.human_map[:30, 21:35] == 2)
    np.testing.assert_array_equal(clean.human_scores, [480.0, 420.0])  # A gets the edge column


def test_without_edges_people_are_regions_and_ties_go_to_the_later_region():
    parsing = np.zeros((60, 60), np.uint8)
    for c0 in (12, 30):  # A at cols 12..21, B at cols 30..39, 200 px each
        parsing[12:22, c0 : c0 + 10] = 2
        parsing[22:32, c0 : c0 + 10] = 5
    parsing[40:43, 12:15] = 13  # a lone 9-px blob: it cannot merge, so it is a person too
    res = partition_instances(parsing, np.zeros((60, 60)))
    # bfs.m inserts a region before older ones of equal size: B (found second) gets id 1.
    assert res.human_map[15, 35] == 1 and res.human_map[15, 15] == 2 and res.human_map[41, 13] == 3
    np.testing.assert_array_equal(res.human_scores, [200.0, 200.0, 9.0])


def test_skipped_labels_in_fixed_point_loop_faithful_vs_clean():
    # A: rows 10..29 x cols 3..20. P: 2x2 fragment under A (merges in the first call). Q: a
    # 2-px piece at column 0, cut from A by an edge in column 2 and a background column 1.
    # Region ids by size: A 1, P 2, Q 3. After the first call the border fill paints columns
    # 0..2 next to Q with A's id; the count drops to 2 (= 3 labels - 1), so the faithful loop
    # never looks at label 3 again and Q stays a person. Clean compacts the labels, visits Q,
    # and Q's probe at column 2 (foreground edge pixel, now A) merges it.
    parsing = np.zeros((40, 40), np.uint8)
    parsing[10:20, 3:21] = 2
    parsing[20:30, 3:21] = 5
    parsing[31:33, 10:12] = 13
    parsing[14:16, 0] = 13
    parsing[14:16, 2] = 13
    edge = np.zeros((40, 40))
    edge[13:17, 2] = 1.0
    faithful = partition_instances(parsing, edge)
    # Person 1 = A (360) + rows 10..29 x cols 0..2 except Q (58) + rows 30..39 x cols 0..20 (210).
    np.testing.assert_array_equal(faithful.human_scores, [628.0, 2.0])
    assert np.all(faithful.human_map[14:16, 0] == 2)
    clean = partition_instances(parsing, edge, mode="clean")
    np.testing.assert_array_equal(clean.human_scores, [368.0])
    assert np.all(clean.human_map[parsing > 0] == 1) and np.all(clean.human_map[parsing == 0] == 0)


def test_first_valid_probe_decides_even_when_it_cannot_merge():
    # H (rows 13..22 x cols 25..34) and A (rows 24..33 x cols 12..21) are humans of 100 px; A is
    # region 1 (tie: found later), H region 2. W (col 23, rows 22..24) is region 3, P (26, 23)
    # region 4. W merges into H through its first boundary pixel (22, 23), probe right. P's
    # probes: up (24, 23) is in W, now labelled H: valid, but W is an *earlier* part, so no
    # merge; the left probe (26, 21), in A, is never tried. The count then drops to 3 and label 4
    # is never revisited: P stays a person. Clean revisits it and the same probe now hits H.
    parsing = np.zeros((50, 50), np.uint8)
    parsing[13:18, 25:35], parsing[18:23, 25:35] = 2, 5
    parsing[24:29, 12:22], parsing[29:34, 12:22] = 2, 5
    parsing[22:25, 23] = 13
    parsing[26, 23] = 13
    faithful = partition_instances(parsing, np.zeros((50, 50)))
    np.testing.assert_array_equal(faithful.human_scores, [100.0, 103.0, 1.0])
    assert faithful.human_map[23, 23] == 2 and faithful.human_map[26, 23] == 3
    clean = partition_instances(parsing, np.zeros((50, 50)), mode="clean")
    np.testing.assert_array_equal(clean.human_scores, [100.0, 104.0])
    assert clean.human_map[26, 23] == 2


def test_part_without_edge_pixels_nan_in_faithful_defined_in_clean():
    # One class everywhere, no edges: one region, a "part" with no neighbour, filling the image.
    # imgradient with replicated borders is 0 everywhere, so edge_score = 0/0.
    parsing = np.full((20, 20), 5, np.uint8)
    faithful = partition_instances(parsing, np.zeros((20, 20)), np.ones((20, 20), np.float32))
    np.testing.assert_array_equal(faithful.human_scores, [400.0])
    np.testing.assert_array_equal(faithful.part_classes, [5])
    assert np.isnan(faithful.part_scores[0])
    clean = partition_instances(parsing, np.zeros((20, 20)), np.ones((20, 20), np.float32), mode="clean")
    np.testing.assert_array_equal(clean.part_scores, [0.0])
    clean1 = partition_instances(parsing, np.zeros((20, 20)), mode="clean", empty_edge_score=1.0)
    np.testing.assert_array_equal(clean1.part_scores, [400.0])


def test_uint8_edge_map_is_divided_by_255():
    parsing, edge = _two_people()
    png = np.round(edge * 255).astype(np.uint8)
    a = partition_instances(parsing, png)
    b = partition_instances(parsing, edge)
    assert np.array_equal(a.human_map, b.human_map)
    np.testing.assert_allclose(a.part_scores, b.part_scores)


def test_empty_image_and_bad_input():
    res = partition_instances(np.zeros((16, 16), np.uint8), np.zeros((16, 16)))
    assert isinstance(res, PartitionResult)
    assert res.num_humans == 0 and res.num_parts == 0 and not res.human_map.any()
    with pytest.raises(ValueError, match="mode"):
        partition_instances(np.zeros((4, 4), np.uint8), np.zeros((4, 4)), mode="exact")
    with pytest.raises(ValueError, match="shape"):
        partition_instances(np.zeros((4, 4), np.uint8), np.zeros((4, 5)))


def test_person_part_maps():
    parsing, edge = _two_people()
    res = partition_instances(parsing, edge, mode="clean")
    maps = person_part_maps(parsing, res.human_map)
    assert len(maps) == 2 and all(m.dtype == np.uint8 for m in maps)
    assert maps[0][10, 10] == 2 and maps[0][20, 20] == 5 and maps[0][10, 30] == 0
    assert maps[1][20, 30] == 5 and (maps[1] > 0).sum() == 280


# ---------------------------------------------------------------- literal MATLAB transcription
# tests/pgn/matlab_reference.py transcribes search.m / bfs.m / region_merge.m loop by loop (0-based),
# independently of the vectorised code: faithful mode must give the same maps on random inputs.


def _random_people(rng, h, w):
    """Overlapping two-class rectangles with noisy outline edges, plus stray fragments."""
    from scipy import ndimage

    parsing, inst = np.zeros((h, w), np.uint8), np.zeros((h, w), int)
    for k in range(1, rng.integers(2, 5)):
        r, c = rng.integers(-3, h - 5), rng.integers(-3, w - 5)
        hh, ww = rng.integers(6, h // 1.5), rng.integers(4, w // 2)
        parsing[max(r, 0) : r + hh, max(c, 0) : c + ww] = rng.choice([2, 13])
        parsing[max(r + hh // 3, 0) : r + hh, max(c, 0) : c + ww] = rng.choice([5, 9, 14])
        inst[max(r, 0) : r + hh, max(c, 0) : c + ww] = k
    for _ in range(rng.integers(0, 6)):
        r, c = rng.integers(0, h - 2), rng.integers(0, w - 2)
        parsing[r : r + rng.integers(1, 4), c : c + rng.integers(1, 4)] = rng.integers(1, 20)
    outline = np.zeros((h, w), bool)
    for k in range(1, inst.max() + 1):
        outline |= (inst == k) & ~ndimage.binary_erosion(inst == k)
    edge = np.where(outline & (rng.random((h, w)) > 0.1), rng.uniform(0.3, 1, (h, w)), 0.0)
    edge[rng.random((h, w)) > 0.98] = 0.6
    return parsing, edge


def test_faithful_equals_literal_matlab_transcription():
    rng = np.random.default_rng(7)
    for _ in range(30):
        h, w = rng.integers(20, 48, 2)
        parsing, edge = _random_people(rng, h, w)
        expected = ref.search(parsing, edge)
        res = partition_instances(parsing, edge)
        assert np.array_equal(res.human_map, expected)
        pairs = [
            (k, p)
            for k in range(1, 20)
            for p in range(1, expected.max() + 1)
            if ((parsing == k) & (expected == p)).any()
        ]
        assert res.part_classes.tolist() == [k for k, _ in pairs]
        for n, (k, p) in enumerate(pairs, start=1):
            assert np.array_equal(res.part_instance_map == n, (parsing == k) & (expected == p))


# ---------------------------------------------------------------- formats and CLI


def test_text_formats_follow_matlab_fprintf():
    assert human_txt(np.array([600.0, 7.0])) == "1, 600.000000\n1, 7.000000\n"
    assert part_txt(np.array([2, 14]), np.array([1.5, np.nan])) == "2 1.500000\n14 NaN\n"
    assert format_matlab_float(float("inf")) == "Inf" and format_matlab_float(-float("inf")) == "-Inf"


def _load_cli():
    spec = importlib.util.spec_from_file_location(
        "pgn_partition_cli", os.path.join(REPO, "tools", "pgn_partition.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_folder(root, img_id="0000001"):
    parsing, edge = _two_people()
    os.makedirs(os.path.join(root, "cihp_parsing_maps"))
    os.makedirs(os.path.join(root, "cihp_edge_maps"))
    os.makedirs(os.path.join(root, "list"))
    pal = Image.fromarray(parsing, mode="L").convert("P")  # palette PNG: indices must survive
    pal.putpalette([v for i in range(256) for v in (i * 7 % 256, i * 3 % 256, 255 - i)])
    pal.save(os.path.join(root, "cihp_parsing_maps", img_id + ".png"))
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(
        os.path.join(root, "cihp_parsing_maps", img_id + "_vis.png")
    )
    scipy.io.savemat(
        os.path.join(root, "cihp_parsing_maps", img_id + ".mat"), {"data": np.full((30, 40), 2.0, np.float32)}
    )
    Image.fromarray(np.round(edge * 255).astype(np.uint8)).save(
        os.path.join(root, "cihp_edge_maps", img_id + ".png")
    )
    with open(os.path.join(root, "list", "val_id.txt"), "w") as f:
        f.write(img_id + "\n")


def test_cli_round_trip(tmp_path, capsys):
    cli = _load_cli()
    _write_folder(str(tmp_path / "in"))
    out = str(tmp_path / "out")
    assert cli.main(["--input", str(tmp_path / "in"), "--output", out, "--jobs", "1"]) == 0
    with open(os.path.join(out, "cihp_human_maps", "0000001.txt")) as f:
        assert f.read() == "1, 600.000000\n1, 570.000000\n"
    with open(os.path.join(out, "cihp_instance_part_maps", "0000001.txt")) as f:
        assert f.read() == "2 300.000000\n2 280.000000\n5 300.000000\n5 280.000000\n"
    human = Image.open(os.path.join(out, "cihp_human_maps", "0000001.png"))
    assert human.mode == "P"
    hm = np.array(human)
    assert np.all(hm[:, :20] == 1) and np.all(hm[:, 20] == 0) and np.all(hm[:, 21:] == 2)
    part = np.array(Image.open(os.path.join(out, "cihp_instance_part_maps", "0000001.png")))
    assert part[10, 10] == 1 and part[20, 30] == 4
    assert not [
        n
        for d in ("cihp_human_maps", "cihp_instance_part_maps")
        for n in os.listdir(os.path.join(out, d))
        if n.startswith(".tmp")
    ]
    assert "1 images, 2 people, 4 part instances" in capsys.readouterr().out


def test_cli_names_the_missing_file(tmp_path, capsys):
    cli = _load_cli()
    _write_folder(str(tmp_path / "in"))
    missing = os.path.join(str(tmp_path / "in"), "cihp_parsing_maps", "0000001.mat")
    os.remove(missing)
    argv = ["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]
    assert cli.run_tool(cli.main, "pgn_partition", argv) == 2
    assert f"pgn_partition: error: {missing}: file not found" in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / "out" / "cihp_human_maps" / "0000001.png"))


def test_cli_names_an_unreadable_file(tmp_path, capsys):
    cli = _load_cli()
    _write_folder(str(tmp_path / "in"))
    bad = os.path.join(str(tmp_path / "in"), "cihp_edge_maps", "0000001.png")
    with open(bad, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n truncated")
    argv = ["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]
    assert cli.run_tool(cli.main, "pgn_partition", argv) == 2
    assert f"pgn_partition: error: {bad}: " in capsys.readouterr().err


def test_cli_parallel_matches_serial(tmp_path):
    cli = _load_cli()
    root = str(tmp_path / "in")
    _write_folder(root, "0000001")
    parsing, edge = _two_people()
    for img_id in ("0000002", "0000003"):  # same maps, different ids; list/ only names the first
        Image.fromarray(parsing).save(os.path.join(root, "cihp_parsing_maps", img_id + ".png"))
        Image.fromarray(np.round(edge * 255).astype(np.uint8)).save(
            os.path.join(root, "cihp_edge_maps", img_id + ".png")
        )
        scipy.io.savemat(
            os.path.join(root, "cihp_parsing_maps", img_id + ".mat"), {"data": np.ones((30, 40), np.float32)}
        )
    os.remove(os.path.join(root, "list", "val_id.txt"))  # without a list: every parsing PNG but *_vis
    for jobs, out in ((1, "serial"), (2, "parallel")):
        assert cli.main(["--input", root, "--output", str(tmp_path / out), "--jobs", str(jobs)]) == 0
    for d in ("cihp_human_maps", "cihp_instance_part_maps"):
        names = sorted(os.listdir(str(tmp_path / "serial" / d)))
        assert names == [f"000000{i}.{e}" for i in (1, 2, 3) for e in ("png", "txt")]
        for n in names:
            with open(str(tmp_path / "serial" / d / n), "rb") as a, open(
                str(tmp_path / "parallel" / d / n), "rb"
            ) as b:
                assert a.read() == b.read()
