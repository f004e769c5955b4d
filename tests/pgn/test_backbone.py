"""The dilated PGN backbone: output stride 8, shapes, dilations, BN-eval."""

import pytest
import torch
from detectron2.modeling import build_backbone

from pgn.backbone import BatchNorm2dEval
from tests.pgn.common import tiny_pgn_cfg


def _dilations(stage):
    return sorted(
        {m.dilation[0] for m in stage.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size[0] == 3}
    )


@pytest.mark.parametrize("depth,res2,expected", [(10, 32, [64, 128, 256]), (50, 64, [128, 256, 512])])
def test_output_stride_8_and_channels(depth, res2, expected):
    cfg = tiny_pgn_cfg()
    cfg.MODEL.RESNETS.DEPTH, cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = depth, res2
    cfg.MODEL.RESNETS.WIDTH_PER_GROUP = 8
    cfg.MODEL.RESNETS.NORM = "FrozenBN"  # bottleneck width 8 is too narrow for GN(32)
    bb = build_backbone(cfg)
    out = bb(torch.zeros(1, 3, 64, 48))
    assert [tuple(out[f].shape) for f in ("res3", "res4", "res5")] == [(1, c, 8, 6) for c in expected]
    shapes = bb.output_shape()
    assert [shapes[f].stride for f in ("res3", "res4", "res5")] == [8, 8, 8]
    assert _dilations(bb.res3) == [1] and _dilations(bb.res4) == [2] and _dilations(bb.res5) == [4]


def test_output_stride_16_without_res4_dilation():
    cfg = tiny_pgn_cfg()
    cfg.MODEL.RESNETS.RES4_DILATION, cfg.MODEL.RESNETS.RES5_DILATION = 1, 2
    out = build_backbone(cfg)(torch.zeros(1, 3, 64, 64))
    assert out["res4"].shape[-1] == 4 and out["res5"].shape[-1] == 4


def test_r101_block_counts():
    cfg = tiny_pgn_cfg()
    cfg.MODEL.RESNETS.DEPTH = 101
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS, cfg.MODEL.RESNETS.WIDTH_PER_GROUP = 16, 4
    cfg.MODEL.RESNETS.NORM = "FrozenBN"
    bb = build_backbone(cfg)
    assert [len(getattr(bb, f"res{i}")) for i in (2, 3, 4, 5)] == [3, 4, 23, 3]


def test_bad_config_names_the_key():
    cfg = tiny_pgn_cfg()
    cfg.MODEL.RESNETS.DEPTH = 11
    with pytest.raises(ValueError, match="DEPTH"):
        build_backbone(cfg)
    cfg = tiny_pgn_cfg()
    cfg.MODEL.RESNETS.RES4_DILATION = 2
    cfg.MODEL.RESNETS.RES5_DILATION = 2
    with pytest.raises(ValueError, match="RES4_DILATION"):
        build_backbone(cfg)


def test_bn_eval_uses_running_stats_in_training_and_keeps_affine_trainable():
    cfg = tiny_pgn_cfg()
    cfg.MODEL.RESNETS.NORM = "BNEval"
    bb = build_backbone(cfg).train()
    bns = [m for m in bb.modules() if isinstance(m, BatchNorm2dEval)]
    assert bns and all(m.weight.requires_grad for m in bns)
    bn = BatchNorm2dEval(2).train()
    bn.running_mean.fill_(1.0)
    bn.running_var.fill_(4.0)
    x = torch.tensor([3.0, 5.0]).view(1, 2, 1, 1)
    # (x - 1) / sqrt(4 + eps): 1.0 and 2.0, whatever the batch statistics; stats are not updated
    assert bn(x).flatten().tolist() == pytest.approx([1.0, 2.0], rel=1e-5)
    assert bn.running_mean.tolist() == [1.0, 1.0]
