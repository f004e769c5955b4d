"""Official CorrPM checkpoint -> ``tools/convert_official_weights.py corrpm`` -> our model, against
the official model (``CORRPM_REPO``; skipped without it)::

    CORRPM_REPO=/path/to/CorrPM python -m pytest tests/equivalence/test_official_weights_corrpm.py -q -s -p no:cacheprovider

The official ``CorrPM_Model`` (LIP: 20 classes, 16 joints; InPlace-ABN stubbed by
``corrpm.official_source``) gets random weights and is saved as the official ``train.py`` saves it
(the DataParallel state dict, ``module.`` names, unused parameters included); the converter's
command line converts it for ``corrpm_R_101_official_weights.yaml`` (``--check``: against the
official model built from the checkout); ours loads it with no checkpointer warning. Compared on the same input: seg1, seg2, edge and pose maps (max |Δ| printed),
and seg2's argmax.
"""
import numpy as np
import torch

from tests.cli_helpers import run_tool
from tests.equivalence.test_corrpm_official import REPO, _randomize, official, pytestmark  # noqa: F401 (fixture, skip)
from tests.official_weights.common import get_config, load_warnings, load_with_log

CONFIG = "projects/CorrPM/configs/LIP/corrpm_R_101_official_weights.yaml"


def test_converted_official_checkpoint_gives_official_outputs(official, tmp_path):
    torch.manual_seed(0)
    ref = official.model.CorrPM_Model(num_classes=20, npoints=16).eval()
    _randomize(ref)
    from corrpm.official_weights import official_parameter_names  # the names the CI tests generate

    assert sorted(official_parameter_names(101)) == sorted(k for k in ref.state_dict() if not k.endswith("num_batches_tracked"))
    src = tmp_path / "LIP_best.pth"
    torch.save({"module." + k: v for k, v in ref.state_dict().items()}, src)
    out = tmp_path / "corrpm_lip.pth"
    r = run_tool(["convert_official_weights.py", "corrpm", str(src), str(out), "--check", REPO])
    assert r.returncode == 0, r.stderr[-3000:]
    cfg = get_config(CONFIG)
    ours, log = load_with_log(cfg, str(out))
    assert "Loading from" in log and load_warnings(log) == []
    x = torch.randn(1, 3, 96, 80)
    with torch.no_grad():
        (seg1, seg2), (edge,), (pose,) = ref(x)
        got = ours.forward_features(x, "lip")
    for name, a in (("seg1", seg1), ("seg2", seg2), ("edge", edge), ("pose", pose)):
        b = got[name]
        assert a.shape == b.shape, name
        d = (a - b).abs().max().item()
        print(f"corrpm {name} {tuple(a.shape)}: max |Δ| {d:.2e} (max |official| {a.abs().max().item():.2e})")
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4, msg=name)
    lab_a, lab_b = seg2.argmax(1), got["seg2"].argmax(1)
    top2 = seg2.topk(2, dim=1).values
    ties = (top2[:, 0] - top2[:, 1]) < 1e-4
    print(f"corrpm seg2 argmax: {int(((lab_a != lab_b) & ~ties).sum())} differing pixels of {lab_a.numel()} "
          f"(near-ties {int(ties.sum())})")
    assert bool(((lab_a == lab_b) | ties).all())
    assert np.isfinite(seg2.numpy()).all()
