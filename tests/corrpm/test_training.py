"""CorrPM learns: the quick schedule's network, fed by the real mapper on synthetic LIP (affine
crop, flip, edges, heatmaps from LIP's pose json), lowers its parsing, edge and pose losses."""
import numpy as np
import torch
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model

import human_parsing.data  # noqa: F401  (registers the synthetic datasets)
from human_parsing.data.mappers import build_mapper
from human_parsing.engine.optimizer import build_optimizer

from .common import load_cfg

ITERS = 30


def _losses(model, batch):
    torch.manual_seed(123)  # same dropout masks at every evaluation
    with torch.no_grad():
        losses = model(batch)
    return {k: v.item() for k, v in losses.items()}


def test_parsing_edge_and_pose_losses_fall():
    torch.manual_seed(0)
    np.random.seed(0)  # the augmentations draw from numpy's global generator
    cfg = load_cfg(opts=["INPUT.CROP.SIZE", [96, 96], "INPUT.PARSING.HEATMAP_SIGMA", 2.0])
    model = build_model(cfg).train()
    optimizer = build_optimizer(cfg, model)  # AdamW + gradient clipping of the quick schedule
    mapper = build_mapper(cfg, is_train=True)
    records = DatasetCatalog.get(cfg.DATASETS.TRAIN[0])
    assert all("keypoints" in r for r in records)  # LIP's pose json was read
    batch = [mapper(r) for r in records[:4]]
    assert all(b["heatmaps"].amax() == 1.0 for b in batch) and all(b["edges"].sum() > 0 for b in batch)
    before = _losses(model, batch)
    for g in optimizer.param_groups:
        g["lr"] = 1e-3
    for _ in range(ITERS):  # fit one fixed batch: every loss term must come down
        total = sum(model(batch).values())
        assert torch.isfinite(total)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    after = _losses(model, batch)
    print(f"CorrPM fixed-batch losses {before} -> {after}")
    assert set(before) == {"loss_seg1", "loss_seg2", "loss_edge", "loss_pose"}
    for key in ("loss_seg1", "loss_seg2", "loss_edge", "loss_pose"):
        assert after[key] < 0.7 * before[key], (key, before, after)
    assert after["loss_pose"] < 0.7 * before["loss_pose"], (before, after)
