"""Dataset mappers: one dataset dict (project interface 1) -> one model input (interface 4).

Modelled on Detectron2's ``DatasetMapper``: ``@configurable`` with ``from_config(cfg, is_train)``,
a deep copy of the record, ``check_image_size``, ``AugInput`` and the augmentation list of
:func:`human_parsing.data.transforms.build_parsing_augmentation` (flips swap left/right labels).
"""
import copy
import logging
from typing import List, Optional, Union

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import DatasetMapper, MetadataCatalog
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from detectron2.structures import BitMasks, Boxes, Instances, Keypoints
from detectron2.utils.logger import log_first_n
from detectron2.utils.registry import Registry

from ..structures import ParsingMaps
from .io import DataFormatError, load_person_parsing, load_sem_seg, read_image, read_label_map
from .keypoints import get_keypoint_hflip_indices
from .label_spaces import IGNORE_LABEL, LabelSpace, get_label_space
from .targets import gaussian_heatmaps, human_ids_from_person_maps, instance_edges, semantic_edges
from .targets import tight_boxes
from .transforms import apply_id_map, build_parsing_augmentation

__all__ = [
    "MAPPER_REGISTRY",
    "build_mapper",
    "label_space_from_cfg",
    "InstanceParsingDatasetMapper",
    "SemanticParsingDatasetMapper",
]

logger = logging.getLogger(__name__)

MAPPER_REGISTRY = Registry("MAPPER")
MAPPER_REGISTRY.__doc__ = """
Registry for dataset mappers, chosen by ``cfg.INPUT.MAPPER_NAME``.

A registered class is built as ``obj(cfg, is_train)`` and called as ``mapper(dataset_dict)``,
returning the record (deep-copied) plus model inputs: ``"image"`` (C, H, W) uint8 tensor in
``INPUT.FORMAT`` and the targets of the mapper (see each class).
"""


# Detectron2's own mapper, for plain detection data (e.g. COCO keypoints for the keypoint
# pre-training of Parsing R-CNN's Table 5)
MAPPER_REGISTRY.register(DatasetMapper)


def build_mapper(cfg, is_train: bool):
    """Build the dataset mapper named by ``cfg.INPUT.MAPPER_NAME``."""
    return MAPPER_REGISTRY.get(cfg.INPUT.MAPPER_NAME)(cfg, is_train)


def label_space_from_cfg(cfg) -> LabelSpace:
    """``INPUT.LABEL_SPACE`` if set, else the ``label_space`` metadata of the first training
    dataset (or, without one, of the first test dataset).

    A pinned ``INPUT.LABEL_SPACE`` must be the label space of every dataset of
    ``DATASETS.TRAIN`` and ``DATASETS.TEST`` that declares one: otherwise a ``DataFormatError``
    names the key, both label spaces and the dataset (before any label file is read).
    """
    if cfg.INPUT.LABEL_SPACE:
        for key in ("TRAIN", "TEST"):
            for name in cfg.DATASETS[key]:
                theirs = MetadataCatalog.get(name).get("label_space")
                if theirs and theirs != cfg.INPUT.LABEL_SPACE:
                    raise DataFormatError(
                        f"INPUT.LABEL_SPACE: the config's label space {cfg.INPUT.LABEL_SPACE!r} "
                        f"differs from the label space {theirs!r} of dataset {name!r} "
                        f"(DATASETS.{key}); set INPUT.LABEL_SPACE to {theirs!r}, or to \"\" to "
                        "take the dataset's, or use a dataset of that label space"
                    )
        return get_label_space(cfg.INPUT.LABEL_SPACE)
    for names in (cfg.DATASETS.TRAIN, cfg.DATASETS.TEST):
        if len(names):
            name = MetadataCatalog.get(names[0]).get("label_space")
            if name:
                return get_label_space(name)
    raise ValueError(
        "Cannot tell the label space: set INPUT.LABEL_SPACE or use a dataset whose metadata has "
        f"'label_space' (DATASETS.TRAIN={list(cfg.DATASETS.TRAIN)}, TEST={list(cfg.DATASETS.TEST)})"
    )


def _image_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))


class _ParsingMapperBase:
    """Shared parts: label space, augmentations, image reading, keypoint flip indices."""

    @configurable
    def __init__(
        self,
        is_train: bool = True,
        *,
        augmentations: List[Union[T.Augmentation, T.Transform]],
        label_space: Union[str, LabelSpace],
        image_format: str = "BGR",
        keypoint_hflip_indices: Optional[np.ndarray] = None,
        use_keypoints: bool = False,
        keep_annotations: Optional[bool] = None,
    ):
        """
        Args:
            is_train: whether the mapper is used in training (annotations are kept).
            augmentations: applied in order; a flip must be ``RandomFlipParsing`` (label swap).
            label_space: a ``LabelSpace`` or its name; gives K and the flip table.
            image_format: "BGR" or "RGB", the format of ``"image"``.
            keypoint_hflip_indices: (J,) flip indices (``keypoints.get_keypoint_hflip_indices``).
            use_keypoints: read ``keypoints`` of the records into the targets.
            keep_annotations: build targets; defaults to ``is_train``.
        """
        self.is_train = is_train
        self.augmentations = T.AugmentationList(augmentations)
        self.label_space = get_label_space(label_space) if isinstance(label_space, str) else label_space
        self.image_format = image_format
        self.keypoint_hflip_indices = keypoint_hflip_indices
        self.use_keypoints = use_keypoints
        self.keep_annotations = is_train if keep_annotations is None else keep_annotations
        mode = "training" if is_train else "inference"
        logger.info(f"[{type(self).__name__}] Augmentations used in {mode}: {augmentations}")

    @classmethod
    def from_config(cls, cfg, is_train: bool = True) -> dict:
        label_space = label_space_from_cfg(cfg)
        return {
            "is_train": is_train,
            "augmentations": build_parsing_augmentation(cfg, is_train, label_space),
            "label_space": label_space,
            "image_format": cfg.INPUT.FORMAT,
            "keypoint_hflip_indices": get_keypoint_hflip_indices(cfg.INPUT.PARSING.KEYPOINT_FORMAT),
            "keep_annotations": True if is_train else cfg.INPUT.PARSING.TEST_KEEP_ANNOTATIONS,
        }

    def _read_image(self, record: dict) -> np.ndarray:
        image = read_image(record["file_name"], format=self.image_format)
        utils.check_image_size(record, image)
        return image

    def _transform_keypoints(self, kps, transforms, image_shape) -> np.ndarray:
        """Flat [x, y, v] * J -> (J, 3) after ``transforms``, left/right swapped under a flip."""
        return utils.transform_keypoint_annotations(kps, transforms, image_shape, self.keypoint_hflip_indices)


@MAPPER_REGISTRY.register()
class InstanceParsingDatasetMapper(_ParsingMapperBase):
    """Instance-level parsing (Parsing R-CNN, PGN). Adds to the record:

    - ``"image"``: (C, H, W) uint8 tensor;
    - ``"instances"``: ``Instances`` with ``gt_boxes`` (tight boxes of each transformed person;
      people cropped away entirely are dropped, as are ``iscrowd`` people), ``gt_classes`` (zeros),
      ``gt_masks`` (``BitMasks`` of the person's labelled pixels; only with ``masks_on``, i.e.
      ``MODEL.MASK_ON``), ``gt_parsing``
      (``ParsingMaps`` (N, H, W), 255 in padding) and ``gt_keypoints`` if used;
    - ``"sem_seg"``: (H, W) int64 global part map, 255 ignore/padding;
    - ``"human_ids"`` (if on): (H, W) int64, 0 background, ``i + 1`` for ``instances[i]``, 255
      padding; ``"edges"`` (if on): (H, W) int64 0/1 PGN instance boundaries, computed at the
      original resolution, padding ``edge_pad_value``.
    At inference only ``"image"`` is added (annotations dropped) unless ``keep_annotations``.
    """

    @configurable
    def __init__(
        self,
        is_train: bool = True,
        *,
        human_ids_on: bool = False,
        edges_on: bool = False,
        edge_dilation: int = 0,
        edge_pad_value: int = IGNORE_LABEL,
        masks_on: bool = True,
        **kwargs,
    ):
        """
        Args:
            human_ids_on, edges_on, edge_dilation, edge_pad_value: the optional targets above.
            masks_on: build ``gt_masks`` (an (N, H, W) bool copy of the maps, only a mask head
                reads it).
            kwargs: arguments of ``_ParsingMapperBase``.
        """
        super().__init__(is_train, **kwargs)
        self.masks_on = masks_on
        self.human_ids_on = human_ids_on
        self.edges_on = edges_on
        self.edge_dilation = edge_dilation
        self.edge_pad_value = edge_pad_value

    @classmethod
    def from_config(cls, cfg, is_train: bool = True) -> dict:
        ret = super().from_config(cfg, is_train)
        p = cfg.INPUT.PARSING
        ret.update(
            use_keypoints=cfg.MODEL.KEYPOINT_ON,
            masks_on=cfg.MODEL.MASK_ON,
            human_ids_on=p.HUMAN_IDS_ON,
            edges_on=p.EDGES_ON,
            edge_dilation=p.EDGE_DILATION,
            edge_pad_value=p.EDGE_PAD_VALUE,
        )
        return ret

    def _human_ids(self, record: dict, anns: list, maps: np.ndarray):
        """Returns ``(ids, raw)``: (H, W) uint8 ``ids`` with ``i + 1`` for annotation i, and the
        map the edges are computed from. Both come from the record's Human_ids PNG when every
        annotation names its ``human_id`` in it (CIHP; ``raw`` is then the file itself, so people
        without an annotation still have boundaries), else from the per-person maps."""
        path = record.get("human_ids_file_name")
        if path and anns and all("human_id" in a["parsing"] for a in anns):
            raw = read_label_map(path)
            if raw.shape != maps.shape[1:]:
                raise DataFormatError(f"{path}: human-id map size {raw.shape} != image {maps.shape[1:]}")
            lut = np.zeros(256, dtype=np.uint8)
            lut[IGNORE_LABEL] = IGNORE_LABEL
            for i, a in enumerate(anns):
                lut[int(a["parsing"]["human_id"])] = i + 1
            return lut[raw], raw
        ids = human_ids_from_person_maps(maps)
        return ids, ids

    def __call__(self, dataset_dict: dict) -> dict:
        record = copy.deepcopy(dataset_dict)  # it will be modified below
        image = self._read_image(record)
        if not self.keep_annotations:
            record.pop("annotations", None)
            aug_input = T.AugInput(image)
            self.augmentations(aug_input)
            record["image"] = _image_tensor(aug_input.image)
            return record

        anns = [a for a in record.pop("annotations", []) if a.get("iscrowd", 0) == 0]
        # (N, H, W) uint8, decoded and checked like every other door
        maps = load_person_parsing({**record, "annotations": anns}, label_space=self.label_space)
        if record.get("sem_seg_file_name"):
            sem = load_sem_seg(record, self.label_space)
        else:  # no semantic file: paint people, later ones on top
            owner = human_ids_from_person_maps(maps).astype(np.int64)
            sem = np.zeros(owner.shape, np.uint8)
            if len(maps):
                top = np.take_along_axis(maps, np.maximum(owner - 1, 0)[None], axis=0)[0]
                sem = np.where(owner > 0, top, 0).astype(np.uint8)
        ids = edges = None
        if self.human_ids_on or self.edges_on:
            ids, raw = self._human_ids(record, anns, maps)
            edges = instance_edges(raw, self.edge_dilation) if self.edges_on else None

        aug_input = T.AugInput(image, sem_seg=sem)
        transforms = self.augmentations(aug_input)
        image, sem = aug_input.image, aug_input.sem_seg
        h, w = image.shape[:2]
        maps = np.stack([transforms.apply_segmentation(m) for m in maps]) if len(maps) else (
            np.zeros((0, h, w), np.uint8)
        )
        fg = (maps > 0) & (maps != IGNORE_LABEL)
        keep = np.flatnonzero(fg.any(axis=(1, 2)))

        inst = Instances((h, w))
        inst.gt_boxes = Boxes(torch.from_numpy(tight_boxes(fg[keep])))
        inst.gt_classes = torch.zeros(len(keep), dtype=torch.int64)
        if self.masks_on:
            inst.gt_masks = BitMasks(torch.from_numpy(fg[keep]))
        inst.gt_parsing = ParsingMaps(torch.from_numpy(maps[keep]))
        if self.use_keypoints and any("keypoints" in a for a in anns):
            num_kp = len(next(a["keypoints"] for a in anns if "keypoints" in a)) // 3
            kps = [  # people without keypoints get unlabeled (v = 0) ones
                self._transform_keypoints(a.get("keypoints", [0.0] * 3 * num_kp), transforms, (h, w))
                for a in anns
            ]
            inst.gt_keypoints = Keypoints(torch.as_tensor(np.stack(kps)[keep], dtype=torch.float32))

        record["image"] = _image_tensor(image)
        record["instances"] = inst
        record["sem_seg"] = torch.as_tensor(sem.astype(np.int64))
        if self.human_ids_on:
            pos = np.zeros(256, dtype=np.uint8)  # annotation index + 1 -> kept position + 1
            pos[IGNORE_LABEL] = IGNORE_LABEL
            pos[keep + 1] = np.arange(1, len(keep) + 1)
            record["human_ids"] = torch.as_tensor(pos[apply_id_map(transforms, ids)].astype(np.int64))
        if self.edges_on:
            e = apply_id_map(transforms, edges).astype(np.int64)
            e[e == IGNORE_LABEL] = self.edge_pad_value
            record["edges"] = torch.as_tensor(e)
        return record


@MAPPER_REGISTRY.register()
class SemanticParsingDatasetMapper(_ParsingMapperBase):
    """Semantic (single-person or whole-image) parsing: Grapy-ML, CorrPM, SST. Adds:

    - ``"image"``: (C, H, W) uint8 tensor;
    - ``"sem_seg"``: (H, W) int64 part labels, 255 ignore/padding;
    - ``"edges"`` (if on): (H, W) int64 0/1 CorrPM part boundaries of the *transformed* labels;
    - ``"heatmaps"`` (if on): (J, H // stride, W // stride) float32 keypoint Gaussians from the
      record's ``keypoints`` (or its first annotation's), all zeros when it has none.
    """

    @configurable
    def __init__(
        self,
        is_train: bool = True,
        *,
        edges_on: bool = False,
        edge_kernel: int = 3,
        heatmaps_on: bool = False,
        heatmap_stride: int = 4,
        heatmap_sigma: float = 7.0,
        **kwargs,
    ):
        super().__init__(is_train, **kwargs)
        if heatmaps_on and self.keypoint_hflip_indices is None:
            raise ValueError("heatmaps_on needs keypoint_hflip_indices (the keypoint order)")
        self.edges_on = edges_on
        self.edge_kernel = edge_kernel
        self.heatmaps_on = heatmaps_on
        self.heatmap_stride = heatmap_stride
        self.heatmap_sigma = heatmap_sigma

    @classmethod
    def from_config(cls, cfg, is_train: bool = True) -> dict:
        ret = super().from_config(cfg, is_train)
        p = cfg.INPUT.PARSING
        ret.update(
            use_keypoints=p.HEATMAPS_ON,
            edges_on=p.SEMANTIC_EDGES_ON,
            edge_kernel=p.SEMANTIC_EDGE_KERNEL,
            heatmaps_on=p.HEATMAPS_ON,
            heatmap_stride=p.HEATMAP_STRIDE,
            heatmap_sigma=p.HEATMAP_SIGMA,
        )
        return ret

    def _keypoints(self, record: dict, anns: list):
        if record.get("keypoints") is not None:
            return record["keypoints"]
        for a in anns:
            if a.get("keypoints") is not None:
                return a["keypoints"]
        log_first_n(logging.WARNING, f"{record['file_name']}: no keypoints; zero heatmaps", n=3)
        return [0.0] * (3 * len(self.keypoint_hflip_indices))

    def __call__(self, dataset_dict: dict) -> dict:
        record = copy.deepcopy(dataset_dict)
        image = self._read_image(record)
        if not self.keep_annotations:
            record.pop("annotations", None)
            aug_input = T.AugInput(image)
            self.augmentations(aug_input)
            record["image"] = _image_tensor(aug_input.image)
            return record
        if not record.get("sem_seg_file_name"):
            raise DataFormatError(f"{record['file_name']}: the record has no sem_seg_file_name")
        sem = load_sem_seg(record, self.label_space)
        anns = record.pop("annotations", [])  # people are not targets here (only their keypoints)
        aug_input = T.AugInput(image, sem_seg=sem)
        transforms = self.augmentations(aug_input)
        image, sem = aug_input.image, aug_input.sem_seg
        h, w = image.shape[:2]
        record["image"] = _image_tensor(image)
        record["sem_seg"] = torch.as_tensor(sem.astype(np.int64))
        if self.edges_on:
            record["edges"] = torch.as_tensor(semantic_edges(sem, self.edge_kernel).astype(np.int64))
        if self.heatmaps_on:
            kps = self._transform_keypoints(self._keypoints(record, anns), transforms, (h, w))
            grid = (h // self.heatmap_stride, w // self.heatmap_stride)
            heat = gaussian_heatmaps(kps, grid, self.heatmap_stride, self.heatmap_sigma)
            record["heatmaps"] = torch.as_tensor(heat)
        return record


from . import densepose_mapper  # noqa: E402,F401  (registers DensePoseDatasetMapper)
