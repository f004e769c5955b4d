"""Official / ImageNet parameter names -> CorrPM names (the converter: tests/official_weights)."""
import pytest
import torch

from corrpm.checkpoint import convert_official_state_dict


def test_names_by_hand():
    t = torch.zeros(1)
    sd = {k: t for k in (
        "conv1.weight", "bn3.running_var", "layer1.0.downsample.1.weight", "layer3.22.bn2.bias",
        "layer4.2.conv3.weight", "fc.weight", "fc.bias", "module.layer5.conv4.0.weight",
        "layer5.conv1.2.running_mean", "layer6.conv1.0.weight", "layer6.conv4.bias",
        "edge_layer.conv2.1.weight", "edge_layer.conv4.weight", "edge_layer.conv6.weight",
        "pose_layer.deconv_layers.4.running_mean", "pose_layer.deconv_layers.4.num_batches_tracked",
        "nl_SEP.phi.0.weight", "nl_SEP.W.1.bias", "out_layer.weight", "conv_fuse.1.weight")}
    assert sorted(convert_official_state_dict(sd)) == sorted([
        "backbone.stem.conv1.weight", "backbone.stem.conv3.norm.running_var",
        "backbone.res2.0.shortcut.norm.weight", "backbone.res4.22.conv2.norm.bias",
        "backbone.res5.2.conv3.weight", "head.parsing_encoder.aspp.atrous.1.weight",
        "head.parsing_encoder.aspp.pool_conv.norm.running_mean", "head.parsing_encoder.seg1.bias",
        "head.edge_encoder.laterals.1.norm.weight", "head.edge_encoder.fuse.weight",
        "head.pose_encoder.deconvs.4.running_mean", "head.nonlocal_block.phi.weight",
        "head.nonlocal_block.out.norm.bias", "head.seg2.weight", "head.fuse.norm.weight"])
    with pytest.raises(KeyError, match="layer7.conv1.weight"):
        convert_official_state_dict({"layer7.conv1.weight": t})
