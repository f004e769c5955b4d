"""Parsing R-CNN (Yang et al., CVPR 2019) on Detectron2: PSS, ERR, GCE head, PBD, decoupled
parsing batch, official paste-back and parsing TTA; the dense-pose (UV) variant."""
from .config import add_parsing_rcnn_config

# the imports below register ParsingROIHeads, the parsing heads, the GCE keypoint head,
# ParsingRCNN and its TTA
from .parsing_head import (
    ROI_PARSING_HEAD_REGISTRY,
    BaseParsingRCNNHead,
    ParsingConvXHead,
    ParsingGCEHead,
    build_parsing_head,
)
from .keypoint_head import KeypointGCEHead
from .roi_heads import ParsingROIHeads
from .uv_head import ROI_UV_HEAD_REGISTRY, UVGCEHead
from .meta_arch import ParsingRCNN
from .tta import ParsingRCNNWithTTA
from .official_weights import ParsingRCNNOfficialWeights  # registers the 'parsing_rcnn' converter

__all__ = [
    "add_parsing_rcnn_config",
    "ROI_PARSING_HEAD_REGISTRY",
    "BaseParsingRCNNHead",
    "ParsingConvXHead",
    "ParsingGCEHead",
    "KeypointGCEHead",
    "build_parsing_head",
    "ParsingROIHeads",
    "ROI_UV_HEAD_REGISTRY",
    "UVGCEHead",
    "ParsingRCNN",
    "ParsingRCNNWithTTA",
    "ParsingRCNNOfficialWeights",
]
