"""Official checkpoint -> Detectron2 checkpoint of ours, checked name by name and shape by shape."""
import logging
from typing import Dict, Mapping, Optional, Tuple

import numpy as np
import torch

from detectron2.modeling import build_model

from .checkpoint_io import write_detectron2_checkpoint
from .registry import OfficialWeightsConverter
from .table import ConversionError, NameTable, apply_table

__all__ = ["model_shapes", "convert_state", "check_against_source", "convert_checkpoint"]

logger = logging.getLogger(__name__)


def model_shapes(cfg) -> Dict[str, Tuple[int, ...]]:
    """Name -> shape of the state dict of the model ``cfg`` builds, on the meta device (no memory)."""
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.DEVICE = "meta"
    with torch.device("meta"):
        model = build_model(cfg)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def convert_state(converter: OfficialWeightsConverter, official: Mapping[str, np.ndarray], cfg,
                  source: str = "") -> Dict[str, np.ndarray]:
    """Our state dict for the model of ``cfg`` from ``official`` (see :func:`apply_table`)."""
    table = converter.table(cfg, dict(official))
    shapes = converter.target_shapes(model_shapes(cfg), dict(official))
    return apply_table(official, table, shapes, source=source)


def check_against_source(converter: OfficialWeightsConverter, official: Mapping[str, np.ndarray],
                         source_dir: str, cfg, table: Optional[NameTable] = None) -> int:
    """Compare the checkpoint's tensors with those of the official model built (or parsed) from its
    source tree: same names (less the table's ignored ones) and shapes. Returns the number compared."""
    expected = converter.official_names(source_dir, cfg)
    table = table or converter.table(cfg, dict(official))
    errors = []
    for name, shape in sorted(expected.items()):
        if table.is_ignored(name):
            continue
        if name not in official:
            errors.append(f"the official model has {name} {shape}, the checkpoint does not")
        elif shape is not None and tuple(np.shape(official[name])) != tuple(shape):
            errors.append(f"{name}: checkpoint {tuple(np.shape(official[name]))}, official model {tuple(shape)}")
    for name in sorted(set(official) - set(expected)):
        if not table.is_ignored(name):
            errors.append(f"the checkpoint has {name}, the official model built from {source_dir} does not")
    if errors:
        raise ConversionError(f"{len(errors)} difference(s) between the checkpoint and the official model:\n  "
                              + "\n  ".join(errors))
    return len(expected)


def convert_checkpoint(converter: OfficialWeightsConverter, src: str, out: str, cfg, *,
                       overwrite: bool = False, check_source: str = "") -> Dict[str, np.ndarray]:
    """Read ``src``, convert it for the model of ``cfg`` and write ``out`` (.pth or .pkl)."""
    official = converter.read(src)
    logger.info(f"{src}: {len(official)} official tensors")
    if check_source:
        n = check_against_source(converter, official, check_source, cfg)
        logger.info(f"--check: the checkpoint's tensors equal the {n} of the official model from {check_source}")
    state = convert_state(converter, official, cfg, source=src)
    write_detectron2_checkpoint(out, state, overwrite=overwrite,
                                author=f"convert_official_weights {converter.method} from {src}")
    logger.info(f"wrote {out}: {len(state)} tensors")
    return state
