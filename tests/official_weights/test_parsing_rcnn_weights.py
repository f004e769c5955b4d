"""The Parsing R-CNN converter on synthetic official checkpoints (official names and shapes from the
table, random values; the real official model is compared in tests/equivalence), through the
command line, and the checkpointer's log when our model loads the result."""
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from human_parsing.official_weights import get_converter, model_shapes
from tests.cli_helpers import run_tool
from tests.official_weights.common import get_config, load_warnings, load_with_log, synthetic_official

CONFIG = "configs/CIHP/parsing_rcnn_R_50_FPN_3x_official_weights.yaml"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    cfg = get_config(CONFIG)
    conv = get_converter("parsing_rcnn")
    shapes = model_shapes(cfg)
    table = conv.table(cfg, {})  # released form: folded norms (weight, bias only)
    official = synthetic_official(table, shapes)
    tmp = tmp_path_factory.mktemp("prcnn_weights")
    src = tmp / "official.pth"
    # as a DistributedDataParallel run saves it: {"model": {"module." + name: tensor}}, plus anchors
    state = {"module." + k: torch.from_numpy(v) for k, v in official.items()}
    state["module.RPN.anchor_generator.cell_anchors.0"] = torch.zeros(3, 4)
    torch.save({"model": state}, src)
    return cfg, table, official, tmp, src


def test_table_covers_the_model(setup):
    cfg, table, official, _, _ = setup
    shapes = model_shapes(cfg)
    filled = {f.ours for f in table.fills}
    assert {e.ours for e in table.entries} | filled == set(shapes)
    assert len(table.entries) == 226 - 5  # the official model's 226 tensors less the 5 anchor buffers
    assert len(filled) == 2 * 53  # running mean and variance of the 53 norms of ResNet-50


def test_cli_converts_and_model_loads_without_warnings(setup):
    cfg, _, official, tmp, src = setup
    out = tmp / "converted.pth"
    r = run_tool(["convert_official_weights.py", "parsing_rcnn", str(src), str(out)])
    assert r.returncode == 0, r.stderr
    model, log = load_with_log(cfg, str(out))
    assert "Loading from" in log and load_warnings(log) == []
    sd = model.state_dict()
    assert torch.equal(sd["roi_heads.box_predictor.cls_score.weight"],
                       torch.from_numpy(official["Fast_RCNN.Output.cls_score.weight"][[1, 0]]))
    assert torch.equal(sd["roi_heads.box_predictor.bbox_pred.bias"],
                       torch.from_numpy(official["Fast_RCNN.Output.bbox_pred.bias"][4:]))
    assert torch.equal(sd["backbone.fpn_lateral2.weight"], torch.from_numpy(official["Conv_Body_FPN.fpn_in.2.weight"]))
    assert torch.equal(sd["roi_heads.parsing_head.context.atrous.2.weight"],
                       torch.from_numpy(official["Parsing_RCNN.Head.asppv3.3.0.weight"]))
    # the stem computes what the official test computes: BN(weight, bias, mean 0, var 1, eps 1e-5)
    x = torch.randn(1, 3, 32, 32)
    w, b = (torch.from_numpy(official[f"Conv_Body.bn1.{p}"]) for p in ("weight", "bias"))
    y = F.conv2d(x, torch.from_numpy(official["Conv_Body.conv1.weight"]), stride=2, padding=3)
    y = F.max_pool2d(F.relu(y * (w / (1 + 1e-5) ** 0.5)[:, None, None] + b[:, None, None]), 3, 2, 1)
    with torch.no_grad():
        assert torch.allclose(model.backbone.bottom_up.stem(x), y, atol=1e-5)


def test_unfolded_batchnorm_keeps_statistics(setup, tmp_path):
    cfg, _, official, _, _ = setup
    conv = get_converter("parsing_rcnn")
    stats = dict(official)
    stats["Conv_Body.bn1.running_mean"] = np.full(64, 0.5, np.float32)
    stats["Conv_Body.bn1.running_var"] = np.full(64, 4.0, np.float32)
    stats["Conv_Body.bn1.num_batches_tracked"] = np.array(7)
    from human_parsing.official_weights import convert_state

    with pytest.raises(ValueError, match="unmatched|missing"):  # other norms still folded: mixed forms
        convert_state(conv, {k: v for k, v in stats.items() if k != "Conv_Body.bn1.running_var"}, cfg)
    ours = convert_state(conv, stats, cfg)
    assert np.all(ours["backbone.bottom_up.stem.conv1.norm.running_var"] == 4.0)
    assert np.all(ours["backbone.bottom_up.res2.0.conv1.norm.running_var"] == 1.0)


def test_cli_refuses_bad_checkpoints_and_overwrites(setup, tmp_path):
    cfg, _, official, _, _ = setup
    bad = dict(official)
    del bad["Parsing_RCNN.Head.feat.1.gn.weight"]
    bad["Parsing_RCNN.Head.extra.weight"] = np.zeros(3, np.float32)
    bad["Conv_Body_FPN.p5_in.bias"] = np.zeros(255, np.float32)
    src = tmp_path / "bad.pth"
    torch.save({k: torch.from_numpy(v) for k, v in bad.items()}, src)
    out = tmp_path / "out.pth"
    r = run_tool(["convert_official_weights.py", "parsing_rcnn", str(src), str(out)])
    assert r.returncode == 1 and not out.exists()
    assert "3 problem(s)" in r.stderr
    assert "missing official tensor Parsing_RCNN.Head.feat.1.gn.weight" in r.stderr
    assert "unmatched official tensor Parsing_RCNN.Head.extra.weight (3)" in r.stderr
    assert "mis-shaped official tensor Conv_Body_FPN.p5_in.bias: (255), expected (256)" in r.stderr
    out.write_bytes(b"keep me")
    r = run_tool(["convert_official_weights.py", "parsing_rcnn", str(src), str(out)])
    assert r.returncode == 1 and "pass --overwrite" in r.stderr and out.read_bytes() == b"keep me"
    r = run_tool(["convert_official_weights.py", "parsing_rcnn_uv", str(src), str(tmp_path / "c.pth")])
    assert r.returncode == 1 and "no converter for 'parsing_rcnn_uv' yet" in r.stderr


def test_mhp_checkpoint_needs_the_mhp_config(setup, tmp_path):
    """A K = 59 checkpoint against the CIHP config: the predictor is named as mis-shaped."""
    from human_parsing.official_weights import ConversionError, convert_state

    cfg, table, official, _, _ = setup
    mhp = dict(official)
    mhp["Parsing_RCNN.Output.parsing_score_lowres.weight"] = np.zeros((512, 59, 4, 4), np.float32)
    mhp["Parsing_RCNN.Output.parsing_score_lowres.bias"] = np.zeros(59, np.float32)
    conv = get_converter("parsing_rcnn")
    with pytest.raises(ConversionError, match=r"parsing_score_lowres.bias: \(59\), expected \(20\)"):
        convert_state(conv, mhp, cfg)
    mhp_cfg = get_config("configs/MHP-v2/parsing_rcnn_R_50_FPN_3x_official_weights.yaml")
    ours = convert_state(conv, mhp, mhp_cfg)
    assert ours["roi_heads.parsing_head.predictor.deconv.bias"].shape == (59,)
    assert os.path.basename(conv.default_config) == os.path.basename(CONFIG)


def test_apply_net_runs_the_converted_checkpoint(setup):
    """The *_official_weights.yaml config and the converted file go straight into apply_net."""
    import cv2

    _, _, _, tmp, _ = setup
    out = tmp / "converted.pth"
    if not out.exists():
        r = run_tool(["convert_official_weights.py", "parsing_rcnn", str(tmp / "official.pth"), str(out)])
        assert r.returncode == 0, r.stderr
    img = tmp / "people.png"
    cv2.imwrite(str(img), np.random.default_rng(0).integers(0, 255, (96, 80, 3), dtype=np.uint8))
    r = run_tool(["apply_net.py", "dump", CONFIG, str(out), str(img), "--output", str(tmp / "dump"),
                  "--opts", "INPUT.MIN_SIZE_TEST", "96", "MODEL.DEVICE", "cpu"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp / "dump" / "people_parsing.png").exists() and (tmp / "dump" / "people.json").exists()
