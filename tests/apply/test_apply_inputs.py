"""Input walking and video I/O of apply_net (no model)."""
import os

import cv2
import numpy as np
import pytest

from human_parsing.apply.inputs import iter_frames, list_inputs
from human_parsing.apply.video import VideoDecodeError, VideoReader, VideoWriter


def _touch_image(path, value=0, size=(12, 16)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full(size + (3,), value, np.uint8))


def test_folder_is_walked_recursively_in_sorted_order(tmp_path):
    for name in ["b.jpg", "a.png", "10.jpg", "2.jpg", "sub/c.jpg", "sub/a.jpg"]:
        _touch_image(str(tmp_path / name))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.jpg").write_bytes(b"")
    srcs = list_inputs(str(tmp_path))
    # plain string order of relative paths ("10" < "2"), sub-folders after the files before them
    assert [s.name for s in srcs] == ["10", "2", "a", "b", "sub/a", "sub/c"]
    assert all(s.kind == "image" for s in srcs)
    assert srcs[0].path == str(tmp_path / "10.jpg")


def test_glob_names_are_relative_to_the_common_folder(tmp_path):
    _touch_image(str(tmp_path / "x" / "p1.jpg"))
    _touch_image(str(tmp_path / "x" / "y" / "p0.jpg"))
    _touch_image(str(tmp_path / "x" / "q.jpg"))
    srcs = list_inputs(str(tmp_path / "x" / "**" / "p*.jpg"))
    assert [s.name for s in srcs] == ["p1", "y/p0"]


def test_same_stem_keeps_extension_and_single_file(tmp_path):
    _touch_image(str(tmp_path / "a.jpg"))
    _touch_image(str(tmp_path / "a.png"))
    assert [s.name for s in list_inputs(str(tmp_path))] == ["a_jpg", "a_png"]
    (single,) = list_inputs(str(tmp_path / "a.png"))
    assert single.name == "a" and single.kind == "image"


def test_missing_inputs_raise_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        list_inputs(str(tmp_path / "nope.jpg"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no images or videos"):
        list_inputs(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="matches no image or video"):
        list_inputs(str(tmp_path / "*.png"))


def test_unreadable_image_becomes_an_error_frame(tmp_path):
    _touch_image(str(tmp_path / "a.jpg"), value=7)
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    frames = list(iter_frames(list_inputs(str(tmp_path))))
    assert frames[0].image.shape == (12, 16, 3) and frames[0].error is None
    assert frames[1].image is None and "b.jpg" in frames[1].error


def _write_video(path, n, fps=5.0):
    """Frame i is black with a white 8x8 square at column 8*i (readable after lossy coding)."""
    with VideoWriter(path, fps) as w:
        for i in range(n):
            f = np.zeros((32, 48, 3), np.uint8)
            f[12:20, 8 * i : 8 * i + 8] = 255
            w.write(f)


def _square_column(frame):
    return int(np.argmax(frame[16, :, 0] > 128)) // 8


@pytest.mark.parametrize("ext", [".mp4", ".avi"])
def test_video_round_trip_keeps_frame_count_order_and_fps(tmp_path, ext):
    path = str(tmp_path / f"clip{ext}")
    _write_video(path, 5)
    assert [n for n in os.listdir(tmp_path)] == [f"clip{ext}"]  # the temp file was renamed
    r = VideoReader(path)
    assert r.fps == pytest.approx(5.0) and r.size == (48, 32)
    (src,) = list_inputs(str(tmp_path))
    assert src.kind == "video" and src.name == "clip"
    frames = list(iter_frames([src]))
    assert [f.frame for f in frames] == [0, 1, 2, 3, 4]
    assert [_square_column(f.image) for f in frames] == [0, 1, 2, 3, 4]


def test_undecodable_video_raises(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(VideoDecodeError, match="bad.mp4"):
        list(VideoReader(str(bad)))


def test_video_writer_rejects_size_change_and_discards_on_error(tmp_path):
    path = str(tmp_path / "v.avi")
    with pytest.raises(ValueError, match="differs"):
        with VideoWriter(path, 10) as w:
            w.write(np.zeros((8, 8, 3), np.uint8))
            w.write(np.zeros((8, 16, 3), np.uint8))
    assert os.listdir(tmp_path) == []
