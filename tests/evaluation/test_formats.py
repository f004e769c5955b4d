"""Readers of the open GT/prediction formats and the CLI's no-detection convention."""

import importlib.util
import json
import os
import sys

import numpy as np
import pytest
from PIL import Image

from human_parsing.data.io import DataFormatError, write_label_png
from human_parsing.evaluation import formats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli():
    if "evaluate_parsing" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "evaluate_parsing", os.path.join(ROOT, "tools/evaluate_parsing.py")
        )
        mod = importlib.util.module_from_spec(spec)
        sys.modules["evaluate_parsing"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["evaluate_parsing"]


def test_mhp_v2_gt_uses_channel_0_and_person_order(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "parsing_annos").mkdir()
    Image.new("RGB", (3, 2)).save(tmp_path / "images" / "7.jpg")
    p1 = np.zeros((2, 3, 3), np.uint8)
    p1[0, 0] = (5, 90, 200)  # channels 1, 2 differ: only channel 0 is the label
    p2 = np.zeros((2, 3, 3), np.uint8)
    p2[0, :2] = (6, 6, 6)
    Image.fromarray(p2).save(tmp_path / "parsing_annos" / "7_02_02.png")
    Image.fromarray(p1).save(tmp_path / "parsing_annos" / "7_02_01.png")
    gt = formats.read_gt(str(tmp_path), "mhp_v2", "7", 59)
    assert formats.list_gt_images(str(tmp_path), "mhp_v2") == ["7"]
    assert gt["persons"][:, 0].tolist() == [[5, 0, 0], [6, 6, 0]]  # person 01 then 02
    assert gt["sem"][0].tolist() == [6, 6, 0]  # later person painted on top


def test_cihp_instance_ids_layer(tmp_path):
    for d in ("Category_ids", "Human_ids", "Instance_ids"):
        (tmp_path / d).mkdir()
    write_label_png(str(tmp_path / "Category_ids" / "1.png"), np.array([[2, 2, 13]], np.uint8))
    write_label_png(str(tmp_path / "Human_ids" / "1.png"), np.array([[1, 1, 2]], np.uint8))
    write_label_png(str(tmp_path / "Instance_ids" / "1.png"), np.array([[2, 2, 33]], np.uint8))
    (tmp_path / "Instance_ids" / "1.txt").write_text("2 2 1\n33 13 2\n")
    gt = formats.read_gt(str(tmp_path), "cihp", "1", 20)
    assert gt["persons"].tolist() == [[[2, 2, 0]], [[0, 0, 13]]]
    ids, lut = gt["part_layers"][0]
    assert lut[2] == 2 and lut[33] == 13


def test_semantic_cli_empty_image_conventions(tmp_path, caplog):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir(), pred.mkdir()
    write_label_png(str(gt / "a.png"), np.array([[0, 1], [1, 1]], np.uint8))
    write_label_png(str(gt / "b.png"), np.array([[2, 2], [0, 0]], np.uint8))
    write_label_png(str(pred / "a.png"), np.array([[0, 1], [1, 0]], np.uint8))  # b: no prediction
    args = [
        "--gt",
        str(gt),
        "--gt-format",
        "semantic",
        "--pred",
        str(pred),
        "--pred-format",
        "semantic",
        "--num-classes",
        "3",
        "--workers",
        "1",
        "--quiet",
    ]
    with caplog.at_level("WARNING"):
        res = _cli().main(args)["parsing"]
    assert "1 GT images have no prediction" in caplog.text
    # skip (official): only a: TP [1, 2, 0], G [1, 3, 0], P [2, 2, 0] -> IoU [1/2, 2/3, NaN]
    assert res["mIoU"] == pytest.approx(58.3333, abs=1e-3)  # 100 * (1/2 + 2/3) / 2
    assert res["pixAcc"] == pytest.approx(75.0)  # 3 / 4
    res = _cli().main(args + ["--empty-images", "background"])["parsing"]
    # + b as all background: TP [3, 2, 0], G [3, 3, 2], P [6, 2, 0] -> IoU [3/6, 2/3, 0/2]
    assert res["mIoU"] == pytest.approx(38.8889, abs=1e-3)  # 100 * (1/2 + 2/3 + 0) / 3
    assert res["pixAcc"] == pytest.approx(62.5)  # 5 / 8


def test_unreadable_instances_json(tmp_path):
    (tmp_path / "instances.json").write_text("{not json")
    with pytest.raises(DataFormatError, match="instances.json"):
        formats.load_instances_json(str(tmp_path))


def test_gt_label_outside_label_space_names_file(tmp_path):
    write_label_png(str(tmp_path / "x.png"), np.array([[0, 30]], np.uint8))
    with pytest.raises(DataFormatError, match="x.png"):
        formats.read_gt(str(tmp_path), "semantic", "x", 20)


def test_cihp_submission_roundtrip(tmp_path):
    parts = np.array([[1, 1, 2, 0]], np.uint8)
    formats.write_cihp_submission(
        str(tmp_path),
        "5",
        parts,
        np.array([[1, 1, 2, 0]]),
        [1, 2],
        [0.9, 0.25],
        np.array([[1, 1, 1, 0]]),
        [0.9],
    )
    p = formats.read_pred(str(tmp_path), "cihp_submission", "5", 3)
    assert p["sem"].tolist() == parts.tolist() and p["part_classes"].tolist() == [1, 2]
    assert p["part_scores"].tolist() == [0.9, 0.25] and p["scores"].tolist() == [0.9]
    assert json.dumps(p["crops"][0].tolist()) == "[[1, 1, 2]]"
