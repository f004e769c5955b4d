"""Grapy-ML model: backbone strides, the faithful CIHP parameter count against the official
model's, every config builds, official-name renaming, training and inference interfaces."""
import glob
import os

import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model

from grapy_ml.checkpoint import official_to_grapy_ml

from .common import CONFIGS, cpu_norms, load_cfg, tiny_cfg

# The official GrapyNet(n_classes=20, os=16, hidden_layers=256) has 46,130,780 parameters
# (counted from networks/grapy_net.py at Charleshhy/Grapy-ML@664f59b); two of its modules are
# defined but never used in forward():
OFFICIAL_CIHP_GPM_PARAMS = 46_130_780
OFFICIAL_UNUSED = {
    "semantic": 256 * 20 + 20,  # DeepLabv3_plus's classifier; GrapyNet predicts with gcn_network.sem
    "transform": 256 * 256 + 256,  # GrapyNet.transform, a 1×1 conv never called
}


def test_faithful_cihp_gpm_parameter_count_equals_official_minus_unused():
    cfg = cpu_norms(load_cfg("CIHP/gpm_X65_os16.yaml"))
    model = build_model(cfg)
    n = sum(p.numel() for p in model.parameters())
    assert n == OFFICIAL_CIHP_GPM_PARAMS - sum(OFFICIAL_UNUSED.values()) == 46_059_848
    # by part (official: xception_features 37,867,312; gcn_network 5,004,692 incl. its `sem`)
    assert sum(p.numel() for p in model.backbone.parameters()) == 37_867_312
    gpm = sum(p.numel() for p in model.head.gpm.parameters()) + sum(
        p.numel() for p in model.head.predictor.parameters())
    assert gpm == 5_004_692
    assert sum(p.numel() for p in model.head.gpm_predictor.parameters()) == 5140  # sem2


@pytest.mark.parametrize("os_", [16, 8])
def test_xception_feature_strides(os_):
    cfg = tiny_cfg()
    cfg.MODEL.XCEPTION.OUTPUT_STRIDE = os_
    model = build_model(cfg).eval()
    shapes = model.backbone.output_shape()
    assert (shapes["low"].stride, shapes["out"].stride) == (4, os_)
    feats = model.backbone(torch.randn(1, 3, 64, 48))
    assert feats["low"].shape == (1, 16, 16, 12)
    assert feats["out"].shape == (1, 24, 64 // os_, 48 // os_)


ALL = sorted(glob.glob(os.path.join(CONFIGS, "**", "*.yaml"), recursive=True))


def test_every_table4_row_has_a_config():
    names = {os.path.relpath(p, CONFIGS) for p in ALL}
    assert {
        "CIHP/deeplab_v3plus_X65_os16.yaml", "CIHP/gpm_X65_os16_L3_gcn.yaml", "CIHP/gpm_X65_os16_L3_gcr.yaml",
        "CIHP/gpm_X65_os16_gcr_ave.yaml", "CIHP/gpm_X65_os16_gcr_max.yaml", "CIHP/gpm_X65_os16.yaml",
        "CIHP/grapy_ml_stage3_X65_os16.yaml",
    } <= names


@pytest.mark.parametrize("path", ALL, ids=lambda p: os.path.relpath(p, CONFIGS))
def test_config_builds(path):
    cfg = load_cfg(os.path.relpath(path, CONFIGS))
    if "quick_schedules" not in path:  # faithful widths: build only, on CPU norms, no dataset access
        cpu_norms(cfg)
        if cfg.MODEL.RESNETS.NORM == "SyncBN":
            cfg.MODEL.RESNETS.NORM = "BN"
    if not cfg.MODEL.SEMANTIC.DOMAINS and not cfg.DATASETS.TRAIN:  # the bases name no dataset
        cfg.MODEL.SEMANTIC.DOMAINS = ("cihp",)
    model = build_model(cfg)
    assert model.head.gpm is not None or not cfg.MODEL.GPM.ENABLED


def test_domains_are_checked_before_training():
    cfg = tiny_cfg(domains=("cihp", "nope"))
    with pytest.raises(ValueError, match="nope"):
        build_model(cfg)
    cfg = tiny_cfg(domains=("cihp",))
    cfg.MODEL.SEMANTIC.TEST_DOMAIN = "atr"
    with pytest.raises(ValueError, match="TEST_DOMAIN"):
        build_model(cfg)
    cfg = tiny_cfg(domains=("cihp", "atr"))
    cfg.MODEL.GRAPY_ML.NUM_CLASSES = (20, 17)
    with pytest.raises(ValueError, match="NUM_CLASSES: domain 'atr' has 18 classes"):
        build_model(cfg)


def _input(k, size=32, domain=None):
    x = {"image": torch.randint(0, 255, (3, size, size), dtype=torch.uint8),
         "sem_seg": torch.randint(0, k, (size, size)), "height": size, "width": size}
    if domain:
        x["domain"] = domain
    return x


def test_training_losses_and_inference_per_domain():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(domains=("cihp", "pascal_person_part", "atr")))
    batch = [_input(20, domain="cihp"), _input(20, domain="cihp"), _input(7, domain="pascal_person_part"),
             _input(7, domain="pascal_person_part")]
    batch[0]["sem_seg"][:4] = 255
    losses = model(batch)
    assert sorted(losses) == ["loss_gpm", "loss_sem_seg"]
    sum(losses.values()).backward()
    used = {n for n, p in model.named_parameters() if p.grad is not None}
    assert not any(".atr" in n for n in used)  # no ATR input: its heads get no gradient
    assert any("domain_reasoning.pascal_person_part" in n for n in used)
    model.eval()
    with torch.no_grad():
        out = model([_input(18, 40, "atr"), {**_input(7, 24), "height": 48, "width": 30}])
    assert out[0]["sem_seg"].shape == (18, 40, 40)
    assert out[1]["sem_seg"].shape == (20, 48, 30)  # no domain: TEST_DOMAIN / the first one
    with pytest.raises(ValueError, match="'lip' is not one of the model's domains"):
        model([_input(20, domain="lip")])


def test_official_names_are_renamed():
    sd = {n: torch.zeros(1) for n in [
        "module.xception_features.bn1.running_mean",
        "xception_features.block1.rep.0.depthwise_bn.weight",  # block1 starts without ReLU
        "xception_features.block4.rep.5.pointwise.weight",  # middle block, third conv
        "xception_features.block2.block2_lastconv.1.depthwise.weight",
        "xception_features.block20.skipbn.bias",
        "xception_features.conv4.pointwise_bn.running_var",
        "aspp1.bn.weight", "aspp3.atrous_convolution.depthwise.weight", "global_avg_pool.2.bias",
        "concat_projection_bn1.weight", "feature_projection_conv1.weight", "decoder.1.atrous_convolution.pointwise_bn.weight",
        "semantic_aux_pascal.weight", "gcn_network.sem_atr.bias", "sem2_cihp.weight",
        "gcn_network.gcn_block_feature2.attn3.query_conv.weight", "gcn_network.gcn_block_feature_atr.bn1.running_mean",
        "gcn_network.transform_lv3.weight", "gcn_network.fusion.1.bias", "transform.weight",
    ]}
    new = official_to_grapy_ml(sd, ["cihp", "atr"], ["cihp", "pascal_person_part", "atr"])
    assert sorted(new) == sorted([
        "backbone.conv1.norm.running_mean",
        "backbone.block1.convs.0.depthwise.norm.weight",
        "backbone.middle.0.convs.2.pointwise.weight",
        "backbone.block2.convs.2.depthwise.weight",
        "backbone.block20.skip.norm.bias",
        "backbone.exit_convs.1.pointwise.norm.running_var",
        "head.decoder.aspp.convs.0.norm.weight", "head.decoder.aspp.convs.2.depthwise.weight",
        "head.decoder.aspp.convs.4.1.norm.bias", "head.decoder.aspp.project.norm.weight",
        "head.decoder.project.weight", "head.decoder.fuse.1.pointwise.norm.weight",
        "head.predictor.atr.bias", "head.gpm_predictor.cihp.weight",  # pascal: not a domain, dropped
        "head.gpm.reasoning.2.attn.2.query.weight", "head.gpm.domain_reasoning.atr.3.norms.0.running_mean",
        "head.gpm.transforms.3.weight", "head.gpm.fusion.1.bias",
    ])
    # stage 1 -> 2 of the single-dataset schedule: DeepLab's `semantic` becomes the main classifier,
    # unless the checkpoint also has the GPM's own gcn_network.sem
    assert official_to_grapy_ml({"semantic.weight": 1}, ["atr"], ["cihp", "pascal_person_part", "atr"]) == {
        "head.predictor.atr.weight": 1}
    both = official_to_grapy_ml({"semantic.weight": 1, "gcn_network.sem.weight": 2}, ["cihp"], ["cihp", "x", "y"])
    assert both == {"head.predictor.cihp.weight": 2}
    with pytest.raises(KeyError, match="mystery"):
        official_to_grapy_ml({"xception_features.conv1.weight": 0, "mystery.weight": 0}, ["cihp"], ["cihp"])


def test_own_checkpoints_chain_stages_without_renaming(tmp_path):
    """Stage 1 (DeepLab v3+) -> stage 2 (GPM): every DeepLab parameter loads by its own name."""
    stage1 = build_model(tiny_cfg(gpm=False))
    DetectionCheckpointer(stage1, str(tmp_path)).save("stage1")
    stage2 = build_model(tiny_cfg(gpm=True))
    DetectionCheckpointer(stage2).load(str(tmp_path / "stage1.pth"))
    s1, s2 = stage1.state_dict(), stage2.state_dict()
    assert set(s1) < set(s2)
    assert all(torch.equal(s1[k], s2[k]) for k in s1)


def test_tta_is_the_shared_semantic_tta_with_swap_flip():
    from human_parsing.engine.trainer import build_tta_model
    from human_parsing.modeling.semantic_tta import SemanticParsingWithTTA

    torch.manual_seed(0)
    cfg = tiny_cfg(domains=("cihp",))
    cfg.TEST.SEMANTIC_AUG.SCALES = (1.0, 0.5)
    model = build_model(cfg).eval()
    tta = build_tta_model(cfg, model)
    assert isinstance(tta, SemanticParsingWithTTA) and tta.flip and tta.combine == "sum"
    x = _input(20, 32)
    out = tta([x])[0]["sem_seg"]
    with torch.no_grad():
        runs = [model([dict(x, image=img)])[0]["sem_seg"] for img in (x["image"], x["image"].flip(-1))]
    # scale 1 of the sum: the plain run plus the mirrored run mirrored back with arms/legs/shoes swapped
    from human_parsing.data.label_spaces import get_label_space
    from human_parsing.data.transforms import flip_logits

    scale1 = runs[0] + flip_logits(runs[1], get_label_space("cihp"))
    half = tta.__class__(model, scales=(0.5,), flip=True)([x])[0]["sem_seg"]
    assert torch.allclose(out, scale1 + half, atol=1e-5)
