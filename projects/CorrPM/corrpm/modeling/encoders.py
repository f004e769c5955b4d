"""CorrPM's three encoders on a ResNet (methods.md §5.2): parsing (ASPP + res2 decoder), edge
(res2-4 laterals) and pose (SimpleBaseline deconvolutions). Each returns its feature map at the
res2 resolution (stride 4) and its own logits."""
from functools import partial
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from torch import nn

from human_parsing.modeling.layers import ASPP

__all__ = ["norm_activation", "ParsingEncoder", "EdgeEncoder", "PoseEncoder"]


def norm_activation(activation: str, negative_slope: float = 0.01) -> Callable:
    """The activation of a head's "norm + activation" (official InPlaceABNSync: LeakyReLU 0.01)."""
    if activation == "leaky_relu":
        return partial(F.leaky_relu, negative_slope=negative_slope)
    if activation == "relu":
        return F.relu
    raise ValueError(f"MODEL.CORRPM.ACTIVATION must be 'leaky_relu' or 'relu', got {activation!r}")


def conv_norm_act(cin: int, cout: int, norm: str, act: Callable, kernel_size: int = 1) -> Conv2d:
    """Bias-free conv + norm + activation (a conv followed by InPlaceABNSync in the code)."""
    conv = Conv2d(cin, cout, kernel_size, padding=kernel_size // 2, bias=not norm,
                  norm=get_norm(norm, cout), activation=act)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return conv


def classifier(cin: int, cout: int, std: float = 0.0) -> nn.Conv2d:
    """1×1 conv with bias; ``std > 0``: N(0, std) weights and zero bias (pose head)."""
    conv = nn.Conv2d(cin, cout, 1)
    if std > 0:
        nn.init.normal_(conv.weight, std=std)
        nn.init.zeros_(conv.bias)
    return conv


class ParsingEncoder(nn.Module):
    """PaE: ASPP(res5) → 1×1 projection + Dropout2d → upsample to res2, concat res2 → 1×1 conv:
    ``f_p`` (N, feat_dim, H/4, W/4); ``seg1`` = 1×1 classifier of ``f_p`` (None when
    ``num_classes`` is 0: no seg1 loss, so no classifier left without gradient)."""

    def __init__(self, res2_channels: int, res5_channels: int, num_classes: int, *, feat_dim: int,
                 aspp_dim: int, dilations: Sequence[int], dropout: float, norm: str, act: Callable):
        super().__init__()
        self.aspp = ASPP(res5_channels, aspp_dim, dilations, norm=norm, activation=act,
                         projection_channels=feat_dim, dropout=dropout, channel_dropout=True)
        self.decoder = conv_norm_act(feat_dim + res2_channels, feat_dim, norm, act)
        self.seg1 = classifier(feat_dim, num_classes) if num_classes > 0 else None

    def forward(self, res2: torch.Tensor, res5: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        x = self.aspp(res5)
        x = F.interpolate(x, size=res2.shape[-2:], mode="bilinear", align_corners=False)
        f_p = self.decoder(torch.cat([x, res2], dim=1))
        return f_p, self.seg1(f_p) if self.seg1 is not None else None


class EdgeEncoder(nn.Module):
    """EdE: 1×1 conv + norm-act on each of res2, res3, res4, upsampled to res2 (align_corners
    True) and concatenated → 1×1 conv (no bias, no norm): ``f_b``; ``edge`` = 1×1 conv to 2
    (not built with ``logits=False``, i.e. without edge loss). The official per-level 3×3 edge
    classifier is computed but unused, so it is not built."""

    def __init__(self, in_channels: Sequence[int], *, mid_dim: int, feat_dim: int, norm: str, act: Callable,
                 logits: bool = True):
        super().__init__()
        self.laterals = nn.ModuleList([conv_norm_act(c, mid_dim, norm, act) for c in in_channels])
        self.fuse = Conv2d(mid_dim * len(in_channels), feat_dim, 1, bias=False)
        nn.init.kaiming_normal_(self.fuse.weight, mode="fan_out", nonlinearity="relu")
        self.predictor = classifier(feat_dim, 2) if logits else None

    def forward(self, feats: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        size = feats[0].shape[-2:]
        xs = [lat(f) for lat, f in zip(self.laterals, feats)]
        xs = [xs[0]] + [F.interpolate(x, size=size, mode="bilinear", align_corners=True) for x in xs[1:]]
        f_b = self.fuse(torch.cat(xs, dim=1))
        return f_b, self.predictor(f_b) if self.predictor is not None else None


class PoseEncoder(nn.Module):
    """PoE (SimpleBaseline): ConvTranspose 4×4/2 + norm + ReLU per width in ``deconv_dims``:
    ``f_k``; heatmaps = 1×1 conv to ``num_joints`` (not built when ``num_joints`` is 0, i.e.
    without pose loss). Init N(0, 0.001) as the official code."""

    def __init__(self, in_channels: int, num_joints: int, *, deconv_dims: Sequence[int], norm: str):
        super().__init__()
        layers, cin = [], in_channels
        for d in deconv_dims:
            deconv = nn.ConvTranspose2d(cin, d, 4, stride=2, padding=1, bias=False)
            nn.init.normal_(deconv.weight, std=0.001)
            bn = get_norm(norm, d)
            layers += [deconv] + ([bn] if bn is not None else []) + [nn.ReLU(inplace=True)]
            cin = d
        self.deconvs = nn.Sequential(*layers)
        self.predictor = classifier(cin, num_joints, std=0.001) if num_joints > 0 else None

    def forward(self, res5: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        f_k = self.deconvs(res5)
        return f_k, self.predictor(f_k) if self.predictor is not None else None


def feature_channels(input_shape: Dict[str, ShapeSpec], names: Sequence[str]) -> Tuple[int, ...]:
    missing = [n for n in names if n not in input_shape]
    if missing:
        raise ValueError(f"MODEL.CORRPM.IN_FEATURES {list(names)}: the backbone has no {missing} "
                         f"(it has {sorted(input_shape)}); set MODEL.RESNETS.OUT_FEATURES")
    return tuple(input_shape[n].channels for n in names)
