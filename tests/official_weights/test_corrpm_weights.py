"""The CorrPM converter on synthetic official checkpoints (official names from the table, shapes
from our model through it, random values; the real official model is compared in
tests/equivalence/test_official_weights_corrpm.py), through the command line, and the
checkpointer's log when our model loads the result."""
import re

import numpy as np
import pytest
import torch

from human_parsing.official_weights import ConversionError, convert_state, get_converter, model_shapes
from tests.cli_helpers import run_tool
from tests.official_weights.common import get_config, load_warnings, load_with_log, synthetic_official

CONFIG = "projects/CorrPM/configs/LIP/corrpm_R_101_official_weights.yaml"
# the smallest model with the official architecture: ResNet-50 instead of -101 (same names per block)
SMALL = ["MODEL.RESNETS.DEPTH", "50"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    cfg = get_config(CONFIG, SMALL)
    conv = get_converter("corrpm")
    table = conv.table(cfg, {})
    official = synthetic_official(table, model_shapes(cfg))
    tmp = tmp_path_factory.mktemp("corrpm_weights")
    src = tmp / "LIP_best.pth"
    # as the official train.py saves it (DataParallel): {"module." + name: tensor}, with the unused
    # parameters and InPlace-ABN-less BN counters of the pose deconvs
    state = {"module." + k: torch.from_numpy(v) for k, v in official.items()}
    state["module.layer6.conv1.0.weight"] = torch.zeros(256, 512, 1, 1)
    state["module.edge_layer.conv4.bias"] = torch.zeros(2)
    state["module.pose_layer.deconv_layers.1.num_batches_tracked"] = torch.tensor(5)
    torch.save(state, src)
    return cfg, table, official, tmp, src


def test_table_is_the_package_mapping_over_every_official_name(setup):
    from corrpm.checkpoint import convert_official_state_dict
    from corrpm.official_weights import official_parameter_names

    cfg, table, official, _, _ = setup
    shapes = model_shapes(cfg)
    assert {e.ours for e in table.entries} | {f.ours for f in table.fills} == set(shapes)
    assert all(f.ours.endswith("num_batches_tracked") for f in table.fills)
    names = official_parameter_names(50)
    # stem 3 × (conv + 4 BN), 16 blocks × 15, 4 shortcuts × 5; head: ASPP 30, edge 20, pose 12,
    # decoder 17, seg2 2, fusion 5, HNL 12; of which 12 never used (layer6.conv1/conv2, edge conv4)
    assert len(names) == 15 + 16 * 15 + 4 * 5 + (30 + 20 + 12 + 17 + 2 + 5 + 12)
    renamed = convert_official_state_dict(dict.fromkeys(names, 0))
    assert sorted(renamed) == sorted(e.ours for e in table.entries)
    assert len(table.entries) == len(names) - 12


def test_cli_converts_lip_model_and_it_loads_without_warnings(setup):
    cfg, _, official, tmp, src = setup
    out = tmp / "converted.pth"
    r = run_tool(["convert_official_weights.py", "corrpm", str(src), str(out), "--opts", *SMALL])
    assert r.returncode == 0, r.stderr
    model, log = load_with_log(cfg, str(out))
    assert "Loading from" in log and load_warnings(log) == []
    sd = model.state_dict()
    for off, ours in (("layer3.5.bn2.running_var", "backbone.res4.5.conv2.norm.running_var"),
                      ("layer5.conv4.0.weight", "head.parsing_encoder.aspp.atrous.1.weight"),
                      ("edge_layer.conv2.1.weight", "head.edge_encoder.laterals.1.norm.weight"),
                      ("pose_layer.deconv_layers.3.weight", "head.pose_encoder.deconvs.3.weight"),
                      ("nl_SEP.W.0.bias", "head.nonlocal_block.out.bias"), ("out_layer.weight", "head.seg2.weight")):
        assert torch.equal(sd[ours], torch.from_numpy(official[off])), off


def test_imagenet_backbone_converts_to_a_backbone_checkpoint(setup, tmp_path):
    """CE2P's deep-stem ImageNet ResNet: the backbone (fc ignored), loaded by the faithful config's
    MODEL.WEIGHTS; only the heads, which start from scratch, are missing."""
    cfg, _, official, _, _ = setup
    imagenet = {k: torch.from_numpy(v) for k, v in official.items() if re.match(r"(conv|bn)[123]\.|layer[1-4]\.", k)}
    imagenet["fc.weight"], imagenet["fc.bias"] = torch.zeros(1000, 2048), torch.zeros(1000)
    src, out = tmp_path / "resnet50-imagenet.pth", tmp_path / "deepstem.pkl"
    torch.save(imagenet, src)
    r = run_tool(["convert_official_weights.py", "corrpm", str(src), str(out), "--opts", *SMALL])
    assert r.returncode == 0, r.stderr
    model, log = load_with_log(cfg, str(out))
    assert "not used by the model" not in log and "incompatible shape" not in log
    listed = log.split("not found in the checkpoint:")[1].strip().split("\n\n")[0].splitlines()
    assert "head.seg2.{bias, weight}" in listed and [ln for ln in listed if ln.startswith("backbone")] == []
    assert torch.equal(model.state_dict()["backbone.stem.conv2.weight"], imagenet["conv2.weight"])


def test_bad_checkpoint_names_every_problem(setup, tmp_path):
    cfg, _, official, _, _ = setup
    bad = dict(official)
    del bad["nl_SEP.theta.bias"]
    bad["layer5.extra.weight"] = np.zeros(3, np.float32)
    bad["out_layer.bias"] = np.zeros(18, np.float32)  # ATR's 18 classes against the LIP config
    with pytest.raises(ConversionError) as e:
        convert_state(get_converter("corrpm"), bad, cfg)
    msg = str(e.value)
    assert "3 problem(s)" in msg
    assert "missing official tensor nl_SEP.theta.bias (256)" in msg
    assert "unmatched official tensor layer5.extra.weight (3)" in msg
    assert "mis-shaped official tensor out_layer.bias: (18), expected (20)" in msg


def test_apply_net_runs_the_converted_checkpoint(setup):
    import cv2

    _, _, _, tmp, src = setup
    out = tmp / "converted.pth"
    if not out.exists():
        r = run_tool(["convert_official_weights.py", "corrpm", str(src), str(out), "--opts", *SMALL])
        assert r.returncode == 0, r.stderr
    img = tmp / "person.png"
    cv2.imwrite(str(img), np.random.default_rng(0).integers(0, 255, (70, 50, 3), dtype=np.uint8))
    r = run_tool(["apply_net.py", "dump", CONFIG, str(out), str(img), "--output", str(tmp / "dump"),
                  "--opts", "MODEL.DEVICE", "cpu", "INPUT.CROP.SIZE", "[64, 64]", *SMALL])
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp / "dump" / "person_parsing.png").exists()
