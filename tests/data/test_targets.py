"""Target generators against maps worked out by hand."""
import numpy as np

from human_parsing.data.targets import (
    gaussian_heatmaps,
    human_ids_from_person_maps,
    instance_edges,
    semantic_edges,
    tight_boxes,
)


def _rows(text):
    return np.array([[int(v) for v in line.split()] for line in text.strip().splitlines()])


def test_instance_edges_two_people_and_replicated_border():
    ids = _rows(
        """
        0 0 0 0 0 0 0 0 0 0
        0 1 1 1 2 2 2 0 0 0
        0 1 1 1 2 2 2 0 0 0
        0 1 1 1 2 2 2 0 0 0
        0 0 0 0 0 0 0 0 0 0
        0 0 0 0 0 0 0 0 0 0
        0 0 0 0 0 0 0 0 0 3
        """
    )
    # Both sides of every boundary (incl. diagonal contacts); the image border is not an edge
    # ('replicate' padding), so the bottom-right person 3 is marked only against background.
    expected = _rows(
        """
        1 1 1 1 1 1 1 1 0 0
        1 1 1 1 1 1 1 1 0 0
        1 1 0 1 1 0 1 1 0 0
        1 1 1 1 1 1 1 1 0 0
        1 1 1 1 1 1 1 1 0 0
        0 0 0 0 0 0 0 0 1 1
        0 0 0 0 0 0 0 0 1 1
        """
    )
    out = instance_edges(ids.astype(np.uint8))
    assert out.dtype == np.uint8 and np.array_equal(out, expected)


def test_instance_edges_sobel_cancellation_on_thin_line():
    # A 1-px vertical person: its own column has equal ids left and right, so the Sobel
    # response cancels (as in MATLAB); only the background columns beside it are marked.
    ids = np.zeros((4, 5), np.uint8)
    ids[:, 2] = 5
    assert instance_edges(ids).tolist() == [[0, 1, 0, 1, 0]] * 4
    # dilation by 1 px fills the line and reaches the border columns
    assert instance_edges(ids, dilation=1).tolist() == [[1, 1, 1, 1, 1]] * 4
    assert instance_edges(np.full((3, 3), 7)).sum() == 0


def test_semantic_edges_rules_and_dilation():
    label = _rows(
        """
        0 0 0 0
        0 1 1 0
        0 1 255 0
        0 0 0 0
        """
    ).astype(np.uint8)
    # lower of vertical pairs, left of horizontal, upper-left of diagonal, upper-right of
    # anti-diagonal; pairs touching 255 never mark
    expected = _rows(
        """
        1 1 1 1
        1 1 1 0
        1 1 0 0
        0 1 0 0
        """
    )
    assert np.array_equal(semantic_edges(label, kernel_size=1), expected)
    dilated = np.ones((4, 4), np.uint8)
    dilated[3, 3] = 0
    assert np.array_equal(semantic_edges(label), dilated)


def test_gaussian_heatmaps():
    kps = np.array([[10.0, 6.0, 2], [10.0, 6.0, 0], [-200.0, 5.0, 1], [47.0, 31.0, 1]])
    heat = gaussian_heatmaps(kps, (8, 12), stride=4, sigma=2.0)
    assert heat.shape == (4, 8, 12) and heat.dtype == np.float32
    # mu = (int(10/4 + .5), int(6/4 + .5)) = (3, 2)
    assert heat[0, 2, 3] == 1.0 and heat[0].max() == 1.0 and heat[0].argmax() == 2 * 12 + 3
    np.testing.assert_allclose(heat[0, 2, 4], np.exp(-1 / 8), rtol=1e-6)
    np.testing.assert_allclose(heat[0, 3, 5], np.exp(-5 / 8), rtol=1e-6)
    # window half-size 3 * sigma = 6 cells: column 9 is inside, column 10 outside
    assert heat[0, 2, 9] > 0 and heat[0, 2, 10] == 0
    assert heat[1].sum() == 0 and heat[2].sum() == 0  # invisible; window off the grid
    np.testing.assert_allclose(heat[3, 7, 11], np.exp(-2 / 8), rtol=1e-6)  # mu = (12, 8) off the grid


def test_human_ids_and_tight_boxes():
    maps = np.zeros((3, 4, 5), np.uint8)
    maps[0, 1:3, 0:2] = 5
    maps[1, 2:4, 1:4] = 7  # overlaps person 0 at (2, 1): later wins
    maps[1, 3, 3] = 255  # ignore does not count as a label
    ids = human_ids_from_person_maps(maps)
    assert ids.tolist() == [
        [0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 2, 2, 2, 0],
        [0, 2, 2, 0, 0],
    ]
    boxes = tight_boxes((maps > 0) & (maps != 255))
    assert boxes.tolist() == [[0, 1, 2, 3], [1, 2, 4, 4], [0, 0, 0, 0]]
