"""Targets, loss and the official paste-back, with values worked out by hand."""
import math

import numpy as np
import torch

from detectron2.structures import Boxes, Instances
from detectron2.utils.events import EventStorage
from human_parsing.structures import ParsingMaps, PersonParsing
from parsing_rcnn.inference import global_parsing_map, parsing_instance_scores, paste_parsing
from parsing_rcnn.loss import parsing_rcnn_loss, parsing_targets


def _inst(maps, boxes):
    maps = torch.as_tensor(maps, dtype=torch.uint8)
    return Instances(tuple(maps.shape[1:]), proposal_boxes=Boxes(torch.tensor(boxes, dtype=torch.float32)),
                     gt_parsing=ParsingMaps(maps))


def test_targets_crop_rounds_and_resizes_nearest():
    m = np.arange(64, dtype=np.uint8).reshape(1, 8, 8)
    # (2.4, 1.6, 6.4, 5.5) rounds to (2, 2, 6, 6): rows/cols 2..5
    t = parsing_targets([_inst(m, [[2.4, 1.6, 6.4, 5.5]])], 4)
    assert torch.equal(t[0], torch.from_numpy(m[0, 2:6, 2:6]).long())
    # 4 → 8 nearest: source index floor(i * 4 / 8), every pixel doubled
    t8 = parsing_targets([_inst(m, [[2.4, 1.6, 6.4, 5.5]])], 8)
    assert torch.equal(t8[0], t[0].repeat_interleave(2, 0).repeat_interleave(2, 1))
    # two images, order kept; empty images add nothing
    two = parsing_targets([_inst(m, [[0, 0, 4, 4]]), _inst(m[:0], np.zeros((0, 4))), _inst(m, [[4, 4, 8, 8]])], 4)
    assert torch.equal(two[1], torch.from_numpy(m[0, 4:8, 4:8]).long())


def test_loss_values_by_hand_and_accuracy_logged():
    maps = np.zeros((1, 4, 4), np.uint8)
    maps[0, :, 2:] = 2
    maps[0, 0, 0] = 255  # ignored
    inst = [_inst(maps, [[0, 0, 4, 4]])]
    with EventStorage() as storage:
        zero = parsing_rcnn_loss(torch.zeros(1, 4, 4, 4), inst)
        assert math.isclose(zero.item(), math.log(4), rel_tol=1e-6)
        logits = torch.zeros(1, 4, 4, 4)
        logits[0, 0] = 2.0  # predicts background everywhere
        loss = parsing_rcnn_loss(logits, inst)
        # 7 valid background pixels: -log(e²/(e²+3)); 8 pixels of class 2: -log(1/(e²+3))
        e2 = math.exp(2)
        expected = (7 * -math.log(e2 / (e2 + 3)) + 8 * -math.log(1 / (e2 + 3))) / 15
        assert math.isclose(loss.item(), expected, rel_tol=1e-6)
        assert math.isclose(storage.latest()["parsing_rcnn/accuracy"][0], 7 / 15)
        assert storage.latest()["parsing_rcnn/fg_accuracy"][0] == 0


def test_loss_without_foreground_is_zero_and_keeps_graph():
    logits = torch.randn(0, 3, 4, 4, requires_grad=True)
    with EventStorage():
        loss = parsing_rcnn_loss(logits, [_inst(np.zeros((0, 4, 4)), np.zeros((0, 4)))])
    assert loss.item() == 0 and loss.requires_grad
    loss.backward()
    # all-ignored targets: also zero, with a zero gradient
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    with EventStorage():
        loss = parsing_rcnn_loss(logits, [_inst(np.full((1, 4, 4), 255), [[0, 0, 4, 4]])])
    loss.backward()
    assert loss.item() == 0 and torch.equal(logits.grad, torch.zeros_like(logits))


def _probs():
    # K = 3, M = 2; labels of the 2×2 interior by argmax: [[0, 1], [2, 1]]
    p = torch.tensor([[[0.8, 0.1], [0.1, 0.2]],
                      [[0.1, 0.6], [0.2, 0.7]],
                      [[0.1, 0.3], [0.7, 0.1]]])
    return p[None]


def test_paste_back_identity_resize_by_hand():
    # box width/height 1.5 about (11, 21): enlarged by (2+2)/2 = 2 → half 1.5 → [9.5, 12.5]
    # → int [9, 12], size 12 - 9 + 1 = 4 = padded size, so the bilinear resize is the identity
    out = paste_parsing(_probs(), torch.tensor([[10.25, 20.25, 11.75, 21.75]]), (40, 30), pad=1)
    assert out.offsets.tolist() == [[9, 19]]
    expected = np.array([[0, 0, 0, 0], [0, 0, 1, 0], [0, 2, 1, 0], [0, 0, 0, 0]], np.uint8)
    assert np.array_equal(out.crops[0], expected)
    full = out.full(0)
    assert full.shape == (40, 30) and full[20, 10] == 0 and full[21, 10] == 2 and full.sum() == 4


def test_paste_back_truncates_toward_zero_and_clips_to_image():
    # x: centre -0.5, half 2 (box width 2) → [-2.5, 1.5] → int() gives [-2, 1] (floor would give
    # -3 and width 5); width 4 keeps the resize the identity. Columns -2, -1 fall outside the
    # image; the visible columns 0, 1 hold the interior column 1 and the zero border.
    out = paste_parsing(_probs(), torch.tensor([[-1.5, 20.25, 0.5, 21.75]]), (40, 30), pad=1)
    assert out.offsets.tolist() == [[0, 19]]
    assert np.array_equal(out.crops[0], np.array([[0, 0], [1, 0], [1, 0], [0, 0]], np.uint8))


def test_paste_back_bilinear_upscale_by_hand():
    # K = 2, M = 1, pad 1: padded 3×3 with the fg prob 1.0 (bg 0) in the centre. Box (10,10,12,12)
    # → centre 11, half 1·3 = 3 → [8, 14], size 7. Bilinear 3 → 7 (align_corners=False): output i
    # samples source (i + 0.5)·3/7 − 0.5 = [-0.29, 0.14, 0.57, 1, 1.43, 1.86, 2.29]; the centre
    # weight is 0, 0.14, 0.57, 1, 0.57, 0.14, 0, positive → foreground wins over the zero border
    # exactly where the weight is > 0 (bg prob is 0 everywhere): columns 1..5 of the 7.
    probs = torch.zeros(1, 2, 1, 1)
    probs[0, 1] = 1.0
    out = paste_parsing(probs, torch.tensor([[10.0, 10.0, 12.0, 12.0]]), (30, 30), pad=1)
    assert out.offsets.tolist() == [[8, 8]]
    expected = np.zeros((7, 7), np.uint8)
    expected[1:6, 1:6] = 1
    assert np.array_equal(out.crops[0], expected)


def test_paste_back_empty_and_outside():
    assert len(paste_parsing(torch.zeros(0, 3, 4, 4), torch.zeros(0, 4), (10, 10))) == 0
    out = paste_parsing(_probs(), torch.tensor([[50.0, 50.0, 60.0, 60.0]]), (10, 10))
    assert out.crops[0].size == 0 and out.full(0).sum() == 0


def test_global_map_paints_by_ascending_score_above_threshold():
    a = np.zeros((1, 4, 4), np.uint8)
    a[0, :2, :] = 1
    b = np.zeros((1, 4, 4), np.uint8)
    b[0, 1:3, :] = 2
    c = np.zeros((1, 4, 4), np.uint8)
    c[0, 3, :] = 3
    people = PersonParsing.cat([PersonParsing.from_full(m) for m in (a, b, c)])
    parts = global_parsing_map(people, torch.tensor([0.9, 0.5, 0.2]), 0.3)
    # b (0.5) first, then a (0.9) over it; c (0.2) is below the threshold
    expected = torch.tensor([[1] * 4, [1] * 4, [2] * 4, [0] * 4])
    assert parts.dtype == torch.int64 and torch.equal(parts, expected)


def test_instance_scores():
    probs = torch.zeros(2, 2, 2, 2)
    probs[0, 1] = torch.tensor([[0.9, 0.7], [0.2, 0.1]])
    probs[0, 0] = 1 - probs[0, 1]
    probs[1, 0] = 1.0
    box = torch.tensor([0.8, 0.6])
    assert torch.equal(parsing_instance_scores(box, probs, "box"), box)
    # ROI 0: fg pixels 0.9 and 0.7 → mean 0.8; ROI 1 has no foreground → 0
    s = parsing_instance_scores(box, probs, "box_x_parsing")
    assert torch.allclose(s, torch.tensor([0.8 * 0.8, 0.0]))


def test_fast_channel_argmax_matches_argmax_with_ties():
    from parsing_rcnn.inference import _argmax_channels

    x = torch.randint(0, 3, (5, 7, 9)).float()  # many ties: the first maximum must win
    assert torch.equal(_argmax_channels(x).long(), x.argmax(dim=0))
    assert _argmax_channels(torch.zeros(4, 2, 2)).sum() == 0


def test_channel_argmax_loop_and_single_argmax_agree():
    """The CPU loop and the one-kernel ``argmax`` (used on GPUs) give identical labels."""
    from parsing_rcnn.inference import _argmax_channels

    g = torch.Generator().manual_seed(0)
    for k, h, w in ((20, 33, 17), (59, 64, 48), (2, 1, 1)):
        for x in (torch.rand(k, h, w, generator=g),
                  torch.randint(0, 4, (k, h, w), generator=g).float() / 4):  # ties
            loop, single = _argmax_channels(x, loop=True), _argmax_channels(x, loop=False)
            assert loop.dtype == single.dtype == torch.uint8
            assert torch.equal(loop, single)
