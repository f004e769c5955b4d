"""PGN heads: parsing branch, instance-edge branch with deeply-supervised side outputs, and the
refinement branch where parts and edges inform each other (methods.md §3.3).

All maps stay at the resolution of the first input feature (stride 8 for the dilated backbone).
"""

import math
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from human_parsing.modeling.layers.aspp_v2 import ASPPv2
from human_parsing.modeling.layers.ppm import PyramidPooling

__all__ = ["PGNHead", "build_pgn_head"]


def build_pgn_head(cfg, input_shape: Dict[str, ShapeSpec]) -> nn.Module:
    """Build ``cfg.MODEL.PGN.HEAD_NAME`` from SEM_SEG_HEADS_REGISTRY."""
    return SEM_SEG_HEADS_REGISTRY.get(cfg.MODEL.PGN.HEAD_NAME)(cfg, input_shape)


def _conv(cin: int, cout: int, k: int, norm: str = "", relu: bool = True) -> Conv2d:
    return Conv2d(
        cin,
        cout,
        k,
        padding=k // 2,
        bias=not norm,
        norm=get_norm(norm, cout),
        activation=F.relu if relu else None,
    )


@torch.no_grad()
def _truncated_normal_(w: torch.Tensor, std: float) -> torch.Tensor:
    """TF ``truncated_normal``: N(0, std²) restricted to ±2 std, by inverse-CDF sampling
    (``nn.init.trunc_normal_`` takes ~20 s on the R-101 head on CPU)."""
    bound = math.erf(2 / math.sqrt(2))  # erf argument range of Φ(±2)
    return w.uniform_(-bound, bound).erfinv_().mul_(std * math.sqrt(2)).clamp_(-2 * std, 2 * std)


class _Stack(nn.Module):
    """conv3×3 → [PPM + concat] → conv3×3 → dropout → conv3×3 classifier.

    The tail shared by the parsing, edge and both refinement branches. Returns (hidden, logits):
    the features before dropout (used by the refinement branch) and the classifier output.
    """

    def __init__(self, cin, dim, out_dim, num_outputs, *, ppm_kwargs, use_ppm, norm, dropout):
        super().__init__()
        self.conv = _conv(cin, dim, 3, norm)
        # the pooled paths stay without norm (as the official code): a 1×1 bin gives BN one value
        # per image and GN one value per group
        self.ppm = PyramidPooling(dim, **ppm_kwargs) if use_ppm else None
        self.pp_conv = _conv(self.ppm.out_channels if use_ppm else dim, out_dim, 3, norm)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.predictor = nn.Conv2d(out_dim, num_outputs, 3, padding=1)

    def forward(self, x):
        x = self.conv(x)
        if self.ppm is not None:
            x = self.ppm(x)
        hidden = self.pp_conv(x)
        return hidden, self.predictor(self.dropout(hidden))


@SEM_SEG_HEADS_REGISTRY.register()
class PGNHead(nn.Module):
    """Input: backbone features ``{name: (N, C_name, h, w)}``. Output: a dict of logit maps at the
    size (h, w) of ``in_features[0]``:

    * ``"parsing"`` (N, K, h, w) P1, ``"edge"`` (N, 1, h, w) E1;
    * ``"parsing_refine"`` P2 and ``"edge_refine"`` E2 when ``use_refine``;
    * ``"edge_side_<feature>"`` (N, 1, h, w) when ``use_side_outputs``.

    With ``use_edge=False`` only ``"parsing"`` is produced.
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_features: Sequence[str],
        parsing_branch_dim: int = 512,
        parsing_dim: int = 512,
        edge_branch_dim: int = 256,
        edge_dim: int = 256,
        edge_pp_dim: int = 512,
        ppm_dim: int = 512,
        fea_dim: int = 256,
        remap_dim: int = 128,
        refine_dim: int = 512,
        use_ppm: bool = True,
        ppm_mode: str = "fixed_kernels",
        ppm_kernels: Sequence[int] = (60, 30, 20, 10),
        ppm_bins: Sequence[int] = (1, 2, 3, 6),
        dropout_keep: float = 0.9,
        side_dilations: Sequence[int] = (1, 2, 4, 8, 16),
        norm: str = "",
        init: str = "truncated_normal",
        init_std: float = 0.01,
        use_edge: bool = True,
        use_refine: bool = True,
        use_side_outputs: bool = True,
    ):
        super().__init__()
        missing = [f for f in in_features if f not in input_shape]
        if missing:
            raise ValueError(
                f"PGNHead: features {missing} not produced by the backbone ({list(input_shape)})"
            )
        if not 0 < dropout_keep <= 1:
            raise ValueError(f"PGNHead: dropout_keep must be in (0, 1], got {dropout_keep}")
        if use_refine and not use_edge:
            raise ValueError("PGNHead: the refinement branch needs the edge branch (USE_EDGE)")
        self.in_features = list(in_features)
        self.num_classes = num_classes
        self.use_edge, self.use_refine = use_edge, use_refine
        self.use_side_outputs = use_side_outputs and use_edge
        ppm_kwargs = dict(channels=ppm_dim, mode=ppm_mode, kernels=ppm_kernels, bins=ppm_bins)
        stack = dict(ppm_kwargs=ppm_kwargs, use_ppm=use_ppm, norm=norm, dropout=1.0 - dropout_keep)
        chans = [input_shape[f].channels for f in self.in_features]

        self.parsing_branches = nn.ModuleList(_conv(c, parsing_branch_dim, 3, norm) for c in chans)
        self.parsing = _Stack(parsing_branch_dim * len(chans), parsing_dim, parsing_dim, num_classes, **stack)
        if use_edge:
            self.edge_branches = nn.ModuleList(_conv(c, edge_branch_dim, 3, norm) for c in chans)
            self.edge = _Stack(edge_branch_dim * len(chans), edge_dim, edge_pp_dim, 1, **stack)
        if self.use_side_outputs:
            self.edge_sides = nn.ModuleList(ASPPv2(edge_branch_dim, 1, side_dilations) for _ in chans)
        if use_refine:
            self.parsing_fea = _conv(parsing_dim, fea_dim, 3, norm)
            self.parsing_remap = _conv(num_classes, remap_dim, 1, norm)
            self.edge_fea = _conv(edge_pp_dim, fea_dim, 3, norm)
            self.edge_remap = _conv(1, remap_dim, 1, norm)
            cat_dim = 2 * (fea_dim + remap_dim)
            self.parsing_refine = _Stack(cat_dim, refine_dim, refine_dim, num_classes, **stack)
            self.edge_refine = _Stack(cat_dim, refine_dim, refine_dim, 1, **stack)
        self._init_weights(init, init_std)

    def _init_weights(self, init: str, std: float) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if init == "truncated_normal":
                    _truncated_normal_(m.weight, std)
                elif init == "msra":
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                else:
                    raise ValueError(f"PGNHead: unknown init {init!r} (truncated_normal | msra)")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        if init == "msra":
            # classifiers stay small so the first logits are near 0 (Kaiming would make them O(10))
            for m in self.modules():
                if isinstance(m, (_Stack, ASPPv2)):
                    for conv in [m.predictor] if isinstance(m, _Stack) else m.branches:
                        nn.init.normal_(conv.weight, std=0.01)

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]):
        p = cfg.MODEL.PGN
        return {
            "input_shape": input_shape,
            "num_classes": p.NUM_CLASSES,
            "in_features": p.IN_FEATURES,
            "parsing_branch_dim": p.PARSING_BRANCH_DIM,
            "parsing_dim": p.PARSING_DIM,
            "edge_branch_dim": p.EDGE_BRANCH_DIM,
            "edge_dim": p.EDGE_DIM,
            "edge_pp_dim": p.EDGE_PP_DIM,
            "ppm_dim": p.PPM_DIM,
            "fea_dim": p.FEA_DIM,
            "remap_dim": p.REMAP_DIM,
            "refine_dim": p.REFINE_DIM,
            "use_ppm": p.USE_PPM,
            "ppm_mode": p.PPM_MODE,
            "ppm_kernels": p.PPM_KERNELS,
            "ppm_bins": p.PPM_BINS,
            "dropout_keep": p.DROPOUT_KEEP,
            "side_dilations": p.SIDE_DILATIONS,
            "norm": p.HEAD_NORM,
            "init": p.HEAD_INIT,
            "init_std": p.HEAD_INIT_STD,
            "use_edge": p.USE_EDGE,
            "use_refine": p.USE_REFINE,
            "use_side_outputs": p.USE_SIDE_OUTPUTS,
        }

    def _features(self, features: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        xs = [features[f] for f in self.in_features]
        size = xs[0].shape[-2:]
        # with the dilated backbone all three are at stride 8; other strides are resized to the first
        return [
            x if x.shape[-2:] == size else F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            for x in xs
        ]

    def forward(self, features: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        xs = self._features(features)
        out = {}
        parsing_hidden, out["parsing"] = self.parsing(
            torch.cat([b(x) for b, x in zip(self.parsing_branches, xs)], 1)
        )
        if not self.use_edge:
            return out
        edge_feats = [b(x) for b, x in zip(self.edge_branches, xs)]
        edge_hidden, out["edge"] = self.edge(torch.cat(edge_feats, 1))
        if self.use_side_outputs:
            for name, side, feat in zip(self.in_features, self.edge_sides, edge_feats):
                out[f"edge_side_{name}"] = side(feat)
        if self.use_refine:
            p_fea, p_remap = self.parsing_fea(parsing_hidden), self.parsing_remap(out["parsing"])
            e_fea, e_remap = self.edge_fea(edge_hidden), self.edge_remap(out["edge"])
            _, out["parsing_refine"] = self.parsing_refine(torch.cat([p_fea, p_remap, e_fea, e_remap], 1))
            _, out["edge_refine"] = self.edge_refine(torch.cat([e_fea, e_remap, p_fea, p_remap], 1))
        return out
