"""Reader and registration of DensePose-COCO (the official ``densepose_*.json`` files).

Every person of the json becomes an annotation with its box (``bbox`` [x, y, w, h] ->
XYXY_ABS), ``iscrowd``, COCO ``keypoints``/``segmentation`` when present and its ``id``; people
with dense-pose points (``dp_x``) also keep ``dp_x, dp_y, dp_I, dp_U, dp_V, dp_masks`` unchanged
(the 256×256 box frame). People without them are kept for the box branch, as in the official
training (the UV loss only sees annotated people; the evaluation marks them ``ignore``).

Bad dense-pose fields (unequal lengths, patch index outside 1..24, U/V outside [0, 1], a malformed
``dp_masks`` list) raise a ``DataFormatError`` naming the json, the image and the annotation id;
with ``on_bad="skip"`` that person loses its dense-pose fields instead (kept for the box branch),
with one warning giving the count. Masks are decoded when used (mapper, evaluator); a mask that
does not decode is then an error naming the image and the annotation id.
"""
import logging
import os
import time
from collections import defaultdict
from typing import List, Optional

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import BoxMode

from ..densepose import DP_KEYS, check_densepose_annotation, has_densepose
from ..io import DataFormatError
from ..label_spaces import get_label_space
from .coco_parsing import _load_json
from .common import stat_files

logger = logging.getLogger(__name__)

__all__ = ["load_densepose_coco_json", "register_densepose_coco", "densepose_metadata"]

_ON_BAD = ("error", "skip")


def _record_annotation(ann: dict, where: str, on_bad: str, skipped: list) -> dict:
    x, y, w, h = ann["bbox"]
    obj = {
        "id": ann.get("id"),
        "bbox": [x, y, x + w, y + h],
        "bbox_mode": BoxMode.XYXY_ABS,
        "category_id": 0,
        "iscrowd": int(ann.get("iscrowd", 0)),
    }
    for k in ("keypoints", "segmentation", "area"):
        if ann.get(k):
            obj[k] = ann[k]
    if has_densepose(ann):
        try:
            check_densepose_annotation(ann, where)
        except DataFormatError:
            if on_bad == "error":
                raise
            skipped.append(where)
            return obj
        obj.update({k: ann[k] for k in DP_KEYS})
    return obj


def load_densepose_coco_json(
    json_file: str, image_root: str, dataset_name: Optional[str] = None, on_bad: str = "error"
) -> List[dict]:
    """Load a DensePose-COCO json as dataset dicts.

    Args:
        json_file: e.g. ``coco/annotations/densepose_minival2014.json``.
        image_root: the folder of the images (``file_name`` is joined to it).
        on_bad: ``"error"`` (default) or ``"skip"`` for persons with bad dense-pose fields.
    Returns:
        one dict per json image: ``file_name``, ``image_id`` (the json id), ``height``,
        ``width`` and ``annotations`` (persons sorted by id; other categories dropped).
    """
    if on_bad not in _ON_BAD:
        raise ValueError(f"on_bad must be one of {_ON_BAD}, got {on_bad!r}")
    name = dataset_name or json_file
    t0 = time.perf_counter()
    data = _load_json(json_file)
    person_ids = {c["id"] for c in data.get("categories", []) if c.get("name") == "person"} or {1}
    anns_per_image = defaultdict(list)
    for ann in data.get("annotations", []):
        if ann.get("category_id", 1) in person_ids:
            anns_per_image[ann["image_id"]].append(ann)
    records, skipped, num_dp = [], [], 0
    for img in data["images"]:
        rec = {
            "file_name": os.path.join(image_root, img["file_name"]),
            "image_id": img["id"],
            "height": int(img["height"]),
            "width": int(img["width"]),
        }
        objs = []
        for ann in sorted(anns_per_image.get(img["id"], []), key=lambda a: a.get("id", 0)):
            if "bbox" not in ann:
                raise DataFormatError(f"{json_file}: annotation {ann.get('id')} has no 'bbox'")
            where = f"{json_file}: image {img['file_name']} (id {img['id']}), annotation {ann.get('id')}"
            obj = _record_annotation(ann, where, on_bad, skipped)
            num_dp += "dp_x" in obj
            objs.append(obj)
        rec["annotations"] = objs
        records.append(rec)
    if not records:
        raise DataFormatError(f"{json_file}: the split is empty (no images)")
    if skipped:
        logger.warning(
            f"{name}: {len(skipped)} persons with bad dense-pose fields kept without them "
            f"(boxes only), e.g. {skipped[0]}"
        )
    stat_files([r["file_name"] for r in records], "image")
    logger.info(
        f"Loaded {len(records)} images ({sum(len(r['annotations']) for r in records)} persons, "
        f"{num_dp} with dense pose) of {name} from {json_file} in {time.perf_counter() - t0:.2f}s"
    )
    return records


def densepose_metadata(uv_symmetry: str = "", geodesics: str = "") -> dict:
    """Metadata of a dense-pose dataset: the coarse parts as the label space (``stuff_classes``,
    flip pairs), the 25 patch names and flip pairs, the evaluator type, and the names of the U/V
    symmetry and geodesic provider the data needs ("" = supplied by the config)."""
    meta = dict(get_label_space("densepose_parts").metadata())
    patches = get_label_space("densepose_patches")
    meta.update(
        evaluator_type="densepose",
        densepose_patch_classes=list(patches.classes),
        densepose_patch_flip_map=[list(p) for p in patches.flip_pairs_by_name],
        densepose_uv_symmetry=uv_symmetry,
        densepose_geodesics=geodesics,
    )
    return meta


def register_densepose_coco(name: str, json_file: str, image_root: str, **metadata) -> None:
    """Register a DensePose-COCO json lazily, like ``register_coco_instances``; extra ``metadata``
    (e.g. ``densepose_uv_symmetry="synthetic"``) is set as given."""
    assert isinstance(name, str), name
    for p in (json_file, image_root):
        assert isinstance(p, (str, os.PathLike)), p
    DatasetCatalog.register(name, lambda: load_densepose_coco_json(json_file, image_root, name))
    meta = densepose_metadata()
    meta.update(json_file=json_file, image_root=image_root, dataset_root=os.path.dirname(image_root))
    meta.update(metadata)
    MetadataCatalog.get(name).set(**meta)
