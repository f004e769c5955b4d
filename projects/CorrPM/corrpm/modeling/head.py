"""``CorrPMHead``: the three encoders, the hybrid fusion, the heterogeneous non-local block and both
parsing classifiers (methods.md §5.2), registered in ``SEM_SEG_HEADS_REGISTRY``.

``MODEL.CORRPM.FUSION`` and ``HYBRID_INPUTS`` select the paper's ablations (Tables 5-6), so the
same head serves the "P" baseline (plain DeepLab-v3+-like parsing encoder) and CorrPM.
"""
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY
from torch import nn

from human_parsing.modeling.layers import NonLocalBlock2d

from .encoders import EdgeEncoder, ParsingEncoder, PoseEncoder, classifier, conv_norm_act
from .encoders import feature_channels, norm_activation

__all__ = ["CorrPMHead", "FUSIONS", "HYBRID_SOURCES"]

FUSIONS = ("none", "concat", "self_nl", "hnl")
HYBRID_SOURCES = ("parsing", "edge", "pose")


@SEM_SEG_HEADS_REGISTRY.register()
class CorrPMHead(nn.Module):
    """Input: backbone features ``{res2, res3, res4, res5}`` (names from ``in_features``).

    Output of ``forward``: a dict of stride-4 logits ``"seg2"`` (N, K, H/4, W/4), the refined
    output used at test time, and, when built, ``"seg1"`` (N, K, H/4, W/4), ``"edge"``
    (N, 2, H/4, W/4) and ``"pose"`` (N, J, H/4, W/4).
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        num_joints: int,
        in_features: Sequence[str] = ("res2", "res3", "res4", "res5"),
        feat_dim: int = 512,
        aspp_dim: int = 256,
        aspp_dilations: Sequence[int] = (12, 24, 36),
        aspp_dropout: float = 0.1,
        edge_mid_dim: int = 256,
        pose_deconv_dims: Sequence[int] = (256, 512),
        hnl_inter_dim: int = 256,
        hnl_subsample: bool = True,
        norm: str = "SyncBN",
        activation: str = "leaky_relu",
        negative_slope: float = 0.01,
        fusion: str = "hnl",
        hybrid_inputs: Sequence[str] = ("parsing", "edge", "pose"),
        use_edge: bool = True,
        use_pose: bool = True,
        seg1_on: bool = True,
        edge_logits_on: bool = True,
        pose_logits_on: bool = True,
    ):
        """
        Args:
            input_shape: backbone output shapes; ``in_features`` = (res2, res3, res4, res5) names.
            fusion: "hnl" (CorrPM), "concat", "self_nl" or "none" (see config.py).
            hybrid_inputs: sources of the hybrid feature, repeats allowed ("hnl", "concat").
            use_edge, use_pose: build the edge / pose encoders.
            seg1_on, edge_logits_on, pose_logits_on: build the seg1 / edge / pose classifiers
                (off when their loss weight is 0: a classifier without loss would be a
                parameter without gradient, which DDP rejects).
            Other arguments: the widths and norm of methods.md §5.2 (MODEL.CORRPM.*).
        """
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"MODEL.CORRPM.FUSION must be one of {FUSIONS}, got {fusion!r}")
        bad = [s for s in hybrid_inputs if s not in HYBRID_SOURCES]
        if bad:
            raise ValueError(f"MODEL.CORRPM.HYBRID_INPUTS: unknown {bad}; use {HYBRID_SOURCES}")
        if fusion in ("hnl", "concat"):
            if not hybrid_inputs:
                raise ValueError(f"MODEL.CORRPM.FUSION={fusion!r} needs MODEL.CORRPM.HYBRID_INPUTS")
            for src, on in (("edge", use_edge), ("pose", use_pose)):
                if src in hybrid_inputs and not on:
                    raise ValueError(f"MODEL.CORRPM.HYBRID_INPUTS has {src!r} but USE_{src.upper()} is False")
        if len(in_features) != 4:
            raise ValueError(f"MODEL.CORRPM.IN_FEATURES must name (res2, res3, res4, res5), got {in_features}")
        self.in_features = tuple(in_features)
        self.fusion = fusion
        self.hybrid_inputs = tuple(hybrid_inputs) if fusion in ("hnl", "concat") else ()
        c2, c3, c4, c5 = feature_channels(input_shape, in_features)
        act = norm_activation(activation, negative_slope)

        self.parsing_encoder = ParsingEncoder(c2, c5, num_classes if seg1_on else 0, feat_dim=feat_dim, aspp_dim=aspp_dim,
                                              dilations=aspp_dilations, dropout=aspp_dropout, norm=norm, act=act)
        self.edge_encoder = (
            EdgeEncoder((c2, c3, c4), mid_dim=edge_mid_dim, feat_dim=feat_dim, norm=norm, act=act,
                        logits=edge_logits_on)
            if use_edge else None
        )
        self.pose_encoder = (
            PoseEncoder(c5, num_joints if pose_logits_on else 0, deconv_dims=pose_deconv_dims, norm=norm)
            if use_pose else None
        )
        widths = {"parsing": feat_dim, "edge": feat_dim, "pose": pose_deconv_dims[-1] if use_pose else 0}
        self.fuse = (
            conv_norm_act(sum(widths[s] for s in self.hybrid_inputs), feat_dim, norm, act)
            if self.hybrid_inputs else None
        )
        self.nonlocal_block = None
        if fusion in ("hnl", "self_nl"):
            # CorrPM's HNL: queries from f_h (or f_p), keys/values from f_p (projected, then
            # max-pooled 2×2), residual f_p, no 1/sqrt(d) scaling, output BN zero-initialised
            # (identity at start)
            self.nonlocal_block = NonLocalBlock2d(
                feat_dim, inner_ratio=hnl_inter_dim / feat_dim, subsample=hnl_subsample, norm=norm,
                context_channels=feat_dim, zero_init=True, use_scale=False, residual="context",
                pool_after_projection=True,
            )
        self.seg2 = classifier(feat_dim, num_classes)

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]) -> dict:
        c = cfg.MODEL.CORRPM
        return {
            "input_shape": input_shape,
            "num_classes": c.NUM_CLASSES,
            "num_joints": c.NUM_JOINTS,
            "in_features": c.IN_FEATURES,
            "feat_dim": c.FEAT_DIM,
            "aspp_dim": c.ASPP_DIM,
            "aspp_dilations": c.ASPP_DILATIONS,
            "aspp_dropout": c.ASPP_DROPOUT,
            "edge_mid_dim": c.EDGE_MID_DIM,
            "pose_deconv_dims": c.POSE_DECONV_DIMS,
            "hnl_inter_dim": c.HNL_INTER_DIM,
            "hnl_subsample": c.HNL_SUBSAMPLE,
            "norm": c.NORM,
            "activation": c.ACTIVATION,
            "negative_slope": c.NEGATIVE_SLOPE,
            "fusion": c.FUSION,
            "hybrid_inputs": c.HYBRID_INPUTS,
            "use_edge": c.USE_EDGE,
            "use_pose": c.USE_POSE,
            "seg1_on": c.SEG1_LOSS_WEIGHT > 0,
            "edge_logits_on": c.EDGE_LOSS_WEIGHT > 0,
            "pose_logits_on": c.POSE_LOSS_WEIGHT > 0,
        }

    def forward(self, features: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        res2, res3, res4, res5 = (features[f] for f in self.in_features)
        logits = {}
        f_p, logits["seg1"] = self.parsing_encoder(res2, res5)
        feats = {"parsing": f_p}
        if self.edge_encoder is not None:
            feats["edge"], logits["edge"] = self.edge_encoder([res2, res3, res4])
        if self.pose_encoder is not None:
            feats["pose"], logits["pose"] = self.pose_encoder(res5)
        logits["seg2"] = self.seg2(self._refine(f_p, feats))
        return {k: v for k, v in logits.items() if v is not None}

    def _refine(self, f_p: torch.Tensor, feats: Dict[str, torch.Tensor]) -> torch.Tensor:
        if self.fusion == "none":
            return f_p
        if self.fusion == "self_nl":
            return self.nonlocal_block(f_p, f_p)
        parts: List[torch.Tensor] = []
        for s in self.hybrid_inputs:
            x = feats[s]
            if x.shape[-2:] != f_p.shape[-2:]:  # inputs whose size is not a multiple of 16
                x = F.interpolate(x, size=f_p.shape[-2:], mode="bilinear", align_corners=True)
            parts.append(x)
        f_h = self.fuse(torch.cat(parts, dim=1))
        return f_h if self.fusion == "concat" else self.nonlocal_block(f_h, f_p)
