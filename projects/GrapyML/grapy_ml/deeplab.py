"""DeepLab v3+ ASPP and decoder producing Grapy-ML's feature f (methods.md §4.2).

Reuse of Detectron2: the ASPP is ``detectron2.layers.ASPP`` (the one ``DeepLabV3PlusHead`` of
``detectron2.projects.deeplab`` builds: 1×1, three atrous branches, image pooling, 1×1
projection, in the official branch order) with depthwise-separable atrous branches. Where the
official computation differs, this module does not use ``DeepLabV3PlusHead``:

- image pooling: the official branch is conv (no bias) + BN + ReLU, Detectron2's is conv + bias
  + ReLU; ``pool_norm`` swaps the branch for the official one (same output shape);
- decoder: two 3×3 separable convs (depthwise + BN + ReLU, pointwise + BN + ReLU) where
  Detectron2 uses one 5×5 separable conv (Panoptic-DeepLab's replacement);
- upsampling: bilinear with ``align_corners=True`` (Detectron2: False).
"""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.layers import ASPP, Conv2d, ShapeSpec, get_norm

from .xception import separable

__all__ = ["DeepLabV3PlusDecoder"]


class DeepLabV3PlusDecoder(nn.Module):
    """ASPP on the deep feature, upsampled to the low-level feature's stride, concatenated with
    its ``project_channels`` projection and fused by separable convs.

    Input: backbone features ``{low_name: (N, C_low, H/4, W/4), deep_name: (N, C, H/s, W/s)}``.
    Output: f, (N, decoder_channels, H/4, W/4), non-negative (ends with a ReLU).
    """

    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        in_features: Sequence[str],
        aspp_channels: int = 256,
        aspp_dilations: Sequence[int] = (6, 12, 18),
        aspp_separable: bool = True,
        aspp_dropout: float = 0.0,
        pool_norm: str = "BN",
        project_channels: int = 48,
        decoder_channels: int = 256,
        num_decoder_convs: int = 2,
        norm: str = "BN",
        align_corners: bool = True,
    ):
        super().__init__()
        if len(in_features) != 2:
            raise ValueError(f"MODEL.DEEPLAB_V3PLUS.IN_FEATURES needs [low-level, deep], got {list(in_features)}")
        for name in in_features:
            if name not in input_shape:
                raise ValueError(f"MODEL.DEEPLAB_V3PLUS.IN_FEATURES: backbone has no feature {name!r} "
                                 f"(it returns {sorted(input_shape)})")
        self.low_name, self.deep_name = in_features
        deep_ch = input_shape[self.deep_name].channels
        low_ch = input_shape[self.low_name].channels
        self.align_corners = align_corners
        self.aspp = ASPP(deep_ch, aspp_channels, list(aspp_dilations), norm=norm, activation=F.relu,
                         dropout=aspp_dropout, use_depthwise_separable_conv=aspp_separable)
        if pool_norm:  # the official image-pooling branch: conv without bias, norm, ReLU
            self.aspp.convs[-1] = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                Conv2d(deep_ch, aspp_channels, 1, bias=False, norm=get_norm(pool_norm, aspp_channels),
                       activation=F.relu),
            )
        self.project = Conv2d(low_ch, project_channels, 1, bias=not norm,
                              norm=get_norm(norm, project_channels), activation=F.relu)
        convs, c = [], aspp_channels + project_channels
        for _ in range(num_decoder_convs):
            convs.append(separable(c, decoder_channels, norm=norm, activation=F.relu))
            c = decoder_channels
        self.fuse = nn.Sequential(*convs)
        self.out_channels = c

    def forward(self, features: Dict[str, torch.Tensor]) -> torch.Tensor:
        low = self.project(features[self.low_name])
        x = self.aspp(features[self.deep_name])
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=self.align_corners)
        return self.fuse(torch.cat([x, low], dim=1))

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec], align_corners: bool = True) -> "DeepLabV3PlusDecoder":
        d = cfg.MODEL.DEEPLAB_V3PLUS
        return cls(
            input_shape,
            in_features=d.IN_FEATURES,
            aspp_channels=d.ASPP_CHANNELS,
            aspp_dilations=d.ASPP_DILATIONS,
            aspp_separable=d.ASPP_SEPARABLE,
            aspp_dropout=d.ASPP_DROPOUT,
            pool_norm=d.POOL_NORM,
            project_channels=d.PROJECT_CHANNELS,
            decoder_channels=d.DECODER_CHANNELS,
            num_decoder_convs=d.NUM_DECODER_CONVS,
            norm=d.NORM,
            align_corners=align_corners,
        )
