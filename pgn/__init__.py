"""PGN: Part Grouping Network (bottom-up instance-level human parsing), methods.md §3.

Importing this package registers (side effects, on purpose): the ``build_pgn_resnet_backbone``
backbone, ``PGNHead`` (SEM_SEG_HEADS_REGISTRY), the ``PGN`` meta-architecture and its
test-time augmentation ``PGNWithTTA`` (TTA_REGISTRY, under "PGN"), and the converter of the
official TensorFlow checkpoint (OFFICIAL_WEIGHTS_REGISTRY, method "pgn").
"""

from . import backbone, heads, meta_arch, tta  # noqa: F401  (registration only)
from . import partition  # noqa: F401
from . import official_weights  # noqa: F401  (registers the 'pgn' converter)
from .config import add_pgn_config
from .meta_arch import PGN
from .tta import PGNWithTTA

__all__ = ["add_pgn_config", "PGN", "PGNWithTTA"]
