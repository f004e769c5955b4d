"""PGN test-time augmentation: scale averaging, flip with channel swap, and equivalence with plain
inference at one scale."""

import torch
from detectron2.modeling import build_model
from torch import nn

import pgn.tta as tta_module
from pgn.tta import PGNWithTTA
from tests.pgn.common import tiny_pgn_cfg, two_people_input


class _FakePGN(nn.Module):
    """``predict`` returns maps that reveal what TTA did: part channel 1 is hot (value 4) on the
    input's left column; channel 3 holds the input's size ratio to 8 px (the scale); the edge
    logit is the column index."""

    partition_mode = "clean"
    partition_edge_thresh = 0.2

    def __init__(self):
        super().__init__()
        self.register_buffer("dummy", torch.zeros(1))

    @property
    def device(self):
        return self.dummy.device

    def predict(self, images):
        parsing, edges = [], []
        for x in images:
            h, w = x.shape[-2:]
            p = torch.zeros(4, h, w)
            p[1, :, 0] = 4.0
            p[3] = w / 8.0
            parsing.append(p)
            edges.append(torch.arange(w, dtype=torch.float32).expand(h, w).clone())
        return parsing, edges


def test_flip_swaps_channels_and_scales_average(monkeypatch):
    seen = {}

    def capture(parsing, edge, output_size, partition_mode, edge_thresh):
        seen.update(parsing=parsing, edge=edge, mode=partition_mode, size=output_size)
        return {}

    monkeypatch.setattr(tta_module, "postprocess_at_output_size", capture)
    tta = PGNWithTTA(
        model=_FakePGN(), parsing_scales=(1.0, 2.0), edge_scales=(1.0,), flip=True, flip_perm=[0, 2, 1, 3]
    )
    tta([{"image": torch.zeros(3, 8, 8, dtype=torch.uint8), "height": 8, "width": 8}])
    p, e = seen["parsing"], seen["edge"]
    assert p.shape == (4, 8, 8) and seen["mode"] == "clean" and seen["size"] == (8, 8)
    # channel 3: w/8 is 1 at scale 1 and 2 at scale 2 (resized back, constant) -> mean 1.5
    assert torch.allclose(p[3], torch.full((8, 8), 1.5))
    # direct copy: channel 1 hot on column 0; mirrored copy: hot on its column 0 = original
    # column 7, moved to channel 2 by the swap; each averaged with 0 by the flip merge: 4 / 2 = 2
    # at scale 1. At scale 2, 16 -> 8 px bilinear samples source 2j + 0.5: column 0 gets
    # (4 + 0) / 2 = 2, then / 2 by the flip merge = 1. Mean over the two scales: 1.5.
    assert torch.allclose(p[1, :, 0], torch.full((8,), 1.5))
    assert torch.allclose(p[2, :, 7], torch.full((8,), 1.5))
    assert p[1, :, 1:7].abs().max() == 0 and p[2, :, :7].abs().max() == 0
    # edges: column index x and, from the mirror, 7 - x -> 3.5 everywhere (no channel swap)
    assert torch.allclose(e, torch.full((8, 8), 3.5))


def test_single_scale_no_flip_equals_plain_inference():
    torch.manual_seed(0)
    model = build_model(tiny_pgn_cfg(4)).eval()
    x = two_people_input(32, 4)
    with torch.no_grad():
        plain = model([x])[0]
        aug = PGNWithTTA(model=model, parsing_scales=(1.0,), edge_scales=(1.0,), flip=False)([x])[0]
    assert torch.equal(plain["parsing"], aug["parsing"])
    assert torch.allclose(plain["edges"], aug["edges"])
    assert len(plain["instances"]) == len(aug["instances"])


def test_tta_from_cfg_uses_label_space_flip():
    cfg = tiny_pgn_cfg(20)
    cfg.INPUT.LABEL_SPACE = "cihp"
    model = build_model(cfg)
    tta = PGNWithTTA(cfg, model)
    assert tta.parsing_scales == (0.5, 0.75, 1.0, 1.25, 1.5, 1.75) and tta.edge_scales == (
        1.0,
        1.25,
        1.5,
        1.75,
    )
    assert tta.flip_perm[14:20].tolist() == [15, 14, 17, 16, 19, 18]
    from human_parsing.engine import build_tta_model

    assert isinstance(build_tta_model(cfg, model), PGNWithTTA)
