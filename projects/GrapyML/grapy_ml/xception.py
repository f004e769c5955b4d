"""Aligned Xception-65 of DeepLab v3+ as Grapy-ML uses it (methods.md §4.2), as a Detectron2
backbone returning the stride-4 low-level feature ("low") and the stride-16 (or 8) output ("out").

Separable convs are Detectron2's ``DepthwiseSeparableConv2d``: inside the blocks without an
activation between depthwise and pointwise (Xception's "same" convs), in the exit flow with
norm + ReLU after both (the official ``SeparableConv2d_aspp``). Padding = dilation, which equals
the official ``fixed_padding`` for 3×3 kernels.
"""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.layers import Conv2d, DepthwiseSeparableConv2d, ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone

__all__ = ["XceptionBlock", "Xception65", "build_xception65_backbone"]


def separable(cin: int, cout: int, stride: int = 1, dilation: int = 1, norm: str = "BN",
              activation=None) -> DepthwiseSeparableConv2d:
    """3×3 depthwise (stride, dilation) + norm [+ act], 1×1 pointwise + norm [+ act], no biases."""
    conv = DepthwiseSeparableConv2d(
        cin, cout, 3, padding=dilation, dilation=dilation,
        norm1=norm, activation1=activation, norm2=norm, activation2=activation,
    )
    if stride != 1:  # DepthwiseSeparableConv2d has no stride argument
        conv.depthwise.stride = (stride, stride)
    return conv


class XceptionBlock(nn.Module):
    """One Xception block: ``reps`` separable convs (ReLU before each), an optional strided or
    extra conv at the end, and a residual (1×1 conv + norm when the shape changes).

    ``low_level``: ``forward`` also returns the output of the convs before the strided one
    (block2's pre-stride feature without ReLU: the DeepLab v3+ low-level feature).
    """

    def __init__(self, cin: int, cout: int, reps: int, *, stride: int = 1, dilation: int = 1,
                 start_with_relu: bool = True, grow_first: bool = True, is_last: bool = False,
                 norm: str = "BN", relu_before_skip: bool = True, low_level: bool = False):
        super().__init__()
        channels = []  # (in, out) of each conv
        c = cin
        if grow_first:
            channels.append((cin, cout))
            c = cout
        channels += [(c, c)] * (reps - 1)
        if not grow_first:
            channels.append((cin, cout))
        convs = [separable(a, b, 1, dilation, norm) for a, b in channels]
        self.low_level_index = len(convs) if low_level else None
        if stride != 1:
            convs.append(separable(cout, cout, stride, dilation, norm))
        if is_last:
            convs.append(separable(cout, cout, 1, dilation, norm))
        self.convs = nn.ModuleList(convs)
        self.start_with_relu = start_with_relu
        self.relu_before_skip = relu_before_skip and start_with_relu
        if cout != cin or stride != 1:
            self.skip = Conv2d(cin, cout, 1, stride=stride, bias=False, norm=get_norm(norm, cout))
        else:
            self.skip = None

    def forward(self, x: torch.Tensor):
        # The official block starts with nn.ReLU(inplace=True), which also rewrites the input the
        # residual reads; relu_before_skip reproduces that.
        y = F.relu(x) if self.start_with_relu else x
        if self.relu_before_skip:
            x = y
        low = None
        for i, conv in enumerate(self.convs):
            if i == self.low_level_index:
                low = y
            if i > 0:
                y = F.relu(y)
            y = conv(y)
        y = y + (x if self.skip is None else self.skip(x))
        return (y, low) if self.low_level_index is not None else y


class Xception65(Backbone):
    """Entry flow (stem, block1-3), middle flow (16 blocks), exit flow (block20, 3 separable convs
    with BN + ReLU). Widths and the number of middle blocks are arguments, so the quick schedules
    use the same network with smaller numbers."""

    def __init__(self, *, output_stride: int = 16, norm: str = "BN",
                 stem_channels: Sequence[int] = (32, 64), entry_channels: Sequence[int] = (128, 256, 728),
                 num_middle_blocks: int = 16, exit_channels: Sequence[int] = (1024, 1536, 1536, 2048),
                 relu_before_skip: bool = True, out_features: Sequence[str] = ("low", "out"), in_channels: int = 3):
        super().__init__()
        if output_stride == 16:
            block3_stride, middle_dilation, exit_dilations = 2, 1, (1, 2)
        elif output_stride == 8:
            # The official code sets the same values but keeps a stride-2 skip conv in block3,
            # which cannot run at OS8 (shape mismatch); here the skip follows the block's stride.
            block3_stride, middle_dilation, exit_dilations = 1, 2, (2, 4)
        else:
            raise ValueError(f"MODEL.XCEPTION.OUTPUT_STRIDE must be 16 or 8, got {output_stride}")
        s0, s1 = stem_channels
        e1, e2, e3 = entry_channels
        x20, x3, x4, x5 = exit_channels
        kw = dict(norm=norm, relu_before_skip=relu_before_skip)
        self.conv1 = Conv2d(in_channels, s0, 3, stride=2, padding=1, bias=False, norm=get_norm(norm, s0))
        self.conv2 = Conv2d(s0, s1, 3, padding=1, bias=False, norm=get_norm(norm, s1))
        self.block1 = XceptionBlock(s1, e1, 2, stride=2, start_with_relu=False, **kw)
        self.block2 = XceptionBlock(e1, e2, 2, stride=2, low_level=True, **kw)
        self.block3 = XceptionBlock(e2, e3, 2, stride=block3_stride, **kw)
        self.middle = nn.ModuleList(
            [XceptionBlock(e3, e3, 3, dilation=middle_dilation, **kw) for _ in range(num_middle_blocks)]
        )
        self.block20 = XceptionBlock(e3, x20, 2, dilation=exit_dilations[0], grow_first=False, is_last=True, **kw)
        d = exit_dilations[1]
        self.exit_convs = nn.ModuleList(
            [separable(a, b, 1, d, norm, F.relu) for a, b in ((x20, x3), (x3, x4), (x4, x5))]
        )
        self._out_features = list(out_features)
        self._out_feature_channels = {"low": e2, "out": x5}
        self._out_feature_strides = {"low": 4, "out": output_stride}
        for name in self._out_features:
            if name not in self._out_feature_channels:
                raise ValueError(f"MODEL.XCEPTION.OUT_FEATURES: unknown feature {name!r} (low, out)")

    def forward(self, x: torch.Tensor):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.block1(x)
        x, low = self.block2(x)
        x = self.block3(x)
        for block in self.middle:
            x = block(x)
        x = self.block20(x)
        for conv in self.exit_convs:
            x = conv(x)
        out = {"low": low, "out": x}
        return {k: out[k] for k in self._out_features}

    def output_shape(self):
        return {
            k: ShapeSpec(channels=self._out_feature_channels[k], stride=self._out_feature_strides[k])
            for k in self._out_features
        }


@BACKBONE_REGISTRY.register()
def build_xception65_backbone(cfg, input_shape: ShapeSpec) -> Xception65:
    """Xception-65 from ``MODEL.XCEPTION`` (grapy_ml/config.py)."""
    x = cfg.MODEL.XCEPTION
    return Xception65(
        output_stride=x.OUTPUT_STRIDE,
        norm=x.NORM,
        stem_channels=x.STEM_CHANNELS,
        entry_channels=x.ENTRY_CHANNELS,
        num_middle_blocks=x.NUM_MIDDLE_BLOCKS,
        exit_channels=x.EXIT_CHANNELS,
        relu_before_skip=x.RELU_BEFORE_SKIP,
        out_features=x.OUT_FEATURES,
        in_channels=input_shape.channels,
    )
