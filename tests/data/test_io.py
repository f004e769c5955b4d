import os

import numpy as np
import pytest
from PIL import Image

from human_parsing.data.io import (
    DataFormatError,
    atomic_path,
    check_label_values,
    load_person_parsing,
    read_image,
    read_label_map,
    write_label_png,
)
from human_parsing.data.label_spaces import get_label_space


def test_palette_png_read_as_indices(tmp_path):
    label = np.array([[0, 1, 2], [14, 15, 255]], dtype=np.uint8)
    path = str(tmp_path / "p.png")
    write_label_png(path, label, palette=get_label_space("cihp").palette)
    assert Image.open(path).mode == "P"
    assert (read_label_map(path) == label).all()
    # a luminance conversion would have changed the values
    assert not (np.asarray(Image.open(path).convert("L")) == label).all()


def test_three_channel_label_uses_channel_0(tmp_path):
    label = np.array([[3, 4], [5, 58]], dtype=np.uint8)
    path = str(tmp_path / "mhp.png")
    Image.fromarray(np.stack([label, label, label], -1)).save(path)
    assert (read_label_map(path) == label).all()


def test_missing_and_truncated_files_name_the_file(tmp_path):
    with pytest.raises(DataFormatError, match="nope.png: file not found"):
        read_label_map(str(tmp_path / "nope.png"))
    img = tmp_path / "img.jpg"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(img)
    data = img.read_bytes()
    img.write_bytes(data[: len(data) // 3])
    with pytest.raises(DataFormatError, match="img.jpg: unreadable or truncated"):
        read_image(str(img))


def test_label_values_out_of_range(tmp_path):
    check_label_values(np.array([[0, 19, 255]], np.uint8), 20, "x.png")
    with pytest.raises(DataFormatError, match=r"x.png: label values \[20, 30\] outside"):
        check_label_values(np.array([[20, 30, 255]], np.uint8), 20, "x.png")


def test_load_person_parsing_cihp_style(tmp_path):
    cat = np.array([[1, 2, 0, 5], [14, 0, 0, 15]], np.uint8)
    hum = np.array([[1, 1, 0, 2], [1, 0, 0, 2]], np.uint8)
    write_label_png(str(tmp_path / "c.png"), cat)
    write_label_png(str(tmp_path / "h.png"), hum)
    rec = {"height": 2, "width": 4, "annotations": [
        {"parsing": {"file_name": str(tmp_path / "c.png"), "human_ids_file_name": str(tmp_path / "h.png"), "human_id": k}}
        for k in (2, 1)]}
    maps = load_person_parsing(rec, num_classes=20)
    assert maps.tolist() == [[[0, 0, 0, 5], [0, 0, 0, 15]], [[1, 2, 0, 0], [14, 0, 0, 0]]]
    rec["height"] = 3
    with pytest.raises(DataFormatError, match="c.png: label map has size 4x2"):
        load_person_parsing(rec)


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(str(path)) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]
