"""Embedded-Gaussian non-local block (Wang et al., "Non-local Neural Networks", 2018).

The variant of Parsing R-CNN's GCE head (methods.md §2.4(b) step 4): θ on every position, φ and g
on a 2×2 max-pooled map (4× fewer keys), softmax(θᵀφ / sqrt(C')) attention, an output 1×1 conv
followed by a norm, and a residual connection. Keys/values may come from another map
(``context``), which gives the heterogeneous variant used by CorrPM-like designs.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.layers import Conv2d, get_norm

__all__ = ["NonLocalBlock2d"]


class NonLocalBlock2d(nn.Module):
    """``out = norm(W_out(attention(θ(x), φ(c), g(c)))) + x`` with ``c = context or x``.

    Input (N, C, H, W) → output (N, C, H, W). The inner width is ``round(C × inner_ratio)``.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        inner_ratio: float = 1.0,
        subsample: bool = True,
        norm: str = "GN",
        context_channels: Optional[int] = None,
        zero_init: bool = False,
        use_scale: bool = True,
    ):
        """
        Args:
            in_channels: C, the channels of the input (and of the output: the block is residual).
            inner_ratio: inner (embedding) width as a fraction of C; 1.0 in Parsing R-CNN.
            subsample: max-pool the key/value map 2×2 (stride 2) before φ and g.
            norm: norm on the output conv: "GN" (official Parsing R-CNN code), "BN" (the paper), or
                "" for none. The output conv keeps its bias in every case, as in the official code.
            context_channels: channels of an optional second map the keys/values come from;
                None = keys/values come from the input itself (self-attention).
            zero_init: start as the identity: zero the norm's γ (or the output conv when there is
                no norm). False in Parsing R-CNN, whose block is *not* identity at init.
            use_scale: divide θᵀφ by sqrt(inner width) before the softmax.
        """
        super().__init__()
        if in_channels <= 0 or inner_ratio <= 0:
            raise ValueError(f"NonLocalBlock2d: bad in_channels={in_channels} / inner_ratio={inner_ratio}")
        inner = max(1, int(round(in_channels * inner_ratio)))
        ctx = in_channels if context_channels is None else context_channels
        self.inner_channels = inner
        self.subsample = subsample
        self.use_scale = use_scale
        self.theta = Conv2d(in_channels, inner, 1)
        self.phi = Conv2d(ctx, inner, 1)
        self.g = Conv2d(ctx, inner, 1)
        self.out = Conv2d(inner, in_channels, 1, norm=get_norm(norm, in_channels))
        for conv in (self.theta, self.phi, self.g, self.out):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)
        if zero_init:
            if self.out.norm is not None and getattr(self.out.norm, "weight", None) is not None:
                nn.init.zeros_(self.out.norm.weight)
            else:
                nn.init.zeros_(self.out.weight)

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        n, _, h, w = x.shape
        c = x if context is None else context
        if self.subsample:
            c = F.max_pool2d(c, kernel_size=2, stride=2)
        # (N, L, C') queries over all positions, (N, L', C') keys/values over the pooled ones
        q = self.theta(x).flatten(2).transpose(1, 2)
        k = self.phi(c).flatten(2).transpose(1, 2)
        v = self.g(c).flatten(2).transpose(1, 2)
        # fused softmax(q kᵀ · scale) v (scale None = 1/sqrt(C')); also fine for N = 0
        y = F.scaled_dot_product_attention(q, k, v, scale=None if self.use_scale else 1.0)
        y = y.transpose(1, 2).reshape(n, self.inner_channels, h, w)
        return self.out(y) + x
