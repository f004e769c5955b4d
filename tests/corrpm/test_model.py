"""CorrPM model: every config builds, the faithful widths give the official parameter count
(minus the official code's unused parameters), the HNL starts as the identity, every ablation
variant trains end to end, inference warps the crop back, and the loss terms by hand."""
import glob
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from detectron2.modeling import build_model

from corrpm.data.affine import affine_matrix, invert_affine
from corrpm.modeling.loss import balanced_edge_loss, corrpm_losses
from corrpm.modeling.meta_arch import _warp_back

from .common import CONFIG_ROOT, load_cfg

CONFIGS = sorted(glob.glob(os.path.join(CONFIG_ROOT, "**", "*.yaml"), recursive=True))


def _faithful_cfg(path=os.path.join(CONFIG_ROOT, "LIP", "corrpm_R_101_150e.yaml")):
    cfg = load_cfg(path)
    cfg.MODEL.RESNETS.NORM = cfg.MODEL.CORRPM.NORM = "BN"  # SyncBN: same parameters, needs a group
    cfg.MODEL.DEVICE = "meta"
    return cfg


def test_configs_found():
    names = {os.path.relpath(p, CONFIG_ROOT) for p in CONFIGS}
    assert {"Base-CorrPM.yaml", "LIP/corrpm_R_101_150e.yaml",
            "quick_schedules/corrpm_R_50_synthetic.yaml", "quick_schedules/corrpm_P_R_50_synthetic.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.relpath(p, CONFIG_ROOT))
def test_config_builds(path):
    cfg = load_cfg(path)
    if not cfg.DATASETS.TRAIN:  # the base config: no dataset tells the label space
        cfg.INPUT.LABEL_SPACE = "lip"
    assert cfg.MODEL.META_ARCHITECTURE == "CorrPM" and cfg.MODEL.SEM_SEG_HEAD.NAME == "CorrPMHead"
    if "quick_schedules" in path:
        model = build_model(cfg)
        assert model.head.fusion == cfg.MODEL.CORRPM.FUSION
    else:  # faithful widths: built without memory on the meta device
        cfg.MODEL.RESNETS.NORM = cfg.MODEL.CORRPM.NORM = "BN"
        cfg.MODEL.DEVICE = "meta"
        with torch.device("meta"):
            model = build_model(cfg)
        assert model.head.seg2.out_channels == cfg.MODEL.CORRPM.NUM_CLASSES


def _expected_faithful_params(K=20, J=16):
    """methods.md §5.2 counted by hand (BN: 2 parameters per channel)."""
    bn = lambda c: 2 * c  # noqa: E731
    stem = 27 * 64 + bn(64) + 9 * 64 * 64 + bn(64) + 9 * 64 * 128 + bn(128)
    backbone, cin = stem, 128
    for blocks, b, o in ((3, 64, 256), (4, 128, 512), (23, 256, 1024), (3, 512, 2048)):
        for i in range(blocks):
            backbone += cin * b + bn(b) + 9 * b * b + bn(b) + b * o + bn(o)
            backbone += cin * o + bn(o) if cin != o else 0
            cin = o
    aspp = 2 * (2048 * 256 + bn(256)) + 3 * (9 * 2048 * 256 + bn(256)) + 1280 * 512 + bn(512)
    parsing = aspp + 768 * 512 + bn(512) + 512 * K + K
    edge = sum(c * 256 + bn(256) for c in (256, 512, 1024)) + 768 * 512 + 512 * 2 + 2
    pose = 2048 * 256 * 16 + bn(256) + 256 * 512 * 16 + bn(512) + 512 * J + J
    fuse = 1536 * 512 + bn(512)
    hnl = 3 * (512 * 256 + 256) + 256 * 512 + 512 + bn(512)
    return backbone + parsing + edge + pose + fuse + hnl + 512 * K + K


def test_faithful_lip_parameter_count():
    # = the official CorrPM_Model(20, 16) count minus its 148,578 unused parameters (decoder
    # conv1/conv2 and the per-level edge conv4), checked against the official code itself in
    # tests/equivalence/test_corrpm_official.py
    with torch.device("meta"):
        model = build_model(_faithful_cfg())
    n = sum(p.numel() for p in model.parameters())
    assert n == _expected_faithful_params() == 71_566_074
    assert len(model.backbone.res4) == 23 and model.backbone.stem.conv3.out_channels == 128
    assert model.head.nonlocal_block.inner_channels == 256 and not model.head.nonlocal_block.use_scale
    assert model.head.parsing_encoder.aspp.dilations == (12, 24, 36)


def _batch(cfg, n=2, size=64):
    g = torch.Generator().manual_seed(0)
    K, J = cfg.MODEL.CORRPM.NUM_CLASSES, cfg.MODEL.CORRPM.NUM_JOINTS
    out = []
    for _ in range(n):
        sem = torch.randint(0, K, (size, size), generator=g)
        sem[:4] = 255
        out.append({"image": torch.randint(0, 255, (3, size, size), generator=g, dtype=torch.uint8),
                    "sem_seg": sem, "edges": torch.randint(0, 2, (size, size), generator=g),
                    "heatmaps": torch.rand(J, size // 4, size // 4, generator=g)})
    return out


def test_hnl_is_identity_at_init():
    torch.manual_seed(0)
    model = build_model(load_cfg()).eval()
    x = torch.randn(1, 3, 64, 64)
    feats = model.backbone(x)
    head = model.head
    with torch.no_grad():
        f_p, _ = head.parsing_encoder(feats["res2"], feats["res5"])
        out = head(feats)
        torch.testing.assert_close(out["seg2"], head.seg2(f_p))  # f_p2 = f_p
        torch.nn.init.ones_(head.nonlocal_block.out.norm.weight)
        assert not torch.allclose(head(feats)["seg2"], out["seg2"])


VARIANTS = {
    "P": ["MODEL.CORRPM.FUSION", "none", "MODEL.CORRPM.HYBRID_INPUTS", [], "MODEL.CORRPM.USE_EDGE", False,
          "MODEL.CORRPM.USE_POSE", False],
    "PP": ["MODEL.CORRPM.FUSION", "self_nl", "MODEL.CORRPM.USE_EDGE", False, "MODEL.CORRPM.USE_POSE", False],
    "P+B+K": ["MODEL.CORRPM.FUSION", "concat"],
    "PBB": ["MODEL.CORRPM.HYBRID_INPUTS", ["parsing", "edge", "edge"], "MODEL.CORRPM.USE_POSE", False],
    "CorrPM-no-seg1": ["MODEL.CORRPM.SEG1_LOSS_WEIGHT", 0.0],
    "beta0": ["MODEL.CORRPM.POSE_LOSS_WEIGHT", 0.0],
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variants_train_end_to_end(name):
    torch.manual_seed(0)
    cfg = load_cfg(opts=VARIANTS[name])
    model = build_model(cfg).train()
    losses = model(_batch(cfg))
    expected = {"loss_seg2"} | ({"loss_seg1"} if cfg.MODEL.CORRPM.SEG1_LOSS_WEIGHT > 0 else set())
    expected |= {"loss_edge"} if cfg.MODEL.CORRPM.USE_EDGE else set()
    expected |= {"loss_pose"} if cfg.MODEL.CORRPM.USE_POSE and cfg.MODEL.CORRPM.POSE_LOSS_WEIGHT > 0 else set()
    assert set(losses) == expected
    sum(losses.values()).backward()
    # DDP-safe: no parameter without a gradient (classifiers without loss are not built)
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
    assert (model.head.parsing_encoder.seg1 is None) == (cfg.MODEL.CORRPM.SEG1_LOSS_WEIGHT == 0)


def test_bad_variant_configs():
    with pytest.raises(ValueError, match="USE_EDGE"):
        build_model(load_cfg(opts=["MODEL.CORRPM.USE_EDGE", False]))
    with pytest.raises(ValueError, match="FUSION"):
        build_model(load_cfg(opts=["MODEL.CORRPM.FUSION", "sum"]))
    with pytest.raises(ValueError, match="HYBRID_INPUTS"):
        build_model(load_cfg(opts=["MODEL.CORRPM.HYBRID_INPUTS", ["parsing", "depth"]]))


def test_inference_output_size_and_auxiliary():
    torch.manual_seed(0)
    cfg = load_cfg(opts=["MODEL.CORRPM.RETURN_AUXILIARY", True, "INPUT.CROP.SIZE", [64, 64]])
    model = build_model(cfg).eval()
    img = torch.randint(0, 255, (3, 50, 70), dtype=torch.uint8)
    with torch.no_grad():
        out = model([{"image": img}, {"image": img, "height": 100, "width": 140}])
    assert out[0]["sem_seg"].shape == (20, 50, 70) and out[1]["sem_seg"].shape == (20, 100, 140)
    assert out[0]["edges"].shape == (50, 70) and 0 <= out[0]["edges"].min() and out[0]["edges"].max() <= 1
    assert out[1]["edges"].shape == (100, 140)
    assert out[0]["keypoint_heatmaps"].shape == (16, 16, 16)  # of the 64² crop


def test_warp_back_nearest_and_background_outside():
    scores = torch.zeros(3, 4, 4)
    scores[1, :, :2] = 5.0  # class 1 on the left half of the crop, class 2 on the right half
    scores[2, :, 2:] = 5.0
    m = affine_matrix([3.3, 1.7], 4.0, 0.0, (4, 4))  # crop (u, v) = image (x - 1.3, y + 0.3)
    out = _warp_back(scores, invert_affine(m), (4, 8), background=0).argmax(0)
    # x = 1..4 -> u = -0.3, 0.7, 1.7, 2.7 -> nearest crop columns 0, 1, 2, 3; x = 0 and 5..7 fall
    # outside the crop -> background
    assert out.tolist() == [[0, 1, 1, 2, 2, 0, 0, 0]] * 4


def test_balanced_edge_loss_by_hand():
    logits = torch.tensor([[[[0.0, 0.0, 0.0, 0.0]], [[1.0, 0.0, 0.0, 2.0]]]])  # (1, 2, 1, 4)
    edges = torch.tensor([[[1, 0, 0, 255]]])
    # 1 positive, 2 negatives: weights [w_neg, w_pos] = [1/3, 2/3]
    nll = -F.log_softmax(logits, 1)[0, :, 0]  # (2, 4)
    expected = (2 / 3 * nll[1, 0] + 1 / 3 * nll[0, 1] + 1 / 3 * nll[0, 2]) / (2 / 3 + 1 / 3 + 1 / 3)
    torch.testing.assert_close(balanced_edge_loss(logits, edges), expected)


def test_loss_weights_and_upsampling():
    g = torch.Generator().manual_seed(0)
    outs = {"seg1": torch.randn(1, 3, 4, 4, generator=g), "seg2": torch.randn(1, 3, 4, 4, generator=g),
            "edge": torch.randn(1, 2, 4, 4, generator=g), "pose": torch.randn(1, 2, 2, 2, generator=g)}
    sem = torch.randint(0, 3, (1, 8, 8), generator=g)
    edges = torch.randint(0, 2, (1, 8, 8), generator=g)
    heat = torch.rand(1, 2, 4, 4, generator=g)
    unit = corrpm_losses(outs, sem, edges, heat, seg1_weight=1, seg2_weight=1, edge_weight=1, pose_weight=1)
    up = F.interpolate(outs["seg2"], size=(8, 8), mode="bilinear", align_corners=True)
    torch.testing.assert_close(unit["loss_seg2"], F.cross_entropy(up, sem))
    pose = F.interpolate(outs["pose"], size=(4, 4), mode="bilinear", align_corners=True)
    torch.testing.assert_close(unit["loss_pose"], F.mse_loss(pose, heat))
    paper = corrpm_losses(outs, sem, edges, heat, seg1_weight=0)  # alpha 2, beta 70, no seg1 loss
    assert "loss_seg1" not in paper
    torch.testing.assert_close(paper["loss_edge"], 2 * unit["loss_edge"])
    torch.testing.assert_close(paper["loss_pose"], 70 * unit["loss_pose"])
    with pytest.raises(ValueError, match="heatmaps"):
        corrpm_losses(outs, sem, edges, None)


def test_shared_semantic_tta_wraps_corrpm():
    from human_parsing.engine.trainer import build_tta_model

    torch.manual_seed(0)
    cfg = load_cfg(opts=["TEST.SEMANTIC_AUG.SCALES", (0.75, 1.0), "TEST.SEMANTIC_AUG.FLIP", True,
                         "INPUT.CROP.SIZE", [64, 64]])
    model = build_model(cfg).eval()
    tta = build_tta_model(cfg, model)
    img = torch.randint(0, 255, (3, 48, 40), dtype=torch.uint8)
    with torch.no_grad():
        out = tta([{"image": img, "height": 48, "width": 40}])[0]["sem_seg"]
        single = model([{"image": img}])[0]["sem_seg"]
    assert out.shape == single.shape == (20, 48, 40)
    assert not torch.allclose(out, single)  # four runs summed
