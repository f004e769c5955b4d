"""Converters to the COCO-style json layout: content, lossless round trip, no silent overwrite."""

import filecmp
import json
import os
import sys

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog

from human_parsing.data.converters import cihp_to_coco, mhp_v2_to_coco
from human_parsing.data.datasets import (
    load_cihp_instances,
    load_coco_parsing_json,
    load_mhp_v2_instances,
    register_coco_parsing,
)
from human_parsing.data.io import load_person_parsing, read_label_map
from tests.data.fixtures import write_cihp, write_mhp_v2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import convert_to_coco_parsing  # noqa: E402
from human_parsing.utils.cli import run_tool  # noqa: E402


def _read_back(out, split, prefix="CIHP", k=20):
    return load_coco_parsing_json(
        os.path.join(out, "annotations", f"{prefix}_{split}.json"),
        os.path.join(out, f"{split}_img"),
        os.path.join(out, f"{split}_parsing"),
        os.path.join(out, f"{split}_seg"),
        num_classes=k,
    )


def _assert_same(src, back, k):
    assert [r["image_id"] for r in back] == [r["image_id"] for r in src]
    for a, b in zip(src, back):
        assert (a["height"], a["width"]) == (b["height"], b["width"])
        assert filecmp.cmp(a["file_name"], b["file_name"], shallow=False)
        assert [x["bbox"] for x in b["annotations"]] == [x["bbox"] for x in a["annotations"]]
        np.testing.assert_array_equal(load_person_parsing(b, k), load_person_parsing(a, k))
        np.testing.assert_array_equal(
            read_label_map(b["sem_seg_file_name"]), read_label_map(a["sem_seg_file_name"])
        )


def test_cihp_json_content(tmp_path):
    root = write_cihp(tmp_path / "cihp")
    path = cihp_to_coco(root, "train", str(tmp_path / "out"))
    assert path == str(tmp_path / "out" / "annotations" / "CIHP_train.json")
    data = json.load(open(path))
    assert data["categories"][0]["id"] == 1 and data["categories"][0]["name"] == "person"
    assert len(data["categories"][0]["parsing"]) == 20
    assert data["images"][0] == {"id": 1, "file_name": "0000001.jpg", "height": 6, "width": 8}
    # person 2 of image 1: tight box [5, 1, 8, 6] is COCO [5, 1, 3, 5]; 9 labelled pixels
    a = data["annotations"][1]
    assert (a["image_id"], a["bbox"], a["area"], a["parsing"]) == (
        1,
        [5, 1, 3, 5],
        9,
        "0000001_02.png",
    )
    assert [x["id"] for x in data["annotations"]] == [1, 2, 3]


def test_cihp_round_trip_is_lossless(tmp_path):
    root = write_cihp(tmp_path / "cihp")
    out = str(tmp_path / "out")
    src = load_cihp_instances(root, "train")
    cihp_to_coco(root, "train", out)
    _assert_same(src, _read_back(out, "train"), 20)
    # the test split: images only, no annotations key
    cihp_to_coco(root, "test", out)
    (t,) = _read_back(out, "test")
    assert (
        t["image_id"] == "0000004"
        and "annotations" not in t
        and (t["height"], t["width"]) == (5, 7)
    )


def test_mhp_v2_round_trip_is_lossless(tmp_path):
    root = write_mhp_v2(tmp_path / "mhp")
    out = str(tmp_path / "out")
    src = load_mhp_v2_instances(root, "train")
    path = mhp_v2_to_coco(root, "train", out)
    assert os.path.basename(path) == "MHP-v2_train.json"
    _assert_same(src, _read_back(out, "train", "MHP-v2", 59), 59)


def test_existing_json_is_not_overwritten(tmp_path):
    root = write_cihp(tmp_path / "cihp")
    out = str(tmp_path / "out")
    path = cihp_to_coco(root, "val", out)
    with open(path, "w") as f:
        f.write("{}")
    with pytest.raises(FileExistsError, match="CIHP_val.json"):
        cihp_to_coco(root, "val", out)
    assert open(path).read() == "{}"
    cihp_to_coco(root, "val", out, overwrite=True)
    assert len(json.load(open(path))["images"]) == 1
    assert not [f for f in os.listdir(os.path.dirname(path)) if f.startswith(".tmp")]


def test_cli(tmp_path, capsys):
    root = write_mhp_v2(tmp_path / "mhp")
    args = ["--layout", "mhp_v2", "--root", root, "--split", "val", "--out", str(tmp_path / "o")]
    assert convert_to_coco_parsing.main(args) == 0
    assert capsys.readouterr().out.strip().endswith("MHP-v2_val.json")
    assert run_tool(convert_to_coco_parsing.main, "convert_to_coco_parsing", args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("convert_to_coco_parsing: error: ") and "MHP-v2_val.json" in line
    assert "already exists" in line
    assert convert_to_coco_parsing.main(args + ["--overwrite"]) == 0


def test_register_coco_parsing(tmp_path):
    root = write_cihp(tmp_path / "cihp")
    out = str(tmp_path / "out")
    cihp_to_coco(root, "train", out)
    name = "_test_coco_parsing_train"
    register_coco_parsing(
        name,
        os.path.join(out, "annotations", "CIHP_train.json"),
        os.path.join(out, "train_img"),
        os.path.join(out, "train_parsing"),
        os.path.join(out, "train_seg"),
        label_space="cihp",
    )
    try:
        m = MetadataCatalog.get(name)
        assert (m.evaluator_type, m.label_space, m.num_parsing, m.dataset_root) == (
            "parsing",
            "cihp",
            20,
            out,
        )
        recs = DatasetCatalog.get(name)
        assert [a["bbox"] for a in recs[0]["annotations"]] == [[0, 0, 3, 5], [5, 1, 8, 6]]
        assert recs[0]["sem_seg_file_name"] == os.path.join(out, "train_seg", "0000001.png")
    finally:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
