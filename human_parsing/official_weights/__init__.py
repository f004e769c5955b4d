"""Conversion of the authors' released checkpoints into this toolkit's models (issue 17).

``OFFICIAL_WEIGHTS_REGISTRY`` holds one converter per method, registered by the method's package;
each converter reads the official format and gives an explicit :class:`NameTable`; the conversion
fails listing every unmatched or mis-shaped tensor. ``tools/convert_official_weights.py`` is the
command line.
"""
from .checkpoint_io import read_any, read_npz, read_torch_state_dict, write_detectron2_checkpoint
from .convert import check_against_source, convert_checkpoint, convert_state, model_shapes
from .registry import KNOWN_METHODS, OFFICIAL_WEIGHTS_REGISTRY, REPO_ROOT, OfficialWeightsConverter, get_converter
from .table import COPY, TF_CONV, ConversionError, Entry, Fill, NameTable, Transform, apply_table, take_rows
from .tf_checkpoint import TFCheckpointError, read_tf_checkpoint, resolve_tf_checkpoint

__all__ = [k for k in dir() if not k.startswith("_")]
