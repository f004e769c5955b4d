"""Data: label spaces, file io, dataset readers and registration, mappers, synthetic data."""

from . import datasets  # noqa: F401
from .datasets import builtin as _builtin  # noqa: F401  (just to register the builtin datasets)
from .datasets.builtin import (  # noqa: F401
    register_cihp_instances,
    register_mhp_v2_instances,
    register_semantic_parsing,
    register_synthetic,
)
from .datasets.coco_parsing import register_coco_parsing  # noqa: F401
