"""SSTParser: losses with mixed-domain batches, inference = base network, fall-backs, errors."""
import logging

import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model

from human_parsing.predictor import load_checked_weights
from sst.export import inference_state_dict
from sst.priors import PriorError

from .common import domain_input, mixed_batch, tiny_sst_cfg


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_mixed_batch_losses_finite_and_every_module_trained():
    torch.manual_seed(0)
    model = build_model(tiny_sst_cfg()).train()
    losses = model(mixed_batch())
    assert set(losses) == {"loss_seg", "loss_aux", "loss_scr_dataset", "loss_scr_image"}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values()), losses
    sum(losses.values()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert no_grad == [], no_grad
    # alpha = 10: loss_seg is 10x the sum of the two domains' CE
    assert model.alpha == 10.0 and model.beta == 1.0 and model.lam == 5.0


def test_inference_model_is_the_base_network():
    torch.manual_seed(0)
    trained = build_model(tiny_sst_cfg()).train()
    opt = torch.optim.SGD(trained.parameters(), lr=0.01)
    sum(trained(mixed_batch()).values()).backward()
    opt.step()
    base = build_model(tiny_sst_cfg(AUX_ON=False))
    assert base.aux is None and trained.aux is not None
    exported = inference_state_dict(trained)
    assert not any(k.startswith(("aux.", "teacher.")) for k in exported)
    base.load_state_dict(exported, strict=True)
    assert _count(base) == sum(v.numel() for k, v in exported.items() if k in dict(base.named_parameters()))
    assert _count(base) < _count(trained)
    trained.eval(), base.eval()
    batch = [domain_input("atr", seed=5), domain_input("pascal_person_part", seed=6)]
    with torch.no_grad():
        a, b = trained(batch), base(batch)
    assert [x["sem_seg"].shape for x in b] == [(18, 64, 48), (7, 64, 48)]
    for x, y in zip(a, b):
        torch.testing.assert_close(x["sem_seg"], y["sem_seg"])


def test_checkpoint_of_trained_model_loads_into_inference_model(tmp_path):
    torch.manual_seed(0)
    trained = build_model(tiny_sst_cfg())
    DetectionCheckpointer(trained, save_dir=str(tmp_path)).save("model")
    base = build_model(tiny_sst_cfg(AUX_ON=False))
    # strict: the training-only tensors are dropped, nothing is missing or unexpected
    load_checked_weights(base, str(tmp_path / "model.pth"), strict=True)
    for k, v in base.state_dict().items():
        torch.testing.assert_close(v, trained.state_dict()[k])


def test_single_domain_batch_falls_back_to_dataset_scr(caplog):
    torch.manual_seed(0)
    model = build_model(tiny_sst_cfg()).train()
    with caplog.at_level(logging.WARNING):
        losses = model([domain_input("atr", seed=1), domain_input("atr", seed=2)])
        model([domain_input("atr", seed=3)])
    assert losses["loss_scr_image"].item() == 0.0 and losses["loss_scr_dataset"].item() > 0
    warnings = [r for r in caplog.records if "image-level SCR is skipped" in r.getMessage()]
    assert len(warnings) == 1


def test_test_domain_and_unknown_domain():
    model = build_model(tiny_sst_cfg(domains=("cihp", "atr"))).eval()
    rec = domain_input("cihp")
    del rec["domain"]
    with torch.no_grad():
        assert model([rec])[0]["sem_seg"].shape[0] == 20  # the first domain
    with pytest.raises(ValueError, match="Input domain 'lip' is not one of the model's domains"):
        model([dict(rec, domain="lip")])
    cfg = tiny_sst_cfg(domains=("cihp", "atr"))
    cfg.MODEL.SEMANTIC.TEST_DOMAIN = "atr"
    with torch.no_grad():
        assert build_model(cfg).eval()([rec])[0]["sem_seg"].shape[0] == 18


def test_missing_prior_is_a_clear_error():
    with pytest.raises(PriorError, match="USE_INTRA_MASK"):
        build_model(tiny_sst_cfg(domains=("lip", "atr")))
    with pytest.raises(PriorError, match=r"domain pair \('atr', 'lip'\)"):
        build_model(tiny_sst_cfg(domains=("lip", "atr"), USE_INTRA_MASK=False))


def test_progressive_pairs_and_scr_reduction():
    model = build_model(tiny_sst_cfg(domains=("cihp", "pascal_person_part", "atr"), PAIR_STRATEGY="progressive"))
    assert model.aux.pairs == [("pascal_person_part", "atr"), ("atr", "cihp")]
    assert sorted(model.aux.mst) == ["atr__cihp", "pascal_person_part__atr"]
    full = build_model(tiny_sst_cfg(domains=("cihp", "pascal_person_part", "atr")))
    assert len(full.aux.pairs) == 3


def test_dedicated_step2_with_frozen_teacher(tmp_path):
    torch.manual_seed(0)
    step1 = build_model(tiny_sst_cfg(domains=("cihp",), USE_DATASET_SCR=False, USE_IMAGE_SCR=False))
    assert len(step1.aux.mst) == 0
    DetectionCheckpointer(step1, save_dir=str(tmp_path)).save("step1")
    cfg = tiny_sst_cfg(domains=("pascal_person_part",), MODE="dedicated")
    cfg.MODEL.SST.DEDICATED.SOURCE_DOMAINS = ["cihp"]
    cfg.MODEL.SST.DEDICATED.TEACHER_WEIGHTS = str(tmp_path / "step1.pth")
    model = build_model(cfg).train()
    assert not model.teacher.training and sorted(model.aux.mse) == ["pascal_person_part"]
    assert list(model.aux.mst) == ["cihp__pascal_person_part"]
    teacher_before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    for k, v in step1.state_dict().items():
        torch.testing.assert_close(model.teacher.state_dict()[k], v)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    losses = model([domain_input("pascal_person_part", seed=s) for s in range(2)])
    assert set(losses) == {"loss_seg", "loss_aux", "loss_scr_dataset", "loss_scr_image"}
    assert all(torch.isfinite(v) for v in losses.values()) and losses["loss_scr_image"] > 0
    sum(losses.values()).backward()
    opt.step()
    assert all(p.grad is None for p in model.teacher.parameters())
    for k, v in model.teacher.state_dict().items():
        torch.testing.assert_close(v, teacher_before[k])
    # at inference the teacher and the auxiliary modules are left out
    assert not any(k.startswith(("teacher.", "aux.")) for k in inference_state_dict(model))


def test_dedicated_needs_sources():
    with pytest.raises(ValueError, match="SOURCE_DOMAINS"):
        build_model(tiny_sst_cfg(domains=("pascal_person_part",), MODE="dedicated"))
