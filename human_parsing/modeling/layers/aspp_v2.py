"""DeepLab-v2 ASPP: parallel dilated 3×3 convs whose outputs are *summed* (not concatenated).

PGN calls this the "atrous spatial pyramid pooling" of its deeply-supervised edge side outputs
(methods.md §3.3): five 3×3 convs to one channel with dilations 1, 2, 4, 8, 16, each with a bias,
summed. It differs from the DeepLab-v3 :class:`~human_parsing.modeling.layers.ASPP` (image pooling,
norm, concatenation, projection), hence its own module.
"""

from typing import Sequence

import torch
from torch import nn

__all__ = ["ASPPv2"]


class ASPPv2(nn.Module):
    """Input (N, in_channels, H, W) → (N, out_channels, H, W) = Σ_d conv3x3_d(x)."""

    def __init__(self, in_channels: int, out_channels: int, dilations: Sequence[int] = (6, 12, 18, 24)):
        super().__init__()
        if not dilations or any(int(d) < 1 for d in dilations):
            raise ValueError(f"ASPPv2 dilations must be >= 1, got {list(dilations)}")
        self.dilations = tuple(int(d) for d in dilations)
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, 3, padding=d, dilation=d, bias=True) for d in self.dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return out
