"""The dense-pose dataset mapper (Parsing R-CNN's UV variant, methods.md §2.9).

Dense-pose data stays in the 256×256 frame of each GT box, so resizing changes only the boxes;
a horizontal flip (an odd number of ``HFlipTransform``s, as DensePose counts them) mirrors the
points (x -> 256 − x), swaps coarse parts and patches and maps U/V through the U/V symmetry:
``INPUT.DENSEPOSE.UV_SYMMETRY_FILE`` or, when empty, the dataset metadata's
``densepose_uv_symmetry`` ("synthetic"). Without either the flip cannot be applied to U/V, so the
mapper drops the flip augmentation (one warning). Crops are not supported for dense pose.
"""
import copy
import logging
from typing import Optional

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import MetadataCatalog
from detectron2.data import transforms as T
from detectron2.structures import BoxMode, Boxes, Instances

from ..structures.densepose import DensePoseGT, DensePoseList
from .densepose import UVSymmetry, build_uv_symmetry, decode_dp_masks, flip_densepose
from .mappers import MAPPER_REGISTRY, _ParsingMapperBase, _image_tensor
from .transforms import RandomFlipParsing

__all__ = ["DensePoseDatasetMapper", "uv_symmetry_from_cfg"]

logger = logging.getLogger(__name__)


def uv_symmetry_from_cfg(cfg) -> Optional[UVSymmetry]:
    """``INPUT.DENSEPOSE.UV_SYMMETRY_FILE``, else the first training (or test) dataset's
    ``densepose_uv_symmetry`` metadata; None when neither is set."""
    spec = cfg.INPUT.DENSEPOSE.UV_SYMMETRY_FILE
    for names in (cfg.DATASETS.TRAIN, cfg.DATASETS.TEST):
        if not spec and len(names):
            spec = MetadataCatalog.get(names[0]).get("densepose_uv_symmetry", "")
    return build_uv_symmetry(spec)


@MAPPER_REGISTRY.register()
class DensePoseDatasetMapper(_ParsingMapperBase):
    """Adds ``"image"`` and, in training, ``"instances"``: ``gt_boxes`` (transformed GT boxes of
    the non-crowd people; people whose box becomes empty are dropped), ``gt_classes`` (zeros)
    and ``gt_densepose`` (a :class:`DensePoseList`, ``None`` for people without dense pose)."""

    @configurable
    def __init__(self, is_train: bool = True, *, uv_symmetry: Optional[UVSymmetry] = None, **kwargs):
        if uv_symmetry is None and any(isinstance(a, RandomFlipParsing) for a in kwargs["augmentations"]):
            logger.warning(
                "Dense pose: no U/V symmetry (INPUT.DENSEPOSE.UV_SYMMETRY_FILE), so the horizontal "
                "flip augmentation is off"
            )
            kwargs["augmentations"] = [a for a in kwargs["augmentations"] if not isinstance(a, RandomFlipParsing)]
        if any(isinstance(a, (T.RandomCrop, T.FixedSizeCrop)) for a in kwargs["augmentations"]):
            raise ValueError("Dense pose: INPUT.CROP is not supported (the GT lives in box frames)")
        super().__init__(is_train, **kwargs)
        self.uv_symmetry = uv_symmetry

    @classmethod
    def from_config(cls, cfg, is_train: bool = True) -> dict:
        ret = super().from_config(cfg, is_train)
        ret["uv_symmetry"] = uv_symmetry_from_cfg(cfg)
        return ret

    def _person(self, ann: dict, record: dict, flip: bool) -> Optional[DensePoseGT]:
        if "dp_x" not in ann:
            return None
        where = f"{record['file_name']}: annotation {ann.get('id')}"
        d = dict(ann, dp_segm=decode_dp_masks(ann["dp_masks"], where))
        if flip:
            d = flip_densepose(d, self.uv_symmetry)
        return DensePoseGT.from_dict(d)

    def __call__(self, dataset_dict: dict) -> dict:
        record = copy.deepcopy(dataset_dict)
        image = self._read_image(record)
        aug_input = T.AugInput(image)
        transforms = self.augmentations(aug_input)
        image = aug_input.image
        record["image"] = _image_tensor(image)
        anns = [a for a in record.pop("annotations", []) if a.get("iscrowd", 0) == 0]
        if not self.keep_annotations:
            return record
        h, w = image.shape[:2]
        flip = sum(isinstance(t, T.HFlipTransform) for t in transforms.transforms) % 2 == 1
        boxes = np.array(
            [BoxMode.convert(a["bbox"], a["bbox_mode"], BoxMode.XYXY_ABS) for a in anns], np.float64
        ).reshape(-1, 4)
        boxes = transforms.apply_box(boxes).reshape(-1, 4) if len(boxes) else boxes
        keep = np.flatnonzero((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))
        inst = Instances((h, w))
        inst.gt_boxes = Boxes(torch.as_tensor(boxes[keep], dtype=torch.float32))
        inst.gt_classes = torch.zeros(len(keep), dtype=torch.int64)
        inst.gt_densepose = DensePoseList([self._person(anns[k], record, flip) for k in keep])
        record["instances"] = inst
        return record
