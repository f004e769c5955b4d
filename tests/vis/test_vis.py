"""Visualizers draw where the data is, in the label space's palette, at the input size."""
import importlib.util
import os

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import Boxes, BoxMode, Instances

from human_parsing.data.io import read_image, write_image, write_label_png
from human_parsing.data.label_spaces import get_label_space
from human_parsing.structures import PersonParsing
from human_parsing.vis import (
    BoxVisualizer,
    EdgeVisualizer,
    InstancesVisualizer,
    ParsingVisData,
    ParsingVisualizer,
    build_visualizer,
    extract_from_mapped,
    extract_from_outputs,
    extract_from_record,
)

CIHP = get_label_space("cihp")
H, W = 60, 80


def _maps():
    maps = np.zeros((2, H, W), np.uint8)
    maps[0, 30:50, 10:30] = 5  # upper-clothes
    maps[0, 30:36, 10:16] = 14  # left arm
    maps[1, 20:58, 55:75] = 2  # hair
    return maps


def _data(**kw):
    maps = _maps()
    edges = np.zeros((H, W), np.float32)
    edges[40, 5:60] = 1.0
    edges[10, 70] = 0.5
    fields = dict(
        parsing=maps.max(0), person_parsing=PersonParsing.from_full(maps),
        boxes=np.array([[10, 30, 30, 50], [55, 20, 75, 58]], np.float32),
        scores=np.array([0.9, 0.4], np.float32), edges=edges,
    )
    fields.update(kw)
    return ParsingVisData((H, W), **fields)


@pytest.fixture
def image():
    return np.full((H, W, 3), 100, np.uint8)


def _changed(a, b):
    return np.any(a != b, axis=2)


def test_parsing_colours_exactly_the_part_pixels(image):
    data = _data()
    out = ParsingVisualizer(CIHP, alpha=0.5, legend=False).visualize(image, data)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(_changed(out, image), data.parsing > 0)
    # BGR of the palette's RGB colour, half blended with grey 100
    for y, x, cls in ((32, 12, 14), (45, 25, 5), (40, 60, 2)):
        expected = np.rint(100 * 0.5 + CIHP.palette[cls][::-1] * 0.5)
        assert out[y, x].tolist() == expected.tolist()


def test_parsing_legend_lists_present_classes(image):
    vis = ParsingVisualizer(CIHP)
    data = _data()
    assert vis.classes_present(data.parsing) == [2, 5, 14]
    out = vis.visualize(image, data)
    assert out.shape == image.shape
    assert _changed(out, image)[:15, :15].any()  # legend in the top-left corner
    assert not _changed(out, image)[-5:, 35:50].any()  # empty background untouched


def test_instances_outline_each_person(image):
    out = InstancesVisualizer(CIHP).visualize(image, _data())
    ch = _changed(out, image)
    assert out.shape == image.shape
    assert ch[45:50, 9:11].any() and ch[45:50, 29:31].any()  # person 1, left/right sides
    assert ch[50:58, 54:56].any() and ch[50:58, 74:76].any()  # person 2
    assert not ch[45:47, 14:27].any()  # the inside of person 1 (below its label) is not filled
    assert not ch[0:12, 32:50].any()
    # each person its own colour: the outlines' mean colours differ
    c1, c2 = out[45:50, 9:11][ch[45:50, 9:11]].mean(0), out[50:58, 54:56][ch[50:58, 54:56]].mean(0)
    assert np.abs(c1 - c2).max() > 20


def test_instances_outline_tiny_people(image):
    """A 2-px-wide person (the crop GenericMask would read as polygon points) and a 1-px one."""
    maps = np.zeros((2, H, W), np.uint8)
    maps[0, 10:13, 20:22] = 5
    maps[1, 40, 60] = 2
    data = ParsingVisData((H, W), person_parsing=PersonParsing.from_full(maps))
    ch = _changed(InstancesVisualizer(CIHP, line_width=1.0).visualize(image, data), image)
    assert ch[8:15, 18:24].any() and ch[38:43, 58:63].any()
    assert not ch[28:36, :].any()


def test_boxes_and_edges(image):
    data = _data()
    ch = _changed(BoxVisualizer(CIHP).visualize(image, data), image)
    assert ch[30:50, 9:12].any() and ch[20:58, 74:77].any() and not ch[0:10, 35:50].any()
    out = EdgeVisualizer(CIHP).visualize(image, data)
    assert np.array_equal(_changed(out, image), data.edges > 0)
    assert not np.array_equal(out[40, 10], out[10, 70])  # strength shows


def test_missing_fields_and_bad_input(image):
    data = _data(edges=None, person_parsing=None)
    assert np.array_equal(EdgeVisualizer(CIHP).visualize(image, data), image)
    assert np.array_equal(InstancesVisualizer(CIHP).visualize(image, data), image)
    with pytest.raises(ValueError, match="size"):
        ParsingVisualizer(CIHP).visualize(image[:10], data)
    with pytest.raises(ValueError, match="Unknown visualizer"):
        build_visualizer("parsing,contours", "cihp")
    vis = build_visualizer("parsing, bbox", MetadataCatalog.get("_vis_test_meta").set(label_space="lip"))
    assert [type(v) for v in vis.visualizers] == [ParsingVisualizer, BoxVisualizer]
    assert vis.visualizers[0].label_space.name == "lip"


def test_extract_from_model_outputs():
    maps = _maps()
    inst = Instances((H, W))
    inst.pred_boxes = Boxes(torch.tensor([[10.0, 30, 30, 50], [55, 20, 75, 58]]))
    inst.scores = torch.tensor([0.9, 0.4])
    inst.pred_classes = torch.zeros(2, dtype=torch.int64)
    inst.pred_parsing = PersonParsing.from_full(maps)
    outputs = {"instances": inst, "parsing": torch.from_numpy(maps.max(0)).long(),
               "edges": torch.zeros(H, W)}
    data = extract_from_outputs(outputs)
    assert data.image_size == (H, W) and len(data) == 2
    # visualizers take the output dict directly
    image = np.full((H, W, 3), 100, np.uint8)
    out = build_visualizer("parsing", "cihp").visualize(image, outputs)
    assert np.array_equal(out, ParsingVisualizer(CIHP).visualize(image, data))
    assert _changed(out, image)[maps.max(0) > 0][-50:].all()
    assert data.parsing.dtype == np.uint8 and np.array_equal(data.parsing, maps.max(0))
    assert data.scores.tolist() == pytest.approx([0.9, 0.4]) and data.boxes.shape == (2, 4)
    sem = extract_from_outputs({"sem_seg": torch.zeros(20, H, W).index_fill_(0, torch.tensor([3]), 1.0)})
    assert (sem.parsing == 3).all() and sem.person_parsing is None


def test_extract_from_mapped_and_record(tmp_path):
    maps = _maps()
    maps_padded = np.concatenate([maps, np.full((2, 4, W), 255, np.uint8)], axis=1)
    inst = Instances((H + 4, W))
    inst.gt_boxes = Boxes(torch.tensor([[10.0, 30, 30, 50], [55, 20, 75, 58]]))
    from human_parsing.structures import ParsingMaps

    inst.gt_parsing = ParsingMaps(maps_padded)
    edges = torch.zeros(H + 4, W, dtype=torch.int64)
    edges[-4:] = 255
    mapped = {"image": torch.zeros(3, H + 4, W, dtype=torch.uint8), "instances": inst,
              "sem_seg": torch.from_numpy(maps_padded.max(0)).long(), "edges": edges}
    data = extract_from_mapped(mapped)
    assert data.image_size == (H + 4, W) and data.edges.max() == 0
    assert data.person_parsing.offsets.tolist() == [[10, 30], [55, 20]]  # padding is nobody's

    cat_path, p0, p1 = (str(tmp_path / f"{n}.png") for n in ("cat", "p0", "p1"))
    write_label_png(cat_path, maps.max(0))
    write_label_png(p0, maps[0])
    write_label_png(p1, maps[1])
    record = {"file_name": "x.jpg", "image_id": "x", "height": H, "width": W, "sem_seg_file_name": cat_path,
              "annotations": [{"bbox": [10, 30, 20, 20], "bbox_mode": BoxMode.XYWH_ABS, "category_id": 0,
                               "iscrowd": 0, "parsing": {"file_name": p}} for p in (p0, p1)]}
    data = extract_from_record(record)
    assert data.boxes[0].tolist() == [10, 30, 30, 50] and data.scores is None
    assert np.array_equal(data.person_parsing.to_full(), maps)


def _load_tool():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "visualize_data.py")
    spec = importlib.util.spec_from_file_location("visualize_data", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_visualize_data_tool_flips(tmp_path):
    maps = np.kron(_maps(), np.ones((1, 3, 3), np.uint8))  # 180×240, room for the legend
    h, w = maps.shape[1:]
    img = np.full((h, w, 3), 100, np.uint8)
    paths = {n: str(tmp_path / f"{n}.png") for n in ("img", "cat", "p0", "p1")}
    write_image(paths["img"], img)
    write_label_png(paths["cat"], maps.max(0))
    write_label_png(paths["p0"], maps[0])
    write_label_png(paths["p1"], maps[1])
    record = {"file_name": paths["img"], "image_id": "im1", "height": h, "width": w,
              "sem_seg_file_name": paths["cat"],
              "annotations": [{"bbox": [0, 0, 1, 1], "bbox_mode": BoxMode.XYXY_ABS, "category_id": 0,
                               "iscrowd": 0, "parsing": {"file_name": paths[p]}} for p in ("p0", "p1")]}
    name = "_vis_tool_test"
    if name not in DatasetCatalog.list():
        DatasetCatalog.register(name, lambda: [record])
        MetadataCatalog.get(name).set(label_space="cihp")
    tool = _load_tool()
    out_dir = str(tmp_path / "out")
    args = ["--dataset", name, "--num", "1", "--output", out_dir, "--vis", "parsing"]
    assert tool.main(args) == 0
    flip = ["--source", "dataloader", "INPUT.RANDOM_FLIP", "horizontal", "INPUT.PARSING.FLIP_PROB", "1.0",
            "INPUT.PARSING.RESIZE_TYPE", "none"]
    assert tool.main(args + flip) == 0
    plain, aug = (read_image(os.path.join(out_dir, f)) for f in ("im1.png", "im1_aug.png"))
    assert plain.shape == aug.shape == (h, w, 3)
    # the left arm (rows 90..107, cols 30..47) is drawn in the right-arm colour, mirrored
    arm = lambda cls: np.rint(100 * 0.4 + CIHP.palette[cls][::-1] * 0.6).tolist()  # noqa: E731
    assert plain[100, 36].tolist() == arm(14) and aug[100, w - 1 - 36].tolist() == arm(15)
    assert aug[100, 36].tolist() == arm(2)  # person 2 (hair, cols 165..224) mirrored onto it
    # --vis panel: input | parts | people | classes at >= 512 px (240 -> 3x)
    panel_dir = str(tmp_path / "panel")
    assert tool.main(["--dataset", name, "--num", "1", "--output", panel_dir, "--vis", "panel"]) == 0
    panel = read_image(os.path.join(panel_dir, "im1.png"))
    assert panel.shape[0] == 3 * h + 22 and panel.shape[1] > 3 * 3 * w
