"""SemanticParsingWithTTA: swap-flip math checked by hand on fake models with known outputs,
scales, combine modes, and the build_tta_model fallback for SemanticParsingModel."""
import numpy as np
import pytest
import torch
from detectron2.modeling import build_model
from torch import nn

from human_parsing.data.label_spaces import get_label_space
from human_parsing.engine import build_tta_model
from human_parsing.modeling import SemanticParsingWithTTA
from tests.modeling.tiny_semantic import tiny_cfg

CIHP = get_label_space("cihp")  # 20 classes; 14<->15, 16<->17, 18<->19 swap


class XRampModel(nn.Module):
    """out[k, y, x] = image[0, y, x] * (k + 1) + 10 * k * x, at the image's own size."""

    def forward(self, inputs):
        outs = []
        for x in inputs:
            img = x["image"].float()
            w = img.shape[-1]
            k = torch.arange(20, dtype=torch.float32).view(-1, 1, 1)
            xs = torch.arange(w, dtype=torch.float32).view(1, 1, -1)
            outs.append({"sem_seg": img[0][None] * (k + 1) + 10 * k * xs})
        return outs


class ConstantModel(nn.Module):
    """out[k] = mean(image) * (k + 1) everywhere, at (height, width); records input sizes."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def forward(self, inputs):
        outs = []
        for x in inputs:
            self.sizes.append(tuple(x["image"].shape[-2:]))
            k = torch.arange(20, dtype=torch.float32).view(-1, 1, 1) + 1
            outs.append({"sem_seg": (x["image"].float().mean() * k).expand(20, x["height"], x["width"]).clone()})
        return outs


def test_flip_swaps_channels_and_mirrors_back_by_hand():
    img = torch.tensor([[[1, 2, 3], [4, 5, 6]]] * 3, dtype=torch.uint8)  # (3, 2, 3)
    tta = SemanticParsingWithTTA(XRampModel(), scales=[1.0], flip=True, combine="sum", domains=["cihp"])
    out = tta([{"image": img, "height": 2, "width": 3}])[0]["sem_seg"].numpy()
    v = img[0].numpy().astype(float)
    perm = CIHP.flip_perm
    assert perm[14] == 15 and perm[19] == 18 and perm[3] == 3
    expected = np.zeros((20, 2, 3))
    for k in range(20):
        p = perm[k]
        for y in range(2):
            for x in range(3):
                plain = v[y, x] * (k + 1) + 10 * k * x
                # mirrored run at column W-1-x sees v[y, x]; its x-ramp is at W-1-x; channel p
                flipped = v[y, x] * (p + 1) + 10 * p * (2 - x)
                expected[k, y, x] = plain + flipped
    np.testing.assert_allclose(out, expected)


def test_scales_and_combine_modes():
    img = torch.full((3, 8, 6), 4, dtype=torch.uint8)
    perm = torch.as_tensor(CIHP.flip_perm)
    k = torch.arange(20, dtype=torch.float32) + 1
    per_run_noflip, per_run_flip = 4 * k, 4 * k[perm]  # constant model: flip only swaps channels
    for combine, expected in [
        ("sum", 2 * (per_run_noflip + per_run_flip)),
        ("mean", (per_run_noflip + per_run_flip) / 2),
        ("prob_mean", (per_run_noflip.softmax(0) + per_run_flip.softmax(0)) / 2),
    ]:
        model = ConstantModel()
        tta = SemanticParsingWithTTA(model, scales=[0.5, 1.5], flip=True, combine=combine, domains=["cihp"])
        out = tta([{"image": img, "height": 5, "width": 7}])[0]["sem_seg"]
        assert out.shape == (20, 5, 7)
        torch.testing.assert_close(out[:, 2, 3], expected)
        assert model.sizes == [(4, 3), (4, 3), (12, 9), (12, 9)]
    with pytest.raises(ValueError, match="COMBINE='max'"):
        SemanticParsingWithTTA(ConstantModel(), combine="max")


def test_build_tta_model_wraps_semantic_models_with_their_domain():
    cfg = tiny_cfg(**{"TEST.SEMANTIC_AUG.SCALES": "(1.0,)", "TEST.SEMANTIC_AUG.FLIP": "False"})
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    tta = build_tta_model(cfg, model)
    assert isinstance(tta, SemanticParsingWithTTA)
    img = torch.randint(0, 256, (3, 6, 8), dtype=torch.uint8)
    x = {"image": img, "domain": "atr", "height": 12, "width": 16}
    with torch.no_grad():
        torch.testing.assert_close(tta([x])[0]["sem_seg"], model([x])[0]["sem_seg"])
        tta.flip = True  # ATR's swap is used for an ATR input (18 channels)
        both = tta([x])[0]["sem_seg"]
        mirrored = model([dict(x, image=img.flip(-1))])[0]["sem_seg"]
        atr = get_label_space("atr")
        expected = model([x])[0]["sem_seg"] + mirrored[torch.as_tensor(atr.flip_perm)].flip(-1)
        torch.testing.assert_close(both, expected)
