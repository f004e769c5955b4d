"""SemanticParsingModel base: normalisation, padding, grouping by domain, post-processing,
loss weighting over domain groups, and errors (on the tiny test subclass)."""
import pytest
import torch
import torch.nn.functional as F
from detectron2.modeling import build_model
from detectron2.modeling.postprocessing import sem_seg_postprocess

from tests.modeling.tiny_semantic import tiny_cfg


def _model(**opts):
    torch.manual_seed(0)
    return build_model(tiny_cfg(**opts))


def _img(h, w, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)


def test_preprocess_normalises_and_pads():
    m = _model(**{"MODEL.SEMANTIC.SIZE_DIVISIBILITY": 8})
    a, b = _img(6, 4, 0), _img(4, 10, 1)
    images = m.preprocess_image([{"image": a}, {"image": b}])
    assert images.tensor.shape == (2, 3, 8, 16) and images.image_sizes == [(6, 4), (4, 10)]
    torch.testing.assert_close(images.tensor[0, :, :6, :4], a.float() / 127.5 - 1)
    assert images.tensor[0, :, 6:].abs().sum() == 0 and images.tensor[1, :, 4:].abs().sum() == 0
    heat = torch.ones(2, 2, 3)  # a stride-2 target (e.g. heatmaps) of the first image (6x4 -> 3x2)
    m.target_pad_values = dict(m.target_pad_values, heatmaps=0.0)
    t = m.preprocess_targets(
        [{"sem_seg": torch.zeros(6, 4, dtype=torch.long), "heatmaps": heat.transpose(1, 2)},
         {"sem_seg": torch.ones(4, 10, dtype=torch.long), "heatmaps": torch.ones(2, 2, 5)}], images)
    assert t["sem_seg"].shape == (2, 8, 16) and t["heatmaps"].shape == (2, 2, 4, 8)
    assert (t["sem_seg"][0, :6, :4] == 0).all() and (t["sem_seg"][0, 6:] == 255).all()
    assert (t["sem_seg"][1, :4, :10] == 1).all() and (t["sem_seg"][1, :, 10:] == 255).all()
    assert t["heatmaps"][0, :, :3, :2].sum() == 12 and t["heatmaps"][0].sum() == 12


def test_inference_groups_by_domain_and_postprocesses_to_record_size():
    m = _model().eval()
    a, b, c = _img(4, 6, 0), _img(4, 6, 1), _img(4, 6, 2)
    inputs = [{"image": a, "domain": "atr", "height": 8, "width": 12},
              {"image": b, "domain": "cihp"},
              {"image": c, "domain": "atr", "height": 4, "width": 6}]
    with torch.no_grad():
        out = m(inputs)
        assert [o["sem_seg"].shape for o in out] == [(18, 8, 12), (20, 4, 6), (18, 4, 6)]
        # by hand: 2x2 pooling, the domain's 1x1 conv, bilinear up to 4x6, then to the record size
        x = (a.float()[None] - 127.5) / 127.5
        logits = m.heads["atr"](F.avg_pool2d(x, 2))
        logits = F.interpolate(logits, size=(4, 6), mode="bilinear", align_corners=False)[0]
        torch.testing.assert_close(out[0]["sem_seg"], sem_seg_postprocess(logits, (4, 6), 8, 12))
        # each input's result does not depend on the batch it came in
        torch.testing.assert_close(out[1]["sem_seg"], m([inputs[1]])[0]["sem_seg"])
        torch.testing.assert_close(out[2]["sem_seg"], m([inputs[2]])[0]["sem_seg"])
        # no domain -> first domain; TEST_DOMAIN overrides the inputs'
        assert m([{"image": a}])[0]["sem_seg"].shape[0] == 20
        m.test_domain = "atr"
        assert m([{"image": a, "domain": "cihp"}])[0]["sem_seg"].shape[0] == 18


def test_training_losses_are_image_weighted_over_domain_groups_and_fall():
    m = _model().train()
    g = torch.Generator().manual_seed(0)
    inputs = [{"image": _img(4, 4, i), "domain": d,
               "sem_seg": torch.randint(0, 5, (4, 4), generator=g)} for i, d in enumerate(["atr", "cihp", "atr"])]
    losses = m(inputs)
    per = {d: m([x for x in inputs if x["domain"] == d])["loss_sem_seg"] for d in ("atr", "cihp")}
    torch.testing.assert_close(losses["loss_sem_seg"], per["atr"] * 2 / 3 + per["cihp"] / 3)
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    first = None
    for _ in range(20):
        loss = m(inputs)["loss_sem_seg"]
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first


def test_domain_errors():
    with pytest.raises(ValueError, match="TEST_DOMAIN='lip' is not one of the model's domains"):
        _model(**{"MODEL.SEMANTIC.TEST_DOMAIN": "lip"})
    m = _model().train()
    x = {"image": _img(4, 4, 0), "sem_seg": torch.zeros(4, 4, dtype=torch.long)}
    with pytest.raises(ValueError, match="has no 'domain' but the model has domains"):
        m([x])
    with pytest.raises(ValueError, match="Input domain 'lip' is not one of the model's domains"):
        m([dict(x, domain="lip")])
