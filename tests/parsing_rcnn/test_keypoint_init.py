"""COCO-keypoint initialisation (paper Table 5): the GCE keypoint head trains with Detectron2's
keypoint loss, and its checkpoint initialises a parsing model through MODEL.WEIGHTS_PREFIX_MAP."""
import logging
import os

import pytest
import torch

from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model
from detectron2.structures import Keypoints
from detectron2.utils.events import EventStorage
from human_parsing.engine import build_checkpointer
from human_parsing.engine.checkpoint import rename_by_prefix

from .common import REPO, get_parsing_cfg, toy_batch

PREFIX_MAP = [["roi_heads.keypoint_head.predictor.", ""], ["roi_heads.keypoint_head.", "roi_heads.parsing_head."]]
KEYPOINT_OPTS = ["MODEL.META_ARCHITECTURE", "GeneralizedRCNN", "MODEL.PARSING_ON", False,
                 "MODEL.KEYPOINT_ON", True, "MODEL.ROI_HEADS.NAME", "StandardROIHeads",
                 "MODEL.ROI_KEYPOINT_HEAD.NAME", "KeypointGCEHead",
                 "MODEL.ROI_KEYPOINT_HEAD.POOLER_RESOLUTION", 8]


def _with_keypoints(batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    for b in batch:
        inst = b["instances"]
        boxes = inst.gt_boxes.tensor
        xy = boxes[:, None, :2] + torch.rand(len(inst), 17, 2, generator=g) * (boxes[:, None, 2:] - boxes[:, None, :2])
        inst.gt_keypoints = Keypoints(torch.cat([xy, torch.full((len(inst), 17, 1), 2.0)], dim=2))
    return batch


def test_keypoint_gce_head_trains_and_predicts():
    torch.manual_seed(0)
    model = build_model(get_parsing_cfg(opts=KEYPOINT_OPTS))
    head = model.roi_heads.keypoint_head
    assert type(head).__name__ == "KeypointGCEHead"
    x = torch.randn(3, 64, 8, 8)
    assert head.layers(x).shape == (3, 17, 32, 32)  # 4× the pooled size
    model.train()
    with EventStorage():
        losses = model(_with_keypoints(toy_batch([0, 1], height=128, width=160)))
    assert torch.isfinite(losses["loss_keypoint"]) and losses["loss_keypoint"] > 0
    losses["loss_keypoint"].backward()
    assert all(p.grad is not None for p in head.parameters())
    model.eval()
    with torch.no_grad():
        out = model(toy_batch([2], height=128, width=160))[0]["instances"]
    assert out.pred_keypoints.shape[1:] == (17, 3)


def test_keypoint_checkpoint_initialises_the_parsing_head(tmp_path):
    torch.manual_seed(0)
    kp_model = build_model(get_parsing_cfg(opts=KEYPOINT_OPTS))
    for p in kp_model.parameters():  # a "trained" model: nothing left at its init values
        torch.nn.init.normal_(p, std=0.1)
    DetectionCheckpointer(kp_model, save_dir=str(tmp_path)).save("kp")
    path = os.path.join(str(tmp_path), "kp.pth")

    torch.manual_seed(1)
    cfg = get_parsing_cfg(opts=["MODEL.WEIGHTS_PREFIX_MAP", PREFIX_MAP])
    model = build_model(cfg)
    predictor_init = {k: v.clone() for k, v in model.roi_heads.parsing_head.predictor.state_dict().items()}
    ckpt = build_checkpointer(cfg, model)
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    ckpt.logger.addHandler(handler)
    try:
        ckpt.load(path)
    finally:
        ckpt.logger.removeHandler(handler)

    kp_state, state = kp_model.state_dict(), model.state_dict()
    gce = [k for k in kp_state if k.startswith("roi_heads.keypoint_head.") and ".predictor." not in k]
    assert len(gce) > 20
    for k in gce:
        assert torch.equal(state[k.replace("keypoint_head", "parsing_head")], kp_state[k]), k
    for k, v in kp_state.items():  # backbone, RPN, box head: the whole model is initialised
        if "keypoint_head" not in k:
            assert torch.equal(state[k], v), k
    for k, v in model.roi_heads.parsing_head.predictor.state_dict().items():
        assert torch.equal(v, predictor_init[k])  # not from the 17-heatmap keypoint predictor
    # the only complaint: the parsing predictor is not in the checkpoint (the dropped keypoint one)
    messages = [r.getMessage() for r in records]
    assert len(messages) == 1, messages
    assert "roi_heads.parsing_head.predictor.deconv" in messages[0]
    assert "not found in the checkpoint" in messages[0]


def test_prefix_map_validation():
    state = {"a.x": 1, "b.x": 2}
    with pytest.raises(ValueError, match="two checkpoint weights"):
        rename_by_prefix(state, [["a.", "b."]])
    with pytest.raises(ValueError, match="WEIGHTS_PREFIX_MAP entries"):
        rename_by_prefix(state, [["a."]])


def test_coco_keypoint_configs_match_the_parsing_head():
    """The keypoint pre-training config's head has the parsing head's weights, name for name and
    shape for shape, except the predictor; the COCO-init rows map them onto the parsing head."""
    def shapes(path, prefix):
        cfg = get_parsing_cfg(os.path.join(REPO, "configs", path), ["MODEL.DEVICE", "meta"])
        with torch.device("meta"):
            m = build_model(cfg)
        return cfg, {k[len(prefix):] if k.startswith(prefix) else "~" + k: v.shape
                     for k, v in m.state_dict().items()}

    kcfg, kp = shapes("COCO-Keypoints/keypoint_rcnn_gce_R_50_FPN_1x.yaml", "roi_heads.keypoint_head.")
    assert kcfg.INPUT.MAPPER_NAME == "DatasetMapper" and kcfg.MODEL.KEYPOINT_ON
    for row in ("1x", "3x"):
        pcfg, pp = shapes(f"CIHP/parsing_rcnn_R_50_FPN_{row}_coco_kp_init.yaml", "roi_heads.parsing_head.")
        assert pcfg.MODEL.WEIGHTS_PREFIX_MAP == PREFIX_MAP
        assert {k for k in kp if kp[k] != pp.get(k)} == {"predictor.deconv.weight", "predictor.deconv.bias"}
        assert set(kp) == set(pp)
