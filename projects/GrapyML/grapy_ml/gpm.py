"""Graph Pyramid Module (He et al., AAAI 2020; methods.md §4.4).

Per level l (coarse to fine) on the feature f_{l-1} (N, C, h, w) and the label map M_l
(fine argmax of the main prediction mapped through the level's lookup table):

- GSA (:func:`graph_semantic_aggregation`): per-class mean and/or "max" of f_{l-1} -> nodes;
- reasoning on the nodes: GCR (:class:`GCRLevelReasoning`, self-attention) or GCN
  (:class:`GCNLevelReasoning`, Table 4's graph-convolution row);
- GSD (:func:`graph_semantic_distribution`): node features painted back on their pixels, then
  f_l = f_{l-1} + Conv1×1(that map).

The fused output is ReLU(Conv1×1(Conv1×1(concat[f_0, f_l for l in levels]))).
"""
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "one_hot_masks",
    "graph_semantic_aggregation",
    "graph_semantic_distribution",
    "GraphContextReasoning",
    "GCRLevelReasoning",
    "GCNLevelReasoning",
    "LEVEL_REASONING",
    "GraphPyramidModule",
]

POOLINGS = ("ave", "max", "ave+max")


def one_hot_masks(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N, h, w) int labels -> (N, K, h·w) float binary masks B."""
    n = labels.shape[0]
    return F.one_hot(labels.reshape(n, -1), num_classes).permute(0, 2, 1).float()


def _official_max(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """max over *all* pixels of f·B_k (the official masked max): the class maximum where the
    class covers every pixel, max(0, class maximum) where it does not, 0 for absent classes.

    features (N, C, hw), labels (N, hw) -> (N, K, C). Computed with one scatter-max instead of
    the official K masked copies of the feature map.
    """
    n, c, hw = features.shape
    idx = labels[:, None, :].expand(n, c, hw)
    init = features.new_full((n, c, num_classes), float("-inf"))
    cmax = init.scatter_reduce(2, idx, features, reduce="amax", include_self=False)
    count = F.one_hot(labels, num_classes).sum(1)[:, None, :]  # (N, 1, K)
    out = torch.where(count == hw, cmax, cmax.clamp_min(0.0))
    out = torch.where(count == 0, torch.zeros_like(out), out)
    return out.transpose(1, 2)


def graph_semantic_aggregation(features: torch.Tensor, labels: torch.Tensor, num_classes: int,
                               pooling: str = "ave+max") -> torch.Tensor:
    """GSA (P Eq. 2-3): node features of the ``num_classes`` classes of ``labels``.

    Args:
        features: f_{l-1}, (N, C, h, w).
        labels: (N, h, w) int64 level labels in [0, K).
        pooling: "ave" (mean over the class pixels, 0 if absent), "max" (the official masked
            max, :func:`_official_max`) or "ave+max" (both, concatenated: 2C).
    Returns:
        (N, K, C) or (N, K, 2C).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"MODEL.GPM.POOLING must be one of {POOLINGS}, got {pooling!r}")
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    lab = labels.reshape(n, -1)
    parts = []
    if "ave" in pooling:
        masks = one_hot_masks(labels, num_classes)  # (N, K, hw)
        ave = masks / masks.sum(-1, keepdim=True).clamp_min(1.0)
        parts.append(torch.bmm(ave, flat.transpose(1, 2)))
    if "max" in pooling:
        parts.append(_official_max(flat, lab, num_classes))
    return torch.cat(parts, dim=2)


def graph_semantic_distribution(nodes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """GSD (P Eq. 7): write each node's feature on the pixels of its class.

    nodes (N, D, K), labels (N, h, w) -> (N, D, h, w).
    """
    n, d, k = nodes.shape
    masks = one_hot_masks(labels, k)
    return torch.bmm(nodes, masks).reshape(n, d, *labels.shape[1:])


class GraphContextReasoning(nn.Module):
    """One self-attention step on nodes (N, D, K) (P Eq. 4-6, the official ``GraphContextReasoning``):
    a = softmax_j(q_iᵀ k_j) without 1/√d scaling, out_i = Σ_j a_ij v_j + x_i."""

    def __init__(self, dim: int, reduction: int = 8):
        super().__init__()
        self.query = nn.Conv1d(dim, dim // reduction, 1)
        self.key = nn.Conv1d(dim, dim // reduction, 1)
        self.value = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        energy = torch.bmm(self.query(x).transpose(1, 2), self.key(x))  # (N, K, K)
        attention = energy.softmax(dim=-1)
        return torch.bmm(self.value(x), attention.transpose(1, 2)) + x


class _LevelReasoningBase(nn.Module):
    """Conv1d(in -> node_dim), ``iters`` × [BN1d, step, ReLU], Conv1d(node_dim -> out_dim), with the
    step given by the subclass. Input nodes (N, K, in_dim); output (N, out_dim, K)."""

    def __init__(self, in_dim: int, node_dim: int, out_dim: int, iters: int):
        super().__init__()
        self.graph_transfer = nn.Conv1d(in_dim, node_dim, 1)
        self.norms = nn.ModuleList([nn.BatchNorm1d(node_dim) for _ in range(iters)])
        self.graph_transfer_back = nn.Conv1d(node_dim, out_dim, 1)

    def step(self, i: int, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        x = self.graph_transfer(nodes.transpose(1, 2))
        for i, norm in enumerate(self.norms):
            x = F.relu(self.step(i, norm(x)))
        return self.graph_transfer_back(x)


class GCRLevelReasoning(_LevelReasoningBase):
    """GCR: the official ``LevelReasoning`` (3 attention steps with BN, residual, ReLU)."""

    def __init__(self, in_dim: int, node_dim: int, out_dim: int, iters: int = 3, *,
                 attn_reduction: int = 8, num_nodes: int = 0, adjacency=None):
        super().__init__(in_dim, node_dim, out_dim, iters)
        self.attn = nn.ModuleList([GraphContextReasoning(node_dim, attn_reduction) for _ in range(iters)])

    def step(self, i, x):
        return self.attn[i](x)


class GCNLevelReasoning(_LevelReasoningBase):
    """GCN (Table 4's "GCN" row; not in the official code, methods.md §4.8): each step is
    Graphonomy's graph convolution Â·X·W on the normalised adjacency Â = D^-½(A+I)D^-½ of the
    level's label graph, without residual; same transfers, BN and ReLU as GCR."""

    def __init__(self, in_dim: int, node_dim: int, out_dim: int, iters: int = 3, *,
                 attn_reduction: int = 8, num_nodes: int = 0, adjacency=None):
        super().__init__(in_dim, node_dim, out_dim, iters)
        if adjacency is None:
            raise ValueError("GCN reasoning needs the level's adjacency matrix")
        adj = torch.as_tensor(np.asarray(adjacency), dtype=torch.float32)
        if adj.shape != (num_nodes, num_nodes):
            raise ValueError(f"adjacency is {tuple(adj.shape)}, the level has {num_nodes} classes")
        self.register_buffer("adjacency", adj, persistent=False)
        self.weights = nn.ModuleList([nn.Conv1d(node_dim, node_dim, 1, bias=False) for _ in range(iters)])

    def step(self, i, x):
        return torch.matmul(self.weights[i](x), self.adjacency.t())  # x_i' = Σ_j Â_ij W x_j


LEVEL_REASONING = {"gcr": GCRLevelReasoning, "gcn": GCNLevelReasoning}


class GraphPyramidModule(nn.Module):
    """The GPM for one or several domains (label spaces).

    Reasoning blocks of the levels in ``shared_levels`` are shared by all domains; the others
    (level 3 in Grapy-ML) are one per domain, in ``domain_reasoning[domain]``. The level
    transforms and the fusion are shared (as ``GraphPyramidModuleML``).

    Args:
        channels: C of the decoder feature f (256).
        levels: subset of (1, 2, 3), coarse to fine.
        num_classes: per level, per domain: ``{domain: {level: K_l}}``.
        luts: ``{domain: {level: (K_3,) int64 fine->level table}}`` for the coarse levels.
        adjacency: ``{domain: {level: (K_l, K_l) Â}}`` (GCN only).
    """

    def __init__(self, channels: int, *, levels: Sequence[int], num_classes: Mapping[str, Mapping[int, int]],
                 luts: Mapping[str, Mapping[int, np.ndarray]], shared_levels: Sequence[int] = (1, 2),
                 pooling: str = "ave+max", reasoning: str = "gcr", node_dim: int = 512,
                 hidden_dim: int = 256, attn_reduction: int = 8, num_iters: int = 3,
                 fusion_channels: int = 512, adjacency: Optional[Mapping[str, Mapping[int, np.ndarray]]] = None):
        super().__init__()
        levels = [int(x) for x in levels]
        if not levels or sorted(set(levels)) != levels or not set(levels) <= {1, 2, 3}:
            raise ValueError(f"MODEL.GPM.LEVELS must be increasing levels among 1, 2, 3, got {levels}")
        if pooling not in POOLINGS:
            raise ValueError(f"MODEL.GPM.POOLING must be one of {POOLINGS}, got {pooling!r}")
        if reasoning not in LEVEL_REASONING:
            raise ValueError(f"MODEL.GPM.REASONING must be one of {sorted(LEVEL_REASONING)}, got {reasoning!r}")
        self.levels = levels
        self.pooling = pooling
        self.domains = list(num_classes)
        self.num_classes = {d: {int(l): int(k) for l, k in v.items()} for d, v in num_classes.items()}
        self.shared_levels = [l for l in levels if l in set(int(x) for x in shared_levels)]
        for lv in self.shared_levels:
            ks = {self.num_classes[d][lv] for d in self.domains}
            if len(ks) != 1:
                raise ValueError(f"MODEL.GRAPY_ML.SHARED_LEVELS: level {lv} has different class counts "
                                 f"across domains {dict((d, self.num_classes[d][lv]) for d in self.domains)}")
        in_dim = channels * (2 if pooling == "ave+max" else 1)
        block = LEVEL_REASONING[reasoning]

        def make(domain, lv):
            adj = None if adjacency is None else adjacency[domain][lv]
            return block(in_dim, node_dim, hidden_dim, num_iters, attn_reduction=attn_reduction,
                         num_nodes=self.num_classes[domain][lv], adjacency=adj)

        first = self.domains[0]
        self.reasoning = nn.ModuleDict({str(lv): make(first, lv) for lv in self.shared_levels})
        self.domain_reasoning = nn.ModuleDict({
            d: nn.ModuleDict({str(lv): make(d, lv) for lv in levels if lv not in self.shared_levels})
            for d in self.domains
        })
        self.transforms = nn.ModuleDict({str(lv): nn.Conv2d(hidden_dim, channels, 1) for lv in levels})
        self.fusion = nn.Sequential(
            nn.Conv2d(channels * (1 + len(levels)), fusion_channels, 1),
            nn.Conv2d(fusion_channels, channels, 1),  # no non-linearity in between (official)
            nn.ReLU(),
        )
        for d in self.domains:
            for lv in levels:
                if lv < 3:
                    lut = torch.as_tensor(np.asarray(luts[d][lv]), dtype=torch.int64)
                    self.register_buffer(f"lut_{d}_{lv}", lut, persistent=False)

    def level_labels(self, labels: torch.Tensor, domain: str, level: int) -> torch.Tensor:
        """Fine labels (N, h, w) -> labels of ``level`` through the domain's lookup table."""
        return labels if level == 3 else getattr(self, f"lut_{domain}_{level}")[labels]

    def forward(self, features: torch.Tensor, labels: torch.Tensor, domain: str,
                return_levels: bool = False):
        """features f (N, C, h, w); labels (N, h, w) the argmax of the main prediction (no
        gradient). Returns the fused feature (N, C, h, w) [and the per-level maps f_l]."""
        if domain not in self.domain_reasoning:
            raise KeyError(f"GPM has no domain {domain!r}; configured: {self.domains}")
        labels = labels.detach()
        f, outs = features, {0: features}
        for lv in self.levels:
            lab = self.level_labels(labels, domain, lv)
            k = self.num_classes[domain][lv]
            nodes = graph_semantic_aggregation(f, lab, k, self.pooling)  # (N, K, in_dim)
            block = self.reasoning[str(lv)] if lv in self.shared_levels else self.domain_reasoning[domain][str(lv)]
            g = block(nodes)  # (N, hidden, K)
            f = f + self.transforms[str(lv)](graph_semantic_distribution(g, lab))
            outs[lv] = f
        fused = self.fusion(torch.cat([outs[0]] + [outs[lv] for lv in self.levels], dim=1))
        return (fused, outs) if return_levels else fused
