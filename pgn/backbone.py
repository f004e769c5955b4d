"""DeepLab-v2 dilated ResNet (output stride 8) for PGN (methods.md §3.2).

res3 keeps its stride 2; res4 and res5 keep stride 1 and dilate every 3×3 conv by
``RES4_DILATION`` (2) and ``RES5_DILATION`` (4), so res3, res4 and res5 all sit at stride 8.
Detectron2's ``build_resnet_backbone`` only dilates res5, hence this builder. Module names follow
Detectron2's ``ResNet`` (``stem``, ``res2`` …), so MSRA / torchvision ImageNet checkpoints load.

Depth 50/101/152 use bottleneck blocks (caffe style: stride in the 1×1 conv when
``STRIDE_IN_1X1``); depth 10/18/34 use basic blocks with dilation, for tests and quick schedules.
"""

import logging

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.layers import CNNBlockBase, Conv2d, ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY
from detectron2.modeling.backbone.resnet import BasicStem, BottleneckBlock, ResNet

__all__ = ["DilatedBasicBlock", "BatchNorm2dEval", "build_pgn_resnet_backbone", "PGN_RESNET_DEPTHS"]

logger = logging.getLogger(__name__)

# depth -> (blocks per stage res2..res5, uses bottleneck blocks)
PGN_RESNET_DEPTHS = {
    10: ([1, 1, 1, 1], False),
    18: ([2, 2, 2, 2], False),
    34: ([3, 4, 6, 3], False),
    50: ([3, 4, 6, 3], True),
    101: ([3, 4, 23, 3], True),
    152: ([3, 8, 36, 3], True),
}


class BatchNorm2dEval(nn.BatchNorm2d):
    """BatchNorm that always normalises with its running statistics but keeps a trainable affine.

    This is PGN's backbone BN (TF slim ``batch_norm(is_training=False, scale=True)``);
    Detectron2's ``FrozenBN`` freezes the affine as well.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
        )


def _norm(norm, channels: int):
    return BatchNorm2dEval(channels) if norm == "BNEval" else get_norm(norm, channels)


class DilatedBasicBlock(CNNBlockBase):
    """ResNet basic block (two 3×3 convs) whose 3×3 convs can be dilated; Detectron2's
    ``BasicBlock`` has no dilation."""

    def __init__(
        self, in_channels: int, out_channels: int, *, stride: int = 1, dilation: int = 1, norm: str = "BN"
    ):
        super().__init__(in_channels, out_channels, stride)
        if in_channels != out_channels or stride != 1:
            self.shortcut = Conv2d(
                in_channels, out_channels, 1, stride=stride, bias=False, norm=_norm(norm, out_channels)
            )
        else:
            self.shortcut = None
        self.conv1 = Conv2d(
            in_channels,
            out_channels,
            3,
            stride=stride,
            padding=dilation,
            dilation=dilation,
            bias=False,
            norm=_norm(norm, out_channels),
        )
        self.conv2 = Conv2d(
            out_channels,
            out_channels,
            3,
            padding=dilation,
            dilation=dilation,
            bias=False,
            norm=_norm(norm, out_channels),
        )
        for layer in (self.conv1, self.conv2, self.shortcut):
            if layer is not None:
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu_(self.conv1(x))
        out = self.conv2(out)
        shortcut = self.shortcut(x) if self.shortcut is not None else x
        return F.relu_(out + shortcut)


@BACKBONE_REGISTRY.register()
def build_pgn_resnet_backbone(cfg, input_shape: ShapeSpec) -> ResNet:
    """Dilated ResNet from ``cfg.MODEL.RESNETS`` (DEPTH, NORM, STEM_OUT_CHANNELS, RES2_OUT_CHANNELS,
    NUM_GROUPS, WIDTH_PER_GROUP, STRIDE_IN_1X1, RES4_DILATION, RES5_DILATION, OUT_FEATURES) and
    ``MODEL.BACKBONE.FREEZE_AT``. NORM also accepts "BNEval" (:class:`BatchNorm2dEval`)."""
    r = cfg.MODEL.RESNETS
    depth, norm = r.DEPTH, r.NORM
    if depth not in PGN_RESNET_DEPTHS:
        raise ValueError(
            f"MODEL.RESNETS.DEPTH={depth} is not supported by the PGN backbone; "
            f"choose one of {sorted(PGN_RESNET_DEPTHS)}"
        )
    res4_dil, res5_dil = int(r.RES4_DILATION), int(r.RES5_DILATION)
    if res4_dil not in (1, 2) or res5_dil not in (1, 2, 4) or (res4_dil == 2 and res5_dil != 4):
        raise ValueError(
            f"Unsupported dilations RES4_DILATION={res4_dil}, RES5_DILATION={res5_dil}: "
            "use (2, 4) for output stride 8, (1, 2) for 16 or (1, 1) for 32"
        )
    num_blocks, bottleneck = PGN_RESNET_DEPTHS[depth]
    if any(d for d in r.DEFORM_ON_PER_STAGE):
        raise ValueError(
            "The PGN backbone has no deformable convolutions (DEFORM_ON_PER_STAGE must be all False)"
        )
    out_features = list(r.OUT_FEATURES)
    stage_names = ["res2", "res3", "res4", "res5"]
    for f in out_features:
        if f not in stage_names:
            raise ValueError(f"Unknown backbone feature {f!r} in MODEL.RESNETS.OUT_FEATURES")

    # get_norm accepts a callable, which is how the non-registered "BNEval" reaches every block
    norm_arg = (lambda c: BatchNorm2dEval(c)) if norm == "BNEval" else norm
    stem = BasicStem(in_channels=input_shape.channels, out_channels=r.STEM_OUT_CHANNELS, norm=norm_arg)
    in_channels, out_channels = r.STEM_OUT_CHANNELS, r.RES2_OUT_CHANNELS
    bottleneck_channels = r.NUM_GROUPS * r.WIDTH_PER_GROUP
    dilations = {"res2": 1, "res3": 1, "res4": res4_dil, "res5": res5_dil}
    max_stage = max(stage_names.index(f) for f in out_features)
    stages = []
    for idx, name in enumerate(stage_names[: max_stage + 1]):
        dilation = dilations[name]
        first_stride = 1 if idx == 0 or dilation > 1 else 2
        kwargs = dict(
            num_blocks=num_blocks[idx],
            stride_per_block=[first_stride] + [1] * (num_blocks[idx] - 1),
            in_channels=in_channels,
            out_channels=out_channels,
            norm=norm_arg,
            dilation=dilation,
        )
        if bottleneck:
            kwargs.update(
                block_class=BottleneckBlock,
                bottleneck_channels=bottleneck_channels,
                stride_in_1x1=r.STRIDE_IN_1X1,
                num_groups=r.NUM_GROUPS,
            )
        else:
            kwargs.update(block_class=DilatedBasicBlock)
        stages.append(ResNet.make_stage(**kwargs))
        in_channels = out_channels
        out_channels *= 2
        bottleneck_channels *= 2
    logger.info("PGN ResNet-%d backbone, dilations res4=%d res5=%d, norm %s", depth, res4_dil, res5_dil, norm)
    return ResNet(stem, stages, out_features=out_features).freeze(cfg.MODEL.BACKBONE.FREEZE_AT)
