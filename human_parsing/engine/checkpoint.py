"""Checkpoint loading with weight renaming: initialise one head from another model's head.

``MODEL.WEIGHTS_PREFIX_MAP`` lists ``[old_prefix, new_prefix]`` pairs; before loading, every
checkpoint weight whose name starts with an ``old_prefix`` (the first pair that matches) is
renamed, or dropped when ``new_prefix`` is "". Parsing R-CNN's COCO-keypoint initialisation
(Table 5) maps a keypoint R-CNN's ``roi_heads.keypoint_head.`` onto ``roi_heads.parsing_head.``
and drops the keypoint predictor (17 heatmaps, not K parts).
"""
import logging
from typing import Dict, List, Sequence, Tuple

from detectron2.checkpoint import DetectionCheckpointer

__all__ = ["ParsingCheckpointer", "build_checkpointer", "rename_by_prefix"]

logger = logging.getLogger(__name__)


def _check_prefix_map(prefix_map) -> List[Tuple[str, str]]:
    pairs = []
    for p in prefix_map:
        if len(p) != 2 or not all(isinstance(s, str) for s in p) or not p[0]:
            raise ValueError(f"MODEL.WEIGHTS_PREFIX_MAP entries must be [old_prefix, new_prefix] "
                             f"strings with a non-empty old prefix, got {p!r}")
        pairs.append((p[0], p[1]))
    return pairs


def rename_by_prefix(state: Dict, prefix_map: Sequence[Sequence[str]]) -> Tuple[Dict, List[str], List[str]]:
    """Returns (renamed state dict, renamed names, dropped names); the first matching pair wins."""
    pairs = _check_prefix_map(prefix_map)
    out, renamed, dropped = {}, [], []
    for name, value in state.items():
        old, new = next(((o, n) for o, n in pairs if name.startswith(o)), (None, None))
        if old is not None and not new:
            dropped.append(name)
            continue
        if old is not None:
            renamed.append(name)
            name = new + name[len(old):]
        if name in out:
            raise ValueError(f"MODEL.WEIGHTS_PREFIX_MAP maps two checkpoint weights onto {name!r}")
        out[name] = value
    return out, renamed, dropped


class ParsingCheckpointer(DetectionCheckpointer):
    """``DetectionCheckpointer`` that renames the checkpoint's weights by ``prefix_map`` first."""

    def __init__(self, model, save_dir: str = "", *, prefix_map: Sequence[Sequence[str]] = (), **kwargs):
        super().__init__(model, save_dir, **kwargs)
        self.prefix_map = _check_prefix_map(prefix_map)

    def _load_model(self, checkpoint):
        if self.prefix_map:
            checkpoint["model"], renamed, dropped = rename_by_prefix(checkpoint["model"], self.prefix_map)
            logger.info(f"MODEL.WEIGHTS_PREFIX_MAP renamed {len(renamed)} and dropped {len(dropped)} "
                        f"checkpoint weights (dropped: {dropped})")
        return super()._load_model(checkpoint)


def build_checkpointer(cfg, model, save_dir: str = "", **kwargs) -> ParsingCheckpointer:
    """The project's checkpointer for ``model``, with ``cfg.MODEL.WEIGHTS_PREFIX_MAP``."""
    return ParsingCheckpointer(model, save_dir, prefix_map=cfg.MODEL.get("WEIGHTS_PREFIX_MAP", ()), **kwargs)
