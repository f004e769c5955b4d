"""Grapy-ML learns across two domains: the quick three-dataset config restricted to synthetic
CIHP + ATR, the trainer's multi-domain loader (one-dataset batches), a few dozen iterations; the
GPM and DeepLab losses of fixed batches of *each* domain fall."""
import itertools

import numpy as np
import torch
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model

from human_parsing.data.samplers import build_domain_mappers
from human_parsing.engine import ParsingTrainer
from human_parsing.engine.optimizer import build_optimizer

from .common import load_cfg

ITERS = 40
DOMAINS = {"cihp": "synthetic_cihp_train", "atr": "synthetic_atr_train"}


def _losses(model, batch):
    with torch.no_grad():
        out = model(batch)
    return out["loss_gpm"].item(), out["loss_sem_seg"].item()


def test_two_domain_training_losses_fall():
    torch.manual_seed(0)
    np.random.seed(0)
    cfg = load_cfg("quick_schedules/grapy_ml_X_tiny_synthetic_3datasets.yaml", [
        "MODEL.SEMANTIC.DOMAINS", tuple(DOMAINS), "DATASETS.TRAIN", tuple(DOMAINS.values()),
        "DATASETS.TEST", (), "SOLVER.IMS_PER_BATCH", 2, "DATALOADER.NUM_WORKERS", 0,
        "SOLVER.WARMUP_ITERS", 5])
    model = build_model(cfg).train()
    optimizer = build_optimizer(cfg, model)
    mappers = build_domain_mappers(cfg, list(DOMAINS), is_train=True).mappers
    probes = {d: [dict(mappers[d](r), domain=d) for r in DatasetCatalog.get(n)[-4:]] for d, n in DOMAINS.items()}
    before = {d: _losses(model, b) for d, b in probes.items()}  # training mode: batch statistics
    seen = []
    for it, batch in enumerate(itertools.islice(iter(ParsingTrainer.build_train_loader(cfg)), ITERS)):
        (domain,) = {x["domain"] for x in batch}  # one dataset per batch
        seen.append(domain)
        for g in optimizer.param_groups:
            g["lr"] = cfg.SOLVER.BASE_LR * min(1.0, (it + 1) / cfg.SOLVER.WARMUP_ITERS)
        total = sum(model(batch).values())
        assert torch.isfinite(total)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    after = {d: _losses(model, b) for d, b in probes.items()}
    print(f"Grapy-ML two-domain training: fixed-batch (gpm, deeplab) losses {before} -> {after}; domains {seen}")
    assert set(seen) == set(DOMAINS)
    for d in DOMAINS:
        assert after[d][0] < 0.8 * before[d][0], (d, before[d], after[d])
        assert after[d][1] < 0.8 * before[d][1], (d, before[d], after[d])
