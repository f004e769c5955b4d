"""Grapy-ML: graph pyramid module and cross-dataset mutual learning (He et al., AAAI 2020),
methods.md §4.

Importing this package registers (side effects, on purpose): the ``build_xception65_backbone``
backbone (BACKBONE_REGISTRY), ``GrapyMLHead`` (SEM_SEG_HEADS_REGISTRY) and the ``GrapyML``
meta-architecture (META_ARCH_REGISTRY) and the ``grapy_ml`` official-weights converter
(OFFICIAL_WEIGHTS_REGISTRY); it also imports Detectron2's DeepLab project, whose
``build_resnet_deeplab_backbone`` is the ResNet alternative to Xception-65.
"""
from detectron2.projects import deeplab as _deeplab  # noqa: F401  (registers the ResNet-DeepLab backbone)

from . import head, meta_arch, official_weights, xception  # noqa: F401  (registration only)
from .config import add_grapy_ml_config
from .meta_arch import GrapyML

__all__ = ["add_grapy_ml_config", "GrapyML"]
