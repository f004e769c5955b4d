"""ASPP and non-local block: shapes, empty batches, and outputs worked out by hand."""
import pytest
import torch
from torch import nn

from human_parsing.modeling.layers import ASPP, NonLocalBlock2d


def _set(conv: nn.Conv2d, w: float, b: float = 0.0):
    with torch.no_grad():
        conv.weight.fill_(w)
        if conv.bias is not None:
            conv.bias.fill_(b)


def test_aspp_branches_by_hand():
    aspp = ASPP(1, 1, dilations=(1,))
    _set(aspp.pool_conv, 2.0)  # mean of ones = 1 -> 2 everywhere
    _set(aspp.conv1x1, 3.0)  # 3 everywhere
    _set(aspp.atrous[0], 1.0)  # 3x3 box sum of ones with zero padding: 4 corners, 6 edges, 9 inside
    out = aspp(torch.ones(1, 1, 4, 4))
    assert out.shape == (1, 3, 4, 4)
    assert torch.all(out[0, 0] == 2) and torch.all(out[0, 1] == 3)
    expected = torch.tensor([[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]], dtype=torch.float32)
    assert torch.equal(out[0, 2], expected)
    _set(aspp.conv1x1, -1.0)  # ReLU after the branch
    assert torch.all(aspp(torch.ones(1, 1, 4, 4))[0, 1] == 0)


def test_aspp_dilation_keeps_size_and_projection():
    aspp = ASPP(8, 4, dilations=(2, 3), projection_channels=5, norm="")
    assert aspp.out_channels == 5
    assert aspp(torch.randn(2, 8, 7, 9)).shape == (2, 5, 7, 9)
    plain = ASPP(8, 4, dilations=(2, 3), image_pooling=False)
    assert plain.out_channels == 12 and plain.pool_conv is None
    assert plain(torch.randn(0, 8, 7, 9)).shape == (0, 12, 7, 9)
    # dilation d on a 3x3 kernel reaches exactly d pixels away: an impulse spreads to offsets 0, ±d
    a = ASPP(1, 1, dilations=(2,), image_pooling=False)
    _set(a.atrous[0], 1.0)
    x = torch.zeros(1, 1, 7, 7)
    x[0, 0, 3, 3] = 1
    nz = torch.nonzero(a(x)[0, 1]).tolist()
    assert sorted(nz) == sorted([[3 + dy, 3 + dx] for dy in (-2, 0, 2) for dx in (-2, 0, 2)])


def test_aspp_norm_has_no_bias():
    aspp = ASPP(4, 32, norm="GN", projection_channels=32)
    assert aspp.conv1x1.bias is None and isinstance(aspp.conv1x1.norm, nn.GroupNorm)
    assert ASPP(4, 8).conv1x1.bias is not None


def test_nonlocal_uniform_attention_by_hand():
    x = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    nl = NonLocalBlock2d(1, norm="")
    _set(nl.theta, 0.0)  # q = 0 -> uniform attention over the keys
    _set(nl.phi, 1.0)
    _set(nl.g, 1.0)
    _set(nl.out, 1.0)
    # keys/values: 2x2 max-pool of x = [5, 7, 13, 15], mean 10 -> out = x + 10
    assert torch.allclose(nl(x), x + 10)
    nl.subsample = False  # mean over all 16 positions = 7.5
    assert torch.allclose(nl(x), x + 7.5)


def test_nonlocal_attention_picks_matching_key():
    # one-hot keys: with a large dot product, softmax selects the key with the same sign
    nl = NonLocalBlock2d(1, norm="", subsample=False, use_scale=False)
    _set(nl.theta, 50.0)
    _set(nl.phi, 1.0)
    _set(nl.g, 1.0)
    _set(nl.out, 1.0)
    x = torch.tensor([[[[1.0, -1.0]]]])
    # position 0: q=50, logits [50, -50] -> value 1; position 1: q=-50 -> value -1
    assert torch.allclose(nl(x), torch.tensor([[[[2.0, -2.0]]]]), atol=1e-5)


def test_nonlocal_norms_zero_init_and_empty():
    x = torch.randn(2, 64, 6, 5)
    gn = NonLocalBlock2d(64, inner_ratio=0.5)
    assert gn.inner_channels == 32 and isinstance(gn.out.norm, nn.GroupNorm)
    assert gn(x).shape == x.shape and gn.out.bias is not None
    assert isinstance(NonLocalBlock2d(64, norm="BN").out.norm, nn.BatchNorm2d)
    assert torch.equal(NonLocalBlock2d(64, zero_init=True)(x), x)
    assert torch.equal(NonLocalBlock2d(64, norm="", zero_init=True)(x), x)
    ctx = NonLocalBlock2d(64, context_channels=16)
    assert ctx(x, torch.randn(2, 16, 6, 5)).shape == x.shape
    e = torch.zeros(0, 64, 6, 5, requires_grad=True)
    y = gn(e)
    assert y.shape == e.shape
    y.sum().backward()


def test_heterogeneous_nonlocal_by_hand():
    # CorrPM's HNL: queries from x, keys/values and residual from the context, no scaling
    import math

    nl = NonLocalBlock2d(1, norm="", subsample=False, use_scale=False, residual="context")
    for conv in (nl.theta, nl.phi, nl.g, nl.out):
        _set(conv, 1.0)
    x = torch.tensor([[[[1.0, 2.0]]]])
    c = torch.tensor([[[[0.0, 1.0]]]])
    # q = [1, 2], k = v = [0, 1]: row i attends softmax([0, q_i]); y_i = e^q_i / (1 + e^q_i); + c
    e = math.e
    expected = torch.tensor([[[[e / (1 + e) + 0.0, e**2 / (1 + e**2) + 1.0]]]])
    assert torch.allclose(nl(x, c), expected, atol=1e-6)
    assert nl(x, c).shape == c.shape


def test_nonlocal_pooling_before_or_after_projection():
    # a 1x1 conv and the 2x2 max-pool do not commute when the weight is negative
    c = torch.tensor([[[[1.0, -1.0], [-1.0, -1.0]]]])
    x = torch.zeros(1, 1, 2, 2)
    outs = []
    for after in (False, True):
        nl = NonLocalBlock2d(1, norm="", use_scale=False, residual="context", pool_after_projection=after)
        _set(nl.theta, 0.0)
        _set(nl.phi, -1.0)
        _set(nl.g, -1.0)
        _set(nl.out, 1.0)
        outs.append(nl(x, c) - c)  # the attention term alone: the single pooled value
    assert torch.allclose(outs[0], torch.full_like(c, -1.0))  # g(max c) = -1
    assert torch.allclose(outs[1], torch.full_like(c, 1.0))  # max g(c) = 1
    with pytest.raises(ValueError, match="residual"):
        NonLocalBlock2d(1, residual="query")
