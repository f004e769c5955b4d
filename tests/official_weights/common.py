"""Helpers for the official-weights tests: configs, and loading a checkpoint with its log captured."""
import io
import logging
import os

from detectron2.config import get_cfg
from detectron2.modeling import build_model

import corrpm
import grapy_ml
import parsing_rcnn
import pgn
from human_parsing.config import add_human_parsing_config
from human_parsing.engine import build_checkpointer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# what Detectron2 / fvcore log when a checkpoint does not fit the model exactly
LOAD_WARNINGS = ("not found in the checkpoint", "not used by the model", "incompatible shape",
                 "Skip loading")


def get_config(config_file: str, opts=()):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    parsing_rcnn.add_parsing_rcnn_config(cfg)
    pgn.add_pgn_config(cfg)
    corrpm.add_corrpm_config(cfg)
    grapy_ml.add_grapy_ml_config(cfg)
    cfg.merge_from_file(os.path.join(REPO, config_file))
    cfg.merge_from_list(["MODEL.WEIGHTS", "", "MODEL.DEVICE", "cpu", *opts])
    return cfg


def load_with_log(cfg, weights: str):
    """(model in eval mode with ``weights`` loaded by the project's checkpointer, the checkpointer's
    log text at INFO level)."""
    model = build_model(cfg).eval()
    checkpointer = build_checkpointer(cfg, model)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.INFO)
    loggers = [checkpointer.logger, logging.getLogger("detectron2"), logging.getLogger("fvcore")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    try:
        checkpointer.load(weights)
    finally:
        for lg, lv in zip(loggers, levels):
            lg.removeHandler(handler)
            lg.setLevel(lv)
    return model, stream.getvalue()


def load_warnings(log: str):
    return [line for line in log.splitlines() if any(w in line for w in LOAD_WARNINGS)]


def synthetic_official(table, our_shapes, seed=0):
    """An official state dict generated from ``table``: every entry's official name with the
    official shape its transform expects, random values."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {e.official: rng.standard_normal(e.transform.official_shape(our_shapes[e.ours])).astype(np.float32)
            for e in table.entries}
