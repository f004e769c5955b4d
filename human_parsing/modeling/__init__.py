"""Modeling components shared by the human-parsing methods: common layers, the semantic-parsing
base meta-architecture and its test-time augmentation."""
from .layers import ASPP, NonLocalBlock2d
from .semantic import SemanticParsingModel
from .semantic_tta import SemanticParsingWithTTA, register_semantic_tta

__all__ = ["ASPP", "NonLocalBlock2d", "SemanticParsingModel", "SemanticParsingWithTTA", "register_semantic_tta"]
