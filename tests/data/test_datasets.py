"""Dataset readers and registration on the hand-built fixtures of tests/data/fixtures.py."""

import logging
import os
import sys
import types

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import BoxMode

import human_parsing.data  # noqa: F401  (registers the builtin datasets)
from human_parsing.data.datasets import cihp as cihp_module
from human_parsing.data.datasets import (
    load_cihp_instances,
    load_mhp_v2_instances,
    load_semantic_parsing,
)
from human_parsing.data.datasets.builtin import register_synthetic
from human_parsing.data.io import DataFormatError, load_person_parsing, read_label_map
from tests.data.fixtures import (
    CIHP,
    MHP_V2,
    SEMANTIC_ITEMS,
    write_cihp,
    write_mhp_v2,
    write_semantic,
)


@pytest.fixture
def cihp_root(tmp_path):
    return write_cihp(tmp_path / "cihp")


@pytest.fixture
def mhp_root(tmp_path):
    return write_mhp_v2(tmp_path / "mhp")


def test_cihp_train_records(cihp_root, caplog):
    with caplog.at_level(logging.WARNING):
        recs = load_cihp_instances(cihp_root, "train")
    assert [r["image_id"] for r in recs] == ["0000001", "0000002"]
    r = recs[0]
    assert (r["height"], r["width"]) == (6, 8)
    assert r["file_name"] == os.path.join(cihp_root, "Training", "Images", "0000001.jpg")
    assert r["sem_seg_file_name"] == os.path.join(
        cihp_root, "Training", "Category_ids", "0000001.png"
    )
    assert r["human_ids_file_name"] == os.path.join(
        cihp_root, "Training", "Human_ids", "0000001.png"
    )
    # boxes written down by hand in the fixture; human 3 (txt only, no pixels) is skipped
    assert [a["bbox"] for a in r["annotations"]] == [[0, 0, 3, 5], [5, 1, 8, 6]]
    assert [a["parsing"]["human_id"] for a in r["annotations"]] == [1, 2]
    assert all(
        a["bbox_mode"] == BoxMode.XYXY_ABS and a["category_id"] == 0 for a in r["annotations"]
    )
    assert "id 3" in caplog.text and "no pixels" in caplog.text
    assert [a["bbox"] for a in recs[1]["annotations"]] == [[2, 1, 5, 4]]


def test_cihp_person_maps(cihp_root):
    recs = load_cihp_instances(cihp_root, "train")
    for r in recs:
        e = CIHP["train"][r["image_id"]]
        cats, humans = np.array(e["categories"]), np.array(e["humans"])
        maps = load_person_parsing(r, num_classes=20)
        assert maps.shape == (len(e["human_ids"]),) + e["hw"] and maps.dtype == np.uint8
        for m, k in zip(maps, e["human_ids"]):
            np.testing.assert_array_equal(m, cats * (humans == k))
    # person 2 of image 1, literally: its hair/face/arm/torso-skin/leg/shoe and nothing of person 1
    expected = np.zeros((6, 8), np.uint8)
    expected[1, 5:7] = 2
    expected[2, 5:8] = [13, 13, 15]
    expected[3, 5:7] = 10
    expected[4, 6], expected[5, 6] = 16, 18
    np.testing.assert_array_equal(load_person_parsing(recs[0])[1], expected)
    # image 2's Category_ids is a palette PNG: indices, not luminance
    np.testing.assert_array_equal(
        load_person_parsing(recs[1])[0], np.array(CIHP["train"]["0000002"]["categories"])
    )


def test_cihp_test_split_has_no_annotations(cihp_root):
    (r,) = load_cihp_instances(cihp_root, "test")
    assert (r["image_id"], r["height"], r["width"]) == ("0000004", 5, 7)
    assert "annotations" not in r and "sem_seg_file_name" not in r


def test_cihp_cache_hit_and_invalidation(cihp_root, monkeypatch):
    first = load_cihp_instances(cihp_root, "train")
    assert os.path.isfile(os.path.join(cihp_root, ".cache", "cihp_train.json"))

    def fail(path):
        raise AssertionError(f"label file read despite the cache: {path}")

    monkeypatch.setattr(cihp_module, "read_label_map", fail)
    assert load_cihp_instances(cihp_root, "train") == first
    monkeypatch.undo()
    # changing a Human_ids file invalidates the cache: person 1 of image 2 grows to column 0
    from human_parsing.data.io import write_label_png

    h = np.array(CIHP["train"]["0000002"]["humans"], np.uint8)
    h[3, 0] = 1
    write_label_png(first[1]["human_ids_file_name"], h)
    os.utime(first[1]["human_ids_file_name"], ns=(1, 1))  # a different mtime even within one tick
    assert load_cihp_instances(cihp_root, "train")[1]["annotations"][0]["bbox"] == [0, 1, 5, 4]


def test_mhp_v2_records_and_channel0(mhp_root, caplog):
    with caplog.at_level(logging.WARNING):
        recs = load_mhp_v2_instances(mhp_root, "train")
    assert [r["image_id"] for r in recs] == ["1", "2"]
    for r in recs:
        e = MHP_V2["train"][r["image_id"]]
        assert (r["height"], r["width"]) == e["hw"]
        assert [a["bbox"] for a in r["annotations"]] == e["boxes"]
        maps = load_person_parsing(r, num_classes=59)
        nonempty = [np.array(p) for p in e["persons"] if np.any(p)]
        # the files hold (label, 7, 200) per pixel: only channel 0 gives back the labels
        np.testing.assert_array_equal(maps, np.stack(nonempty))
        np.testing.assert_array_equal(
            read_label_map(r["sem_seg_file_name"]), np.array(e["semantic"])
        )
    assert recs[1]["annotations"][0]["parsing"]["file_name"].endswith(
        os.path.join("parsing_annos", "2_02_01.png")
    )
    assert "2_02_02.png" in caplog.text  # the empty person is skipped with a warning
    (t,) = load_mhp_v2_instances(mhp_root, "test")
    assert (t["image_id"], t["height"], t["width"]) == ("4", 4, 4) and "annotations" not in t


@pytest.mark.parametrize("layout", ["lip", "atr", "pascal_person_part"])
def test_semantic_layouts(tmp_path, layout):
    root = write_semantic(tmp_path / layout, layout)
    recs = load_semantic_parsing(root, layout, "train")
    assert [r["image_id"] for r in recs] == ["100", "101"]
    assert [(r["height"], r["width"]) for r in recs] == [(4, 3), (2, 5)]
    for r in recs:
        assert set(r) == {"file_name", "sem_seg_file_name", "height", "width", "image_id"}
        np.testing.assert_array_equal(
            read_label_map(r["sem_seg_file_name"]), SEMANTIC_ITEMS["train"][r["image_id"]]
        )
    assert [r["image_id"] for r in load_semantic_parsing(root, layout, "val")] == ["200"]


def test_builtin_names_and_metadata():
    names = set(DatasetCatalog.list())
    for ds in ("cihp", "mhp_v2", "lip", "atr", "pascal_person_part"):
        assert {f"{ds}_train", f"{ds}_val"} <= names
    assert {"cihp_test", "mhp_v2_test", "cihp_coco_train", "cihp_coco_val"} <= names
    assert "lip_test" not in names
    for layout in ("cihp", "mhp_v2", "lip", "atr", "pascal_person_part", "coco"):
        assert {f"synthetic_{layout}_train", f"synthetic_{layout}_val"} <= names
    expect = {
        "cihp_train": ("cihp", "parsing", 0.3, 20),
        "mhp_v2_val": ("mhp_v2", "parsing", 0.05, 59),
        "lip_val": ("lip", "sem_seg_parsing", 0.3, 20),
        "atr_train": ("atr", "sem_seg_parsing", 0.3, 18),
        "pascal_person_part_val": ("pascal_person_part", "sem_seg_parsing", 0.3, 7),
        "cihp_coco_val": ("cihp", "parsing", 0.3, 20),
        "synthetic_coco_train": ("cihp", "parsing", 0.3, 20),
        "synthetic_mhp_v2_val": ("mhp_v2", "parsing", 0.05, 59),
        "synthetic_atr_val": ("atr", "sem_seg_parsing", 0.3, 18),
    }
    for name, (ls, ev, thresh, k) in expect.items():
        m = MetadataCatalog.get(name)
        assert (m.label_space, m.evaluator_type, m.semseg_score_thresh, m.num_parsing) == (
            ls,
            ev,
            thresh,
            k,
        ), name
        assert m.ignore_label == 255 and m.thing_classes == ["person"] and len(m.stuff_classes) == k
    assert MetadataCatalog.get("cihp_train").dataset_root.endswith(
        os.path.join("CIHP", "instance-level_human_parsing")
    )
    assert MetadataCatalog.get("synthetic_lip_val").dataset_root.endswith(
        os.path.join("synthetic", "lip")
    )
    assert ["left-arm", "right-arm"] in MetadataCatalog.get("cihp_val").parsing_flip_map


def test_registration_is_lazy_and_missing_dataset_names_folder(tmp_path):
    from human_parsing.data import register_cihp_instances

    name = "_test_cihp_missing"
    register_cihp_instances(name, str(tmp_path / "nowhere"), "val")  # no disk access here
    try:
        with pytest.raises(DataFormatError, match="nowhere.*folder not found") as e:
            DatasetCatalog.get(name)
        assert "Validation" in str(e.value) and "Human_ids" in str(e.value)  # the expected layout
    finally:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)


def test_synthetic_loader_calls_the_generator(tmp_path, monkeypatch):
    """The synthetic split is generated on first get() and read with the layout's reader."""
    calls = []

    def ensure_synthetic_dataset(layout, root, split):
        calls.append((layout, split))
        return write_cihp(root)

    fake = types.ModuleType("human_parsing.data.synthetic")
    fake.ensure_synthetic_dataset = ensure_synthetic_dataset
    monkeypatch.setitem(sys.modules, "human_parsing.data.synthetic", fake)
    name = "_test_synthetic_cihp_val"
    register_synthetic(name, "cihp", str(tmp_path / "syn"), "val")
    try:
        assert calls == []
        recs = DatasetCatalog.get(name)
        assert calls == [("cihp", "val")]
        assert [r["image_id"] for r in recs] == ["0000003"] and recs[0]["annotations"][0][
            "bbox"
        ] == [2, 1, 5, 4]
        assert MetadataCatalog.get(name).evaluator_type == "parsing"
    finally:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)


@pytest.mark.filterwarnings("ignore:.*found in sys.modules")
def test_builtin_main_prints_summary_and_checks(cihp_root, monkeypatch, capsys):
    import runpy

    from human_parsing.data import register_cihp_instances

    name = "_test_cli_cihp_train"
    register_cihp_instances(name, cihp_root, "train")
    monkeypatch.setattr(sys, "argv", ["builtin", name, "--check", "--num", "1"])
    try:
        runpy.run_module("human_parsing.data.datasets.builtin", run_name="__main__")
    finally:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    out = capsys.readouterr().out
    assert f"{name}: 2 images, 3 persons (1-2 per image), sizes H 4-6 W 5-8" in out
    assert "label space cihp (20 classes), evaluator parsing" in out
    assert "check passed" in out and '"image_id": "0000001"' in out


def test_lip_pose_keypoints(tmp_path):
    import json

    root = write_semantic(tmp_path / "lip", "lip")
    joints = [[0, 0, 0]] * 16
    joints[0], joints[9] = [2, 3, 1], [1, 0, 0]  # r-ankle visible, head-top occluded, others absent
    os.makedirs(os.path.join(root, "TrainVal_pose_annotations"))
    with open(
        os.path.join(root, "TrainVal_pose_annotations", "LIP_SP_TRAIN_annotations.json"), "w"
    ) as f:
        json.dump({"root": [{"im_name": "101.jpg", "joint_self": joints}]}, f)
    r100, r101 = load_semantic_parsing(root, "lip", "train")
    assert "keypoints" not in r100
    kps = np.array(r101["keypoints"]).reshape(16, 3)
    np.testing.assert_array_equal(kps[0], [2, 3, 2])
    np.testing.assert_array_equal(kps[9], [1, 0, 1])
    assert kps[[i for i in range(16) if i not in (0, 9)]].sum() == 0
