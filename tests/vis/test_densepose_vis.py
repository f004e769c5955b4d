"""DensePose-style visualization: the IUV image and the dp_* visualizers."""
import numpy as np
import torch
from detectron2.structures import Boxes, Instances

from human_parsing.vis import build_visualizer, extract, iuv_image


def _charts():
    a_lab = np.array([[1, 2], [0, 3]])
    a_uv = np.stack([np.full((2, 2), 0.5), np.full((2, 2), 1.0)])
    b_lab = np.full((2, 3), 24)
    b_uv = np.zeros((2, 2, 3))
    return [(a_lab, a_uv), (b_lab, b_uv)]


def test_iuv_image_paste_order_and_clipping():
    boxes = np.array([[0, 0, 2, 2], [1.7, 1, 4.7, 3]], np.float32)  # int x 1: overlaps a at (1, 1)
    out = iuv_image((3, 4), boxes, _charts(), scores=np.array([0.9, 0.5]))
    # b (score .5) is pasted first, then a (score .9) on top of it at (1, 1)
    assert out[..., 0].tolist() == [[1, 2, 0, 0], [0, 3, 24, 24], [0, 24, 24, 24]]
    assert out[0, 0].tolist() == [1, 127, 255]  # U 0.5 -> 127 (truncated), V 1 -> 255
    # the other score order puts b on top at (1, 1)
    out2 = iuv_image((3, 4), boxes, _charts(), scores=np.array([0.1, 0.5]))
    assert out2[1, 1, 0] == 24
    # a box hanging out of the image is clipped
    out3 = iuv_image((3, 4), np.array([[3, 2, 6, 4]], np.float32), _charts()[1:])
    assert out3[..., 0].tolist() == [[0] * 4, [0] * 4, [0, 0, 0, 24]]


def test_dp_visualizers_draw_on_people_only():
    inst = Instances((3, 4))
    inst.pred_boxes = Boxes(torch.tensor([[0, 0, 2, 2], [1.7, 1, 4.7, 3]]))
    inst.scores = torch.tensor([0.9, 0.5])
    inst.pred_densepose = [{"labels": l, "uv": uv} for l, uv in _charts()]
    data = extract({"instances": inst})
    image = np.full((3, 4, 3), 128, np.uint8)
    fg = iuv_image((3, 4), data.boxes, data.densepose, data.scores)[..., 0] > 0
    for name in ("dp_segm", "dp_u", "dp_v"):
        out = build_visualizer(name, "densepose_parts").visualize(image, data)
        assert (out[~fg] == 128).all() and (out[fg] != 128).any(axis=-1).all(), name
    out = build_visualizer("dp_contours", "densepose_parts").visualize(image, data)
    assert (out[~fg] == 128).all() and (out != 128).any()
