"""Batch class balancing of the quick schedules' parsing losses (hand-computed weights)."""
import pytest
import torch
import torch.nn.functional as F

from human_parsing.modeling.class_balance import class_balanced_pixel_weights
from pgn.loss import pgn_parsing_loss


def test_weights_by_hand():
    t = torch.tensor([[0, 0, 0, 1], [0, 0, 255, 2]])  # 5x class 0, 1x class 1, 1x class 2, 1 ignored
    w = class_balanced_pixel_weights(t, 3, power=1.0)
    # inverse frequencies 7/5, 7, 7, rescaled to mean 1 over the 7 valid pixels: x 1/3
    expected = torch.tensor([[7 / 15, 7 / 15, 7 / 15, 7 / 3], [7 / 15, 7 / 15, 0, 7 / 3]])
    assert torch.allclose(w, expected)
    assert torch.equal(class_balanced_pixel_weights(t, 3, power=0.0), (t != 255).float())
    # power 0.5: sqrt of the inverse frequencies
    w = class_balanced_pixel_weights(t, 3, power=0.5)
    assert w[0, 3] / w[0, 0] == pytest.approx(5 ** 0.5)
    # the cap: class 1 has 1 pixel of 1001, at most max_ratio x the weight of class 0
    big = torch.zeros(1001, dtype=torch.long)
    big[0] = 1
    w = class_balanced_pixel_weights(big, 2, power=1.0, max_ratio=10.0)
    assert w[0] / w[1] == pytest.approx(10.0)
    with pytest.raises(ValueError, match=">= 0"):
        class_balanced_pixel_weights(t, 3, power=-1.0)


def test_balanced_pgn_loss_equals_weighted_mean():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 5, 6)
    labels = torch.randint(0, 4, (2, 5, 6))
    labels[0, 0, :3] = 255
    plain, _ = pgn_parsing_loss(logits, labels)
    valid = labels != 255
    assert plain == pytest.approx(F.cross_entropy(logits, labels, ignore_index=255).item(), rel=1e-5)
    balanced, _ = pgn_parsing_loss(logits, labels, class_balance_power=1.0)
    w = class_balanced_pixel_weights(labels, 4, 1.0)
    ce = F.cross_entropy(logits, labels.clamp(max=3), reduction="none")
    assert balanced == pytest.approx(((ce * w).sum() / valid.sum()).item(), rel=1e-5)
    assert balanced != pytest.approx(plain.item(), rel=1e-3)


def test_balanced_parsing_rcnn_loss_by_hand():
    import math

    from detectron2.structures import Boxes, Instances
    from detectron2.utils.events import EventStorage

    from human_parsing.structures import ParsingMaps
    from parsing_rcnn.loss import parsing_rcnn_loss

    maps = torch.zeros((1, 4, 4), dtype=torch.uint8)
    maps[0, :, 2:] = 2
    maps[0, 0, 0] = 255  # 7 background, 8 class-2 pixels, 1 ignored
    boxes = Boxes(torch.tensor([[0.0, 0, 4, 4]]))
    inst = [Instances((4, 4), proposal_boxes=boxes, gt_parsing=ParsingMaps(maps))]
    logits = torch.zeros(1, 4, 4, 4)
    logits[0, 0] = 2.0
    with EventStorage():
        loss = parsing_rcnn_loss(logits, inst, class_balance_power=1.0)
    # power 1 gives both classes the same total weight: the mean of the two per-class CEs
    e2 = math.exp(2)
    assert math.isclose(loss.item(), (-math.log(e2 / (e2 + 3)) - math.log(1 / (e2 + 3))) / 2, rel_tol=1e-6)
