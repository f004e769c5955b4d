"""Checkpoints that are never seen half-written.

Detectron2's ``Checkpointer.save`` writes ``model_XXXX.pth`` in place: a kill during
``torch.save`` leaves a truncated file under its final name (``--resume`` stays safe only because
``last_checkpoint`` still names the previous one). :class:`AtomicCheckpointer` writes the file as
``.tmp-checkpoint-<pid>-*.pth`` in the same folder, flushes it to disk, renames it, and only then
rewrites ``last_checkpoint`` (itself through a temporary file). The temporaries of a killed run
are removed from the output folder (not its sub-folders) when the next run's checkpointer is
created on the main process.
"""
import logging
import os

import torch
from detectron2.checkpoint import DetectionCheckpointer

from human_parsing.data.io import atomic_path, remove_stale_temporaries, temporary_file_tag, write_text

__all__ = ["AtomicCheckpointer"]

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
