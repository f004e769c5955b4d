"""Grapy-ML head: DeepLab v3+ decoder, per-domain main classifiers (y) and, when the GPM is on,
the graph pyramid and per-domain GPM classifiers (ŷ). methods.md §4.2-4.4."""
from typing import Dict, List, Sequence

import torch
from torch import nn

from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from human_parsing.data.domains import resolve_domains
from human_parsing.data.label_graphs import COARSE_LEVEL_GRAPHS, label_graph, normalized_adjacency
from human_parsing.data.label_spaces import get_label_space

from .deeplab import DeepLabV3PlusDecoder
from .gpm import GraphPyramidModule

__all__ = ["GrapyMLHead", "level_tables"]


def level_tables(domains: Sequence[str], levels: Sequence[int], need_adjacency: bool = False):
    """Class counts, fine->coarse lookup tables and (for GCN) normalised adjacencies per domain
    and level, from the label spaces' Grapy-ML hierarchies (methods.md §4.3)."""
    num_classes, luts, adjacency = {}, {}, {}
    for d in domains:
        ls = get_label_space(d)
        if any(lv < 3 for lv in levels) and len(ls.hierarchy) < 2:
            raise ValueError(f"MODEL.GPM.LEVELS {list(levels)}: label space {d!r} has no Grapy-ML hierarchy")
        num_classes[d], luts[d], adjacency[d] = {}, {}, {}
        for lv in levels:
            if lv == 3:
                k = ls.num_classes
                graph = label_graph(d) if need_adjacency else None
            else:
                k = len(ls.hierarchy[lv - 1])
                luts[d][lv] = ls.hierarchy_lut(lv - 1)[: ls.num_classes].astype("int64")
                graph = COARSE_LEVEL_GRAPHS[lv]
            num_classes[d][lv] = k
            if need_adjacency:
                adjacency[d][lv] = normalized_adjacency(graph, k)
    return num_classes, luts, (adjacency if need_adjacency else None)


@SEM_SEG_HEADS_REGISTRY.register()
class GrapyMLHead(nn.Module):
    """Input: backbone features. ``forward(features, domain)`` (= ``predict(decoder(features),
    domain)``) returns stride-4 logits
    ``{"main": y (N, K_d, h, w)}`` plus ``"gpm": ŷ`` when the GPM is enabled; K_d is the domain's
    number of classes. Built as ``GrapyMLHead(cfg, input_shape)`` (SEM_SEG_HEADS_REGISTRY)."""

    def __init__(self, cfg, input_shape: Dict[str, ShapeSpec]):
        super().__init__()
        self.domains: List[str] = resolve_domains(cfg)
        self.decoder = DeepLabV3PlusDecoder.from_config(cfg, input_shape, cfg.MODEL.SEMANTIC.ALIGN_CORNERS)
        c = self.decoder.out_channels
        ks = {d: get_label_space(d).num_classes for d in self.domains}
        self.predictor = nn.ModuleDict({d: nn.Conv2d(c, k, 1) for d, k in ks.items()})
        g = cfg.MODEL.GPM
        self.gpm = None
        if g.ENABLED:
            num_classes, luts, adjacency = level_tables(self.domains, g.LEVELS, g.REASONING == "gcn")
            self.gpm = GraphPyramidModule(
                c, levels=g.LEVELS, num_classes=num_classes, luts=luts,
                shared_levels=cfg.MODEL.GRAPY_ML.SHARED_LEVELS, pooling=g.POOLING, reasoning=g.REASONING,
                node_dim=g.NODE_DIM, hidden_dim=g.HIDDEN_DIM, attn_reduction=g.ATTN_REDUCTION,
                num_iters=g.NUM_GCR_ITERS, fusion_channels=g.FUSION_CHANNELS, adjacency=adjacency,
            )
            self.gpm_predictor = nn.ModuleDict({d: nn.Conv2d(c, k, 1) for d, k in ks.items()})

    def forward(self, features: Dict[str, torch.Tensor], domain: str) -> Dict[str, torch.Tensor]:
        return self.predict(self.decoder(features), domain)

    def predict(self, f: torch.Tensor, domain: str) -> Dict[str, torch.Tensor]:
        """Logits of the decoder feature f (N, C, h, w) for one domain."""
        if domain not in self.predictor:
            raise KeyError(f"Domain {domain!r} is not configured (MODEL.SEMANTIC.DOMAINS = {self.domains})")
        y = self.predictor[domain](f)
        out = {"main": y}
        if self.gpm is not None:
            fused = self.gpm(f, y.argmax(dim=1), domain)
            out["gpm"] = self.gpm_predictor[domain](fused)
        return out
