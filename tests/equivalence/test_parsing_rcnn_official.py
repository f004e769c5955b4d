"""Parsing R-CNN against the official code (soeaver/Parsing-R-CNN), built on CPU.

Run with the official source tree in ``PARSING_RCNN_REPO`` (skipped without it)::

    PARSING_RCNN_REPO=/path/to/Parsing-R-CNN python -m pytest tests/equivalence -q -p no:cacheprovider

The official modules are imported from that tree, never copied, through
``parsing_rcnn.official_source.official_modules`` (stand-ins for its compiled CUDA extension,
``apex.amp`` and ``six`` for the duration of the module), and the head's ROIAlign pooler is
replaced by the identity (the pooled features are the input of both implementations). The same random weights are loaded into both.
"""
import os
import re
import types

import numpy as np
import pytest
import torch

from detectron2.layers import ShapeSpec
from parsing_rcnn.inference import paste_parsing
from parsing_rcnn.official_source import official_modules
from parsing_rcnn.parsing_head import ParsingGCEHead

REPO = os.environ.get("PARSING_RCNN_REPO", "")
pytestmark = pytest.mark.skipif(
    not (REPO and os.path.isdir(os.path.join(REPO, "rcnn"))),
    reason="set PARSING_RCNN_REPO to a checkout of soeaver/Parsing-R-CNN",
)

OFFICIAL_PARSING_BRANCH_PARAMS = 13_212_436  # GCE head + output module, K = 20 (methods.md §2.4)


class _PooledInput(torch.nn.Module):
    """Replaces the official head's CUDA ROIAlign pooler: the input is the pooled features."""

    def forward(self, x, proposals):
        return x


@pytest.fixture(scope="module")
def official():
    """The official ``cfg``, ``roi_gce_head``, ``Parsing_output``, ``parsing_results``,
    ``expand_boxes`` and ``BoxList`` (imported through ``official_modules``, which restores
    ``sys.modules`` and ``sys.path`` afterwards)."""
    with official_modules(REPO):
        from rcnn.core.config import cfg
        from rcnn.modeling.parsing_rcnn.heads.gce_heads import roi_gce_head
        from rcnn.modeling.parsing_rcnn.inference import expand_boxes, parsing_results
        from rcnn.modeling.parsing_rcnn.outputs import Parsing_output
        from utils.data.structures.bounding_box import BoxList

        yield types.SimpleNamespace(cfg=cfg, roi_gce_head=roi_gce_head, Parsing_output=Parsing_output,
                                    parsing_results=parsing_results, expand_boxes=expand_boxes,
                                    BoxList=BoxList)


# official name → ours, for the GCE head (prefix "head.") and the output module ("output.")
_NAME_MAP = [
    (r"^head\.conv_before_asppv3\.(\d+)\.0\.", r"before.\1."),
    (r"^head\.im_pool\.1\.0\.", "context.pool_conv."),
    (r"^head\.asppv3\.0\.0\.", "context.conv1x1."),
    (r"^head\.feat\.0\.0\.", "context.project."),
    (r"^head\.feat\.1\.gn\.", "nonlocal_block.out.norm."),
    (r"^head\.feat\.1\.", "nonlocal_block."),
    (r"^head\.conv_after_asppv3\.(\d+)\.0\.", r"after.\1."),
    (r"^output\.parsing_score_lowres\.", "predictor.deconv."),
]


def _to_ours(name: str) -> str:
    m = re.match(r"^head\.asppv3\.(\d+)\.0\.(.*)$", name)
    if m and int(m.group(1)) > 0:  # dilated branches 1..3 → atrous 0..2
        return f"context.atrous.{int(m.group(1)) - 1}.{m.group(2)}"
    for pattern, repl in _NAME_MAP:
        if re.match(pattern, name):
            return re.sub(pattern, repl, name)
    raise KeyError(f"no mapping for official parameter {name}")


def _build_pair(official, num_parsing=20, before=0, after=4, use_nl=True, seed=0):
    """(official head, official output, our head) with the same random weights."""
    c = official.cfg
    c.PRCNN.ROI_XFORM_RESOLUTION = (32, 32)
    c.PRCNN.RESOLUTION = (128, 128)
    c.PRCNN.NUM_PARSING = num_parsing
    c.PRCNN.GCE_HEAD.NUM_CONVS_BEFORE_ASPPV3 = before
    c.PRCNN.GCE_HEAD.NUM_CONVS_AFTER_ASPPV3 = after
    c.PRCNN.GCE_HEAD.USE_NL = use_nl
    head = official.roi_gce_head([256], [0.25])
    head.pooler = _PooledInput()  # the CUDA ROIAlign: inputs are already pooled
    output = official.Parsing_output(head.dim_out)
    g = torch.Generator().manual_seed(seed)
    state = {}
    for prefix, module in (("head.", head), ("output.", output)):
        for k, v in module.state_dict().items():
            if k.endswith("weight") and v.ndim == 4:  # convs: He-like scale keeps activations O(1)
                fan_in = v.shape[1] * v.shape[2] * v.shape[3]
                w = torch.randn(v.shape, generator=g) * (2.0 / fan_in) ** 0.5
            elif k.endswith("weight"):  # GroupNorm scale
                w = 1 + 0.1 * torch.randn(v.shape, generator=g)
            else:
                w = 0.05 * torch.randn(v.shape, generator=g)
            module.state_dict()[k].copy_(w)
            state[_to_ours(prefix + k)] = w
    ours = ParsingGCEHead(
        ShapeSpec(channels=256, height=32, width=32), num_parsing=num_parsing, pooled_resolution=32,
        resolution=128, gce=dict(num_convs_before=before, num_convs_after=after, use_nl=use_nl),
    )
    ours.load_state_dict(state, strict=True)
    return head.eval(), output.eval(), ours.eval()


def test_parameter_counts(official):
    for k in (20, 59):
        head, output, ours = _build_pair(official, num_parsing=k)
        n_off = sum(p.numel() for m in (head, output) for p in m.parameters())
        assert n_off == sum(p.numel() for p in ours.parameters())
        if k == 20:
            assert n_off == OFFICIAL_PARSING_BRANCH_PARAMS


@pytest.mark.parametrize("before,after,use_nl", [(0, 4, True), (4, 4, True), (0, 4, False), (4, 1, True)],
                         ids=["final", "4conv_gce_4conv", "aspp_only", "4conv_gce_1conv"])
def test_gce_head_and_output_equal(official, before, after, use_nl):
    head, output, ours = _build_pair(official, before=before, after=after, use_nl=use_nl, seed=before + after)
    x = torch.randn(3, 256, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        feats_off, roi = head(x, None)
        logits_off = output(feats_off)
        feats = ours.gce_features(x)
        logits = ours.layers(x)
    assert torch.equal(roi, x)
    assert feats.shape == feats_off.shape == (3, 512, 32, 32)
    assert logits.shape == logits_off.shape == (3, 20, 128, 128)
    diff_f = (feats - feats_off).abs().max().item()
    diff_l = (logits - logits_off).abs().max().item()
    scale = logits_off.abs().max().item()
    print(f"GCE {before}/{after}/nl={use_nl}: max |Δ| features {diff_f:.2e}, logits {diff_l:.2e} "
          f"(logits up to {scale:.2f})")
    assert scale > 0.1  # not a degenerate all-zero comparison
    assert diff_f <= 1e-5 * max(1.0, feats_off.abs().max().item())
    assert diff_l <= 1e-5 * max(1.0, scale)


def test_paste_back_equal_up_to_float_ties(official):
    """Random boxes (inside, crossing every border, tiny, larger than the image) and random
    probabilities: the official cv2 paste and ours give the same label maps, except at pixels
    where the two best interpolated probabilities tie to float precision (cv2's and torch's
    bilinear sums round differently there)."""
    import cv2

    rng = np.random.default_rng(0)
    H, W, K, M = 300, 220, 20, 128
    x1 = rng.uniform(-60, W, 40)
    y1 = rng.uniform(-60, H, 40)
    boxes = np.stack([x1, y1, x1 + rng.uniform(0.5, 1.3 * W, 40), y1 + rng.uniform(0.5, 1.3 * H, 40)], 1)
    logits = torch.from_numpy(rng.normal(0, 3, (40, K, M, M)).astype(np.float32))
    probs = torch.softmax(logits, dim=1)
    official.cfg.PRCNN.SEMSEG_FUSE_WEIGHT = 0.2  # unused without a semseg map
    ref = official.parsing_results(probs.numpy(), official.BoxList(torch.from_numpy(boxes).float(), (W, H)))
    ref = np.stack(ref)
    ours = paste_parsing(probs, torch.from_numpy(boxes).float(), (H, W)).to_full()
    mismatches = np.argwhere(ours != ref)
    # at each mismatch: the gap between the two best official interpolated probabilities (its
    # expand_boxes + cv2 resize) against how far cv2's and torch's bilinear values differ there
    exp = official.expand_boxes(boxes.astype(np.float32), M, M).astype(np.int32)
    gaps, tolerances = [], []
    for i, y, x in mismatches:
        padded = torch.nn.functional.pad(probs[i], (1, 1, 1, 1))
        bx0, by0, bx1, by1 = exp[i]
        size = (max(by1 - by0 + 1, 1), max(bx1 - bx0 + 1, 1))
        cv = cv2.resize(padded.numpy().transpose(1, 2, 0), size[::-1], interpolation=cv2.INTER_LINEAR)
        th = torch.nn.functional.interpolate(padded[None], size=size, mode="bilinear", align_corners=False)
        top = np.sort(cv[y - by0, x - bx0])[::-1]
        gaps.append(float(top[0] - top[1]))
        tolerances.append(float(np.abs(th[0].numpy().transpose(1, 2, 0) - cv).max()))
    print(f"paste-back: {len(mismatches)} of {ref.size} pixels differ over {len(boxes)} boxes; "
          f"top-2 gaps there {gaps}, cv2-vs-torch bilinear |Δ| in those boxes {tolerances}")
    assert len(mismatches) <= 1e-5 * ref.size
    assert all(g <= 2 * t for g, t in zip(gaps, tolerances)), (gaps, tolerances)
