"""Config keys shared by every method (data, mapper, evaluation). Methods add their own with
``add_<method>_config``. Each block below belongs to one part of ``human_parsing``."""
from detectron2.config import CfgNode as CN

__all__ = ["add_human_parsing_config"]


def add_human_parsing_config(cfg: CN) -> None:
    """Add the shared human-parsing keys to a Detectron2 config (idempotent)."""
    _C = cfg
    # ---- data: which dataset mapper builds the model inputs (a name in MAPPER_REGISTRY)
    _C.INPUT.MAPPER_NAME = "InstanceParsingDatasetMapper"
    # Label space of the training data (a name in human_parsing.data.label_spaces.LABEL_SPACES);
    # empty = taken from the first training dataset's metadata.
    _C.INPUT.LABEL_SPACE = ""
