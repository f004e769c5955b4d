"""Registry of converters from the authors' released checkpoints to this toolkit's models.

Method packages register a subclass of :class:`OfficialWeightsConverter` on import (the house
rule: ``human_parsing`` never imports a method package); ``tools/convert_official_weights.py``
finds it by its ``method`` name.
"""
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

from detectron2.utils.registry import Registry

from .table import NameTable

__all__ = ["OFFICIAL_WEIGHTS_REGISTRY", "OfficialWeightsConverter", "KNOWN_METHODS", "get_converter",
           "REPO_ROOT"]

OFFICIAL_WEIGHTS_REGISTRY = Registry("OFFICIAL_WEIGHTS")
OFFICIAL_WEIGHTS_REGISTRY.__doc__ = """
Converters of official checkpoints: classes derived from ``OfficialWeightsConverter``, called with
no argument; looked up by their ``method`` attribute (the METHOD of convert_official_weights.py).
"""

# every method whose authors released weights (issue 17); those without a registered converter are
# reported as pending by the tool
KNOWN_METHODS = ("parsing_rcnn", "parsing_rcnn_uv", "pgn", "corrpm", "grapy_ml")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class OfficialWeightsConverter:
    """One method's official checkpoint format and name table.

    Subclasses set ``method`` (the command-line name), ``default_config`` (a config of ours, relative
    to the repository, that runs the converted weights) and implement :meth:`table`; :meth:`read`
    defaults to a PyTorch ``.pth`` state dict (three of the four released formats).
    """

    method: str = ""
    default_config: str = ""
    description: str = ""

    def read(self, path: str) -> Dict[str, np.ndarray]:
        """Official tensor name -> array, for the checkpoint at ``path``."""
        from .checkpoint_io import read_torch_state_dict

        return read_torch_state_dict(path)

    def table(self, cfg, official: Dict[str, np.ndarray]) -> NameTable:
        """The name table for our model built from ``cfg``. ``official`` may only select between
        documented variants of the official format (never match names by shape)."""
        raise NotImplementedError

    def official_names(self, source_dir: str, cfg) -> Dict[str, Tuple[int, ...]]:
        """Tensor names and shapes of the official model, built or parsed from its source tree
        (``--check``); converters that cannot do this raise ``NotImplementedError``."""
        raise NotImplementedError(f"{self.method}: --check is not available")

    def target_shapes(self, shapes: Dict[str, Tuple[int, ...]], official: Dict[str, np.ndarray]
                      ) -> Dict[str, Tuple[int, ...]]:
        """Which of our model's tensors (name -> shape) the checkpoint is for: all by default; a
        backbone-only pre-training file selects the backbone's."""
        return shapes

    def config_options(self, official: Dict[str, np.ndarray]) -> List[str]:
        """Extra ``KEY VALUE`` config options implied by the checkpoint (none by default)."""
        return []


def get_converter(method: str) -> OfficialWeightsConverter:
    """The registered converter for ``method``; a clear error for pending or unknown methods."""
    found: Optional[type] = None
    for _, cls in OFFICIAL_WEIGHTS_REGISTRY:
        if getattr(cls, "method", None) == method:
            found = cls
    if found is not None:
        return found()
    available = sorted(getattr(c, "method", n) for n, c in OFFICIAL_WEIGHTS_REGISTRY)
    if method in KNOWN_METHODS:
        raise KeyError(f"no converter for {method!r} yet: its package has not registered one "
                       f"(available: {', '.join(available) or 'none'})")
    raise KeyError(f"unknown method {method!r}; known: {', '.join(KNOWN_METHODS)}")
