"""The decoder of SST's base network (§6.2): three Transformer-plus-upsampling stages giving
H_1, H_2, H_3 at 1/16, 1/8 and 1/4 of the input.

Each stage upsamples the previous map 2x (bilinear), adds a skip (the encoder map of that stride,
or a projected backbone map at 1/4), and runs Transformer blocks. The paper does not say which
attention they use; local window self-attention keeps the 1/4 stage affordable (a 512² crop
gives 16,384 tokens there).
"""
from typing import List

import torch
import torch.nn.functional as F
from detectron2.layers import Conv2d, get_norm
from torch import nn

__all__ = ["WindowTransformerBlock", "SSTDecoder"]


class WindowTransformerBlock(nn.Module):
    """Pre-norm Transformer block with self-attention inside non-overlapping windows."""

    def __init__(self, dim: int, n_heads: int, window: int, ffn_dim: int, dropout: float = 0.0):
        super().__init__()
        self.window = window
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, n_heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn_dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, D, H, W) -> (N, D, H, W)."""
        n, d, h, w = x.shape
        s = self.window
        ph, pw = (-h) % s, (-w) % s
        t = F.pad(x, (0, pw, 0, ph)).permute(0, 2, 3, 1)  # zero-padded windows (N, H', W', D)
        hh, ww = (h + ph) // s, (w + pw) // s
        t = t.reshape(n, hh, s, ww, s, d).permute(0, 1, 3, 2, 4, 5).reshape(n * hh * ww, s * s, d)
        y = self.norm1(t)
        t = t + self.attn(y, y, y, need_weights=False)[0]
        t = t + self.ffn(self.norm2(t))
        t = t.reshape(n, hh, ww, s, s, d).permute(0, 5, 1, 3, 2, 4).reshape(n, d, h + ph, w + pw)
        return t[:, :, :h, :w].contiguous()


class SSTDecoder(nn.Module):
    """Encoder maps at 1/8, 1/16, 1/32 and a backbone map at 1/4 -> [H_1, H_2, H_3]."""

    def __init__(self, dim: int, lateral_channels: int, num_blocks: int, n_heads: int, window: int,
                 ffn_dim: int, dropout: float = 0.0, norm: str = "GN"):
        super().__init__()
        self.lateral = Conv2d(lateral_channels, dim, 1, bias=not norm, norm=get_norm(norm, dim))
        nn.init.kaiming_uniform_(self.lateral.weight, a=1)
        self.stages = nn.ModuleList(
            nn.Sequential(*[WindowTransformerBlock(dim, n_heads, window, ffn_dim, dropout) for _ in range(num_blocks)])
            for _ in range(3)
        )

    def forward(self, enc: List[torch.Tensor], lateral: torch.Tensor) -> List[torch.Tensor]:
        """``enc``: maps at strides 8, 16, 32 (finest first); ``lateral``: backbone map at 1/4."""
        skips = [enc[1], enc[0], self.lateral(lateral)]
        x, outs = enc[2], []
        for stage, skip in zip(self.stages, skips):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False) + skip
            x = stage(x)
            outs.append(x)
        return outs
