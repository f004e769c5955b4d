"""Pyramid pooling module (PSPNet / PGN), shared by the bottom-up and semantic methods.

Two ways to pick the pooling windows (methods.md §3.3):

* ``"fixed_kernels"`` — PGN's code: average pooling with window = stride = s for each s in
  ``kernels`` (60, 30, 20, 10) and TF "SAME" padding whose padded cells are not counted in the
  average. The number of bins then depends on the input size (2, 3, 4, 7 on a 64×64 map; the
  paper's 1, 2, 3, 6 on a 60×60 map).
* ``"adaptive_bins"`` — the paper / PSPNet: adaptive average pooling to b×b for b in ``bins``.

Each pooled map goes through a 3×3 conv + ReLU (PGN; PSPNet uses 1×1: ``kernel_size``) and is
resized bilinearly back to the input size; the outputs are concatenated with the input.
"""

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.layers import Conv2d, get_norm

__all__ = ["PyramidPooling", "same_avg_pool2d"]

PPM_MODES = ("fixed_kernels", "adaptive_bins")


def same_avg_pool2d(x: torch.Tensor, k: int) -> torch.Tensor:
    """Average pooling with window = stride = ``k`` and TensorFlow "SAME" padding.

    TF pads ``total = ceil(n / k) * k - n`` cells per axis, ``total // 2`` before and the rest
    after, and divides each window by the number of *real* cells it covers.
    Input (N, C, H, W) → output (N, C, ceil(H / k), ceil(W / k)).
    """
    H, W = x.shape[-2:]
    ph = math.ceil(H / k) * k - H
    pw = math.ceil(W / k) * k - W
    pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    if ph == 0 and pw == 0:
        return F.avg_pool2d(x, k, k)
    sums = F.avg_pool2d(F.pad(x, pad), k, k, divisor_override=1)
    ones = torch.ones((1, 1, H, W), dtype=x.dtype, device=x.device)
    counts = F.avg_pool2d(F.pad(ones, pad), k, k, divisor_override=1)
    return sums / counts


class PyramidPooling(nn.Module):
    """Input (N, C, H, W) → (N, C + len(windows) × channels, H, W): the input, then one pooled
    path per window size, each pooled → conv → ReLU → bilinear resize to (H, W)."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        *,
        mode: str = "fixed_kernels",
        kernels: Sequence[int] = (60, 30, 20, 10),
        bins: Sequence[int] = (1, 2, 3, 6),
        kernel_size: int = 3,
        norm: str = "",
    ):
        """
        Args:
            in_channels: channels of the input feature map.
            channels: output channels of each pooled path (PGN: 512).
            mode: "fixed_kernels" (PGN code) or "adaptive_bins" (paper / PSPNet).
            kernels: pooling windows for "fixed_kernels".
            bins: output grid sizes for "adaptive_bins".
            kernel_size: conv kernel after pooling (PGN 3; PSPNet 1).
            norm: norm after each conv ("" = none, the PGN code; the conv then has a bias).
        """
        super().__init__()
        if mode not in PPM_MODES:
            raise ValueError(f"Unknown pyramid pooling mode {mode!r}; expected one of {PPM_MODES}")
        sizes = [int(s) for s in (kernels if mode == "fixed_kernels" else bins)]
        if not sizes or any(s < 1 for s in sizes):
            raise ValueError(f"PyramidPooling {mode} needs positive sizes, got {sizes}")
        self.mode = mode
        self.sizes = tuple(sizes)
        self.convs = nn.ModuleList(
            Conv2d(
                in_channels,
                channels,
                kernel_size,
                padding=kernel_size // 2,
                bias=not norm,
                norm=get_norm(norm, channels),
                activation=F.relu,
            )
            for _ in sizes
        )
        self.out_channels = in_channels + channels * len(sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        outs = [x]
        for s, conv in zip(self.sizes, self.convs):
            if self.mode == "fixed_kernels":
                pooled = same_avg_pool2d(x, s)
            else:
                pooled = F.adaptive_avg_pool2d(x, s)
            y = conv(pooled)
            outs.append(F.interpolate(y, size=(H, W), mode="bilinear", align_corners=False))
        return torch.cat(outs, dim=1)
