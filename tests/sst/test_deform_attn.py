"""The pure-PyTorch multi-scale deformable attention against a slow per-sample loop."""
import math

import pytest
import torch

from sst.deform_attn import MSDeformAttn, ms_deform_attn


def _bilinear_zero_pad(img, x, y):
    """Value of (Dh, H, W) ``img`` at continuous pixel coords (x, y) (pixel centres at integers),
    zeros outside."""
    dh, h, w = img.shape
    x0, y0 = math.floor(x), math.floor(y)
    out = torch.zeros(dh, dtype=img.dtype)
    for yy in (y0, y0 + 1):
        for xx in (x0, x0 + 1):
            wgt = (1 - abs(x - xx)) * (1 - abs(y - yy))
            if 0 <= xx < w and 0 <= yy < h:
                out += wgt * img[:, yy, xx]
    return out


def _reference(value, shapes, locs, weights):
    n, s, m, dh = value.shape
    _, lq, _, nl, npnt, _ = locs.shape
    out = torch.zeros(n, lq, m, dh, dtype=value.dtype)
    for b in range(n):
        for q in range(lq):
            for head in range(m):
                start = 0
                for lvl, (h, w) in enumerate(shapes):
                    img = value[b, start : start + h * w, head].T.reshape(dh, h, w)
                    for p in range(npnt):
                        # normalised [0, 1] -> pixel coords with centres at integers
                        x = locs[b, q, head, lvl, p, 0].item() * w - 0.5
                        y = locs[b, q, head, lvl, p, 1].item() * h - 0.5
                        out[b, q, head] += weights[b, q, head, lvl, p] * _bilinear_zero_pad(img, x, y)
                    start += h * w
    return out.reshape(n, lq, m * dh)


def _inputs(seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    shapes = [(5, 7), (3, 4), (2, 2)]
    n, m, dh, lq, p = 2, 2, 3, 4, 3
    s = sum(h * w for h, w in shapes)
    value = torch.randn(n, s, m, dh, generator=g, dtype=torch.float64)
    # some locations fall outside [0, 1] to exercise the zero padding
    locs = torch.rand(n, lq, m, len(shapes), p, 2, generator=g, dtype=torch.float64) * 1.4 - 0.2
    weights = torch.rand(n, lq, m, len(shapes), p, generator=g, dtype=torch.float64)
    weights = weights / weights.sum(dim=(-1, -2), keepdim=True)
    return [t.to(device) for t in (value, locs, weights)], shapes


def test_matches_reference_loop():
    (value, locs, weights), shapes = _inputs()
    got = ms_deform_attn(value, shapes, locs, weights)
    want = _reference(value, shapes, locs, weights)
    assert got.shape == (2, 4, 6)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_exact_pixel_centre_reads_the_pixel():
    # one level 2x3, one head, one point at the centre of pixel (row 1, col 2), weight 1
    value = torch.arange(6, dtype=torch.float64).view(1, 6, 1, 1)
    locs = torch.tensor([(2 + 0.5) / 3, (1 + 0.5) / 2], dtype=torch.float64).view(1, 1, 1, 1, 1, 2)
    out = ms_deform_attn(value, [(2, 3)], locs, torch.ones(1, 1, 1, 1, 1, dtype=torch.float64))
    assert out.item() == pytest.approx(5.0)


def test_bad_shapes_raise():
    (value, locs, weights), shapes = _inputs()
    with pytest.raises(ValueError, match="spatial_shapes"):
        ms_deform_attn(value, shapes[:2], locs, weights)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_cuda_matches_cpu():
    (value, locs, weights), shapes = _inputs()
    cpu = ms_deform_attn(value, shapes, locs, weights)
    cuda = ms_deform_attn(value.cuda(), shapes, locs.cuda(), weights.cuda())
    torch.testing.assert_close(cuda.cpu(), cpu)


def test_module_shapes_and_gradients():
    torch.manual_seed(0)
    attn = MSDeformAttn(d_model=16, n_levels=2, n_heads=4, n_points=2)
    shapes = [(4, 6), (2, 3)]
    src = torch.randn(2, 30, 16, requires_grad=True)
    ref = torch.rand(2, 30, 2, 2)
    out = attn(src, ref, src, shapes)
    assert out.shape == (2, 30, 16)
    out.square().sum().backward()
    assert src.grad is not None and torch.isfinite(src.grad).all()
    for name, p in attn.named_parameters():
        assert p.grad is not None, name
