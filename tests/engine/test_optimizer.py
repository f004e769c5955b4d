"""SOLVER.OPTIMIZER: SGD (Detectron2's) or AdamW, with Detectron2's parameter groups and clipping."""
import pytest
import torch
from detectron2.config import get_cfg

from human_parsing.config import add_human_parsing_config
from human_parsing.engine.optimizer import build_optimizer


def _cfg(**solver):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    for k, v in solver.items():
        setattr(cfg.SOLVER, k, v)
    return cfg


def _model():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Conv2d(4, 2, 1))


def test_default_is_detectron2_sgd():
    opt = build_optimizer(_cfg(), _model())
    assert type(opt).__name__ == "SGD" and isinstance(opt, torch.optim.SGD)


def test_adamw_groups_and_clipping():
    cfg = _cfg(OPTIMIZER="AdamW", BASE_LR=1e-3, WEIGHT_DECAY=0.05, WEIGHT_DECAY_NORM=0.0,
               BIAS_LR_FACTOR=2.0, BETAS=(0.8, 0.9))
    cfg.SOLVER.CLIP_GRADIENTS.ENABLED = True
    cfg.SOLVER.CLIP_GRADIENTS.CLIP_TYPE = "value"
    cfg.SOLVER.CLIP_GRADIENTS.CLIP_VALUE = 0.5
    model = _model()
    opt = build_optimizer(cfg, model)
    assert isinstance(opt, torch.optim.AdamW)
    groups = {id(p): g for g in opt.param_groups for p in g["params"]}
    conv, bn = model[0], model[1]
    assert groups[id(conv.weight)]["lr"] == pytest.approx(1e-3)
    assert groups[id(conv.weight)]["weight_decay"] == pytest.approx(0.05)
    assert groups[id(conv.bias)]["lr"] == pytest.approx(2e-3)
    assert groups[id(bn.weight)]["weight_decay"] == 0.0
    assert all(g["betas"] == (0.8, 0.9) for g in opt.param_groups)
    # clipping by value happens inside step(): a huge gradient moves a weight by at most ~lr
    for p in model.parameters():
        p.grad = torch.full_like(p, 1e6)
    before = conv.weight.detach().clone()
    opt.step()
    assert conv.weight.grad.abs().max().item() == pytest.approx(0.5)
    # first Adam step moves every weight by ~lr (sign of the gradient), plus the decoupled decay
    step = (before - conv.weight.detach()).abs()
    assert torch.allclose(step, torch.full_like(step, 1e-3), atol=1e-4)


def test_unknown_optimizer_named_in_error():
    with pytest.raises(ValueError, match="SOLVER.OPTIMIZER='Lion'"):
        build_optimizer(_cfg(OPTIMIZER="Lion"), _model())
