"""Pyramid pooling (TF SAME average pooling) and the DeepLab-v2 summed ASPP."""

import pytest
import torch

from human_parsing.modeling.layers.aspp_v2 import ASPPv2
from human_parsing.modeling.layers.ppm import PyramidPooling, same_avg_pool2d


def test_same_avg_pool_counts_only_real_cells():
    x = torch.arange(9.0).view(1, 1, 3, 3)
    # k = 2 on 3 cells: pad 1, all after -> windows rows/cols {0,1}, {2}
    # [[mean(0,1,3,4), mean(2,5)], [mean(6,7), 8]]
    assert same_avg_pool2d(x, 2).flatten().tolist() == [2.0, 3.5, 6.5, 8.0]


def test_same_avg_pool_pads_half_before():
    x = torch.arange(5.0).view(1, 1, 1, 5)
    # k = 4 on 5 cells: 2 windows, pad 3 = 1 before + 2 after -> cells {0,1,2} and {3,4}
    assert same_avg_pool2d(x, 4).flatten().tolist() == [1.0, 3.5]


def test_fixed_kernel_bins_on_64_and_60():
    # methods.md §3.3: windows 60, 30, 20, 10 give 2, 3, 4, 7 bins on 64 and 1, 2, 3, 6 on 60
    assert [same_avg_pool2d(torch.zeros(1, 1, 64, 64), k).shape[-1] for k in (60, 30, 20, 10)] == [2, 3, 4, 7]
    assert [same_avg_pool2d(torch.zeros(1, 1, 60, 60), k).shape[-1] for k in (60, 30, 20, 10)] == [1, 2, 3, 6]


@pytest.mark.parametrize("mode", ["fixed_kernels", "adaptive_bins"])
def test_ppm_output_is_input_plus_paths(mode):
    ppm = PyramidPooling(4, 3, mode=mode, kernels=(8, 4), bins=(1, 2))
    x = torch.randn(2, 4, 9, 7)
    y = ppm(x)
    assert y.shape == (2, 4 + 2 * 3, 9, 7) and ppm.out_channels == 10
    assert torch.equal(y[:, :4], x)
    assert (y[:, 4:] >= 0).all()  # ReLU paths
    with pytest.raises(ValueError, match="mode"):
        PyramidPooling(4, 3, mode="bins")


def test_aspp_v2_sums_dilated_branches():
    aspp = ASPPv2(1, 1, dilations=(1, 2))
    for b in aspp.branches:
        torch.nn.init.zeros_(b.weight)
        torch.nn.init.zeros_(b.bias)
    aspp.branches[0].weight.data[0, 0, 1, 1] = 1.0  # identity (centre tap)
    aspp.branches[1].weight.data[0, 0, 0, 0] = 1.0  # top-left tap at dilation 2: x[i-2, j-2]
    aspp.branches[1].bias.data.fill_(0.5)
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 1, 1] = 1.0
    y = aspp(x)[0, 0]
    expected = torch.full((5, 5), 0.5)
    expected[1, 1] += 1.0
    expected[3, 3] += 1.0
    assert torch.equal(y, expected)
