"""Issue 16 for ``tools/evaluate_parsing.py``: non-finite scores, empty prediction folders (one
rule for every format) and ``--out`` never replacing a results file without ``--overwrite``."""

import json
import os

import numpy as np
import pytest

from human_parsing.data.io import DataFormatError, write_label_png
from human_parsing.evaluation import formats
from tests.cli_helpers import run_tool
from tests.evaluation.test_formats import _cli


def _cihp_gt(d):
    for sub in ("Category_ids", "Human_ids"):
        os.makedirs(os.path.join(d, sub))
    write_label_png(os.path.join(d, "Category_ids", "1.png"), np.array([[2, 2, 13]], np.uint8))
    write_label_png(os.path.join(d, "Human_ids", "1.png"), np.array([[1, 1, 2]], np.uint8))
    return str(d)


def _semantic(d, ids=("a", "b")):
    os.makedirs(d, exist_ok=True)
    for i in ids:
        write_label_png(os.path.join(d, f"{i}.png"), np.array([[0, 1], [1, 2]], np.uint8))
    return str(d)


def _args(gt, gt_fmt, pred, pred_fmt, k=20):
    return ["--gt", gt, "--gt-format", gt_fmt, "--pred", pred, "--pred-format", pred_fmt,
            "--num-classes", str(k), "--workers", "1", "--quiet"]


def test_non_finite_score_names_file_and_image(tmp_path):
    gt = _cihp_gt(tmp_path / "gt")
    pred = tmp_path / "pred"
    (pred / "instances").mkdir(parents=True)
    write_label_png(str(pred / "instances" / "p.png"), np.array([[2, 2, 0]], np.uint8))
    entries = {"1": [{"parsing": "instances/p.png", "score": 0.9}, {"parsing": "instances/p.png", "score": float("nan")}]}
    (pred / "instances.json").write_text(json.dumps(entries))  # json writes NaN
    r = run_tool(["evaluate_parsing.py"] + _args(gt, "cihp", str(pred), "instances"))
    assert r.returncode != 0
    assert f"{pred / 'instances.json'}: image 1: entry 1: score is nan" in r.stderr
    for bad in ("Infinity", "-Infinity", '"high"'):
        (pred / "instances.json").write_text(
            '{"1": [{"parsing": "instances/p.png", "score": %s}]}' % bad
        )
        with pytest.raises(DataFormatError, match=r"instances\.json: image 1: entry 0: score"):
            formats.load_instances_json(str(pred))
    # the CIHP submission format: a part-instance txt line with an infinite score
    sub = tmp_path / "sub"
    for d in ("cihp_parsing_maps", "cihp_instance_part_maps"):
        (sub / d).mkdir(parents=True)
    write_label_png(str(sub / "cihp_parsing_maps" / "1.png"), np.array([[2, 2, 13]], np.uint8))
    write_label_png(str(sub / "cihp_instance_part_maps" / "1.png"), np.array([[1, 1, 2]], np.uint8))
    (sub / "cihp_instance_part_maps" / "1.txt").write_text("2 0.8\n13 inf\n")
    with pytest.raises(DataFormatError, match=r"cihp_instance_part_maps/1\.txt: image 1: line 2: score is inf"):
        formats.read_pred(str(sub), "cihp_submission", "1", 20)


def test_empty_semantic_prediction_folder_is_an_error(tmp_path):
    gt, pred = _semantic(tmp_path / "gt"), tmp_path / "pred"
    pred.mkdir()
    out = tmp_path / "results.json"
    r = run_tool(["evaluate_parsing.py"] + _args(gt, "semantic", str(pred), "semantic", 3) + ["--out", str(out)])
    assert r.returncode != 0
    assert f"{pred}: no prediction for any of the 2 GT images in format 'semantic'" in r.stderr
    assert not out.exists()  # no empty results written


def _write_preds(pred, fmt, ids):
    """One empty-ish prediction per id in ``fmt`` (instances: an entry without people)."""
    if fmt == "instances":
        (pred / "instances.json").write_text(json.dumps({i: [] for i in ids}))
    for i in ids if fmt != "instances" else ():
        sub = "cihp_parsing_maps" if fmt == "cihp_submission" else ""
        write_label_png(str(pred / sub / f"{i}.png"), np.array([[0, 1]], np.uint8))


@pytest.mark.parametrize("fmt", formats.PRED_FORMATS)
def test_one_missing_prediction_rule_for_every_format(tmp_path, fmt):
    ids = ["a", "b"]
    pred = tmp_path / "pred"
    pred.mkdir()
    with pytest.raises(DataFormatError, match=rf"pred: no prediction for any of the 2 GT images in format '{fmt}'"):
        formats.match_predictions(str(pred), fmt, ids)
    with pytest.raises(DataFormatError, match=r"nowhere: prediction folder not found"):
        formats.match_predictions(str(tmp_path / "nowhere"), fmt, ids)
    # predictions named after other ids: the same error, which shows what the folder holds
    _write_preds(pred, fmt, ["z"])
    with pytest.raises(DataFormatError, match=r"it has \['z'\]"):
        formats.match_predictions(str(pred), fmt, ids)
    # some images predicted: the others are listed (counted as no detection), extra ones too
    _write_preds(pred, fmt, ["z", "a"])
    assert formats.match_predictions(str(pred), fmt, ids) == (["b"], ["z"])


def test_out_refuses_to_replace_results_without_overwrite(tmp_path):
    gt, pred = _semantic(tmp_path / "gt"), _semantic(tmp_path / "pred")
    out = tmp_path / "results.json"
    out.write_text("earlier results")
    args = _args(gt, "semantic", pred, "semantic", 3) + ["--out", str(out)]
    r = run_tool(["evaluate_parsing.py"] + args)
    assert r.returncode != 0
    assert f"{out}: already exists; pass --overwrite" in r.stderr
    assert out.read_text() == "earlier results"
    res = _cli().main(args + ["--overwrite"])
    assert json.loads(out.read_text())["parsing"]["mIoU"] == pytest.approx(100.0) == res["parsing"]["mIoU"]
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]
