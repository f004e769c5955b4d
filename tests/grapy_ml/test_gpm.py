"""Graph pyramid module: GSA / GCR / GSD against values computed by hand, level lookup tables
against the official in-place replacement, and shapes level by level (methods.md §4.4)."""
import math

import numpy as np
import pytest
import torch

from grapy_ml.gpm import (
    GCNLevelReasoning,
    GCRLevelReasoning,
    GraphContextReasoning,
    GraphPyramidModule,
    graph_semantic_aggregation,
    graph_semantic_distribution,
)
from grapy_ml.head import level_tables
from human_parsing.data.label_graphs import label_graph, normalized_adjacency

# f: (1, 2, 2, 3); labels with class 3 absent
F0 = torch.tensor([[[[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], [[-1.0, -1.0, -1.0], [-1.0, -1.0, -1.0]]]])
LAB = torch.tensor([[[0, 0, 1], [1, 1, 2]]])


def test_gsa_average_by_hand():
    v = graph_semantic_aggregation(F0, LAB, 4, "ave")[0]
    expected = [[-0.5, -1.0], [4.0, -1.0], [-6.0, -1.0], [0.0, 0.0]]  # absent class -> 0
    assert torch.allclose(v, torch.tensor(expected))


def test_gsa_official_max_by_hand():
    # max over *all* pixels of f·B_k: pixels outside the class count as 0
    v = graph_semantic_aggregation(F0, LAB, 4, "max")[0]
    expected = [[1.0, 0.0], [5.0, 0.0], [0.0, 0.0], [0.0, 0.0]]  # class 2's only value is -6 -> 0
    assert torch.allclose(v, torch.tensor(expected))
    # a class covering every pixel has no zero from outside: its true maximum (-1 on channel 1)
    v = graph_semantic_aggregation(F0, torch.zeros_like(LAB), 2, "max")[0]
    assert torch.allclose(v, torch.tensor([[5.0, -1.0], [0.0, 0.0]]))


def test_gsa_both_concatenates_average_then_max():
    v = graph_semantic_aggregation(F0, LAB, 4, "ave+max")
    assert v.shape == (1, 4, 4)
    assert torch.allclose(v[0, 1], torch.tensor([4.0, -1.0, 5.0, 0.0]))


def test_gsa_max_matches_the_official_loop_on_random_input():
    torch.manual_seed(0)
    f = torch.randn(2, 5, 6, 7)
    lab = torch.randint(0, 4, (2, 6, 7))
    lab[1] = 2  # one image where a class covers everything
    got = graph_semantic_aggregation(f, lab, 4, "max")
    onehot = torch.nn.functional.one_hot(lab, 4).permute(0, 3, 1, 2).float()
    ref = torch.stack([(f * onehot[:, k : k + 1]).flatten(2).max(-1)[0] for k in range(4)], 1)
    assert torch.allclose(got, ref)


def test_gsd_paints_node_features_on_their_pixels():
    nodes = torch.tensor([[[1.0, 11.0, 21.0], [2.0, 12.0, 22.0]]])  # (1, D=2, K=3)
    lab = torch.tensor([[[0, 2], [1, 1]]])
    out = graph_semantic_distribution(nodes, lab)
    assert torch.equal(out[0, 0], torch.tensor([[1.0, 21.0], [11.0, 11.0]]))
    assert torch.equal(out[0, 1], torch.tensor([[2.0, 22.0], [12.0, 12.0]]))


def test_gcr_attention_is_unscaled_softmax_with_residual():
    attn = GraphContextReasoning(8, reduction=2)  # query/key width 4: a 1/sqrt(4) scaling would show
    with torch.no_grad():
        for conv in (attn.query, attn.key):
            conv.weight.zero_()
            conv.weight[0, 0, 0] = 1.0  # q = k = channel 0
            conv.bias.zero_()
        attn.value.weight.copy_(torch.eye(8)[:, :, None])
        attn.value.bias.zero_()
    x = torch.zeros(1, 8, 2)
    x[0, 0] = torch.tensor([1.0, 2.0])
    out = attn(x)
    # energy = [[1, 2], [2, 4]]; row softmax; out_i = sum_j a_ij x_j + x_i
    a0 = 1 / (1 + math.e)
    a1 = 1 / (1 + math.e**2)
    expected0 = a0 * 1 + (1 - a0) * 2 + 1
    expected1 = a1 * 1 + (1 - a1) * 2 + 2
    assert out[0, 0, 0].item() == pytest.approx(expected0, abs=1e-6)  # 2.731059
    assert out[0, 0, 1].item() == pytest.approx(expected1, abs=1e-6)  # 3.880797
    assert torch.count_nonzero(out[0, 1:]) == 0


def test_gcr_level_reasoning_structure_and_shapes():
    block = GCRLevelReasoning(1024, 512, 256, 3)
    assert block.graph_transfer.weight.shape == (512, 1024, 1)
    assert [a.query.weight.shape for a in block.attn] == [(64, 512, 1)] * 3
    assert [a.value.weight.shape for a in block.attn] == [(512, 512, 1)] * 3
    assert len(block.norms) == 3 and block.graph_transfer_back.weight.shape == (256, 512, 1)
    assert block(torch.randn(2, 5, 1024)).shape == (2, 256, 5)


def test_gcn_adjacency_by_hand():
    a = normalized_adjacency(label_graph("pascal_person_part"), 7)
    # node 1 lists itself and 2: (A + I)_11 = 2, degree 3; node 2: 1, 2 (self), 3, 5: degree 5
    assert a[1, 1] == pytest.approx(2 / 3)
    assert a[1, 2] == pytest.approx(1 / math.sqrt(15)) and a[2, 1] == a[1, 2]
    assert a[1, 3] == 0
    cihp = normalized_adjacency(label_graph("cihp"), 20)
    assert cihp[0, 0] == 1 and cihp[0].sum() == 1  # background only with itself
    assert np.allclose(cihp, cihp.T)


def test_gcn_step_is_adjacency_times_weighted_nodes():
    adj = np.array([[0.5, 0.5], [0.25, 0.75]], dtype=np.float32)
    block = GCNLevelReasoning(4, 4, 4, 1, num_nodes=2, adjacency=adj)
    with torch.no_grad():
        block.weights[0].weight.copy_(2 * torch.eye(4)[:, :, None])
    x = torch.tensor([[[1.0, 3.0], [0.0, 4.0], [0.0, 0.0], [0.0, 0.0]]])  # (1, D=4, K=2)
    out = block.step(0, x)
    assert torch.allclose(out[0, 0], torch.tensor([2 * (0.5 + 1.5), 2 * (0.25 + 2.25)]))
    assert torch.allclose(out[0, 1], torch.tensor([2 * 2.0, 2 * 3.0]))


def _official_replacement(labels: np.ndarray, cate_list) -> np.ndarray:
    # the training scripts' mask2catemask: successive in-place replacement, group by group
    m = labels.copy()
    for j, group in enumerate(cate_list):
        for i in group:
            m = np.where(m == i, j, m)
    return m


OFFICIAL_CATE_LISTS = {  # train_gpm_ml.py
    "cihp": ([[0], list(range(1, 20))], [[0], [1, 2, 4, 13], [5, 6, 7, 10, 11, 12], [3, 14, 15], [8, 9, 16, 17, 18, 19]]),
    "pascal_person_part": ([[0], list(range(1, 7))], [[0], [1], [2], [3, 4], [5, 6]]),
    "atr": ([[0], list(range(1, 18))], [[0], [1, 2, 3, 11], [4, 5, 7, 8, 16, 17], [14, 15], [6, 9, 10, 12, 13]]),
}


@pytest.mark.parametrize("domain", sorted(OFFICIAL_CATE_LISTS))
def test_level_luts_equal_the_official_replacement(domain):
    num_classes, luts, _ = level_tables([domain], [1, 2, 3])
    k = {"cihp": 20, "pascal_person_part": 7, "atr": 18}[domain]
    assert num_classes[domain] == {1: 2, 2: 5, 3: k}
    fine = np.arange(k)
    for lv, cate in zip((1, 2), OFFICIAL_CATE_LISTS[domain]):
        assert np.array_equal(luts[domain][lv][fine], _official_replacement(fine, cate))


def _gpm(levels=(1, 2, 3), domains=("cihp",), **kw):
    num_classes, luts, adj = level_tables(domains, levels, kw.get("reasoning") == "gcn")
    return GraphPyramidModule(16, levels=levels, num_classes=num_classes, luts=luts, node_dim=24,
                              hidden_dim=8, fusion_channels=12, adjacency=adj, **kw)


@pytest.mark.parametrize("levels", [(1, 2, 3), (3,)])
@pytest.mark.parametrize("pooling", ["ave", "max", "ave+max"])
@pytest.mark.parametrize("reasoning", ["gcr", "gcn"])
def test_pyramid_level_by_level_shapes(levels, pooling, reasoning):
    gpm = _gpm(levels, pooling=pooling, reasoning=reasoning)
    f = torch.randn(2, 16, 6, 5)
    lab = torch.randint(0, 20, (2, 6, 5))
    fused, outs = gpm(f, lab, "cihp", return_levels=True)
    assert fused.shape == f.shape and (fused >= 0).all()
    assert sorted(outs) == [0, *levels]
    assert all(o.shape == f.shape for o in outs.values())
    assert gpm.fusion[0].weight.shape == (12, 16 * (1 + len(levels)), 1, 1)
    in_dim = 32 if pooling == "ave+max" else 16
    block = gpm.domain_reasoning["cihp"]["3"]
    assert block.graph_transfer.weight.shape == (24, in_dim, 1)
    # the level-1 map only varies between background and person pixels
    if 1 in levels:
        lab1 = gpm.level_labels(lab, "cihp", 1)
        delta = (outs[1] - outs[0])[0].flatten(1)
        for k in (0, 1):
            cols = delta[:, lab1[0].flatten() == k]
            if cols.shape[1]:
                assert torch.allclose(cols, cols[:, :1].expand_as(cols), atol=1e-5)


def test_mutual_learning_shares_levels_1_2_only():
    gpm = _gpm(domains=("cihp", "pascal_person_part", "atr"))
    assert sorted(gpm.reasoning) == ["1", "2"]
    assert sorted(gpm.domain_reasoning) == ["atr", "cihp", "pascal_person_part"]
    assert all(sorted(v) == ["3"] for v in gpm.domain_reasoning.values())
    f = torch.randn(1, 16, 4, 4)
    for d, k in (("cihp", 20), ("pascal_person_part", 7), ("atr", 18)):
        assert gpm(f, torch.randint(0, k, (1, 4, 4)), d).shape == f.shape
    with pytest.raises(KeyError, match="lip"):
        gpm(f, torch.zeros(1, 4, 4, dtype=torch.long), "lip")


def test_masks_carry_no_gradient_and_gradients_reach_every_parameter():
    gpm = _gpm()
    f = torch.randn(2, 16, 6, 5, requires_grad=True)
    gpm(f, torch.randint(0, 20, (2, 6, 5)), "cihp").sum().backward()
    assert f.grad is not None
    assert all(p.grad is not None for p in gpm.parameters())
