"""PGN losses on tiny tensors, values worked out by hand (methods.md §3.5)."""

import math

import pytest
import torch

from pgn.loss import pgn_edge_loss, pgn_losses, pgn_parsing_loss, resize_labels_nearest

LN2 = math.log(2.0)


def bce_pos(z):  # -log(sigmoid(z))
    return math.log1p(math.exp(-z))


def bce_neg(z):  # -log(1 - sigmoid(z))
    return math.log1p(math.exp(z))


def test_edge_loss_2x2_by_hand():
    # logits    edge target    labels (fg = label > 0; 255 padding counts as foreground)
    # [ 2  0]   [1 0]          [1   0]
    # [ 0 -1]   [0 0]          [0 255]
    logits = torch.tensor([[[[2.0, 0.0], [0.0, -1.0]]]])
    y = torch.tensor([[[1, 0], [0, 0]]])
    labels = torch.tensor([[[1, 0], [0, 255]]])
    # N = 4 pixels, N_pos = 1 -> pos_w = 3/4, neg_w = 1/4
    # S_pos = l(0,0) * (1 + fg) = bce_pos(2) * 2
    # S_neg = ln2 * 1 + ln2 * 1 + bce_neg(-1) * 2
    # loss  = 2 * 3/4 * S_pos + 1/4 * S_neg            (= 0.88399)
    s_pos = bce_pos(2.0) * 2
    s_neg = LN2 + LN2 + bce_neg(-1.0) * 2
    expected = 2 * 0.75 * s_pos + 0.25 * s_neg
    assert expected == pytest.approx(0.883988, abs=1e-5)
    got = pgn_edge_loss(logits, y, labels, pos_weight=2.0, fg_weight=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # without the positive factor and the foreground repetition: 3/4 * bce_pos(2) + 1/4 * (2 ln2 + bce_neg(-1))
    plain = pgn_edge_loss(logits, y, labels, pos_weight=1.0, fg_weight=0.0)
    assert plain.item() == pytest.approx(0.75 * bce_pos(2.0) + 0.25 * (2 * LN2 + bce_neg(-1.0)), rel=1e-6)


def test_edge_loss_is_per_image_mean_and_ignores_pad_as_negative():
    logits = torch.zeros(2, 1, 2, 2)
    y = torch.tensor([[[1, 0], [0, 0]], [[0, 0], [0, 255]]])  # image 2: no edge, one padded pixel
    labels = torch.zeros(2, 2, 2, dtype=torch.int64)
    # image 1: pos_w 3/4, neg_w 1/4: 2 * 3/4 * ln2 + 1/4 * 3 ln2 = 2.25 ln2
    # image 2: N_pos = 0 -> neg_w = 0 and S_pos = 0: loss 0 (padding is a negative, not a positive)
    got = pgn_edge_loss(logits, y, labels)
    assert got.item() == pytest.approx(2.25 * LN2 / 2, rel=1e-6)


def test_edge_loss_upsamples_logits_to_target_size():
    # a constant 1x1 logit map upsampled to 2x2 stays constant: all-positive target, N_neg = 0
    # -> pos_w = 0 and the loss is 0; all-negative target: neg_w = 0, also 0. Mixed: 1 pos of 4.
    y = torch.tensor([[[1, 0], [0, 0]]])
    got = pgn_edge_loss(torch.zeros(1, 1, 1, 1), y, torch.zeros(1, 2, 2, dtype=torch.int64))
    assert got.item() == pytest.approx(2 * 0.75 * LN2 + 0.25 * 3 * LN2, rel=1e-6)


def test_parsing_loss_global_and_local_by_hand():
    # 3 pixels, K = 2: p0 logits (0, 0) label 1 -> ln2; p1 logits (2, 0) label 0 -> bce_pos(2);
    # p2 label 255 is ignored. Edge logits 0 / -5 / 5: sigmoid 0.5, 0.0067, 0.99 -> local pixels {p0}
    # (p2 is near an edge but has no valid label).
    logits = torch.tensor([[[[0.0, 2.0, 9.0]], [[0.0, 0.0, -9.0]]]], requires_grad=True)
    labels = torch.tensor([[[1, 0, 255]]])
    edge = torch.tensor([[[[0.0, -5.0, 5.0]]]], requires_grad=True)
    g, loc = pgn_parsing_loss(logits, labels, edge, local_thresh=0.1)
    assert g.item() == pytest.approx((LN2 + bce_pos(2.0)) / 2, rel=1e-6)
    assert loc.item() == pytest.approx(LN2, rel=1e-6)
    (g + loc).backward()
    assert edge.grad is None  # the selection carries no gradient
    assert logits.grad[0, :, 0, 2].abs().sum() == 0  # ignored pixel


def test_parsing_loss_empty_selection_is_zero_not_nan():
    logits = torch.zeros(1, 3, 2, 2, requires_grad=True)
    labels = torch.full((1, 2, 2), 255)
    g, loc = pgn_parsing_loss(logits, labels, torch.full((1, 1, 2, 2), -10.0))
    assert g.item() == 0 and loc.item() == 0
    (g + loc).backward()


def test_resize_labels_nearest_picks_floor_index():
    lab = torch.arange(16).view(1, 4, 4)
    assert resize_labels_nearest(lab, (2, 2)).tolist() == [[[0, 2], [8, 10]]]


def test_pgn_losses_names_and_weights():
    K = 2
    outputs = {
        "parsing": torch.zeros(1, K, 1, 2),
        "parsing_refine": torch.zeros(1, K, 1, 2),
        "edge": torch.zeros(1, 1, 1, 2),
        "edge_refine": torch.zeros(1, 1, 1, 2),
        "edge_side_res3": torch.zeros(1, 1, 1, 2),
    }
    sem = torch.tensor([[[0, 1, 1, 1], [0, 1, 1, 1]]])  # (1, 2, 4); at logit size (1, 2): [0, 1]
    edges = torch.tensor([[[0, 1, 0, 0], [0, 1, 0, 0]]])
    losses = pgn_losses(
        outputs, sem, edges, parsing_weight=50, local_parsing_weight=7, edge_weight=0.5, side_edge_weight=0.25
    )
    assert set(losses) == {
        "loss_parsing",
        "loss_parsing_local",
        "loss_parsing_refine",
        "loss_parsing_refine_local",
        "loss_edge",
        "loss_edge_refine",
        "loss_edge_side_res3",
    }
    # all logits 0: every CE is ln2; sigmoid(0) = 0.5 > 0.1 selects every pixel
    assert losses["loss_parsing"].item() == pytest.approx(50 * LN2)
    assert losses["loss_parsing_local"].item() == pytest.approx(7 * LN2)
    # edges: N = 8, N_pos = 2 -> pos_w 3/4, neg_w 1/4; fg = the 6 pixels with label 1, of which 2 on edges
    # S_pos = 2 ln2 * 2 = 4 ln2, S_neg = 2 ln2 (bg) + 4 ln2 * 2 (fg) = 10 ln2
    per = 2 * 0.75 * 4 * LN2 + 0.25 * 10 * LN2
    assert losses["loss_edge"].item() == pytest.approx(0.5 * per, rel=1e-6)
    assert losses["loss_edge_side_res3"].item() == pytest.approx(0.25 * per, rel=1e-6)
    with pytest.raises(ValueError, match="edges"):
        pgn_losses(outputs, sem, None)
