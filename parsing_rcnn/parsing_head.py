"""Parsing heads of Parsing R-CNN: the 8-conv baseline and the GCE head with PBD convs.

Every head maps pooled ROI features (R, C, S, S) to part logits (R, K, M, M) with M = 4·S (ERR),
and returns the loss in training or fills ``pred_parsing_probs`` of the instances at inference.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.utils.registry import Registry
from human_parsing.modeling.layers import ASPP, NonLocalBlock2d

from .inference import parsing_rcnn_inference
from .loss import parsing_rcnn_loss
from .output import ParsingOutput

__all__ = [
    "ROI_PARSING_HEAD_REGISTRY",
    "build_parsing_head",
    "BaseParsingRCNNHead",
    "ParsingConvXHead",
    "GCELayers",
    "ParsingGCEHead",
]

ROI_PARSING_HEAD_REGISTRY = Registry("ROI_PARSING_HEAD")
ROI_PARSING_HEAD_REGISTRY.__doc__ = """
Parsing heads of Parsing R-CNN, which take pooled ROI features and predict per-ROI part maps.

Called with ``obj(cfg, input_shape)``, ``input_shape`` the ``ShapeSpec`` of the pooled features.
"""


def build_parsing_head(cfg, input_shape: ShapeSpec) -> nn.Module:
    """Build the head named by ``cfg.MODEL.ROI_PARSING_HEAD.NAME``."""
    return ROI_PARSING_HEAD_REGISTRY.get(cfg.MODEL.ROI_PARSING_HEAD.NAME)(cfg, input_shape)


def _conv3x3(cin: int, cout: int, norm: str, dilation: int = 1) -> Conv2d:
    # bias only without norm, kaiming-normal (fan_out) init: the official make_conv
    conv = Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=not norm,
                  norm=get_norm(norm, cout), activation=F.relu)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class BaseParsingRCNNHead(nn.Module):
    """Shared training/inference logic; subclasses build ``self.predictor`` and implement ``layers``."""

    @configurable
    def __init__(self, *, loss_weight: float = 1.0, ignore_label: int = 255,
                 class_balance_power: float = 0.0):
        """
        Args:
            loss_weight: multiplier of the parsing cross-entropy.
            ignore_label: target value excluded from the loss.
            class_balance_power: inverse-class-frequency weighting of the loss (0: off).
        """
        super().__init__()
        self.loss_weight = loss_weight
        self.ignore_label = ignore_label
        self.class_balance_power = class_balance_power

    @classmethod
    def from_config(cls, cfg, input_shape):
        return {
            "loss_weight": cfg.MODEL.ROI_PARSING_HEAD.LOSS_WEIGHT,
            "ignore_label": cfg.MODEL.ROI_PARSING_HEAD.IGNORE_LABEL,
            "class_balance_power": cfg.MODEL.ROI_PARSING_HEAD.CLASS_BALANCE_POWER,
        }

    @staticmethod
    def _output_args(cfg, input_shape):
        h = cfg.MODEL.ROI_PARSING_HEAD
        return {
            "num_parsing": h.NUM_PARSING,
            "pooled_resolution": input_shape.height or h.POOLER_RESOLUTION,
            "resolution": h.RESOLUTION,
        }

    def forward(self, x: torch.Tensor, instances: List):
        """
        Args:
            x: (R, C, S, S) pooled features of all ROIs of the batch.
            instances: per-image ``Instances``; in training the sampled foreground proposals
                (``proposal_boxes``, ``gt_parsing``), at inference the detections.
        Returns:
            ``{"loss_parsing": loss}`` in training; at inference ``instances`` with the new field
            ``pred_parsing_probs`` (r, K, M, M) softmax probabilities.
        """
        logits = self.layers(x)
        if self.training:
            return {"loss_parsing": parsing_rcnn_loss(
                logits, instances, self.ignore_label, self.class_balance_power) * self.loss_weight}
        parsing_rcnn_inference(logits, instances)
        return instances

    def layers(self, x: torch.Tensor) -> torch.Tensor:
        """(R, C, S, S) → (R, K, M, M) logits."""
        raise NotImplementedError


@ROI_PARSING_HEAD_REGISTRY.register()
class ParsingConvXHead(BaseParsingRCNNHead):
    """Baseline head (paper Table 3, "8 conv"): a stack of 3×3 convs, then the output module."""

    @configurable
    def __init__(self, input_shape: ShapeSpec, *, num_parsing: int, pooled_resolution: int,
                 resolution: int, conv_dims: List[int], dilation: int = 1, norm: str = "", **kwargs):
        """
        Args:
            input_shape: shape of the pooled features.
            num_parsing, pooled_resolution, resolution: K, S and M of the output module.
            conv_dims: output channels of each stacked 3×3 conv.
            dilation, norm: of the stacked convs.
        """
        super().__init__(**kwargs)
        cin = input_shape.channels
        self.convs = nn.Sequential()
        for i, dim in enumerate(conv_dims):
            self.convs.add_module(f"parsing_fcn{i + 1}", _conv3x3(cin, dim, norm, dilation))
            cin = dim
        self.predictor = ParsingOutput(cin, num_parsing, pooled_resolution, resolution)

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = super().from_config(cfg, input_shape)
        h = cfg.MODEL.ROI_PARSING_HEAD
        ret.update(cls._output_args(cfg, input_shape))
        ret.update(
            input_shape=input_shape,
            conv_dims=[h.CONV_DIM] * h.CONVX.NUM_STACKED_CONVS,
            dilation=h.CONVX.DILATION,
            norm=h.NORM,
        )
        return ret

    def layers(self, x):
        return self.predictor(self.convs(x))


class GCELayers:
    """The GCE + PBD layers, a mixin of ``nn.Module`` heads: ``before`` convs → ASPP (image
    pooling, 1×1, dilated 3×3) and a 1×1 projection to ``conv_dim`` (``context``) → non-local
    (``nonlocal_block``) → ``after`` convs. The parsing head and the keypoint head of the COCO
    pre-training (Table 5) share it, so their weights have the same names under each head.
    ``use_aspp=False`` ("non-local only", Table 3) replaces the ASPP and its projection by a 1×1
    conv to ``conv_dim``, so the non-local block keeps its width; ``use_nl=False`` is "ASPP only".
    """

    def _init_gce(self, in_channels: int, *, conv_dim: int = 512, norm: str = "",
                  num_convs_before: int = 0, num_convs_after: int = 4, use_aspp: bool = True,
                  aspp_dim: int = 256, aspp_dilations=(6, 12, 18), image_pooling: bool = True,
                  use_nl: bool = True, nl_ratio: float = 1.0, nl_norm: str = "GN",
                  nl_subsample: bool = True) -> None:
        if num_convs_before < 0 or num_convs_after < 0:
            raise ValueError(f"GCE head: negative PBD conv counts {num_convs_before}/{num_convs_after}")
        cin = in_channels
        self.before = nn.Sequential(*[_conv3x3(cin if i == 0 else conv_dim, conv_dim, norm)
                                      for i in range(num_convs_before)])
        cin = conv_dim if num_convs_before else cin
        if use_aspp:
            # no norm on the image-pooling conv: a per-ROI 1×1 map cannot be normalized
            # (GN over single values gives 0, BN needs batch statistics)
            self.context = ASPP(cin, aspp_dim, aspp_dilations, image_pooling=image_pooling,
                                norm=norm, pool_norm="", projection_channels=conv_dim)
        else:
            self.context = Conv2d(cin, conv_dim, 1, bias=not norm, norm=get_norm(norm, conv_dim),
                                  activation=F.relu)
            nn.init.kaiming_normal_(self.context.weight, mode="fan_out", nonlinearity="relu")
            if self.context.bias is not None:
                nn.init.zeros_(self.context.bias)
        self.nonlocal_block = (
            NonLocalBlock2d(conv_dim, inner_ratio=nl_ratio, subsample=nl_subsample, norm=nl_norm)
            if use_nl else None
        )
        self.after = nn.Sequential(*[_conv3x3(conv_dim, conv_dim, norm) for _ in range(num_convs_after)])

    @staticmethod
    def gce_args_from_config(cfg) -> dict:
        """Keyword arguments of ``_init_gce`` from ``MODEL.ROI_PARSING_HEAD`` (CONV_DIM, NORM, GCE.*)."""
        h = cfg.MODEL.ROI_PARSING_HEAD
        g = h.GCE
        return dict(
            conv_dim=h.CONV_DIM,
            norm=h.NORM,
            num_convs_before=g.NUM_CONVS_BEFORE,
            num_convs_after=g.NUM_CONVS_AFTER,
            use_aspp=g.USE_ASPP,
            aspp_dim=g.ASPP_DIM,
            aspp_dilations=tuple(g.ASPP_DILATIONS),
            image_pooling=g.IMAGE_POOLING,
            use_nl=g.USE_NL,
            nl_ratio=g.NL_RATIO,
            nl_norm=g.NL_NORM,
            nl_subsample=g.NL_SUBSAMPLE,
        )

    def gce_features(self, x: torch.Tensor) -> torch.Tensor:
        """(R, C, S, S) ROI features → (R, conv_dim, S, S)."""
        x = self.context(self.before(x))
        if self.nonlocal_block is not None:
            x = self.nonlocal_block(x)
        return self.after(x)


@ROI_PARSING_HEAD_REGISTRY.register()
class ParsingGCEHead(BaseParsingRCNNHead, GCELayers):
    """Geometric and context encoding head (paper §3.3) with parsing branch decoupling (§3.4):
    the ``GCELayers``, then the output module."""

    @configurable
    def __init__(self, input_shape: ShapeSpec, *, num_parsing: int, pooled_resolution: int,
                 resolution: int, gce: Optional[dict] = None, **kwargs):
        """
        Args:
            input_shape: shape of the pooled features.
            num_parsing, pooled_resolution, resolution: K, S and M of the output module.
            gce: keyword arguments of ``GCELayers._init_gce`` (default: the final CIHP model).
            kwargs: arguments of ``BaseParsingRCNNHead``.
        """
        super().__init__(**kwargs)
        gce = dict(gce or {})
        self._init_gce(input_shape.channels, **gce)
        self.predictor = ParsingOutput(gce.get("conv_dim", 512), num_parsing, pooled_resolution, resolution)

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = super().from_config(cfg, input_shape)
        ret.update(cls._output_args(cfg, input_shape))
        ret.update(input_shape=input_shape, gce=cls.gce_args_from_config(cfg))
        return ret

    def layers(self, x):
        return self.predictor(self.gce_features(x))
