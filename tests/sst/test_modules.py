"""SST auxiliary modules on tiny inputs with hand-computed values."""
import math

import pytest
import torch

from sst.aux import SSTAuxiliary, domain_pairs
from sst.modules import (
    SemanticEnhancement,
    SemanticTransfer,
    class_pooling,
    cosine_consistency,
    masked_cross_attention,
)


def test_class_pooling_hand_computed():
    # one image, D = 2, a 2x2 map; classes: 0 at (0,0), 1 at (0,1) and (1,0), (1,1) ignored; 3 absent
    feat = torch.tensor([[[1.0, 2.0], [4.0, 8.0]], [[-1.0, -3.0], [-5.0, 7.0]]])[None]
    labels = torch.tensor([[[0, 1], [1, 255]]])
    avg, mx = class_pooling(feat, labels, num_classes=3)
    torch.testing.assert_close(avg[0], torch.tensor([[1.0, -1.0], [3.0, -4.0], [0.0, 0.0]]))
    torch.testing.assert_close(mx[0], torch.tensor([[1.0, -1.0], [4.0, -3.0], [0.0, 0.0]]))


def test_masked_cross_attention_hand_computed():
    # q.k^T / sqrt(2) = [[0, ln 3]] -> softmax [1/4, 3/4]; mask keeps the second key only
    q = torch.tensor([[0.0, math.sqrt(2) * math.log(3)]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[10.0, 0.0], [0.0, 20.0]])
    out = masked_cross_attention(q, k, v, torch.tensor([[0.0, 1.0]]))
    torch.testing.assert_close(out, torch.tensor([[0.0, 15.0]]))  # no re-normalisation
    out = masked_cross_attention(q, k, v, torch.ones(1, 2))
    torch.testing.assert_close(out, torch.tensor([[2.5, 15.0]]))


def test_cosine_consistency_values():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert cosine_consistency(x, 3 * x).item() == pytest.approx(0.0, abs=1e-7)
    # class 0 orthogonal (1), class 1 opposite (2): mean 1.5
    assert cosine_consistency(x, torch.tensor([[0.0, 1.0], [0.0, -1.0]])).item() == pytest.approx(1.5)


def test_mse_zero_mask_keeps_embedding_and_intra_mask_blocks_propagation():
    torch.manual_seed(0)
    mse = SemanticEnhancement(4, 3, intra_adjacency=torch.zeros(3, 3))
    s = [torch.randn(2, 3, 4) for _ in range(3)]
    xs = mse(s)
    assert len(xs) == 4 and xs[0].shape == (3, 4) and xs[3].shape == (2, 3, 4)
    for x in xs[1:]:
        torch.testing.assert_close(x, mse.embedding.expand(2, -1, -1))
    # an asymmetric mask: rows are the query classes, applied after the softmax
    mask = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    mse = SemanticEnhancement(4, 3, intra_adjacency=mask)
    x0 = mse.embedding.expand(2, -1, -1)
    att = torch.softmax(mse.q[0](x0) @ mse.k[0](s[0]).transpose(1, 2) / 2.0, dim=-1)
    want = (att * mask) @ mse.v[0](s[0]) + x0
    torch.testing.assert_close(mse(s)[1], want)


def test_mse_rejects_wrong_adjacency_shape():
    with pytest.raises(ValueError, match=r"M_intra has shape \(2, 2\), expected \(3, 3\)"):
        SemanticEnhancement(4, 3, intra_adjacency=torch.ones(2, 2))


def test_mst_zero_static_prior_maps_to_zero():
    torch.manual_seed(0)
    mst = SemanticTransfer(4, torch.zeros(3, 2))
    to2, to1 = mst.map_static(torch.randn(2, 4), torch.randn(3, 4))
    assert to2.shape == (3, 4) and to1.shape == (2, 4)
    assert to2.abs().max() == 0 and to1.abs().max() == 0
    x1, x2, s1, s2 = torch.randn(5, 2, 4), torch.randn(5, 3, 4), torch.randn(5, 2, 4), torch.randn(5, 3, 4)
    d2, d1 = mst.map_dynamic(0, x1, x2, s1, s2)
    assert d2.shape == (5, 3, 4) and d1.shape == (5, 2, 4)


def test_domain_pairs():
    z = {"pascal_person_part": 7, "atr": 18, "cihp": 20}
    assert domain_pairs(["cihp", "pascal_person_part", "atr"], z, "full") == [
        ("cihp", "pascal_person_part"), ("cihp", "atr"), ("pascal_person_part", "atr")]
    assert domain_pairs(["cihp", "pascal_person_part", "atr"], z, "progressive") == [
        ("pascal_person_part", "atr"), ("atr", "cihp")]
    with pytest.raises(ValueError, match="PAIR_STRATEGY"):
        domain_pairs(["cihp"], z, "star")


def test_aux_needs_static_prior_per_pair():
    with pytest.raises(ValueError, match=r"no M_static for the domain pair \('a', 'b'\)"):
        SSTAuxiliary(4, {"a": 2, "b": 3}, [("a", "b")], static_similarity={})


def test_dataset_scr_zero_when_mapping_reproduces_representations():
    # Mapping whose V returns its input and attention is uniform over identical rows -> SCR 0
    torch.manual_seed(0)
    aux = SSTAuxiliary(2, {"a": 2, "b": 2}, [("a", "b")], static_similarity={("a", "b"): torch.ones(2, 2)})
    mst = aux.mst["a__b"]
    for m in [mst.static[0], mst.static[1]] + [x for pair in mst.dynamic for x in pair]:
        for lin in (m.q, m.k, m.v):
            torch.nn.init.zeros_(lin.bias)
        torch.nn.init.zeros_(m.q.weight)  # uniform attention (1/2 each)
        torch.nn.init.eye_(m.v.weight)
    for w in list(mst.w1) + list(mst.w2):
        torch.nn.init.zeros_(w.weight)  # M_dyn = 0 ...
    x0 = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    # static: M = 1, uniform attention over two identical rows -> mapped = x0: SCR 0
    assert aux.scr_dataset("a", "b", x0, x0).item() == pytest.approx(0.0, abs=1e-6)
