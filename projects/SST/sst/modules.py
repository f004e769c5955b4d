"""SST's auxiliary modules (§6.3), used in training only: MSA (class-wise pooling), MSE (semantic
propagation over a learnable category embedding, masked by M_intra) and MST (static and dynamic
semantic mapping between two label domains), plus the cosine consistency losses (Eq. 10-11).

Shapes: B images, Z classes of a domain, D channels; scales l = 1..3 are H_1..H_3 (1/16..1/4).
"""
import math
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "class_pooling",
    "SemanticAggregation",
    "SemanticEnhancement",
    "SemanticTransfer",
    "masked_cross_attention",
    "cosine_consistency",
]


def class_pooling(feat: torch.Tensor, labels: torch.Tensor, num_classes: int, ignore_label: int = 255):
    """Class-wise average and max of ``feat`` over the pixels of each class (Eq. 2-3).

    Args:
        feat: (B, D, h, w); labels: (B, h, w) int64 class ids, ``ignore_label`` ignored.
    Returns:
        ``(avg, max)``, each (B, Z, D); both are 0 for a class without pixels.
    """
    b, d = feat.shape[:2]
    flat = feat.flatten(2)  # (B, D, P)
    lab = labels.flatten(1)  # (B, P)
    valid = lab != ignore_label
    onehot = F.one_hot(torch.where(valid, lab, torch.zeros_like(lab)), num_classes).to(feat.dtype)
    onehot = onehot * valid[..., None].to(feat.dtype)  # (B, P, Z)
    count = onehot.sum(1)  # (B, Z)
    avg = torch.einsum("bdp,bpz->bzd", flat, onehot) / count.clamp(min=1)[..., None]
    maxes = []
    neg = torch.finfo(feat.dtype).min
    for z in range(num_classes):  # a loop keeps memory at B*D*P instead of B*Z*D*P
        m = onehot[:, :, z].bool()[:, None, :]
        maxes.append(flat.masked_fill(~m, neg).amax(2))
    mx = torch.stack(maxes, 1)
    mx = torch.where(count[..., None] > 0, mx, torch.zeros_like(mx))
    return avg, mx


class SemanticAggregation(nn.Module):
    """MSA of one domain: S_l = concat(avg, max) W_s (Eq. 4), with one W_s shared by the scales."""

    def __init__(self, dim: int, num_classes: int, ignore_label: int = 255):
        super().__init__()
        self.num_classes = num_classes
        self.ignore_label = ignore_label
        self.proj = nn.Linear(2 * dim, dim, bias=False)

    def forward(self, feats: List[torch.Tensor], labels: torch.Tensor) -> List[torch.Tensor]:
        """``feats``: the (B, D, h_l, w_l) maps; ``labels``: (B, H, W) masks delta at any size,
        resized to each scale by nearest neighbour. Returns the (B, Z, D) S_l."""
        out = []
        for f in feats:
            lab = F.interpolate(labels[:, None].float(), size=f.shape[-2:], mode="nearest")[:, 0].long()
            avg, mx = class_pooling(f, lab, self.num_classes, self.ignore_label)
            out.append(self.proj(torch.cat([avg, mx], -1)))
        return out


def masked_cross_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(softmax(q k^T / sqrt(D)) ⊙ mask) v, the mask applied after the softmax without
    re-normalisation (Eq. 6, 8, 9). q: (..., Zq, D); k, v: (..., Zk, D); mask: (..., Zq, Zk)."""
    att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
    return (att * mask) @ v


class SemanticEnhancement(nn.Module):
    """MSE of one domain: a learnable embedding X_0 (Z, D) refined by semantic-propagation layers
    X_l = (softmax(f_Q(X_{l-1}) f_K(S_l)^T / sqrt(D)) ⊙ M_intra) f_V(S_l) + X_{l-1} (Eq. 6)."""

    def __init__(self, dim: int, num_classes: int, num_layers: int = 3, intra_adjacency: Optional[torch.Tensor] = None):
        super().__init__()
        self.embedding = nn.Parameter(torch.empty(num_classes, dim))
        nn.init.normal_(self.embedding, std=0.02)
        self.q = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_layers))
        self.k = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_layers))
        self.v = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_layers))
        if intra_adjacency is None:  # the "L_aux (None)" ablation: no prior
            intra_adjacency = torch.ones(num_classes, num_classes)
        if tuple(intra_adjacency.shape) != (num_classes, num_classes):
            raise ValueError(f"M_intra has shape {tuple(intra_adjacency.shape)}, expected {(num_classes,) * 2}")
        self.register_buffer("intra_mask", intra_adjacency.float(), persistent=False)

    def forward(self, s: List[torch.Tensor]) -> List[torch.Tensor]:
        """``s``: the (B, Z, D) S_1..S_L. Returns [X_0 (Z, D), X_1, ..., X_L (B, Z, D)]."""
        xs = [self.embedding]
        x = self.embedding.expand(s[0].shape[0], -1, -1)
        for q, k, v, s_l in zip(self.q, self.k, self.v, s):
            x = masked_cross_attention(q(x), k(s_l), v(s_l), self.intra_mask) + x
            xs.append(x)
        return xs


class _Mapping(nn.Module):
    """One direction source -> target of a semantic-mapping layer: Q from the target's X, K and V
    from the source's X."""

    def __init__(self, dim: int):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x_target, x_source, mask):
        return masked_cross_attention(self.q(x_target), self.k(x_source), self.v(x_source), mask)


class SemanticTransfer(nn.Module):
    """MST of a domain pair (1, 2): the static SM_0 masked by M_static (Eq. 8) and the dynamic
    SM_1..SM_L masked by M_dyn,l = S_l^(2) W_l^(2) (S_l^(1) W_l^(1))^T (Eq. 9), in both directions.
    Each direction has its own Q/K/V maps; the W_l are shared by the two directions, so the
    2 -> 1 mask is the transpose of the 1 -> 2 one."""

    def __init__(self, dim: int, static_21: torch.Tensor, num_layers: int = 3):
        """``static_21``: (Z2, Z1) M_static with rows the second domain's classes."""
        super().__init__()
        self.register_buffer("static_mask", static_21.float(), persistent=False)
        self.static = nn.ModuleList([_Mapping(dim), _Mapping(dim)])  # [1 -> 2, 2 -> 1]
        self.dynamic = nn.ModuleList(nn.ModuleList([_Mapping(dim), _Mapping(dim)]) for _ in range(num_layers))
        self.w1 = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(num_layers))
        self.w2 = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(num_layers))

    def map_static(self, x1: torch.Tensor, x2: torch.Tensor):
        """X_0^(1) (Z1, D), X_0^(2) (Z2, D) -> (X_0^{1->2} (Z2, D), X_0^{2->1} (Z1, D))."""
        m = self.static_mask
        return self.static[0](x2, x1, m), self.static[1](x1, x2, m.t())

    def map_dynamic(self, level: int, x1, x2, s1, s2):
        """Per image pair at scale ``level`` (0-based): X_l, S_l of shape (P, Z1, D) and
        (P, Z2, D) -> (X_l^{1->2} (P, Z2, D), X_l^{2->1} (P, Z1, D))."""
        m = self.w2[level](s2) @ self.w1[level](s1).transpose(-1, -2)  # (P, Z2, Z1), unnormalised
        fwd, bwd = self.dynamic[level]
        return fwd(x2, x1, m), bwd(x1, x2, m.transpose(-1, -2))


def cosine_consistency(x: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """Mean over classes of 1 - cos(x_z, mapped_z) (one term of Eq. 10-11). x, mapped:
    (..., Z, D); returns (...)."""
    return (1.0 - F.cosine_similarity(x, mapped, dim=-1, eps=1e-8)).mean(-1)
