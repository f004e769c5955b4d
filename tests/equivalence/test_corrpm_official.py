"""CorrPM against the official implementation (``ziwei-zh/CorrPM``), run on CPU as an oracle.

Needs ``CORRPM_REPO`` = a checkout of the official code (skipped otherwise). Its CUDA-only
InPlace-ABN library and ``ipdb`` are replaced by stubs (``corrpm.official_source``: BatchNorm +
activation, what InPlaceABNSync computes on one device), the official model is built with random weights,
converted to this package's names with :func:`corrpm.checkpoint.convert_official_state_dict`, and
both models are compared in eval mode on the same input.
"""
import os

import numpy as np
import pytest
import torch
from torch import nn

REPO = os.environ.get("CORRPM_REPO", "")
pytestmark = pytest.mark.skipif(
    not (REPO and os.path.isfile(os.path.join(REPO, "networks", "model.py"))),
    reason="set CORRPM_REPO to a checkout of ziwei-zh/CorrPM",
)


@pytest.fixture(scope="module")
def official():
    from corrpm.official_source import official_modules

    with official_modules(REPO) as ns:
        yield ns


def _corrpm_cfg(num_classes=20, num_joints=16):
    from detectron2.config import get_cfg

    import corrpm
    from human_parsing.config import add_human_parsing_config

    cfg = get_cfg()
    add_human_parsing_config(cfg)
    corrpm.add_corrpm_config(cfg)
    here = os.path.dirname(__file__)
    cfg.merge_from_file(os.path.join(here, "..", "..", "projects", "CorrPM", "configs", "LIP",
                                     "corrpm_R_101_150e.yaml"))
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.RESNETS.NORM = "BN"  # SyncBN == BN on one process; same parameters
    cfg.MODEL.CORRPM.NORM = "BN"
    cfg.MODEL.CORRPM.NUM_CLASSES = num_classes
    cfg.MODEL.CORRPM.NUM_JOINTS = num_joints
    return cfg


def _randomize(module: nn.Module, seed: int = 0):
    """Random weights everywhere, BN statistics and affine parameters included (so the
    zero-initialised HNL output BN does not hide the block)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith(("running_mean", "bias")):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif t.ndim == 1:  # BN weight
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                fan_in = t[0].numel()
                t.copy_(torch.randn(t.shape, generator=g) / np.sqrt(fan_in))


def test_parameter_count_equals_official_minus_unused(official):
    from detectron2.modeling import build_model

    from corrpm.checkpoint import OFFICIAL_UNUSED_PREFIXES

    ref = official.model.CorrPM_Model(num_classes=20, npoints=16)
    ours = build_model(_corrpm_cfg())
    n_ref = sum(p.numel() for p in ref.parameters())
    unused = {k: p.numel() for k, p in ref.named_parameters() if k.startswith(OFFICIAL_UNUSED_PREFIXES)}
    assert sorted(unused) == [
        "edge_layer.conv4.bias", "edge_layer.conv4.weight",
        "layer6.conv1.0.weight", "layer6.conv1.1.bias", "layer6.conv1.1.weight",
        "layer6.conv2.0.weight", "layer6.conv2.1.bias", "layer6.conv2.1.weight",
    ]
    assert sum(unused.values()) == 148578
    assert sum(p.numel() for p in ours.parameters()) == n_ref - sum(unused.values())


def test_outputs_match_official(official):
    from detectron2.modeling import build_model

    from corrpm.checkpoint import convert_official_state_dict

    torch.manual_seed(0)
    ref = official.model.CorrPM_Model(num_classes=20, npoints=16).eval()
    _randomize(ref)
    ours = build_model(_corrpm_cfg()).eval()
    converted = convert_official_state_dict(ref.state_dict())
    missing, unexpected = ours.load_state_dict(converted, strict=False)
    assert not unexpected
    assert [k for k in missing if not k.endswith("num_batches_tracked")] == []
    x = torch.randn(1, 3, 64, 64)  # any size that is a multiple of 16
    with torch.no_grad():
        (seg1, seg2), (edge,), (pose,) = ref(x)
        out = ours.forward_features(x, "lip")
    for name, a, b in (("seg1", seg1, out["seg1"]), ("seg2", seg2, out["seg2"]),
                       ("edge", edge, out["edge"]), ("pose", pose, out["pose"])):
        assert a.shape == b.shape, name
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4, msg=name)


def test_affine_matrix_matches_official(official):
    from corrpm.data.affine import affine_matrix, center_scale

    for (h, w), s, r in (((300, 200), 1.1, 0.0), ((150, 400), 0.8, 37.5), ((384, 384), 1.0, -60.0)):
        center, scale = center_scale(h, w, 1.0)
        ref = official.transforms.get_affine_transform(center.astype(np.float32),
                                                       (scale * s).astype(np.float32), r, [384, 384])
        np.testing.assert_allclose(affine_matrix(center, scale[0] * s, r, (384, 384)), ref, atol=2e-4)


def test_targets_match_official(official):
    from human_parsing.data.targets import gaussian_heatmaps, semantic_edges

    rng = np.random.RandomState(0)
    label = rng.randint(0, 4, (40, 30)).astype(np.uint8)
    label[:5] = 255
    np.testing.assert_array_equal(semantic_edges(label, 3), official.targets.generate_edge(label))
    joints = rng.uniform(-40, 120, (16, 2))
    vis = rng.rand(16) > 0.3
    ref = official.targets.generate_pose(joints.copy(), vis, None, 24, 24, 4, 7)
    kps = np.concatenate([joints, vis[:, None].astype(float)], axis=1)
    np.testing.assert_allclose(gaussian_heatmaps(kps, (24, 24), 4, 7), ref, atol=1e-6)
