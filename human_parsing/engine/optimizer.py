"""Optimizer choice from ``SOLVER.OPTIMIZER``.

Detectron2's ``build_optimizer`` always builds SGD. The paper configs keep it; the quick schedules,
which train small networks from scratch on two CPU cores, use AdamW. Both share Detectron2's
parameter groups (``SOLVER.WEIGHT_DECAY_NORM``, ``BIAS_LR_FACTOR``, ...) and gradient clipping.
"""
import torch
from detectron2.solver import build_optimizer as build_sgd_optimizer
from detectron2.solver.build import get_default_optimizer_params, maybe_add_gradient_clipping

__all__ = ["build_optimizer"]


def _adamw(cfg, model: torch.nn.Module) -> torch.optim.Optimizer:
    params = get_default_optimizer_params(
        model,
        base_lr=cfg.SOLVER.BASE_LR,
        weight_decay_norm=cfg.SOLVER.WEIGHT_DECAY_NORM,
        bias_lr_factor=cfg.SOLVER.BIAS_LR_FACTOR,
        weight_decay_bias=cfg.SOLVER.WEIGHT_DECAY_BIAS,
    )
    return maybe_add_gradient_clipping(cfg, torch.optim.AdamW)(
        params,
        lr=cfg.SOLVER.BASE_LR,
        betas=tuple(cfg.SOLVER.BETAS),
        weight_decay=cfg.SOLVER.WEIGHT_DECAY,
    )


_OPTIMIZERS = {"SGD": build_sgd_optimizer, "ADAMW": _adamw}


def build_optimizer(cfg, model: torch.nn.Module) -> torch.optim.Optimizer:
    """Build ``cfg.SOLVER.OPTIMIZER`` ("SGD" or "AdamW", case-insensitive) for ``model``."""
    name = cfg.SOLVER.OPTIMIZER.upper()
    if name not in _OPTIMIZERS:
        raise ValueError(
            f"SOLVER.OPTIMIZER={cfg.SOLVER.OPTIMIZER!r} is not one of {sorted(_OPTIMIZERS)}"
        )
    return _OPTIMIZERS[name](cfg, model)
