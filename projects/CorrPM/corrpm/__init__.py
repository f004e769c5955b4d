"""CorrPM: parsing correlated with edges and pose through a heterogeneous non-local block
(Zhang et al., CVPR 2020), methods.md §5.

Importing this package registers (side effects, on purpose): ``CorrPMHead``
(SEM_SEG_HEADS_REGISTRY), the ``CorrPM`` meta-architecture (META_ARCH_REGISTRY) and
``CorrPMDatasetMapper`` (the project's MAPPER_REGISTRY), the ``corrpm`` official-weights converter
(OFFICIAL_WEIGHTS_REGISTRY); the ResNet-DeepLab backbone comes from
``detectron2.projects.deeplab`` (imported here so it is registered).
"""
import detectron2.projects.deeplab  # noqa: F401  (registers build_resnet_deeplab_backbone)

from . import data, modeling  # noqa: F401  (registration only)
from . import official_weights  # noqa: F401  (registers the "corrpm" official-weights converter)
from .config import add_corrpm_config
from .modeling import CorrPM, CorrPMHead

__all__ = ["add_corrpm_config", "CorrPM", "CorrPMHead"]
