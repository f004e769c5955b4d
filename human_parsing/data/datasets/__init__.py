"""Dataset readers (official layouts and the COCO-style json) and their registration."""
from .cihp import load_cihp_instances
from .coco_parsing import load_coco_parsing_json, register_coco_parsing
from .mhp_v2 import load_mhp_v2_instances
from .semantic import SEMANTIC_LAYOUTS, load_semantic_parsing
from .validate import check_dataset_dicts, check_record

__all__ = [
    "load_cihp_instances",
    "load_mhp_v2_instances",
    "load_semantic_parsing",
    "load_coco_parsing_json",
    "register_coco_parsing",
    "check_dataset_dicts",
    "check_record",
    "SEMANTIC_LAYOUTS",
]
