"""The whole PGN network on a random-init tiny model: shapes, gradients, ablations, inference."""

import numpy as np
import pytest
import torch
from detectron2.modeling import build_model

from human_parsing.structures import PersonParsing
from tests.pgn.common import tiny_pgn_cfg, two_people_input

K = 4


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(tiny_pgn_cfg(K))


def test_head_outputs_at_stride_8(model):
    feats = model.backbone(torch.zeros(2, 3, 48, 40))
    out = model.head(feats)
    assert set(out) == {
        "parsing",
        "edge",
        "parsing_refine",
        "edge_refine",
        "edge_side_res3",
        "edge_side_res4",
        "edge_side_res5",
    }
    assert out["parsing"].shape == out["parsing_refine"].shape == (2, K, 6, 5)
    for k in out:
        if k.startswith("edge"):
            assert out[k].shape == (2, 1, 6, 5), k


def test_forward_backward_every_parameter_gets_a_gradient(model):
    model.train()
    x = two_people_input(32, K)
    y = dict(x, image=x["image"].flip(-1))  # a second image of the batch
    y.pop("edges")  # derived from human_ids by the model
    losses = model([x, y])
    assert set(losses) == {
        "loss_parsing",
        "loss_parsing_local",
        "loss_parsing_refine",
        "loss_parsing_refine_local",
        "loss_edge",
        "loss_edge_refine",
        "loss_edge_side_res3",
        "loss_edge_side_res4",
        "loss_edge_side_res5",
    }
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    model.zero_grad()
    sum(losses.values()).backward()
    no_grad = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert no_grad == []
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_missing_targets_error_names_the_file(model):
    model.train()
    x = two_people_input(32, K)
    for k in ("edges", "human_ids"):
        x.pop(k)
    x["file_name"] = "img_007.jpg"
    with pytest.raises(ValueError, match="img_007.jpg"):
        model([x])


def test_parsing_only_ablation_has_no_edge_terms():
    cfg = tiny_pgn_cfg(K)
    cfg.MODEL.PGN.USE_EDGE = cfg.MODEL.PGN.USE_REFINE = False
    m = build_model(cfg)
    x = two_people_input(32, K)
    for k in ("edges", "human_ids"):
        x.pop(k)
    losses = m([x])
    assert set(losses) == {"loss_parsing"}  # no edge, so no local term either
    m.eval()
    with torch.no_grad():
        out = m([x])[0]
    assert out["edges"].abs().sum() == 0


def test_inference_output_interface(model):
    model.eval()
    x = two_people_input(32, K)
    x["height"], x["width"] = 48, 40  # the test mapper resized the original image
    with torch.no_grad():
        out = model([x])[0]
    assert set(out) == {"instances", "parsing", "edges", "part_instances"}
    parsing, edges, inst = out["parsing"], out["edges"], out["instances"]
    pi = out["part_instances"]
    assert pi["ids"].shape == (48, 40) and len(pi["classes"]) == len(pi["scores"])
    assert int(pi["ids"].max()) == len(pi["classes"])
    assert parsing.shape == (48, 40) and parsing.dtype == torch.int64
    assert 0 <= parsing.min() and parsing.max() < K
    assert edges.shape == (48, 40) and edges.dtype == torch.float32
    assert ((edges >= 0) & (edges <= 1)).all()
    assert inst.image_size == (48, 40)
    assert isinstance(inst.pred_parsing, PersonParsing) and len(inst.pred_parsing) == len(inst)
    assert inst.pred_classes.tolist() == [0] * len(inst) and inst.scores.shape == (len(inst),)
    # every person's crop lies in its box, holds the global part labels on its pixels and
    # touches all four box sides (tight box)
    full = parsing.numpy()
    for i in range(len(inst)):
        x0, y0, x1, y1 = inst.pred_boxes.tensor[i].int().tolist()
        person = inst.pred_parsing.full(i)
        fg = person > 0
        assert np.array_equal(person[fg], full[fg])
        ys, xs = np.nonzero(fg)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)


def test_truncated_normal_init_matches_tf():
    from pgn.heads import _truncated_normal_

    torch.manual_seed(0)
    w = _truncated_normal_(torch.empty(200_000), 0.01)
    # N(0, 1) truncated to ±2 has standard deviation 0.8796; nothing beyond 2σ
    assert w.abs().max() <= 0.02 and abs(w.std().item() - 0.008796) < 5e-5 and abs(w.mean().item()) < 1e-4
