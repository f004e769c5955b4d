"""ParsingROIHeads and the ParsingRCNN meta-architecture end to end on a tiny model: parsing ROI
sampling, empty and half-empty batches in training, empty detections and the output format."""
import numpy as np
import pytest
import torch

from detectron2.modeling import build_model
from detectron2.structures import BitMasks, Boxes, Instances
from detectron2.utils.events import EventStorage
from human_parsing.structures import ParsingMaps, PersonParsing
from parsing_rcnn.roi_heads import ParsingROIHeads, sample_parsing_proposals

from .common import get_parsing_cfg, toy_batch


def _props(boxes):
    return Instances((40, 40), proposal_boxes=Boxes(torch.tensor(boxes, dtype=torch.float32)))


GT = Boxes(torch.tensor([[0.0, 0, 10, 10], [20, 0, 30, 10]]))
# IoU with the GT: 1.0 (gt 0), 90/110 (gt 1), 0.4 (gt 0, dropped), 50/150 (gt 0, dropped)
PROPS = [[0, 0, 10, 10], [21, 0, 31, 10], [0, 0, 10, 4], [5, 0, 15, 10]]


def test_parsing_proposals_are_rematched_and_capped():
    out = sample_parsing_proposals([_props(PROPS)], [GT], 0.5, 16, False)
    assert out[0].parsing_gt_idx.tolist() == [0, 1]
    assert out[0].proposal_boxes.tensor[:, 0].tolist() == [0, 21]
    torch.manual_seed(0)
    capped = sample_parsing_proposals([_props(PROPS)], [GT], 0.5, 1, False)
    assert len(capped[0]) == 1 and capped[0].parsing_gt_idx.item() in (0, 1)
    empty = sample_parsing_proposals([_props(PROPS), _props(np.zeros((0, 4)))], [GT, GT[:0]], 0.5, 16, False)
    assert [len(x) for x in empty] == [2, 0]


def test_across_sample_pools_the_budget_over_images():
    three = [[0, 0, 10, 10], [0, 0, 10, 9], [20, 0, 30, 10]]
    imgs, gts = [_props(three), _props(np.zeros((0, 4)))], [GT, GT[:0]]
    # per image: at most 2 of the first image's 3; across: budget 2 × 2 images = 4 ≥ 3
    assert [len(x) for x in sample_parsing_proposals(imgs, gts, 0.5, 2, False)] == [2, 0]
    assert [len(x) for x in sample_parsing_proposals(imgs, gts, 0.5, 2, True)] == [3, 0]
    assert sum(len(x) for x in sample_parsing_proposals(imgs, gts, 0.5, 1, True)) == 2


def test_heavy_fields_stay_out_of_box_sampling():
    t = Instances((4, 4), gt_boxes=Boxes(torch.zeros(1, 4)), gt_classes=torch.zeros(1, dtype=torch.int64),
                  gt_masks=BitMasks(torch.zeros(1, 4, 4, dtype=torch.bool)),
                  gt_parsing=ParsingMaps(torch.zeros(1, 4, 4)))
    assert sorted(ParsingROIHeads._without_heavy_fields(t).get_fields()) == ["gt_boxes", "gt_classes"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(get_parsing_cfg())


def _no_people(h=128, w=160):
    return {
        "image": torch.randint(0, 255, (3, h, w), dtype=torch.uint8),
        "instances": Instances((h, w), gt_boxes=Boxes(torch.zeros(0, 4)),
                               gt_classes=torch.zeros(0, dtype=torch.int64),
                               gt_masks=BitMasks(torch.zeros(0, h, w, dtype=torch.bool)),
                               gt_parsing=ParsingMaps(torch.zeros(0, h, w))),
        "height": h, "width": w,
    }


def test_training_half_empty_and_empty_batches(model):
    model.train()
    with EventStorage():
        half = model(toy_batch([0], height=128, width=160) + [_no_people()])
        assert np.isfinite(half["loss_parsing"].item()) and half["loss_parsing"].item() > 0
        # no person anywhere: proposals still exist, none is foreground → zero parsing loss
        losses = model([_no_people(), _no_people()])
    assert losses["loss_parsing"].item() == 0
    model.zero_grad()
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.roi_heads.parsing_head.parameters())


def test_inference_output_format_and_rescaling(model):
    model.eval()
    batch = toy_batch([1], height=128, width=160)
    batch[0]["height"], batch[0]["width"] = 256, 320  # outputs come at the original size
    model.roi_heads.box_predictor.test_score_thresh = 0.0
    try:
        with torch.no_grad():
            out = model(batch)
    finally:
        model.roi_heads.box_predictor.test_score_thresh = 0.05
    assert sorted(out[0]) == ["instances", "parsing"]
    inst, parsing = out[0]["instances"], out[0]["parsing"]
    assert parsing.shape == (256, 320) and parsing.dtype == torch.int64
    assert inst.image_size == (256, 320)
    assert sorted(inst.get_fields()) == ["pred_boxes", "pred_classes", "pred_parsing", "scores"]
    assert isinstance(inst.pred_parsing, PersonParsing) and len(inst.pred_parsing) == len(inst) > 0
    # every crop lies inside its (enlarged) box
    for c, (x0, y0), b in zip(inst.pred_parsing.crops, inst.pred_parsing.offsets, inst.pred_boxes.tensor):
        assert x0 >= int(b[0]) - 2 and x0 + c.shape[1] <= min(320, int(b[2]) + 3)


def test_inference_without_detections(model):
    model.eval()
    model.roi_heads.box_predictor.test_score_thresh = 1.01
    try:
        with torch.no_grad():
            out = model(toy_batch([2], height=128, width=160))
    finally:
        model.roi_heads.box_predictor.test_score_thresh = 0.05
    assert len(out[0]["instances"]) == 0 and len(out[0]["instances"].pred_parsing) == 0
    assert torch.equal(out[0]["parsing"], torch.zeros(128, 160, dtype=torch.int64))


def test_parsing_pooler_with_zero_rois(model):
    feats = [torch.randn(2, 64, 32, 40)]
    out = model.roi_heads.parsing_pooler(feats, [Boxes(torch.zeros(0, 4)), Boxes(torch.zeros(0, 4))])
    assert out.shape == (0, 64, 16, 16)
