"""PGN learns: the quick config trains for a few dozen iterations on the synthetic CIHP scenes
(real dataset, mapper with flip / scale / crop, edges from human ids) and its loss on a fixed
batch falls, for the parsing and the edge terms alike."""

import os

import numpy as np
import torch
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model
from human_parsing.engine.optimizer import build_optimizer

import human_parsing.data  # noqa: F401  (registers the synthetic datasets)
from human_parsing.config import add_human_parsing_config
from human_parsing.data.mappers import build_mapper
from pgn import add_pgn_config

CONFIG = os.path.join(
    os.path.dirname(__file__), "..", "..", "configs", "quick_schedules", "pgn_R_18_synthetic.yaml"
)
ITERS, BATCH = 80, 2


def _fixed_batch_losses(model, batch):
    torch.manual_seed(123)  # same dropout masks at every evaluation
    with torch.no_grad():
        losses = model(batch)
    parsing = sum(v.item() for k, v in losses.items() if k.startswith("loss_parsing"))
    edge = sum(v.item() for k, v in losses.items() if k.startswith("loss_edge"))
    return parsing, edge


def test_quick_schedule_loss_falls():
    torch.manual_seed(0)
    np.random.seed(0)  # Detectron2 augmentations draw from numpy's global generator
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    add_pgn_config(cfg)
    cfg.merge_from_file(CONFIG)
    # the paper's unweighted loss: the class-balanced one (the quick config's, tested by hand in
    # tests/modeling/test_class_balance.py) weighs rare parts up, whose loss falls more slowly
    cfg.MODEL.PGN.CLASS_BALANCE_POWER = 0.0
    cfg.SOLVER.WARMUP_ITERS = 5
    model = build_model(cfg).train()
    optimizer = build_optimizer(cfg, model)  # the config's optimizer (AdamW) and gradient clipping
    mapper = build_mapper(cfg, is_train=True)
    records = DatasetCatalog.get(cfg.DATASETS.TRAIN[0])
    probe = [mapper(r) for r in records[-4:]]  # a fixed batch, mapped once
    assert all("edges" in b and "sem_seg" in b for b in probe)
    before = _fixed_batch_losses(model, probe)
    base_lr = cfg.SOLVER.BASE_LR
    totals = []
    for it in range(ITERS):
        batch = [mapper(records[(it * BATCH + j) % (len(records) - 4)]) for j in range(BATCH)]
        for g in optimizer.param_groups:  # linear warm-up as the config's scheduler
            g["lr"] = base_lr * min(1.0, (it + 1) / cfg.SOLVER.WARMUP_ITERS)
        total = sum(model(batch).values())
        assert torch.isfinite(total)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(round(total.item(), 1))
    after = _fixed_batch_losses(model, probe)
    print(f"PGN quick schedule: fixed-batch (parsing, edge) loss {before} -> {after}; train curve {totals}")
    assert after[0] < 0.3 * before[0], (before, after)
    assert after[1] < 0.9 * before[1], (before, after)
