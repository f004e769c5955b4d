"""The demo's final summary: results table with limb IoUs and people counts, plot and overlay paths."""
import importlib.util
import json
import os

import pytest

_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "summarize_results.py")
_SPEC = importlib.util.spec_from_file_location("summarize_results", _SCRIPT)
summ = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(summ)


def _model(root, name, miou, instances):
    d = root / name
    (d / "inference" / "toy_val").mkdir(parents=True)
    res = {"parsing": {"mIoU": miou, "pixAcc": 80.0, "APp50": 1.25,
                       "IoU-left-arm": 16.0, "IoU-Right-leg": 3.5},
           "region": {"APr50": 2.0}}
    (d / "eval_results.json").write_text(json.dumps(res))
    (d / "inference" / "toy_val" / "instances.json").write_text(json.dumps(instances))
    return str(d / "eval_results.json")


def test_people_count_accuracy_by_hand():
    inst = {"1": [{"score": 0.9}, {"score": 0.2}], "2": [{"score": 0.7}]}
    gt = {"1": 2, "2": 1, "3": 0}
    assert summ.people_count_accuracy(inst, gt, 0.0) == (3, 3)
    assert summ.people_count_accuracy(inst, gt, 0.5) == (2, 3)  # image 1 keeps one of two


def test_summary_prints_table_counts_and_paths(tmp_path, capsys):
    a = _model(tmp_path, "parsing_rcnn", 31.25, {"1": [{"score": 0.9}], "2": []})
    b = _model(tmp_path, "pgn", 12.0, {"1": [{"score": 0.6}, {"score": 0.3}]})
    (tmp_path / "pgn" / "training_curves.png").write_bytes(b"png")
    (tmp_path / "apply_net" / "pgn").mkdir(parents=True)
    (tmp_path / "apply_net" / "pgn" / "x_show.png").write_bytes(b"png")
    text = summ.main([a, b, "--overlays", str(tmp_path / "apply_net"), "--dataset", "toy_val"],
                     gt_counts={"1": 1, "2": 0})
    assert text == capsys.readouterr().out.rstrip("\n")
    rows = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| ")}
    assert rows["parsing_rcnn"].startswith("| parsing_rcnn | 31.2 | 80.0 | 1.2 | - |")
    assert "| 16.0 | - | - | 3.5 | 2/2 (all), 2/2 (score ≥ 0.5) |" in rows["parsing_rcnn"]
    assert rows["pgn"].endswith("| 1/2 (all), 2/2 (score ≥ 0.5) |")  # 2 found, 1 annotated
    assert f"pgn learning curves: {tmp_path / 'pgn' / 'training_curves.png'}" in text
    assert f"pgn overlays (1): {tmp_path / 'apply_net' / 'pgn' / 'x_show.png'}" in text
    assert "parsing_rcnn learning curves" not in text  # no plot, no line
    with pytest.raises(FileNotFoundError, match="nope.json"):
        summ.main([str(tmp_path / "nope.json")])
