"""Embedded-Gaussian non-local block (Wang et al., "Non-local Neural Networks", 2018).

The variant of Parsing R-CNN's GCE head (methods.md §2.4(b) step 4): θ on every position, φ and g
on a 2×2 max-pooled map (4× fewer keys), softmax(θᵀφ / sqrt(C')) attention, an output 1×1 conv
followed by a norm, and a residual connection. Keys/values may come from another map
(``context``), which gives the heterogeneous variant: CorrPM's HNL (methods.md §5.2) takes its
queries from the hybrid feature, its keys/values from the parsing feature, adds the residual to the
parsing feature (``residual="context"``), has no 1/sqrt(C') scaling and a zero-initialised BN.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.layers import Conv2d, get_norm

__all__ = ["NonLocalBlock2d"]


class NonLocalBlock2d(nn.Module):
    """``out = norm(W_out(attention(θ(x), φ(c), g(c)))) + r`` with ``c = context or x`` and
    ``r = x`` (``residual="input"``) or ``r = c`` before sub-sampling (``residual="context"``).

    Input (N, C, H, W) (and context (N, C_ctx, H, W)) → output (N, C, H, W), or (N, C_ctx, H, W)
    with ``residual="context"``. The inner width is ``round(C × inner_ratio)``.
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
        residual: str = "input",
        pool_after_projection: bool = False,
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
            use_scale: divide θᵀφ by sqrt(inner width) before the softmax (False in CorrPM).
            residual: "input" adds the query map x (self and Parsing R-CNN variants), "context"
                adds the key/value map (CorrPM: ``f_p2 = f_p + W(y)``); the output then has the
                context's channels.
            pool_after_projection: sub-sample φ(c) and g(c) (CorrPM, the original non-local
                code) instead of c before φ and g (Parsing R-CNN); max-pooling and a 1×1 conv
                do not commute, so this changes the result.
        """
        super().__init__()
        if in_channels <= 0 or inner_ratio <= 0:
            raise ValueError(f"NonLocalBlock2d: bad in_channels={in_channels} / inner_ratio={inner_ratio}")
        if residual not in ("input", "context"):
            raise ValueError(f"NonLocalBlock2d: residual must be 'input' or 'context', got {residual!r}")
        inner = max(1, int(round(in_channels * inner_ratio)))
        ctx = in_channels if context_channels is None else context_channels
        out_channels = ctx if residual == "context" else in_channels
        self.residual = residual
        self.pool_after_projection = pool_after_projection
        self.inner_channels = inner
        self.subsample = subsample
        self.use_scale = use_scale
        self.theta = Conv2d(in_channels, inner, 1)
        self.phi = Conv2d(ctx, inner, 1)
        self.g = Conv2d(ctx, inner, 1)
        self.out = Conv2d(inner, out_channels, 1, norm=get_norm(norm, out_channels))
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
        if c.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"NonLocalBlock2d: input {tuple(x.shape)} and context {tuple(c.shape)} differ in size")
        r = c if self.residual == "context" else x
        if self.subsample and not self.pool_after_projection:
            c = F.max_pool2d(c, kernel_size=2, stride=2)
        k, v = self.phi(c), self.g(c)
        if self.subsample and self.pool_after_projection:
            k, v = F.max_pool2d(k, kernel_size=2, stride=2), F.max_pool2d(v, kernel_size=2, stride=2)
        # (N, L, C') queries over all positions, (N, L', C') keys/values over the pooled ones
        q = self.theta(x).flatten(2).transpose(1, 2)
        k, v = k.flatten(2).transpose(1, 2), v.flatten(2).transpose(1, 2)
        # fused softmax(q kᵀ · scale) v (scale None = 1/sqrt(C')); also fine for N = 0
        y = F.scaled_dot_product_attention(q, k, v, scale=None if self.use_scale else 1.0)
        y = y.transpose(1, 2).reshape(n, self.inner_channels, h, w)
        return self.out(y) + r
