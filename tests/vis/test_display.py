"""Readable pictures: integer upscaling to >= 512 px, legend beside the image listing only the
classes present, person labels that never overlap, and the input | parts | people panel."""
import numpy as np
import pytest

from human_parsing.data.label_spaces import get_label_space
from human_parsing.structures import PersonParsing
from human_parsing.vis import ParsingVisData, build_display_visualizer
from human_parsing.vis.display import (
    display_scale,
    draw_legend,
    legend_width,
    place_labels,
    scale_vis_data,
)

CIHP = get_label_space("cihp")
H, W = 60, 80


def _data(same_boxes=False):
    maps = np.zeros((3, H, W), np.uint8)
    maps[0, 30:50, 10:30] = 5  # upper-clothes
    maps[0, 30:36, 10:16] = 14  # left arm
    maps[1, 20:58, 55:75] = 2  # hair
    maps[2, 2:8, 40:44] = 18  # left shoe
    boxes = np.array([[10, 30, 30, 50], [55, 20, 75, 58], [40, 2, 44, 8]], np.float32)
    if same_boxes:
        boxes[:] = boxes[0]
    return ParsingVisData((H, W), maps.max(0), PersonParsing.from_full(maps), boxes,
                          np.array([0.9, 0.8, 0.7], np.float32))


def _swatch_colours(legend):
    """Distinct colours of the legend's swatch column (inside the white swatch border)."""
    col = legend[:, 12].reshape(-1, 3)
    return {tuple(int(v) for v in c) for c in col} - {(32, 32, 32), (255, 255, 255)}


def test_display_scale_is_the_smallest_integer_reaching_the_long_side():
    assert display_scale((192, 256), 512) == 2
    assert display_scale((60, 80), 512) == 7  # 6.4 -> 7
    assert display_scale((600, 800), 512) == 1
    assert display_scale((60, 80), 0) == 1


def test_scaled_data_repeats_labels_and_scales_boxes():
    d = scale_vis_data(_data(), 3)
    assert d.image_size == (180, 240) and d.parsing.shape == (180, 240)
    assert d.parsing[3 * 31 + 1, 3 * 11 + 2] == 14
    assert np.array_equal(d.person_parsing.full(0)[::3, ::3], _data().person_parsing.full(0))
    assert d.boxes[1].tolist() == [165, 60, 225, 174]


def test_legend_lists_only_present_classes_in_their_colours():
    legend = draw_legend([2, 5, 14], CIHP, 200)
    assert legend.shape == (200, legend_width(CIHP), 3)
    expected = {tuple(int(v) for v in CIHP.palette[c][::-1]) for c in (2, 5, 14)}
    assert _swatch_colours(legend) == expected
    assert _swatch_colours(draw_legend([], CIHP, 200)) == set()


def test_readable_overlay_is_upscaled_with_the_legend_beside():
    image = np.full((H, W, 3), 100, np.uint8)
    out = build_display_visualizer("parsing,instances,bbox", CIHP).visualize(image, _data())
    assert out.shape == (H * 7, W * 7 + legend_width(CIHP), 3) and max(out.shape[:2]) >= 512
    legend = out[:, W * 7:]
    expected = {tuple(int(v) for v in CIHP.palette[c][::-1]) for c in (2, 5, 14, 18)}
    assert _swatch_colours(legend) == expected
    # the picture itself carries no legend: background far from people is untouched
    assert (out[H * 7 - 40:, 200:300] == 100).all()
    # without the parsing map, no legend column
    assert build_display_visualizer("bbox", CIHP).visualize(image, _data()).shape == (H * 7, W * 7, 3)


def test_labels_never_overlap_and_stay_inside():
    rects = place_labels([(10, 10)] * 6, [(50, 14)] * 6, (120, 100))
    for i, a in enumerate(rects):
        assert 0 <= a[0] and a[2] <= 100 and 0 <= a[1] and a[3] <= 120
        for b in rects[i + 1:]:
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])
    assert rects[0] == (10, 10, 60, 24)  # the first label sits at its anchor


def test_panel_shows_input_parts_people_and_legend():
    image = np.full((H, W, 3), 100, np.uint8)
    image[0, 0] = (1, 2, 3)
    out = build_display_visualizer("panel", CIHP).visualize(image, _data(same_boxes=True))
    h, w = H * 7, W * 7
    assert out.shape == (h + 22, 3 * w + legend_width(CIHP) + 3 * 4, 3)
    tile_input = out[22:, :w]
    assert np.array_equal(tile_input, np.kron(image, np.ones((7, 7, 1), np.uint8)))
    tile_people = out[22:, 2 * (w + 4): 2 * (w + 4) + w]
    assert (tile_people[31 * 7 + 3, 11 * 7 + 3] != 100).any()  # person 1 filled


def test_bad_specs():
    with pytest.raises(ValueError, match="drawn alone"):
        build_display_visualizer("panel,parsing", CIHP)
    with pytest.raises(ValueError, match="Unknown visualizer.*'mesh'"):
        build_display_visualizer("mesh", CIHP)
