"""Multi-scale deformable attention (Deformable DETR, the encoder of SST §6.2) in pure PyTorch.

Bilinear sampling uses ``F.grid_sample``, so the layer runs on CPU and CUDA without a compiled
extension. Sampling locations are normalised to [0, 1] per level, with (0, 0) the top-left corner
of the top-left pixel (``align_corners=False``); samples outside a map read zeros.
"""
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ms_deform_attn", "MSDeformAttn"]


def ms_deform_attn(
    value: torch.Tensor,
    spatial_shapes: Sequence[Tuple[int, int]],
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """Weighted sum of bilinear samples of several feature maps.

    Args:
        value: (N, S, M, Dh) values of the M heads; S = sum of H_l * W_l over the levels, the
            levels flattened row-major one after the other.
        spatial_shapes: the L pairs (H_l, W_l).
        sampling_locations: (N, Lq, M, L, P, 2) (x, y) in [0, 1] per level.
        attention_weights: (N, Lq, M, L, P), usually softmax-normalised over (L, P).
    Returns:
        (N, Lq, M * Dh).
    """
    n, s, m, dh = value.shape
    _, lq, _, num_levels, num_points, _ = sampling_locations.shape
    if len(spatial_shapes) != num_levels or sum(h * w for h, w in spatial_shapes) != s:
        raise ValueError(
            f"ms_deform_attn: spatial_shapes {list(spatial_shapes)} do not match value length {s} "
            f"and {num_levels} levels of sampling_locations"
        )
    grids = 2.0 * sampling_locations - 1.0  # grid_sample's [-1, 1]
    sampled = []
    start = 0
    for lvl, (h, w) in enumerate(spatial_shapes):
        v = value[:, start : start + h * w]  # (N, HW, M, Dh)
        start += h * w
        v = v.permute(0, 2, 3, 1).reshape(n * m, dh, h, w)
        g = grids[:, :, :, lvl].transpose(1, 2).reshape(n * m, lq, num_points, 2)
        sampled.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False))
    stacked = torch.stack(sampled, dim=-2)  # (N*M, Dh, Lq, L, P)
    weights = attention_weights.transpose(1, 2).reshape(n * m, 1, lq, num_levels, num_points)
    out = (stacked * weights).sum(dim=(-1, -2))  # (N*M, Dh, Lq)
    return out.view(n, m * dh, lq).transpose(1, 2).contiguous()


class MSDeformAttn(nn.Module):
    """Multi-scale deformable attention: each query attends to ``n_points`` learned offsets around
    its reference point on each of ``n_levels`` maps, per head (Zhu et al., ICLR 2021, Eq. 3)."""

    def __init__(self, d_model: int = 256, n_levels: int = 3, n_heads: int = 8, n_points: int = 4):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"MSDeformAttn: d_model {d_model} is not divisible by n_heads {n_heads}")
        self.d_model, self.n_levels, self.n_heads, self.n_points = d_model, n_levels, n_heads, n_points
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)
        self._reset_parameters()

    def _reset_parameters(self):
        # Offsets start as a ring of directions, one per head, at growing distances per point.
        nn.init.constant_(self.sampling_offsets.weight, 0.0)
        thetas = torch.arange(self.n_heads, dtype=torch.float32) * (2.0 * math.pi / self.n_heads)
        grid = torch.stack([thetas.cos(), thetas.sin()], -1)
        grid = grid / grid.abs().max(-1, keepdim=True)[0]
        grid = grid.view(self.n_heads, 1, 1, 2).repeat(1, self.n_levels, self.n_points, 1)
        grid = grid * torch.arange(1, self.n_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.view(-1))
        nn.init.constant_(self.attention_weights.weight, 0.0)
        nn.init.constant_(self.attention_weights.bias, 0.0)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.constant_(self.value_proj.bias, 0.0)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.constant_(self.output_proj.bias, 0.0)

    def forward(
        self,
        query: torch.Tensor,
        reference_points: torch.Tensor,
        input_flatten: torch.Tensor,
        spatial_shapes: List[Tuple[int, int]],
    ) -> torch.Tensor:
        """
        Args:
            query: (N, Lq, C) queries (with position embedding added).
            reference_points: (N, Lq, L, 2) (x, y) in [0, 1] on each level.
            input_flatten: (N, S, C) the flattened maps the values come from.
            spatial_shapes: the L pairs (H_l, W_l) of ``input_flatten``.
        Returns:
            (N, Lq, C).
        """
        n, lq, _ = query.shape
        m, lv, p = self.n_heads, self.n_levels, self.n_points
        value = self.value_proj(input_flatten).view(n, input_flatten.shape[1], m, self.d_model // m)
        offsets = self.sampling_offsets(query).view(n, lq, m, lv, p, 2)
        weights = self.attention_weights(query).view(n, lq, m, lv * p).softmax(-1).view(n, lq, m, lv, p)
        # offsets are in pixels of each level: normalise by (W_l, H_l)
        normalizer = torch.tensor([[w, h] for h, w in spatial_shapes], dtype=query.dtype, device=query.device)
        locations = reference_points[:, :, None, :, None, :] + offsets / normalizer[None, None, None, :, None, :]
        out = ms_deform_attn(value, spatial_shapes, locations, weights)
        return self.output_proj(out)
