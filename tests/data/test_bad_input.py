"""Bad input gives a ``DataFormatError`` naming the file and the problem.

Load time (``DatasetCatalog.get`` / the readers): missing folder, list, image or label file, empty
split, undecodable image header, label size != image size (files the reader reads anyway),
MHP v2 label values. Image-load time (``load_person_parsing(record, K)``, ``check_record``):
truncated image data, label values, sizes of files only named at load time (COCO json).
"""

import json
import os

import numpy as np
import pytest
from PIL import Image

from human_parsing.data.converters import cihp_to_coco
from human_parsing.data.datasets import (
    check_record,
    load_cihp_instances,
    load_coco_parsing_json,
    load_mhp_v2_instances,
    load_semantic_parsing,
)
from human_parsing.data.io import DataFormatError, load_person_parsing, read_image, write_label_png
from human_parsing.data.label_spaces import get_label_space
from tests.data.fixtures import CIHP, write_cihp, write_mhp_v2, write_rgb_label, write_semantic


def _cihp(tmp_path):
    root = write_cihp(tmp_path / "cihp")
    return root, os.path.join(root, "Training")


@pytest.mark.parametrize(
    "sub", ["Images/0000002.jpg", "Category_ids/0000002.png", "Human_ids/0000002.png"]
)
def test_cihp_missing_file(tmp_path, sub):
    root, d = _cihp(tmp_path)
    os.remove(os.path.join(d, sub))
    with pytest.raises(DataFormatError, match=f"{sub}: file not found"):
        load_cihp_instances(root, "train")


def test_missing_files_other_layouts(tmp_path):
    mhp = write_mhp_v2(tmp_path / "mhp")
    os.remove(os.path.join(mhp, "train", "parsing_annos", "1_02_01.png"))  # 1_02_02 remains: a gap
    with pytest.raises(
        DataFormatError, match=r"1_02_01\.png: file not found \(image 1 has 2 persons\)"
    ):
        load_mhp_v2_instances(mhp, "train")
    lip = write_semantic(tmp_path / "lip", "lip")
    os.remove(os.path.join(lip, "train_segmentations", "101.png"))
    with pytest.raises(DataFormatError, match=r"train_segmentations/101\.png: file not found"):
        load_semantic_parsing(lip, "lip", "train")


def test_missing_dataset_and_list(tmp_path):
    with pytest.raises(
        DataFormatError,
        match=r"(?s)nope: folder not found.*Expected layout.*SegmentationPart/<id>\.png",
    ):
        load_semantic_parsing(str(tmp_path / "nope"), "pascal_person_part", "train")
    root, d = _cihp(tmp_path)
    os.remove(os.path.join(d, "train_id.txt"))
    with pytest.raises(DataFormatError, match=r"train_id\.txt: split list file not found"):
        load_cihp_instances(root, "train")


def test_empty_split_names_the_list(tmp_path):
    root, d = _cihp(tmp_path)
    open(os.path.join(d, "train_id.txt"), "w").write("\n\n")
    with pytest.raises(DataFormatError, match=r"Training/train_id\.txt: split list is empty"):
        load_cihp_instances(root, "train")
    mhp = write_mhp_v2(tmp_path / "mhp")
    open(os.path.join(mhp, "list", "val.txt"), "w").close()
    with pytest.raises(DataFormatError, match=r"list/val\.txt: split list is empty"):
        load_mhp_v2_instances(mhp, "val")
    out = str(tmp_path / "coco")
    path = cihp_to_coco(root.replace("cihp", "cihp"), "val", out)
    json.dump({"images": [], "categories": [{"id": 1, "name": "person"}]}, open(path, "w"))
    with pytest.raises(DataFormatError, match=r"CIHP_val\.json: the split is empty"):
        load_coco_parsing_json(path, out, out, out)


def test_unreadable_image_fails_at_load(tmp_path):
    root, d = _cihp(tmp_path)
    open(os.path.join(d, "Images", "0000001.jpg"), "wb").write(b"not a jpeg at all")
    with pytest.raises(DataFormatError, match=r"Images/0000001\.jpg: unreadable image"):
        load_cihp_instances(root, "train")


def test_truncated_image_fails_when_loaded(tmp_path):
    root, d = _cihp(tmp_path)
    path = os.path.join(d, "Images", "0000001.jpg")
    data = open(path, "rb").read()
    sos = data.index(b"\xff\xda")  # start of scan: keep the headers, cut the pixel data
    open(path, "wb").write(data[: sos + 16])
    rec = load_cihp_instances(root, "train")[0]  # only the header is needed here
    with pytest.raises(DataFormatError, match=r"Images/0000001\.jpg: unreadable or truncated"):
        read_image(rec["file_name"])
    with pytest.raises(DataFormatError, match=r"0000001\.jpg"):
        check_record(rec, 20)


def test_label_size_differs_from_image(tmp_path):
    root, d = _cihp(tmp_path)
    write_label_png(os.path.join(d, "Category_ids", "0000002.png"), np.zeros((4, 6), np.uint8))
    with pytest.raises(
        DataFormatError, match=r"Category_ids/0000002\.png: label map has size 6x4 .* is 5x4"
    ):
        load_cihp_instances(root, "train")
    mhp = write_mhp_v2(tmp_path / "mhp")
    write_rgb_label(os.path.join(mhp, "val", "parsing_annos", "3_01_01.png"), np.zeros((3, 5)))
    with pytest.raises(DataFormatError, match=r"3_01_01\.png: label map has size 5x3"):
        load_mhp_v2_instances(mhp, "val")
    atr = write_semantic(tmp_path / "atr", "atr")
    write_label_png(
        os.path.join(atr, "SegmentationClassAug", "200.png"), np.zeros((5, 2), np.uint8)
    )
    with pytest.raises(
        DataFormatError, match=r"SegmentationClassAug/200\.png: label map has size 2x5"
    ):
        load_semantic_parsing(atr, "atr", "val")


def test_coco_label_size_checked_when_loaded(tmp_path):
    root, _ = _cihp(tmp_path)
    out = str(tmp_path / "coco")
    path = cihp_to_coco(root, "val", out)
    write_label_png(os.path.join(out, "val_parsing", "0000003_01.png"), np.zeros((3, 3), np.uint8))
    (rec,) = load_coco_parsing_json(
        path, *(os.path.join(out, f"val_{s}") for s in ("img", "parsing", "seg"))
    )
    with pytest.raises(
        DataFormatError, match=r"val_parsing/0000003_01\.png: label map has size 3x3"
    ):
        load_person_parsing(rec, 20)


def test_label_values_out_of_range(tmp_path):
    root, d = _cihp(tmp_path)
    cats = np.array(CIHP["train"]["0000002"]["categories"], np.uint8)
    cats[2, 3] = 20  # K = 20: valid labels are 0..19 and 255
    write_label_png(os.path.join(d, "Category_ids", "0000002.png"), cats)
    rec = load_cihp_instances(root, "train")[1]
    with pytest.raises(
        DataFormatError, match=r"Category_ids/0000002\.png: label values \[20\] outside \[0, 20\)"
    ):
        load_person_parsing(rec, 20)
    cats[2, 3] = 255  # ignore is valid
    write_label_png(os.path.join(d, "Category_ids", "0000002.png"), cats)
    assert load_person_parsing(rec, 20)[0, 2, 3] == 255
    # MHP v2 person maps are read at load time, so their values are checked there (K = 59)
    mhp = write_mhp_v2(tmp_path / "mhp")
    write_rgb_label(
        os.path.join(mhp, "val", "parsing_annos", "3_01_01.png"),
        [[0, 0, 0, 0], [0, 59, 0, 0], [0] * 4],
    )
    with pytest.raises(DataFormatError, match=r"3_01_01\.png: label values \[59\]"):
        load_mhp_v2_instances(mhp, "val")
    # semantic maps: checked when the record is loaded (PASCAL-Person-Part, K = 7)
    ppp = write_semantic(tmp_path / "ppp", "pascal_person_part")
    write_label_png(os.path.join(ppp, "SegmentationPart", "100.png"), np.full((4, 3), 7, np.uint8))
    rec = load_semantic_parsing(ppp, "pascal_person_part", "train")[0]
    with pytest.raises(DataFormatError, match=r"SegmentationPart/100\.png: label values \[7\]"):
        check_record(rec, 7)


def test_palette_label_read_as_indices(tmp_path):
    """A palette PNG whose colours' luminance differs from the indices still gives the indices."""
    lip = write_semantic(tmp_path / "lip", "lip")
    lab = np.array([[0, 13, 14], [15, 255, 2]], np.uint8)
    path = os.path.join(lip, "val_segmentations", "200.png")
    img = Image.fromarray(lab, mode="P")
    img.putpalette(get_label_space("lip").palette.reshape(-1).tolist())
    img.save(path)
    assert Image.open(path).mode == "P"
    # and a readable image of the new size
    Image.fromarray(np.zeros((2, 3, 3), np.uint8)).save(os.path.join(lip, "val_images", "200.jpg"))
    (rec,) = load_semantic_parsing(lip, "lip", "val")
    assert check_record(rec, 20) == 0
    from human_parsing.data.io import read_label_map

    np.testing.assert_array_equal(read_label_map(rec["sem_seg_file_name"]), lab)
    lum = np.asarray(Image.open(path).convert("L"))
    assert not np.array_equal(lum, lab)  # reading by luminance would have been wrong


def test_malformed_instance_txt(tmp_path):
    root, d = _cihp(tmp_path)
    open(os.path.join(d, "Instance_ids", "0000001.txt"), "w").write("21 1\n")
    with pytest.raises(DataFormatError, match=r"Instance_ids/0000001\.txt:1: expected"):
        load_cihp_instances(root, "train")
