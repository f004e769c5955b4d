"""Issue 16 through the public doors (registered datasets, mappers, trainer, converter, evaluator,
visualizer, CLIs): colour-coded label PNGs, one validation path, the config's label space against
the dataset's, the converter's refusal, progress bars and the EXIF-orientation policy."""

import glob
import io
import logging
import os
import sys

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image, ImageOps

from human_parsing.data import io as hp_io
from human_parsing.data.converters import cihp_to_coco
from human_parsing.data.datasets import check_record
from human_parsing.data.datasets.builtin import register_cihp_instances, register_semantic_parsing
from human_parsing.data.datasets import common as ds_common
from human_parsing.data.io import DataFormatError, read_image, read_label_map, write_label_png
from human_parsing.data.label_spaces import get_label_space
from human_parsing.data.mappers import InstanceParsingDatasetMapper, SemanticParsingDatasetMapper
from human_parsing.evaluation import build_parsing_evaluator, formats
from human_parsing.vis import extract_from_record
from tests.cli_helpers import ROOT, run_tool
from tests.data.fixtures import CIHP, SEMANTIC_ITEMS, write_cihp, write_semantic

_C1 = np.array(CIHP["train"]["0000001"]["categories"], np.uint8)
_C2 = np.array(CIHP["train"]["0000002"]["categories"], np.uint8)
_H1 = np.array(CIHP["train"]["0000001"]["humans"], np.uint8)


def _register(name, register, *args):
    """(Re-)register ``name`` so a test can run twice in one process."""
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
    if name in MetadataCatalog.list():
        MetadataCatalog.remove(name)
    register(name, *args)
    return DatasetCatalog.get(name)


def _write_colour(path, label, space, alpha=False):
    """A colour-coded label PNG: each index drawn in ``space``'s palette colour."""
    rgb = get_label_space(space).palette[np.asarray(label, np.uint8)]
    if alpha:
        rgb = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    Image.fromarray(rgb).save(str(path))


def _collect(logger_name):
    """Messages logged on ``logger_name`` from now on (Detectron2's setup_logger may stop
    propagation to the root logger, so caplog is not reliable here)."""
    records = []
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())
    logging.getLogger(logger_name).addHandler(handler)
    return records, handler


def _mapper(cls, space):
    return cls(is_train=True, augmentations=[], label_space=space, image_format="BGR")


# --- item 1: colour-coded label PNGs ------------------------------------------------------------


def test_colour_coded_label_decoded_through_palette_by_every_door(tmp_path, monkeypatch):
    root = write_cihp(tmp_path / "cihp")
    cat = os.path.join(root, "Training", "Category_ids", "0000001.png")
    _write_colour(cat, _C1, "cihp", alpha=True)  # RGBA, as some public copies ship
    assert Image.open(cat).mode == "RGBA"
    before = open(cat, "rb").read()
    monkeypatch.setitem(hp_io._warned, "colour", False)
    logged, handler = _collect("human_parsing.data.io")
    try:
        recs = _register("_test_colour_cihp_train", register_cihp_instances, root, "train")
        # mapper (training door): the semantic target and each person's parts are the indices
        out = _mapper(InstanceParsingDatasetMapper, "cihp")(recs[0])
        np.testing.assert_array_equal(out["sem_seg"].numpy(), _C1)
        np.testing.assert_array_equal(out["instances"].gt_parsing.tensor[0].numpy(), _C1 * (_H1 == 1))
        # full check, visualizer, converter, offline and online evaluation
        assert check_record(recs[0], "cihp") == 2
        np.testing.assert_array_equal(extract_from_record(recs[0], "cihp").parsing, _C1)
        coco = str(tmp_path / "coco")
        cihp_to_coco(root, "train", coco)
        np.testing.assert_array_equal(read_label_map(os.path.join(coco, "train_seg", "0000001.png")), _C1)
        gt = formats.read_gt(os.path.join(root, "Training"), "cihp", "0000001", 20, "cihp")
        np.testing.assert_array_equal(gt["sem"], _C1)
        ev = build_parsing_evaluator(None, "_test_colour_cihp_train")
        ev.reset()
        ev.process(recs, [{"parsing": torch.from_numpy(c.astype(np.int64))} for c in (_C1, _C2)])
        assert ev.evaluate()["parsing"]["mIoU"] == pytest.approx(100.0)
    finally:
        logging.getLogger("human_parsing.data.io").removeHandler(handler)
    decoded = [m for m in logged if "colour-coded label PNG, decoded through the cihp palette" in m]
    assert len(decoded) == 1 and decoded[0].startswith(cat)  # once per process, naming the file
    assert open(cat, "rb").read() == before  # nothing rewritten
    # without a label space there is no palette to decode with: an error, not a guess
    with pytest.raises(DataFormatError, match=r"0000001\.png: colour-coded label PNG .*no label space"):
        formats.read_gt(os.path.join(root, "Training"), "cihp", "0000001", 20)


def test_colour_coded_label_with_foreign_colours_rejected_by_every_door(tmp_path):
    """All colours with red = 0 used to read as all background, silently."""
    root = write_cihp(tmp_path / "cihp")
    cat = os.path.join(root, "Training", "Category_ids", "0000001.png")
    rgb = np.zeros(_C1.shape + (3,), np.uint8)
    rgb[_C1 > 0] = (0, 64, 200)  # not a CIHP palette colour
    Image.fromarray(rgb).save(cat)
    msg = r"Category_ids/0000001\.png: colour-coded label PNG .*not colours of the cihp palette, e\.g\. \(0, 64, 200\)"
    recs = _register("_test_colour_bad_cihp_train", register_cihp_instances, root, "train")
    doors = {
        "mapper": lambda: _mapper(InstanceParsingDatasetMapper, "cihp")(recs[0]),
        "check": lambda: check_record(recs[0], "cihp"),
        "visualizer": lambda: extract_from_record(recs[0], "cihp"),
        "offline evaluation": lambda: formats.read_gt(
            os.path.join(root, "Training"), "cihp", "0000001", 20, "cihp"
        ),
        "evaluator": lambda: build_parsing_evaluator(None, "_test_colour_bad_cihp_train").process(
            recs[:1], [{"parsing": torch.zeros(_C1.shape, dtype=torch.int64)}]
        ),
        "converter": lambda: cihp_to_coco(root, "train", str(tmp_path / "coco")),
    }
    for door, call in doors.items():
        with pytest.raises(DataFormatError, match=msg):
            call()
    assert not glob.glob(str(tmp_path / "coco" / "annotations" / "*.json"))  # no json: incomplete


def test_grayscale_as_rgb_and_gray_palette_colours(tmp_path):
    ppp = write_semantic(tmp_path / "ppp", "pascal_person_part")
    lab = np.array(SEMANTIC_ITEMS["train"]["100"], np.uint8)
    path = os.path.join(ppp, "SegmentationPart", "100.png")
    Image.fromarray(np.repeat(lab[:, :, None], 3, axis=2)).save(path)  # grayscale saved as RGB
    recs = _register("_test_gray_ppp_train", register_semantic_parsing, "pascal_person_part", ppp, "train")
    out = _mapper(SemanticParsingDatasetMapper, "pascal_person_part")(recs[0])
    np.testing.assert_array_equal(out["sem_seg"].numpy(), lab)
    # colour-coded with the label spaces' ignore colours: white and VOC's void -> 255
    rgba = np.concatenate(
        [get_label_space("pascal_person_part").palette[lab], np.full(lab.shape + (1,), 255, np.uint8)], -1
    )
    rgba[0, 0, :3], rgba[3, 0, :3] = (255, 255, 255), (224, 224, 192)
    Image.fromarray(rgba).save(path)
    want = lab.copy()
    want[0, 0] = want[3, 0] = 255
    out = _mapper(SemanticParsingDatasetMapper, "pascal_person_part")(recs[0])
    np.testing.assert_array_equal(out["sem_seg"].numpy(), want)
    # a colour-coded CIHP map holding only background and coat, VOC's gray (128, 128, 128):
    # its channels are equal, but 128 is no CIHP class while the gray is the coat colour
    coat = np.array([[0, 7], [7, 7]], np.uint8)
    gray = tmp_path / "coat.png"
    _write_colour(gray, coat, "cihp")
    assert np.asarray(Image.open(gray)).tolist()[0][1] == [128, 128, 128]
    np.testing.assert_array_equal(read_label_map(str(gray), "cihp"), coat)
    assert read_label_map(str(gray)).tolist() == [[0, 128], [128, 128]]  # no label space: gray


# --- item 8: one validation path; the config's label space --------------------------------------


def test_visualize_data_validates_like_the_loader(tmp_path):
    ds = tmp_path / "datasets"
    root = write_cihp(ds / "CIHP" / "instance-level_human_parsing")
    bad = _C1.copy()
    bad[2, 1] = 25  # CIHP has 20 classes
    write_label_png(os.path.join(root, "Training", "Category_ids", "0000001.png"), bad)
    out = tmp_path / "vis"
    out.mkdir()
    (out / "keep.png").write_bytes(b"existing")
    r = run_tool(
        ["visualize_data.py", "--dataset", "cihp_train", "--num", "2", "--output", str(out)],
        env={"HUMAN_PARSING_DATASETS": str(ds)},
    )
    assert r.returncode != 0
    assert "Category_ids/0000001.png: label values [25] outside [0, 20)" in r.stderr
    assert sorted(os.listdir(out)) == ["keep.png"]  # nothing drawn, nothing half-written
    assert (out / "keep.png").read_bytes() == b"existing"
    # the loader's door says the same
    recs = _register("_test_vis_cihp_train", register_cihp_instances, root, "train")
    with pytest.raises(DataFormatError, match=r"0000001\.png: label values \[25\]"):
        _mapper(InstanceParsingDatasetMapper, "cihp")(recs[0])


def _cfg(**items):
    from detectron2.config import get_cfg

    from human_parsing.config import add_human_parsing_config

    cfg = get_cfg()
    add_human_parsing_config(cfg)
    cfg.merge_from_list([v for kv in items.items() for v in kv])
    return cfg


def test_config_label_space_differs_from_dataset(tmp_path):
    from human_parsing.data.mappers import build_mapper
    from human_parsing.engine import ParsingTrainer

    cfg = _cfg(**{"INPUT.LABEL_SPACE": "cihp", "DATASETS.TRAIN": ("atr_train",), "DATASETS.TEST": ()})
    msg = (
        r"INPUT\.LABEL_SPACE: the config's label space 'cihp' differs from the label space 'atr' "
        r"of dataset 'atr_train' \(DATASETS\.TRAIN\)"
    )
    with pytest.raises(DataFormatError, match=msg):  # before any file is read
        ParsingTrainer.build_train_loader(cfg)
    cfg = _cfg(**{"INPUT.LABEL_SPACE": "lip", "DATASETS.TRAIN": (), "DATASETS.TEST": ("cihp_val",)})
    with pytest.raises(DataFormatError, match=r"'lip' differs from .* 'cihp' of dataset 'cihp_val' \(DATASETS\.TEST\)"):
        ParsingTrainer.build_test_loader(cfg, "cihp_val")
    # unpinned, it is the dataset's; pinned to the same one, it is accepted
    cfg = _cfg(**{"DATASETS.TRAIN": ("atr_train",), "INPUT.MAPPER_NAME": "SemanticParsingDatasetMapper"})
    assert build_mapper(cfg, True).label_space.name == "atr"
    cfg.INPUT.LABEL_SPACE = "atr"
    assert build_mapper(cfg, True).label_space.name == "atr"


def test_every_config_pins_its_datasets_label_space():
    import parsing_rcnn
    import pgn
    from detectron2.config import get_cfg

    from human_parsing.config import add_human_parsing_config
    from human_parsing.data.mappers import label_space_from_cfg

    files = sorted(glob.glob(os.path.join(ROOT, "configs", "**", "*.yaml"), recursive=True))
    files = [f for f in files if not os.path.basename(f).startswith("Base-")]
    assert files
    for f in files:
        cfg = get_cfg()
        add_human_parsing_config(cfg)
        parsing_rcnn.add_parsing_rcnn_config(cfg)
        pgn.add_pgn_config(cfg)
        cfg.merge_from_file(f)
        if cfg.INPUT.MAPPER_NAME == "DatasetMapper":
            continue  # Detectron2's own mapper (COCO keypoint pre-training): no label space
        label_space_from_cfg(cfg)  # raises on a mismatch


# --- item 9: the converter never replaces files without --overwrite ------------------------------


def test_converter_refuses_to_replace_files_without_overwrite(tmp_path):
    root = write_cihp(tmp_path / "cihp")
    out = tmp_path / "coco"
    (out / "val_img").mkdir(parents=True)
    old = out / "val_img" / "0000003.jpg"  # e.g. left by an interrupted run: no json yet
    old.write_bytes(b"older conversion")
    args = ["--layout", "cihp", "--root", root, "--split", "val", "--out", str(out)]
    r = run_tool(["convert_to_coco_parsing.py"] + args)
    assert r.returncode != 0
    assert f"{old}: already exists" in r.stderr and "--overwrite" in r.stderr
    assert "overwrite=True (" not in r.stderr  # the flag, not the Python argument, comes first
    assert old.read_bytes() == b"older conversion"
    assert sorted(os.listdir(out)) == ["val_img"] and os.listdir(out / "val_img") == ["0000003.jpg"]
    json_file = cihp_to_coco(root, "val", str(out), overwrite=True)
    assert old.read_bytes() == open(os.path.join(root, "Validation", "Images", "0000003.jpg"), "rb").read()
    # an existing json: the same refusal, naming the json and the flag; the json is kept
    content = open(json_file, "rb").read()
    with pytest.raises(FileExistsError, match=r"CIHP_val\.json: already exists; pass --overwrite"):
        cihp_to_coco(root, "val", str(out))
    assert open(json_file, "rb").read() == content


# --- item 11: progress bars ----------------------------------------------------------------------


class _FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_progress_bars_only_on_a_terminal(tmp_path, monkeypatch, tty):
    from human_parsing.data.datasets import load_semantic_parsing
    from human_parsing.data.synthetic import generate_split

    monkeypatch.setattr(ds_common, "PROGRESS_DELAY", 0.0)
    err = _FakeTTY() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    lip = write_semantic(tmp_path / "lip", "lip")
    load_semantic_parsing(lip, "lip", "train")  # first scan of a split
    generate_split("cihp", str(tmp_path / "syn"), "train", num_images=2, seed=0, size=(32, 32))
    cihp_to_coco(write_cihp(tmp_path / "cihp"), "train", str(tmp_path / "coco"))
    text = err.getvalue()
    for desc in ("scanning lip train", "writing synthetic cihp train", "converting train"):
        assert (desc in text) == tty, (desc, text)
    assert ("%|" in text) == tty  # a bar's "NN%|" (only on a terminal: logs, pipes, tests get none)


# --- item 12: EXIF orientation is ignored -------------------------------------------------------


def test_exif_orientation_ignored_so_labels_stay_aligned(tmp_path):
    lip = write_semantic(tmp_path / "lip", "lip")
    path = os.path.join(lip, "train_images", "100.jpg")  # stored 3 wide x 4 high, as its label
    stored = np.asarray(Image.open(path).convert("RGB"))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=100)
    assert ImageOps.exif_transpose(Image.open(path)).size == (4, 3)  # a viewer shows it turned
    recs = _register("_test_exif_lip_train", register_semantic_parsing, "lip", lip, "train")
    assert (recs[0]["height"], recs[0]["width"]) == (4, 3)
    out = _mapper(SemanticParsingDatasetMapper, "lip")(recs[0])
    assert tuple(out["image"].shape) == (3, 4, 3) and tuple(out["sem_seg"].shape) == (4, 3)
    np.testing.assert_array_equal(out["sem_seg"].numpy(), np.array(SEMANTIC_ITEMS["train"]["100"]))
    assert read_image(path, "RGB").shape == (4, 3, 3)
