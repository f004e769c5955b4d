"""Person box AP next to the parsing metrics, as the official Parsing R-CNN reports it.

``ParsingBoxEvaluator`` is Detectron2's ``COCOEvaluator`` (official COCO API, ``use_fast_impl=False``,
which needs no compiled extension) on a COCO ground truth built on the fly from the parsing
dataset's records: one box per (non-crowd and crowd) person, category 1 "person", integer image
ids standing for the records' string ``image_id``s.
"""
import json
import logging
import os
import tempfile
from typing import Dict, List, Optional, Tuple

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import COCOEvaluator
from detectron2.structures import BoxMode
from detectron2.utils import comm

__all__ = ["AREA_RULES", "records_to_coco_boxes", "ParsingBoxEvaluator"]

logger = logging.getLogger(__name__)

# GT "area" (COCO's small/medium/large split): the person's labelled pixels (COCO's definition,
# the segmentation area; the json layout's own "area" when the record has one) or the box area.
AREA_RULES = ("pixels", "box")


def _person_areas(record: dict) -> List[float]:
    from human_parsing.data.io import load_person_parsing

    maps = load_person_parsing(record)
    return [float(((m > 0) & (m != 255)).sum()) for m in maps]


def records_to_coco_boxes(records: List[dict], area: str = "pixels") -> Tuple[dict, Dict[str, int]]:
    """Instance-parsing dataset dicts → (COCO box ground truth, record image_id → COCO image id).

    Boxes are the records' ``bbox`` (any ``BoxMode``) as XYWH; ``area`` is one of ``AREA_RULES``.
    """
    if area not in AREA_RULES:
        raise ValueError(f"Unknown box-AP area rule {area!r}; choose from {AREA_RULES}")
    need_pixels = area == "pixels" and any(
        "area" not in a for r in records for a in r.get("annotations", ())
    )
    if need_pixels:
        from human_parsing.data.datasets.common import parallel_map

        pixel_areas = parallel_map(_person_areas, records)
    images, anns, ids = [], [], {}
    for k, rec in enumerate(records):
        if "annotations" not in rec:
            raise ValueError(f"box AP: image {rec.get('image_id')} ({rec.get('file_name')}) has no annotations")
        image_id = k + 1
        if rec["image_id"] in ids:
            raise ValueError(f"box AP: duplicate image_id {rec['image_id']!r}")
        ids[rec["image_id"]] = image_id
        images.append({"id": image_id, "width": rec["width"], "height": rec["height"],
                       "file_name": rec["file_name"]})
        for j, a in enumerate(rec["annotations"]):
            x, y, w, h = BoxMode.convert(list(a["bbox"]), a["bbox_mode"], BoxMode.XYWH_ABS)
            if area == "box":
                ar = float(w * h)
            else:
                ar = float(a["area"]) if "area" in a else pixel_areas[k][j]
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": 1,
                         "bbox": [float(x), float(y), float(w), float(h)], "area": ar,
                         "iscrowd": int(a.get("iscrowd", 0))})
    coco = {"info": {"description": "person boxes from parsing annotations"}, "images": images,
            "annotations": anns, "categories": [{"id": 1, "name": "person"}]}
    return coco, ids


class ParsingBoxEvaluator(COCOEvaluator):
    """Person box AP (``{"bbox": {"AP", "AP50", "AP75", "APs", "APm", "APl", ...}}``) of a parsing
    dataset, with the official COCO API. The converted ground truth goes through a per-process
    temporary json, read in ``__init__`` via a metadata entry ``<dataset>_person_boxes``
    (``thing_classes`` ["person"], ids 1 → 0); the main process also keeps a copy in
    ``<output_dir>/<dataset>_person_boxes.json``.
    """

    def __init__(self, dataset_name: str, output_dir: Optional[str] = None, distributed: bool = True,
                 area: str = "pixels"):
        coco, self._coco_ids = records_to_coco_boxes(DatasetCatalog.get(dataset_name), area)
        alias = f"{dataset_name}_person_boxes"
        text = json.dumps(coco)
        with tempfile.TemporaryDirectory() as tmp:  # COCO reads it in __init__; not needed after
            json_file = os.path.join(tmp, f"{alias}.json")
            with open(json_file, "w") as f:
                f.write(text)
            self._init_coco(dataset_name, alias, json_file, output_dir, distributed)
        if output_dir and comm.is_main_process():
            from human_parsing.data.io import write_text

            write_text(os.path.join(output_dir, f"{alias}.json"), text)

    def _init_coco(self, dataset_name, alias, json_file, output_dir, distributed):
        if alias in MetadataCatalog.list():
            MetadataCatalog.remove(alias)  # an earlier evaluator's file
        MetadataCatalog.get(alias).set(json_file=json_file, thing_classes=["person"],
                                       thing_dataset_id_to_contiguous_id={1: 0},
                                       evaluator_type="coco", source_dataset=dataset_name)
        super().__init__(alias, tasks=("bbox",), distributed=distributed, output_dir=output_dir,
                         use_fast_impl=False, allow_cached_coco=False)

    def process(self, inputs, outputs):
        """As ``COCOEvaluator.process``, with each input's ``image_id`` mapped to its COCO id."""
        mapped = []
        for inp in inputs:
            if inp["image_id"] not in self._coco_ids:
                raise KeyError(f"image_id {inp['image_id']!r} is not in the box ground truth")
            mapped.append({**inp, "image_id": self._coco_ids[inp["image_id"]]})
        super().process(mapped, outputs)
