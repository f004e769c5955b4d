"""Parsing heads: the official parameter count, forward/backward of every registered head, the
GCE ablation switches and empty ROI batches."""
import pytest
import torch

from detectron2.layers import ShapeSpec
from detectron2.utils.events import EventStorage
from detectron2.structures import Boxes, Instances
from human_parsing.structures import ParsingMaps
from parsing_rcnn import ROI_PARSING_HEAD_REGISTRY, build_parsing_head

from .common import REPO, get_parsing_cfg

CIHP_1X = f"{REPO}/configs/CIHP/parsing_rcnn_R_50_FPN_1x.yaml"


def _n(module):
    return sum(p.numel() for p in module.parameters())


def conv(cin, cout, k, bias=True):
    return cin * cout * k * k + (cout if bias else 0)


def test_gce_head_has_official_parameter_count():
    cfg = get_parsing_cfg(CIHP_1X)
    head = build_parsing_head(cfg, ShapeSpec(channels=256, height=32, width=32))
    # by hand: ASPP (pool 1×1, 1×1, three dilated 3×3; 256 ch each) + 1×1 1280→512
    # + non-local (θ, φ, g, out 1×1 with bias + GN affine) + 4 × 3×3 512 + 4×4 deconv 512→20
    aspp = 2 * conv(256, 256, 1) + 3 * conv(256, 256, 3) + conv(1280, 512, 1)
    nonlocal_ = 4 * conv(512, 512, 1) + 2 * 512
    after = 4 * conv(512, 512, 3)
    deconv = 512 * 20 * 16 + 20
    assert aspp + nonlocal_ + after + deconv == 13_212_436
    assert _n(head) == 13_212_436


def test_convx_head_parameter_count_and_switches():
    cfg = get_parsing_cfg(f"{REPO}/configs/CIHP/parsing_rcnn_R_50_FPN_1x_baseline.yaml")
    head = build_parsing_head(cfg, ShapeSpec(channels=256, height=14, width=14))
    assert type(head).__name__ == "ParsingConvXHead"
    assert _n(head) == conv(256, 512, 3) + 7 * conv(512, 512, 3) + 512 * 20 * 16 + 20
    # GCE switches remove exactly their modules (small widths to stay fast)
    small = ["MODEL.ROI_PARSING_HEAD.CONV_DIM", 64, "MODEL.ROI_PARSING_HEAD.GCE.ASPP_DIM", 32]
    shape = ShapeSpec(channels=16, height=8, width=8)
    full = build_parsing_head(get_parsing_cfg(CIHP_1X, small), shape)
    no_nl = build_parsing_head(get_parsing_cfg(CIHP_1X, small + ["MODEL.ROI_PARSING_HEAD.GCE.USE_NL", False]), shape)
    assert _n(full) - _n(no_nl) == 4 * conv(64, 64, 1) + 2 * 64
    no_aspp = build_parsing_head(
        get_parsing_cfg(CIHP_1X, small + ["MODEL.ROI_PARSING_HEAD.GCE.USE_ASPP", False]), shape
    )
    # non-local only: the ROI features get a 1×1 conv to CONV_DIM in place of ASPP + projection
    aspp = 2 * conv(16, 32, 1) + 3 * conv(16, 32, 3) + conv(160, 64, 1)
    assert _n(full) - _n(no_aspp) == aspp - conv(16, 64, 1)
    pbd = build_parsing_head(
        get_parsing_cfg(CIHP_1X, small + ["MODEL.ROI_PARSING_HEAD.GCE.NUM_CONVS_BEFORE", 4,
                                          "MODEL.ROI_PARSING_HEAD.GCE.NUM_CONVS_AFTER", 0]), shape
    )
    assert len(pbd.before) == 4 and len(pbd.after) == 0
    assert pbd.layers(torch.randn(2, 16, 8, 8)).shape == (2, 20, 128, 128)  # RESOLUTION


def _tiny_cfg(name):
    return get_parsing_cfg(opts=[
        "MODEL.ROI_PARSING_HEAD.NAME", name,
        "MODEL.ROI_PARSING_HEAD.CONV_DIM", 32,
        "MODEL.ROI_PARSING_HEAD.GCE.ASPP_DIM", 32,
        "MODEL.ROI_PARSING_HEAD.CONVX.NUM_STACKED_CONVS", 2,
        "MODEL.ROI_PARSING_HEAD.POOLER_RESOLUTION", 8,
        "MODEL.ROI_PARSING_HEAD.RESOLUTION", 32,
        "MODEL.ROI_PARSING_HEAD.NUM_PARSING", 5,
    ])


def _proposals(n, size=64):
    maps = torch.zeros(n, size, size, dtype=torch.uint8)
    maps[:, 8:40, 8:40] = 1
    maps[:, 20:40, 8:40] = 3
    boxes = torch.tensor([[4.0, 4.0, 44.0, 44.0]]).repeat(n, 1)
    return Instances((size, size), proposal_boxes=Boxes(boxes), gt_parsing=ParsingMaps(maps))


@pytest.mark.parametrize("name", sorted(k for k, _ in ROI_PARSING_HEAD_REGISTRY))
def test_every_head_forward_backward_all_params_get_grads(name):
    torch.manual_seed(0)
    head = build_parsing_head(_tiny_cfg(name), ShapeSpec(channels=16, height=8, width=8))
    head.train()
    x = torch.randn(3, 16, 8, 8)
    assert head.layers(x).shape == (3, 5, 32, 32)
    with EventStorage():
        loss = head(x, [_proposals(2), _proposals(1)])["loss_parsing"]
    loss.backward()
    for pname, p in head.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", sorted(k for k, _ in ROI_PARSING_HEAD_REGISTRY))
def test_every_head_with_zero_rois(name):
    head = build_parsing_head(_tiny_cfg(name), ShapeSpec(channels=16, height=8, width=8))
    x = torch.zeros(0, 16, 8, 8)
    head.train()
    with EventStorage():
        loss = head(x, [_proposals(0), _proposals(0)])["loss_parsing"]
    assert loss.item() == 0
    loss.backward()  # every parameter joins the graph (DDP needs identical graphs)
    assert all(p.grad is not None for p in head.parameters())
    head.eval()
    dets = [Instances((64, 64), pred_boxes=Boxes(torch.zeros(0, 4)))]
    with torch.no_grad():
        out = head(x, dets)
    assert out[0].pred_parsing_probs.shape == (0, 5, 32, 32)


def test_output_resolution_must_be_a_multiple():
    with pytest.raises(ValueError, match="RESOLUTION"):
        build_parsing_head(
            get_parsing_cfg(opts=["MODEL.ROI_PARSING_HEAD.RESOLUTION", 48]),
            ShapeSpec(channels=16, height=16, width=16),
        )
