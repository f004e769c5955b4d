"""The multi-scale deformable-attention pixel encoder of SST's base network (§6.2).

Backbone maps (res3..res5, strides 8..32) are projected to D channels, flattened together and
refined by Deformable-DETR encoder layers (each pixel attends to a few learned points on every
level), as the Mask2Former pixel decoder the paper cites. Returns the refined maps, finest first.
"""
import math
from typing import Dict, List, Sequence, Tuple

import torch
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from torch import nn

from .deform_attn import MSDeformAttn

__all__ = ["sine_position_embedding", "MSDeformAttnEncoderLayer", "MSDeformAttnPixelEncoder"]


def sine_position_embedding(n: int, h: int, w: int, dim: int, device=None, dtype=torch.float32,
                            temperature: float = 10000.0) -> torch.Tensor:
    """(n, dim, h, w) 2-D sine/cosine embedding of normalised pixel centres (DETR's, dim/2 per axis)."""
    if dim % 4:
        raise ValueError(f"sine position embedding needs dim divisible by 4, got {dim}")
    npf = dim // 2
    ys = (torch.arange(h, device=device, dtype=dtype) + 0.5) / h * 2 * math.pi
    xs = (torch.arange(w, device=device, dtype=dtype) + 0.5) / w * 2 * math.pi
    dim_t = temperature ** (2 * (torch.arange(npf, device=device, dtype=dtype) // 2) / npf)
    py = ys[:, None] / dim_t  # (h, npf)
    px = xs[:, None] / dim_t  # (w, npf)
    py = torch.stack([py[:, 0::2].sin(), py[:, 1::2].cos()], dim=2).flatten(1)
    px = torch.stack([px[:, 0::2].sin(), px[:, 1::2].cos()], dim=2).flatten(1)
    pos = torch.cat([py[:, None, :].expand(h, w, npf), px[None, :, :].expand(h, w, npf)], dim=2)
    return pos.permute(2, 0, 1).unsqueeze(0).expand(n, -1, -1, -1)


class MSDeformAttnEncoderLayer(nn.Module):
    """Deformable self-attention over all levels + feed-forward, post-norm (Deformable DETR)."""

    def __init__(self, dim: int, ffn_dim: int, n_levels: int, n_heads: int, n_points: int, dropout: float = 0.0):
        super().__init__()
        self.self_attn = MSDeformAttn(dim, n_levels, n_heads, n_points)
        self.norm1 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(ffn_dim, dim))
        self.norm2 = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src, pos, reference_points, spatial_shapes):
        src = self.norm1(src + self.dropout(self.self_attn(src + pos, reference_points, src, spatial_shapes)))
        return self.norm2(src + self.dropout(self.ffn(src)))


def _reference_points(spatial_shapes: Sequence[Tuple[int, int]], n_levels: int, device, dtype) -> torch.Tensor:
    """(S, L, 2): the normalised centre of every pixel of every level, repeated for each level."""
    refs = []
    for h, w in spatial_shapes:
        y, x = torch.meshgrid(
            (torch.arange(h, device=device, dtype=dtype) + 0.5) / h,
            (torch.arange(w, device=device, dtype=dtype) + 0.5) / w,
            indexing="ij",
        )
        refs.append(torch.stack([x.reshape(-1), y.reshape(-1)], -1))
    return torch.cat(refs, 0)[:, None, :].expand(-1, n_levels, -1)


class MSDeformAttnPixelEncoder(nn.Module):
    """Project ``in_features`` to D channels, add sine + level embeddings, run the encoder layers."""

    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        in_features: Sequence[str],
        dim: int,
        num_layers: int,
        n_heads: int,
        n_points: int,
        ffn_dim: int,
        dropout: float = 0.0,
        norm: str = "GN",
    ):
        super().__init__()
        missing = [f for f in in_features if f not in input_shape]
        if missing:
            raise ValueError(f"MODEL.SST.ENCODER_IN_FEATURES {missing} are not backbone outputs {sorted(input_shape)}")
        # finest first, as returned
        self.in_features = sorted(in_features, key=lambda f: input_shape[f].stride)
        self.strides = [input_shape[f].stride for f in self.in_features]
        self.input_proj = nn.ModuleList()
        for f in self.in_features:
            conv = Conv2d(input_shape[f].channels, dim, 1, bias=not norm, norm=get_norm(norm, dim))
            nn.init.xavier_uniform_(conv.weight)
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)
            self.input_proj.append(conv)
        n_levels = len(self.in_features)
        self.level_embed = nn.Parameter(torch.empty(n_levels, dim))
        nn.init.normal_(self.level_embed)
        self.layers = nn.ModuleList(
            MSDeformAttnEncoderLayer(dim, ffn_dim, n_levels, n_heads, n_points, dropout) for _ in range(num_layers)
        )
        self.dim = dim

    def forward(self, features: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        """Returns the L refined (N, D, H_l, W_l) maps, finest first."""
        srcs, poss, shapes = [], [], []
        for lvl, (f, proj) in enumerate(zip(self.in_features, self.input_proj)):
            x = proj(features[f])
            n, _, h, w = x.shape
            pos = sine_position_embedding(n, h, w, self.dim, x.device, x.dtype) + self.level_embed[lvl].view(1, -1, 1, 1)
            srcs.append(x.flatten(2).transpose(1, 2))
            poss.append(pos.flatten(2).transpose(1, 2))
            shapes.append((h, w))
        src, pos = torch.cat(srcs, 1), torch.cat(poss, 1)
        ref = _reference_points(shapes, len(shapes), src.device, src.dtype)[None].expand(src.shape[0], -1, -1, -1)
        for layer in self.layers:
            src = layer(src, pos, ref, shapes)
        outs, start = [], 0
        for h, w in shapes:
            outs.append(src[:, start : start + h * w].transpose(1, 2).reshape(src.shape[0], self.dim, h, w))
            start += h * w
        return outs
