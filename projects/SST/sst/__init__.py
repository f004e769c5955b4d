"""SST: Scalable Semantic Transfer for multi-domain human parsing (Yang et al., 2023),
methods.md §6.

Importing this package registers (side effect, on purpose) the ``SSTParser`` meta-architecture
in Detectron2's ``META_ARCH_REGISTRY``.
"""

from . import meta_arch  # noqa: F401  (registration only)
from .config import add_sst_config
from .meta_arch import SSTParser

__all__ = ["add_sst_config", "SSTParser"]
