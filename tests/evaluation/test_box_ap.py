"""Person box AP next to the parsing metrics (Detectron2's COCOEvaluator, official COCO API) on a
tiny synthetic CIHP-layout set: GT conversion, id mapping, AP values worked out by hand."""
import json
import os

import numpy as np
import pytest
import torch

from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import DatasetEvaluators
from detectron2.structures import Boxes, BoxMode, Instances
from human_parsing.config import add_human_parsing_config
from human_parsing.data.io import write_label_png
from human_parsing.data.label_spaces import get_label_space
from human_parsing.engine import ParsingTrainer
from human_parsing.evaluation.box import ParsingBoxEvaluator, records_to_coco_boxes
from human_parsing.evaluation.formats import write_id_map
from human_parsing.structures import PersonParsing

H, W = 40, 60
# per image: people as (x0, y0, x1, y1) rectangles of upper-clothes (5), one hair (2) pixel row
SCENES = {"img_a": [(2, 3, 20, 33)], "img_b": [(5, 5, 25, 35), (30, 2, 58, 38)]}
NAME = "hp_box_ap_test"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("box_ap"))
    records = []
    for iid, people in SCENES.items():
        cat, hum = np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8)
        for k, (x0, y0, x1, y1) in enumerate(people, start=1):
            cat[y0:y1, x0:x1] = 5
            cat[y0, x0:x1] = 2
            hum[y0:y1, x0:x1] = k
        paths = [os.path.join(root, f"{iid}_{s}.png") for s in ("cat", "hum")]
        write_label_png(paths[0], cat)
        write_id_map(paths[1], hum)
        anns = [{"bbox": list(b), "bbox_mode": BoxMode.XYXY_ABS, "category_id": 0, "iscrowd": 0,
                 "parsing": {"file_name": paths[0], "human_ids_file_name": paths[1], "human_id": k}}
                for k, b in enumerate(people, start=1)]
        records.append({"file_name": os.path.join(root, iid + ".jpg"), "image_id": iid, "height": H,
                        "width": W, "sem_seg_file_name": paths[0], "annotations": anns})
    if NAME in DatasetCatalog.list():
        DatasetCatalog.remove(NAME)
        MetadataCatalog.remove(NAME)
    DatasetCatalog.register(NAME, lambda: records)
    MetadataCatalog.get(NAME).set(evaluator_type="parsing", **get_label_space("cihp").metadata())
    return root, records


def _output(boxes, scores):
    inst = Instances((H, W))
    inst.pred_boxes = Boxes(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
    inst.scores = torch.tensor(scores, dtype=torch.float32)
    inst.pred_classes = torch.zeros(len(scores), dtype=torch.int64)
    crops = [np.full((int(b[3] - b[1]), int(b[2] - b[0])), 5, np.uint8) for b in boxes]
    inst.pred_parsing = PersonParsing(crops, [(int(b[0]), int(b[1])) for b in boxes], (H, W))
    return {"instances": inst, "parsing": torch.zeros(H, W, dtype=torch.int64)}


def test_gt_conversion_boxes_areas_and_ids(dataset):
    _, records = dataset
    coco, ids = records_to_coco_boxes(records)
    assert ids == {"img_a": 1, "img_b": 2}
    assert [a["bbox"] for a in coco["annotations"]] == [[2, 3, 18, 30], [5, 5, 20, 30], [30, 2, 28, 36]]
    assert [a["area"] for a in coco["annotations"]] == [18 * 30, 20 * 30, 28 * 36]  # all labelled
    assert [a["image_id"] for a in coco["annotations"]] == [1, 2, 2]
    # a json "area" wins over the pixels; "box" uses w * h
    records[0]["annotations"][0]["area"] = 7.0
    try:
        assert records_to_coco_boxes(records)[0]["annotations"][0]["area"] == 7.0
        assert records_to_coco_boxes(records, "box")[0]["annotations"][0]["area"] == 540.0
    finally:
        del records[0]["annotations"][0]["area"]
    with pytest.raises(ValueError, match="area rule"):
        records_to_coco_boxes(records, "mask")


def test_box_ap_by_hand(dataset, tmp_path):
    root, records = dataset
    ev = ParsingBoxEvaluator(NAME, output_dir=str(tmp_path))
    ev.reset()
    # img_a: exact box; img_b: a false positive scored above both exact boxes
    ev.process([records[0]], [_output([[2, 3, 20, 33]], [0.9])])
    ev.process([records[1]], [_output([[40, 30, 44, 34], [5, 5, 25, 35], [30, 2, 58, 38]], [0.95, 0.8, 0.7])])
    res = ev.evaluate()["bbox"]
    # ranked: FP 0.95, TP 0.9, TP 0.8, TP 0.7: precision 1/2, 2/3, 3/4 at recall 1/3, 2/3, 1; the
    # envelope is 3/4 at all of COCO's 101 recall points → AP 75 at every IoU threshold
    assert res["AP"] == pytest.approx(75.0) and res["AP50"] == pytest.approx(75.0)
    assert os.path.isfile(tmp_path / f"{NAME}_person_boxes.json")
    with open(tmp_path / f"{NAME}_person_boxes.json") as f:
        assert len(json.load(f)["annotations"]) == 3


def test_trainer_adds_box_ap_for_instance_datasets(dataset, tmp_path):
    _, records = dataset
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    assert not cfg.TEST.PARSING_EVAL.BOX_AP
    cfg.TEST.PARSING_EVAL.BOX_AP = True
    ev = ParsingTrainer.build_evaluator(cfg, NAME, str(tmp_path))
    assert isinstance(ev, DatasetEvaluators)
    assert [type(e).__name__ for e in ev._evaluators] == ["ParsingEvaluator", "ParsingBoxEvaluator"]
    ev.reset()
    for rec in records:
        boxes = [a["bbox"] for a in rec["annotations"]]
        ev.process([rec], [_output(boxes, [0.9] * len(boxes))])
    res = ev.evaluate()
    assert res["bbox"]["AP"] == pytest.approx(100.0)
    assert "mIoU" in res["parsing"]
