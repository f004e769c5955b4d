"""Atrous Spatial Pyramid Pooling (DeepLab v3) with an image-pooling branch.

Used by Parsing R-CNN's GCE head (methods.md §2.4(b)) and by the bottom-up / semantic methods.
The branch order is the official Parsing R-CNN one: image pooling, 1×1, then one 3×3 conv per
dilation; their outputs are concatenated, and optionally projected by a 1×1 conv.
"""
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.layers import Conv2d, get_norm

__all__ = ["ASPP"]


def _init_conv(conv: nn.Module) -> None:
    # kaiming-normal (fan_out, relu) with zero bias, as every conv of the official GCE head
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class ASPP(nn.Module):
    """ASPP: ``[image pooling, 1×1, 3×3 @ d for d in dilations]`` → concat → optional 1×1 projection.

    Input (N, in_channels, H, W); output (N, out_channels, H, W) where ``out_channels`` is
    ``projection_channels`` if > 0, else ``channels × num_branches`` (the concatenation).
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        dilations: Sequence[int] = (6, 12, 18),
        *,
        image_pooling: bool = True,
        norm: str = "",
        pool_norm: Optional[str] = None,
        activation: Optional[Callable] = F.relu,
        projection_channels: int = 0,
        projection_norm: Optional[str] = None,
        dropout: float = 0.0,
        channel_dropout: bool = False,
    ):
        """
        Args:
            in_channels: channels of the input feature map.
            channels: output channels of every branch.
            dilations: one 3×3 branch per dilation (padding = dilation, so size is kept).
            image_pooling: add the global-average-pool branch (1×1 conv, then broadcast back).
            norm: normalization after each branch conv ("", "BN", "GN", "SyncBN", ...); convs
                have a bias only when there is no norm.
            pool_norm: norm of the image-pooling branch; None = ``norm``. The pooled map is 1×1,
                so "GN" with one channel per group always outputs 0 and "BN" fails on batch 1
                in training: pass "" in those cases.
            activation: applied after each branch (and after the projection); None = identity.
            projection_channels: if > 0, a 1×1 conv from the concatenation to this many channels.
            projection_norm: norm of the projection; None = ``norm``.
            dropout: dropout after the projection (training only), as in DeepLab v3.
            channel_dropout: drop whole channels (``Dropout2d``, CorrPM/CE2P) instead of elements.
        """
        super().__init__()
        if channels <= 0 or in_channels <= 0:
            raise ValueError(f"ASPP needs positive channels, got in={in_channels}, channels={channels}")
        if any(int(d) < 1 for d in dilations):
            raise ValueError(f"ASPP dilations must be >= 1, got {list(dilations)}")
        pool_norm = norm if pool_norm is None else pool_norm
        projection_norm = norm if projection_norm is None else projection_norm
        self.activation = activation
        self.dilations = tuple(int(d) for d in dilations)
        self.dropout = dropout
        self.channel_dropout = channel_dropout

        def conv(cin, cout, k, d, nrm):
            c = Conv2d(cin, cout, k, padding=d * (k // 2), dilation=d, bias=not nrm,
                       norm=get_norm(nrm, cout), activation=activation)
            _init_conv(c)
            return c

        self.pool_conv = conv(in_channels, channels, 1, 1, pool_norm) if image_pooling else None
        self.conv1x1 = conv(in_channels, channels, 1, 1, norm)
        self.atrous = nn.ModuleList([conv(in_channels, channels, 3, d, norm) for d in self.dilations])
        num_branches = 1 + len(self.dilations) + int(image_pooling)
        concat_channels = channels * num_branches
        if projection_channels > 0:
            self.project = conv(concat_channels, projection_channels, 1, 1, projection_norm)
            self.out_channels = projection_channels
        else:
            self.project = None
            self.out_channels = concat_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        if self.pool_conv is not None:
            pooled = self.pool_conv(F.adaptive_avg_pool2d(x, 1))
            # bilinear upsampling of a 1×1 map is a broadcast; expand avoids the interpolation cost
            outs.append(pooled.expand(-1, -1, x.shape[2], x.shape[3]))
        outs.append(self.conv1x1(x))
        outs.extend(branch(x) for branch in self.atrous)
        out = torch.cat(outs, dim=1)
        if self.project is not None:
            out = self.project(out)
            if self.dropout > 0:
                drop = F.dropout2d if self.channel_dropout else F.dropout
                out = drop(out, self.dropout, training=self.training)
        return out
