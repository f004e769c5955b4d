"""Mixed precision on CPU: bfloat16 autocast training (``SOLVER.AMP.ENABLED``) and inference."""
import itertools

import numpy as np
import torch

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage
from human_parsing.engine import DeviceAMPTrainer, build_train_loop
from human_parsing.engine.optimizer import build_optimizer
from human_parsing.evaluation.parsing_evaluator import ParsingEvaluator
from parsing_rcnn.inference import global_parsing_map

from .common import get_parsing_cfg, toy_batch


def test_amp_training_on_cpu_runs_in_bf16_and_learns():
    torch.manual_seed(0)
    cfg = get_parsing_cfg(opts=["SOLVER.AMP.ENABLED", True, "SOLVER.BASE_LR", 0.002])
    model = build_model(cfg)
    model.train()
    batches = [toy_batch([0, 1], height=128, width=160)]
    loop = build_train_loop(cfg, model, itertools.cycle(batches), build_optimizer(cfg, model))
    assert isinstance(loop, DeviceAMPTrainer) and loop.precision == torch.bfloat16
    assert not loop.grad_scaler.is_enabled()  # bf16 needs no loss scaling
    dtypes = set()
    hook = model.roi_heads.parsing_head.predictor.deconv.register_forward_hook(
        lambda m, i, o: dtypes.add(o.dtype))
    history = []
    with EventStorage() as storage:
        loop.storage = storage
        for it in range(10):
            storage.iter = it
            loop.iter = it
            loop.run_step()
            history.append(storage.history("loss_parsing").latest())
    hook.remove()
    assert dtypes == {torch.bfloat16}
    assert all(np.isfinite(history)) and np.mean(history[-3:]) < 0.7 * np.mean(history[:3]), history
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32


def test_amp_precision_key():
    cfg = get_parsing_cfg(opts=["SOLVER.AMP.ENABLED", True, "SOLVER.AMP.PRECISION", "float16"])
    model = build_model(cfg)
    loop = build_train_loop(cfg, model, iter([]), build_optimizer(cfg, model))
    assert loop.precision == torch.float16
    cfg.SOLVER.AMP.PRECISION = "fp8"
    try:
        build_train_loop(cfg, model, iter([]), build_optimizer(cfg, model))
    except ValueError as e:
        assert "SOLVER.AMP.PRECISION" in str(e)
    else:
        raise AssertionError("bad precision accepted")


def test_autocast_inference_on_cpu_and_evaluation_of_bf16_scores():
    torch.manual_seed(0)
    cfg = get_parsing_cfg(opts=["MODEL.ROI_HEADS.SCORE_THRESH_TEST", 0.0])
    model = build_model(cfg)
    model.eval()
    batch = toy_batch([3], height=128, width=160)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(batch)[0]
    inst = out["instances"]
    assert len(inst) > 0 and inst.scores.dtype == torch.float32
    assert out["parsing"].shape == (128, 160) and len(inst.pred_parsing) == len(inst)
    # bf16 scores (e.g. from another head under autocast) convert before numpy
    scores = torch.tensor([0.9, 0.2], dtype=torch.bfloat16)
    from human_parsing.structures import PersonParsing

    pp = PersonParsing([np.full((2, 2), 5, np.uint8), np.full((2, 2), 7, np.uint8)], [[0, 0], [1, 1]], (3, 3))
    assert torch.equal(global_parsing_map(pp, scores, 0.1), global_parsing_map(pp, scores.float(), 0.1))
    inst.scores = inst.scores.to(torch.bfloat16)
    pred = ParsingEvaluator._pred(out)
    assert pred["scores"].dtype == np.float32 and np.allclose(pred["scores"], inst.scores.float().numpy())
