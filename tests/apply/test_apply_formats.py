"""ParsingResult, dump writers/readers and renderers on a hand-made result (no model)."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from human_parsing.apply.formats import PickleDumpWriter, PngDumpWriter, load_dump, output_stem
from human_parsing.apply.inputs import InputSource
from human_parsing.apply.render import build_renderer, render
from human_parsing.vis.display import legend_width
from human_parsing.apply.result import ParsingResult
from human_parsing.data.label_spaces import get_label_space
from human_parsing.structures.parsing import PersonParsing

CIHP = get_label_space("cihp")  # 2 hair, 5 upper-clothes, 13 face, 14 left-arm


def _result(edges=False):
    """Two people on a 6x8 image; they overlap at (row 2, col 3), where person 1 (score 0.6)
    has hair and person 0 (score 0.9) has face."""
    full = np.zeros((2, 6, 8), np.uint8)
    full[0, 1:3, 1:4] = 2
    full[0, 2, 3] = 13
    full[1, 2:6, 3:8] = 5
    full[1, 2, 3] = 2
    full[1, 5, 7] = 14
    pp = PersonParsing([full[0, 1:3, 1:4], full[1, 2:6, 3:8]], [(1, 1), (3, 2)], (6, 8))
    parsing = np.where(full[0] > 0, full[0], full[1])
    e = np.linspace(0, 1, 48, dtype=np.float32).reshape(6, 8) if edges else None
    return ParsingResult(parsing, [[1, 1, 4, 3], [3, 2, 8, 6]], [0.9, 0.6], pp, CIHP, edges=e), full


def test_people_masks_and_person_ids():
    r, full = _result()
    assert len(r) == 2 and r.image_size == (6, 8)
    p0, p1 = r.people
    assert np.array_equal(p0.part_map, full[0]) and p1.offset == (3, 2)
    assert p0.mask("face").sum() == 1 and p0.mask().sum() == 6
    assert r.mask("upper-clothes").sum() == 4 * 5 - 2  # the overlap pixel and the left-arm pixel
    assert r.classes_present() == ["hair", "upper-clothes", "face", "left-arm"]
    with pytest.raises(ValueError, match="Unknown class 'nose'"):
        r.mask("nose")
    expected = np.array([
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 0, 0, 0, 0],
        [0, 1, 1, 1, 2, 2, 2, 2],  # (2, 3): both people; 0.9 > 0.6, so person 1
        [0, 0, 0, 2, 2, 2, 2, 2],
        [0, 0, 0, 2, 2, 2, 2, 2],
        [0, 0, 0, 2, 2, 2, 2, 2],
    ])
    assert np.array_equal(r.person_ids(), expected)
    kept = r.filter(0.7)
    assert len(kept) == 1 and kept.scores.tolist() == [pytest.approx(0.9)]
    assert np.array_equal(kept.parsing, r.parsing)


def test_empty_result_gets_the_image_size():
    pp = PersonParsing([], np.zeros((0, 2)), (0, 0))
    r = ParsingResult(np.zeros((3, 5), np.int64), np.zeros((0, 4)), np.zeros((0,)), pp, CIHP)
    assert r.person_ids().shape == (3, 5) and r.people == [] and r.filter(0.5).image_size == (3, 5)


def test_from_semantic_outputs_takes_the_argmax_and_has_no_people():
    import torch

    logits = torch.zeros(20, 2, 3)
    logits[13, 0, :] = 1.0  # top row: face
    logits[2, 1, 2] = 1.0  # bottom-right: hair
    r = ParsingResult.from_outputs({"sem_seg": logits}, CIHP)
    assert r.parsing.tolist() == [[13, 13, 13], [0, 0, 2]] and len(r) == 0
    assert r.classes_present() == ["hair", "face"]


def _assert_same(a, b, edges_atol=0.0):
    assert np.array_equal(a.parsing, b.parsing)
    assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.scores, b.scores)
    assert len(a.person_parsing) == len(b.person_parsing)
    for ca, cb in zip(a.person_parsing.crops, b.person_parsing.crops):
        assert np.array_equal(ca, cb)
    assert np.array_equal(a.person_parsing.offsets, b.person_parsing.offsets)
    assert a.label_space is b.label_space
    if a.edges is None:
        assert b.edges is None
    else:
        np.testing.assert_allclose(a.edges, b.edges, atol=edges_atol)


def test_png_dump_round_trip_and_file_contents(tmp_path):
    r, _ = _result(edges=True)
    src = InputSource("/in/sub/img.jpg", "sub/img", "image")
    path = PngDumpWriter(str(tmp_path)).write(r, src)
    assert path == str(tmp_path / "sub" / "img.json")
    assert sorted(os.listdir(tmp_path / "sub")) == [
        "img.json", "img_edges.png", "img_parsing.png", "img_persons.png"]
    png = Image.open(tmp_path / "sub" / "img_parsing.png")
    assert png.mode == "P" and png.getpalette()[3 * 13 : 3 * 14] == list(CIHP.palette[13])
    assert np.array_equal(np.asarray(png), r.parsing)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "sub" / "img_persons.png")), r.person_ids())
    doc = json.loads((tmp_path / "sub" / "img.json").read_text())
    assert doc["label_space"] == "cihp" and doc["classes"][13] == "face"
    assert [p["id"] for p in doc["people"]] == [1, 2]
    assert [(q["name"], q["area"]) for q in doc["people"][1]["parts"]] == [
        ("hair", 1), ("upper-clothes", 18), ("left-arm", 1)]
    (back,) = load_dump(str(tmp_path))
    _assert_same(r, back, edges_atol=0.5 / 255 + 1e-6)
    assert back.file_name == "/in/sub/img.jpg" and back.frame is None


def test_pickle_dump_round_trip_is_exact(tmp_path):
    r, _ = _result(edges=True)
    w = PickleDumpWriter(str(tmp_path / "res.pkl"))
    src = InputSource("v.mp4", "v", "video")
    w.write(r, src, 0)
    w.write(r.filter(0.7), src, 1)
    assert not (tmp_path / "res.pkl").exists()  # only moved into place on close
    w.close()
    a, b = load_dump(str(tmp_path / "res.pkl"))
    _assert_same(r, a)
    _assert_same(r.filter(0.7), b)
    assert (a.frame, b.frame) == (0, 1)


def test_video_frame_naming():
    src = InputSource("/x/clips/walk.mp4", "clips/walk", "video")
    assert output_stem("out", src, 123) == os.path.join("out", "clips/walk", "walk_000123")


def test_renderers_keep_size_and_draw_where_parts_are():
    r, _ = _result(edges=False)
    img = np.full((6, 8, 3), 128, np.uint8)
    out = render(img, r, build_renderer("parsing", CIHP, 0))  # 0: input size, legend beside
    assert out.shape == (6, 8 + legend_width(CIHP), 3)
    changed = np.any(out[:, :8] != img, axis=2)
    assert changed[r.parsing > 0].all()
    edges_skipped = render(img, r, build_renderer("edges", CIHP, 0))
    assert np.array_equal(edges_skipped, img)
    for spec in ("instances", "bbox"):
        assert render(img, r, build_renderer(spec, CIHP, 0)).shape == img.shape
    # default: upscaled by an integer factor to a long side >= 512 (8 px -> 64x)
    big = render(img, r, build_renderer("parsing,instances,bbox,edges", CIHP))
    assert big.shape == (6 * 64, 8 * 64 + legend_width(CIHP), 3)
    assert render(img, r, build_renderer("panel", CIHP)).shape[0] == 6 * 64 + 22
    with pytest.raises(ValueError, match="Unknown visualizer.*'mesh'"):
        build_renderer("parsing,mesh", CIHP)
