"""SST learns: two domains in every batch, every loss term finite, the total falls."""
import torch
from detectron2.modeling import build_model

from human_parsing.engine.optimizer import build_optimizer

from .common import domain_input, tiny_sst_cfg

ITERS = 30


def test_two_domain_batches_total_falls():
    torch.manual_seed(0)
    cfg = tiny_sst_cfg()
    cfg.SOLVER.OPTIMIZER, cfg.SOLVER.BASE_LR, cfg.SOLVER.WEIGHT_DECAY = "AdamW", 1e-3, 1e-4
    model = build_model(cfg).train()
    optimizer = build_optimizer(cfg, model)
    batches = [
        [domain_input("pascal_person_part", seed=2 * i), domain_input("atr", seed=2 * i + 1)] for i in range(4)
    ]
    totals, first = [], None
    for it in range(ITERS):
        losses = model(batches[it % len(batches)])
        assert all(torch.isfinite(v) for v in losses.values()), (it, losses)
        first = first or {k: v.item() for k, v in losses.items()}
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    last = {k: v.item() for k, v in losses.items()}
    print("SST tiny training:", first, "->", last)
    assert sum(totals[-4:]) < 0.5 * sum(totals[:4]), totals
    assert last["loss_seg"] < 0.5 * first["loss_seg"] and last["loss_aux"] < first["loss_aux"]
