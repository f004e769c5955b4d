"""Registration of the builtin human-parsing datasets, like Detectron2's ``builtin.py``.

Every split is registered lazily under ``$HUMAN_PARSING_DATASETS`` (default ``./datasets``): the
disk is first touched by ``DatasetCatalog.get(name)``, which fails with the folder it looked in
and the expected layout when the dataset is absent. ``synthetic_<layout>_{train,val}`` are
generated into ``$HUMAN_PARSING_DATASETS/synthetic/<layout>`` on first use.

Print a summary of one dataset (``--check`` also decodes every file)::

    python -m human_parsing.data.datasets.builtin cihp_val [--check] [--num 2]
"""

import os
from typing import List

from detectron2.data import DatasetCatalog, MetadataCatalog

from ..label_spaces import get_label_space
from .cihp import load_cihp_instances
from .coco_parsing import load_coco_parsing_json, register_coco_parsing
from .densepose_coco import densepose_metadata, load_densepose_coco_json, register_densepose_coco
from .mhp_v2 import load_mhp_v2_instances
from .semantic import load_semantic_parsing

__all__ = [
    "register_cihp_instances",
    "register_mhp_v2_instances",
    "register_semantic_parsing",
    "register_synthetic",
    "register_densepose_coco",
    "register_all_human_parsing",
    "SYNTHETIC_LAYOUTS",
]

# fmt: off
# name -> (folder relative to the datasets root, split)
_PREDEFINED_SPLITS_CIHP = {
    "cihp_train": ("CIHP/instance-level_human_parsing", "train"),
    "cihp_val":   ("CIHP/instance-level_human_parsing", "val"),
    "cihp_test":  ("CIHP/instance-level_human_parsing", "test"),
}
_PREDEFINED_SPLITS_MHP_V2 = {
    "mhp_v2_train": ("LV-MHP-v2", "train"),
    "mhp_v2_val":   ("LV-MHP-v2", "val"),
    "mhp_v2_test":  ("LV-MHP-v2", "test"),
}
# name -> (layout = label space, folder, split)
_PREDEFINED_SPLITS_SEMANTIC = {
    "lip_train":                ("lip", "LIP", "train"),
    "lip_val":                  ("lip", "LIP", "val"),
    "atr_train":                ("atr", "ATR", "train"),
    "atr_val":                  ("atr", "ATR", "val"),
    "pascal_person_part_train": ("pascal_person_part", "PASCAL-Person-Part", "train"),
    "pascal_person_part_val":   ("pascal_person_part", "PASCAL-Person-Part", "val"),
}
# name -> (folder, json, image folder, parsing folder, semantic folder), relative to the folder
_PREDEFINED_SPLITS_COCO_PARSING = {
    "cihp_coco_train": ("CIHP-COCO", "annotations/CIHP_train.json", "train_img", "train_parsing", "train_seg"),
    "cihp_coco_val":   ("CIHP-COCO", "annotations/CIHP_val.json", "val_img", "val_parsing", "val_seg"),
}
# name -> (image folder, json), relative to the datasets root (Detectron2 DensePose's layout)
_PREDEFINED_SPLITS_DENSEPOSE_COCO = {
    "densepose_coco_2014_train":           ("coco/train2014", "coco/annotations/densepose_train2014.json"),
    "densepose_coco_2014_valminusminival": ("coco/val2014", "coco/annotations/densepose_valminusminival2014.json"),
    "densepose_coco_2014_minival":         ("coco/val2014", "coco/annotations/densepose_minival2014.json"),
}
# fmt: on

SYNTHETIC_LAYOUTS = ("cihp", "mhp_v2", "lip", "atr", "pascal_person_part", "coco", "densepose_coco")

# Score threshold used when painting predicted people into the semantic map for mIoU
# (Parsing R-CNN's SEMSEG_SCORE_THRESH: 0.3 on CIHP-like data, 0.05 on MHP v2).
_SEMSEG_SCORE_THRESH = {"mhp_v2": 0.05}


def _set_metadata(name: str, label_space: str, evaluator_type: str, root: str, **extra) -> None:
    meta = dict(get_label_space(label_space).metadata())
    meta.update(
        evaluator_type=evaluator_type,
        dataset_root=root,
        semseg_score_thresh=_SEMSEG_SCORE_THRESH.get(label_space, 0.3),
    )
    meta.update(extra)
    MetadataCatalog.get(name).set(**meta)


def register_cihp_instances(name: str, root: str, split: str) -> None:
    """Register a split of the official CIHP layout under ``root`` (instance-level)."""
    assert isinstance(name, str) and isinstance(root, (str, os.PathLike)), (name, root)
    DatasetCatalog.register(name, lambda: load_cihp_instances(root, split, name))
    _set_metadata(name, "cihp", "parsing", root)


def register_mhp_v2_instances(name: str, root: str, split: str) -> None:
    """Register a split of the official LV-MHP-v2 layout under ``root`` (instance-level)."""
    assert isinstance(name, str) and isinstance(root, (str, os.PathLike)), (name, root)
    DatasetCatalog.register(name, lambda: load_mhp_v2_instances(root, split, name))
    _set_metadata(name, "mhp_v2", "parsing", root)


def register_semantic_parsing(name: str, layout: str, root: str, split: str) -> None:
    """Register a split of a semantic-only layout ("lip", "atr", "pascal_person_part")."""
    assert isinstance(name, str) and isinstance(root, (str, os.PathLike)), (name, root)
    DatasetCatalog.register(name, lambda: load_semantic_parsing(root, layout, split, name))
    _set_metadata(name, layout, "sem_seg_parsing", root)


def _coco_paths(root: str, split: str, prefix: str = "CIHP") -> tuple:
    """(json, image, parsing, semantic) paths of the COCO-style layout for one split."""
    return (
        os.path.join(root, "annotations", f"{prefix}_{split}.json"),
        os.path.join(root, f"{split}_img"),
        os.path.join(root, f"{split}_parsing"),
        os.path.join(root, f"{split}_seg"),
    )


def _load_synthetic(layout: str, root: str, split: str, name: str) -> List[dict]:
    # Imported here: the generator is only needed (and only paid for) when the data is used.
    from human_parsing.data.synthetic import ensure_synthetic_dataset

    root = ensure_synthetic_dataset(layout, root, split) or root
    if layout == "cihp":
        return load_cihp_instances(root, split, name)
    if layout == "mhp_v2":
        return load_mhp_v2_instances(root, split, name)
    if layout == "coco":
        k = get_label_space("cihp").num_classes
        return load_coco_parsing_json(*_coco_paths(root, split), name, num_classes=k)
    if layout == "densepose_coco":
        from human_parsing.data.synthetic.densepose import densepose_paths

        return load_densepose_coco_json(*densepose_paths(root, split), name)
    return load_semantic_parsing(root, layout, split, name)


def register_synthetic(name: str, layout: str, root: str, split: str) -> None:
    """Register a synthetic split written in ``layout``; generated into ``root`` on first use."""
    if layout not in SYNTHETIC_LAYOUTS:
        raise ValueError(
            f"Unknown synthetic layout {layout!r}; expected one of {SYNTHETIC_LAYOUTS}"
        )
    DatasetCatalog.register(name, lambda: _load_synthetic(layout, root, split, name))
    if layout == "densepose_coco":  # exact U/V symmetry and geodesics of the synthetic charts
        from human_parsing.data.synthetic.densepose import densepose_paths

        json_file, image_root = densepose_paths(root, split)
        meta = densepose_metadata(uv_symmetry="synthetic", geodesics="synthetic")
        MetadataCatalog.get(name).set(dataset_root=root, json_file=json_file, image_root=image_root, **meta)
        return
    label_space = "cihp" if layout == "coco" else layout
    instance = layout in ("cihp", "mhp_v2", "coco")
    _set_metadata(name, label_space, "parsing" if instance else "sem_seg_parsing", root)


def register_all_human_parsing(root: str) -> None:
    """Register every builtin split under the datasets ``root``."""
    for name, (folder, split) in _PREDEFINED_SPLITS_CIHP.items():
        register_cihp_instances(name, os.path.join(root, folder), split)
    for name, (folder, split) in _PREDEFINED_SPLITS_MHP_V2.items():
        register_mhp_v2_instances(name, os.path.join(root, folder), split)
    for name, (layout, folder, split) in _PREDEFINED_SPLITS_SEMANTIC.items():
        register_semantic_parsing(name, layout, os.path.join(root, folder), split)
    for name, (folder, json_file, img, parsing, seg) in _PREDEFINED_SPLITS_COCO_PARSING.items():
        d = os.path.join(root, folder)
        register_coco_parsing(
            name,
            os.path.join(d, json_file),
            os.path.join(d, img),
            os.path.join(d, parsing),
            os.path.join(d, seg),
            label_space="cihp",
            dataset_root=d,
        )
    for name, (img, json_file) in _PREDEFINED_SPLITS_DENSEPOSE_COCO.items():
        register_densepose_coco(name, os.path.join(root, json_file), os.path.join(root, img))
    for layout in SYNTHETIC_LAYOUTS:
        for split in ("train", "val"):
            layout_root = os.path.join(root, "synthetic", layout)
            register_synthetic(f"synthetic_{layout}_{split}", layout, layout_root, split)


def _summary(name: str, dicts: List[dict]) -> str:
    meta = MetadataCatalog.get(name)
    hs, ws = [d["height"] for d in dicts], [d["width"] for d in dicts]
    head = f"{name}: {len(dicts)} images"
    if any("annotations" in d for d in dicts):
        people = [len(d.get("annotations", ())) for d in dicts]
        head += f", {sum(people)} persons ({min(people)}-{max(people)} per image)"
    if any("keypoints" in d for d in dicts):
        head += f", {sum('keypoints' in d for d in dicts)} with keypoints"
    return (
        f"{head}, sizes H {min(hs)}-{max(hs)} W {min(ws)}-{max(ws)}\n"
        f"  label space {meta.label_space} ({meta.num_parsing} classes), "
        f"evaluator {meta.evaluator_type}, root {meta.dataset_root}"
    )


if __name__.endswith(".builtin"):
    # Registration as an import side effect (``import human_parsing.data`` runs it).
    _root = os.path.expanduser(os.getenv("HUMAN_PARSING_DATASETS", "datasets"))
    register_all_human_parsing(_root)


if __name__ == "__main__":
    import argparse
    import json
    import sys

    from detectron2.utils.logger import setup_logger

    import human_parsing.data  # noqa: F401  (registers the datasets)

    from ..io import DataFormatError
    from .validate import check_dataset_dicts

    parser = argparse.ArgumentParser(description="Print a summary of a registered dataset.")
    parser.add_argument("name", help="a registered dataset name, e.g. cihp_val")
    parser.add_argument("--check", action="store_true", help="decode every file and check labels")
    parser.add_argument("--num", type=int, default=1, help="number of records to print")
    args = parser.parse_args()
    setup_logger(name="human_parsing")
    if args.name not in DatasetCatalog.list():
        sys.exit(f"Unknown dataset {args.name!r}; registered: {sorted(DatasetCatalog.list())}")
    try:
        dicts = DatasetCatalog.get(args.name)
        print(_summary(args.name, dicts))
        if args.check:
            n = check_dataset_dicts(dicts, MetadataCatalog.get(args.name).label_space)
            print(f"  check passed: every file readable, sizes and labels valid ({n} persons)")
    except DataFormatError as e:
        sys.exit(f"error: {e}")
    for d in dicts[: args.num]:
        print(json.dumps(d, default=str))
