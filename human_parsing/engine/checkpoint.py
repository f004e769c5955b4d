"""The project's checkpointer: saves that are never seen half-written, and loading with weight
renaming (initialise one head from another model's head).

Detectron2's ``Checkpointer.save`` writes ``model_XXXX.pth`` in place: a kill during
``torch.save`` leaves a truncated file under its final name (``--resume`` stays safe only because
``last_checkpoint`` still names the previous one). :class:`AtomicCheckpointer` writes the file as
``.tmp-checkpoint-<pid>-*.pth`` in the same folder, flushes it to disk, renames it, and only then
rewrites ``last_checkpoint`` (itself through a temporary file). The temporaries of a killed run
are removed from the output folder (not its sub-folders) when the next run's checkpointer is
created on the main process.

``MODEL.WEIGHTS_PREFIX_MAP`` lists ``[old_prefix, new_prefix]`` pairs; before loading, every
checkpoint weight whose name starts with an ``old_prefix`` (the first pair that matches) is
renamed, or dropped when ``new_prefix`` is "". Parsing R-CNN's COCO-keypoint initialisation
(Table 5) maps a keypoint R-CNN's ``roi_heads.keypoint_head.`` onto ``roi_heads.parsing_head.``
and drops the keypoint predictor (17 heatmaps, not K parts).
"""
import logging
import os
from typing import Dict, List, Sequence, Tuple

import torch
from detectron2.checkpoint import DetectionCheckpointer

from human_parsing.data.io import atomic_path, remove_stale_temporaries, temporary_file_tag, write_text

__all__ = ["AtomicCheckpointer", "ParsingCheckpointer", "build_checkpointer", "rename_by_prefix"]

logger = logging.getLogger(__name__)


class AtomicCheckpointer(DetectionCheckpointer):
    """``DetectionCheckpointer`` with temporary-name-then-rename saves (see module docstring).
    Remote ``save_dir`` (``scheme://``) falls back to Detectron2's in-place writes."""

    TEMP_TAG = "checkpoint"

    def __init__(self, model, save_dir: str = "", *, save_to_disk=None, **checkpointables):
        super().__init__(model, save_dir, save_to_disk=save_to_disk, **checkpointables)
        if self._local() and os.path.isdir(save_dir):
            stale = remove_stale_temporaries(save_dir, self.TEMP_TAG, recursive=False)
            if stale:
                logger.info("Removed %d partial checkpoints of an interrupted run: %s", len(stale), stale)

    def _local(self) -> bool:
        return bool(self.save_dir) and self.save_to_disk and "://" not in self.save_dir

    def save(self, name: str, **kwargs) -> None:
        if not self._local():
            return super().save(name, **kwargs)
        data = {"model": self.model.state_dict()}
        for key, obj in self.checkpointables.items():
            data[key] = obj.state_dict()
        data.update(kwargs)
        basename = f"{name}.pth"
        save_file = os.path.join(self.save_dir, basename)
        self.logger.info("Saving checkpoint to {}".format(save_file))
        with temporary_file_tag(self.TEMP_TAG), atomic_path(save_file) as tmp:
            with open(tmp, "wb") as f:
                torch.save(data, f)
                f.flush()
                os.fsync(f.fileno())
        self.tag_last_checkpoint(basename)

    def tag_last_checkpoint(self, last_filename_basename: str) -> None:
        if not self._local():
            return super().tag_last_checkpoint(last_filename_basename)
        with temporary_file_tag(self.TEMP_TAG):
            write_text(os.path.join(self.save_dir, "last_checkpoint"), last_filename_basename)



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


class ParsingCheckpointer(AtomicCheckpointer):
    """``AtomicCheckpointer`` that renames the checkpoint's weights by ``prefix_map`` first."""

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
