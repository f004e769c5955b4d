"""Parsing TTA: flip channel swap, merge heuristics by hand, flip consistency on a symmetric
image, and the end-to-end output of ParsingRCNNWithTTA."""
import math

import numpy as np
import pytest
import torch

from detectron2.modeling import build_model
from detectron2.structures import Boxes, Instances
from human_parsing.data.label_spaces import get_label_space
from human_parsing.engine import build_tta_model
from parsing_rcnn.tta import ParsingRCNNWithTTA, flip_parsing_probs, merge_parsing_probs

from .common import get_parsing_cfg, toy_scene

CIHP = get_label_space("cihp")


def test_flip_probs_swaps_pairs_and_mirrors():
    p = torch.rand(2, 20, 4, 4)
    f = flip_parsing_probs(p, CIHP.flip_perm)
    left, right = CIHP.classes.index("left-arm"), CIHP.classes.index("right-arm")
    assert torch.equal(f[:, left], p[:, right].flip(-1))
    assert torch.equal(f[:, 0], p[:, 0].flip(-1))
    assert torch.equal(flip_parsing_probs(f, CIHP.flip_perm), p)  # an involution


def test_merge_heuristics_by_hand():
    a, b = torch.tensor([0.2, 0.5, 0.9]), torch.tensor([0.6, 0.5, 0.1])
    assert torch.allclose(merge_parsing_probs([a, b], "SOFT_AVG"), torch.tensor([0.4, 0.5, 0.5]))
    assert torch.equal(merge_parsing_probs([a, b], "SOFT_MAX"), torch.tensor([0.6, 0.5, 0.9]))
    # logit(0.2) = -log 4, logit(0.6) = log 1.5 → mean log(0.375)/2 → sigmoid
    z = (math.log(0.25) + math.log(1.5)) / 2
    expected = torch.tensor([1 / (1 + math.exp(-z)), 0.5, 0.5])
    assert torch.allclose(merge_parsing_probs([a, b], "LOGIT_AVG"), expected, atol=1e-6)
    with pytest.raises(ValueError, match="PARSING_HEUR"):
        merge_parsing_probs([a], "MEDIAN")


@pytest.fixture(scope="module")
def tta_setup():
    torch.manual_seed(0)
    cfg = get_parsing_cfg(opts=["TEST.AUG.ENABLED", True, "TEST.AUG.FLIP", True,
                                "TEST.AUG.MIN_SIZES", (128, 160), "TEST.AUG.MAX_SIZE", 400,
                                "INPUT.LABEL_SPACE", "cihp"])
    model = build_model(cfg).eval()
    return cfg, model


def _symmetric_input():
    image, _ = toy_scene(3, height=128, width=96, num_people=1)
    left = image.numpy()
    img = np.concatenate([left, left[:, :, ::-1]], axis=2)  # (3, 128, 192), mirror-symmetric
    return {"image": torch.from_numpy(np.ascontiguousarray(img)), "height": 128, "width": 192}


def test_flip_average_is_symmetric_on_a_symmetric_image(tta_setup):
    cfg, model = tta_setup
    tta = ParsingRCNNWithTTA(cfg, model)
    inp = _symmetric_input()
    # a box and its mirror image: the merged probabilities of the mirror box must be the
    # flipped (channel-swapped, mirrored) merged probabilities of the box
    boxes = torch.tensor([[20.0, 10.0, 80.0, 120.0], [192 - 80.0, 10.0, 192 - 20.0, 120.0]])
    merged = Instances((128, 192), pred_boxes=Boxes(boxes), scores=torch.tensor([0.9, 0.8]),
                       pred_classes=torch.zeros(2, dtype=torch.int64))
    aug_inputs, tfms = tta._get_augmented_inputs(inp)
    assert len(aug_inputs) == 4  # 2 scales × (plain, flipped)
    with torch.no_grad():
        outs = tta._batch_inference(aug_inputs, tta._rescale_detected_boxes(aug_inputs, merged, tfms))
        probs = tta._merge_parsing_probs(outs, tfms)
    assert torch.allclose(probs[1], flip_parsing_probs(probs[:1], CIHP.flip_perm)[0], atol=1e-5)
    # without the flipped passes the symmetry is not there (the network is not flip-equivariant)
    plain = [i for i, t in enumerate(tfms) if len(t.transforms) and not any(
        type(x).__name__ == "HFlipTransform" for x in t.transforms)]
    noflip = tta._merge_parsing_probs([outs[i] for i in plain], [tfms[i] for i in plain])
    assert not torch.allclose(noflip[1], flip_parsing_probs(noflip[:1], CIHP.flip_perm)[0], atol=1e-3)


def test_tta_end_to_end_output(tta_setup):
    cfg, model = tta_setup
    tta = build_tta_model(cfg, model)  # through the project's TTA registry
    assert isinstance(tta, ParsingRCNNWithTTA)
    model.roi_heads.box_predictor.test_score_thresh = 0.0
    try:
        with torch.no_grad():
            out = tta([_symmetric_input()])[0]
    finally:
        model.roi_heads.box_predictor.test_score_thresh = 0.05
    assert out["parsing"].shape == (128, 192) and out["parsing"].dtype == torch.int64
    assert len(out["instances"].pred_parsing) == len(out["instances"])


def test_tta_flip_needs_matching_label_space(tta_setup):
    cfg, model = tta_setup
    bad = cfg.clone()
    bad.defrost()
    bad.INPUT.LABEL_SPACE = "mhp_v2"
    with pytest.raises(ValueError, match="NUM_PARSING"):
        ParsingRCNNWithTTA(bad, model)


@pytest.mark.parametrize("faithful", [True, False])
def test_tta_max_size_per_scale(faithful):
    """Official TTA: the test-scale pass and its flip at INPUT.MAX_SIZE_TEST, extra scales at
    TEST.AUG.MAX_SIZE; Detectron2: TEST.AUG.MAX_SIZE everywhere."""
    from parsing_rcnn.tta import ScaleMaxSizeMapperTTA

    cfg = get_parsing_cfg(opts=["INPUT.MIN_SIZE_TEST", 80, "INPUT.MAX_SIZE_TEST", 300,
                                "TEST.AUG.MIN_SIZES", (40, 80, 120), "TEST.AUG.MAX_SIZE", 900,
                                "TEST.AUG.FLIP", True,
                                "TEST.AUG.BASE_SCALE_USES_TEST_MAX_SIZE", faithful])
    assert get_parsing_cfg(opts=[]).TEST.AUG.BASE_SCALE_USES_TEST_MAX_SIZE  # on in the base config
    image = torch.zeros(3, 10, 100, dtype=torch.uint8)  # 1:10, so the max size binds
    out = ScaleMaxSizeMapperTTA(cfg)({"image": image, "height": 10, "width": 100})
    widths = [d["image"].shape[2] for d in out]
    flips = [any(type(t).__name__ == "HFlipTransform" for t in d["transforms"].transforms) for d in out]
    assert flips == [False, True] * 3
    # short side 40 → 400 wide; 80 → 800, capped at 300 (faithful) or 900; 120 → 1200 capped at 900
    assert widths == ([400, 400, 300, 300, 900, 900] if faithful else [400, 400, 800, 800, 900, 900])
    tta = ParsingRCNNWithTTA(cfg, build_model(cfg).eval(), flip_perm=CIHP.flip_perm)
    assert isinstance(tta.tta_mapper, ScaleMaxSizeMapperTTA)
