"""Official PGN TensorFlow checkpoint -> converter -> our model, against the official TF graph.

Needs a checkout of Engineering-Course/CIHP_PGN in ``PGN_REPO`` and a Python with ``tensorflow``
and ``tf_slim`` in ``PGN_TF_PYTHON`` (a separate environment: TensorFlow is never a dependency of
the project); skipped otherwise::

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu tf_slim
    PGN_REPO=/path/to/CIHP_PGN PGN_TF_PYTHON=/tmp/tfvenv/bin/python \
        python -m pytest tests/equivalence/test_official_weights_pgn.py -q -s -p no:cacheprovider

``pgn_tf_oracle.py`` (run by that Python) builds the official graph, saves random weights with
``tf.train.Saver`` and the seven logit maps for a 65×73 input; the converter reads the checkpoint
without TensorFlow (checking the names against ``model_pgn.py``); our model computes the same maps.
At 65×73 the stem's SAME padding equals PyTorch's and every pyramid-pooling path pools to 1×1
(its bilinear upsampling is then a constant under any sampling rule), so the whole network is
compared; larger inputs also need TF's resize rule (issue 17 item 3). About 3 min and 2 GB per
process on 2 cores.
"""
import os
import subprocess

import numpy as np
import pytest
import torch

from human_parsing.official_weights import convert_checkpoint, get_converter
from tests.official_weights.common import get_config, load_warnings, load_with_log

REPO = os.environ.get("PGN_REPO", "")
TF_PYTHON = os.environ.get("PGN_TF_PYTHON", "")
pytestmark = pytest.mark.skipif(
    not (REPO and os.path.isfile(os.path.join(REPO, "utils", "model_pgn.py")) and TF_PYTHON),
    reason="set PGN_REPO (Engineering-Course/CIHP_PGN) and PGN_TF_PYTHON (a Python with tensorflow, tf_slim)",
)
CONFIG = "configs/CIHP/pgn_R_101_official_weights.yaml"
ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pgn_tf_oracle.py")
H, W = 65, 73


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pgn_official")
    env = dict(os.environ, OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    run = subprocess.run([TF_PYTHON, ORACLE, REPO, str(tmp), str(H), str(W)], env=env, capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "trainable parameters: 164839673" in run.stdout
    cfg = get_config(CONFIG)
    out = str(tmp / "converted.pth")
    convert_checkpoint(get_converter("pgn"), str(tmp), out, cfg, check_source=REPO)
    model, log = load_with_log(cfg, out)
    yield model, log, dict(np.load(str(tmp / f"outputs_{H}x{W}.npz")))


def test_loads_without_warnings(converted):
    _, log, _ = converted
    assert "Loading from" in log
    assert load_warnings(log) == []


@torch.no_grad()
def test_outputs_equal_official_graph(converted):
    model, _, ref = converted
    x = torch.from_numpy(ref["input"]).permute(0, 3, 1, 2).contiguous()  # BGR minus the means
    # the model's own normalisation gives the official input from the BGR image
    img = x[0] * model.pixel_std + model.pixel_mean
    assert torch.allclose((img - model.pixel_mean) / model.pixel_std, x[0], atol=1e-4)
    out = model.head(model.backbone(x))
    for name in ("parsing", "parsing_refine", "edge", "edge_refine", "edge_side_res5", "edge_side_res4",
                 "edge_side_res3"):
        official = torch.from_numpy(ref[name]).permute(0, 3, 1, 2)
        ours = out[name]
        assert ours.shape == official.shape == (1, official.shape[1], 9, 10), name
        d = (ours - official).abs().max().item()
        scale = official.abs().max().item()
        print(f"PGN {name}: max |Δ| {d:.2e} (values up to {scale:.2f})")
        assert scale > 1e-2, f"{name}: degenerate comparison"
        assert d <= 1e-4 * max(1.0, scale)
    labels, labels_off = out["parsing_refine"].argmax(1), torch.from_numpy(ref["parsing_refine"]).argmax(-1)
    assert torch.equal(labels, labels_off)
