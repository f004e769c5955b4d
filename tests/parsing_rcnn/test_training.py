"""The quick schedule learns: a few dozen iterations on toy scenes make every loss fall."""
import numpy as np
import torch

from detectron2.modeling import build_model
from detectron2.solver import build_lr_scheduler
from detectron2.utils.events import EventStorage

from human_parsing.engine.optimizer import build_optimizer

from .common import get_parsing_cfg, toy_batch

ITERS = 24


def test_quick_schedule_loss_falls():
    torch.manual_seed(0)
    cfg = get_parsing_cfg(opts=["SOLVER.MAX_ITER", ITERS, "SOLVER.WARMUP_ITERS", 5, "SOLVER.STEPS", ()])
    model = build_model(cfg)
    model.train()
    optimizer = build_optimizer(cfg, model)  # the config's optimizer (AdamW) and gradient clipping
    scheduler = build_lr_scheduler(cfg, optimizer)
    batches = [toy_batch([2 * i, 2 * i + 1], height=128, width=160) for i in range(6)]
    history = []
    with EventStorage() as storage:
        for it in range(ITERS):
            storage.iter = it
            losses = model(batches[it % len(batches)])
            total = sum(losses.values())
            assert torch.isfinite(total)
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            scheduler.step()
            history.append({k: v.item() for k, v in losses.items()})
    first = {k: np.mean([h[k] for h in history[:4]]) for k in history[0]}
    last = {k: np.mean([h[k] for h in history[-4:]]) for k in history[0]}
    assert last["loss_parsing"] < 0.4 * first["loss_parsing"], (first, last)
    assert last["loss_rpn_cls"] < 0.8 * first["loss_rpn_cls"], (first, last)
    assert sum(last.values()) < 0.5 * sum(first.values()), (first, last)
