"""CorrPM's dataset mapper: the semantic mapper with CorrPM's augmentation (swap-flip, then the
affine crop to ``INPUT.CROP.SIZE``), part-edge targets of the warped labels and Gaussian joint
heatmaps (methods.md §5.3)."""
import logging

import numpy as np
from detectron2.config import configurable
from detectron2.data import transforms as T
from detectron2.utils.logger import log_every_n_seconds

from human_parsing.data.io import DataFormatError
from human_parsing.data.mappers import MAPPER_REGISTRY, SemanticParsingDatasetMapper, label_space_from_cfg
from human_parsing.data.transforms import RandomFlipParsing

from .affine import RandomAffineCrop
from .pseudo_pose import read_pseudo_pose

__all__ = ["CorrPMDatasetMapper", "build_corrpm_augmentation"]

logger = logging.getLogger(__name__)


def build_corrpm_augmentation(cfg, is_train: bool, label_space) -> list:
    """Training: ``RandomFlipParsing`` (``INPUT.RANDOM_FLIP`` "horizontal", prob
    ``INPUT.PARSING.FLIP_PROB``) then ``RandomAffineCrop`` (``INPUT.CROP.SIZE``, ``INPUT.AFFINE``).
    Test: nothing; the model makes the centred crop itself and warps its prediction back."""
    if not is_train:
        return []
    augs = []
    if cfg.INPUT.RANDOM_FLIP == "horizontal":
        augs.append(RandomFlipParsing(label_space.flip_lut, prob=cfg.INPUT.PARSING.FLIP_PROB))
    elif cfg.INPUT.RANDOM_FLIP != "none":
        raise ValueError(f"INPUT.RANDOM_FLIP={cfg.INPUT.RANDOM_FLIP!r} is not supported by CorrPM")
    a = cfg.INPUT.AFFINE
    augs.append(RandomAffineCrop(tuple(cfg.INPUT.CROP.SIZE), a.SCALE_FACTOR, a.ROT_FACTOR, a.ROT_PROB))
    return augs


@MAPPER_REGISTRY.register()
class CorrPMDatasetMapper(SemanticParsingDatasetMapper):
    """``SemanticParsingDatasetMapper`` outputs (``image``, ``sem_seg``, ``edges``, ``heatmaps``)
    with CorrPM's keypoint handling: record keypoints are *pixel indices* (LIP's json, the
    official code), flipped as ``x -> W - 1 - x`` and swapped with ``INPUT.PARSING.KEYPOINT_FORMAT``
    ("mpii": correct pairs; "mpii_corrpm": the official code's pairs), and kept when they leave the
    crop (their Gaussian window may still reach the grid, as in the official code). Images
    without keypoints (absent from the pose file) get zero heatmaps; ``missing_pose`` counts them
    and a warning reports the count."""

    @configurable
    def __init__(self, is_train: bool = True, *, num_joints: int = 16, pseudo_pose=None, **kwargs):
        """
        Args:
            num_joints: joints of the pose encoder; the records' keypoints must have as many.
            pseudo_pose: ``{image_id: flat keypoints}`` used for records without ``keypoints``
                (:func:`corrpm.data.pseudo_pose.read_pseudo_pose`); None = none.
            kwargs: as :class:`SemanticParsingDatasetMapper`.
        """
        super().__init__(is_train, **kwargs)
        self.num_joints = num_joints
        self.pseudo_pose = pseudo_pose or {}
        self.missing_pose = 0
        if self.heatmaps_on and len(self.keypoint_hflip_indices) != num_joints:
            raise ValueError(
                f"MODEL.CORRPM.NUM_JOINTS={num_joints} but INPUT.PARSING.KEYPOINT_FORMAT has "
                f"{len(self.keypoint_hflip_indices)} joints"
            )

    @classmethod
    def from_config(cls, cfg, is_train: bool = True) -> dict:
        ret = super().from_config(cfg, is_train)
        ret["augmentations"] = build_corrpm_augmentation(cfg, is_train, label_space_from_cfg(cfg))
        ret["num_joints"] = cfg.MODEL.CORRPM.NUM_JOINTS
        path = cfg.INPUT.PSEUDO_POSE_FILE
        if path and ret["heatmaps_on"] and ret["keep_annotations"]:
            ret["pseudo_pose"] = read_pseudo_pose(path, cfg.MODEL.CORRPM.NUM_JOINTS,
                                                  cfg.INPUT.PARSING.KEYPOINT_FORMAT)
            logger.info(f"Pseudo-pose keypoints of {len(ret['pseudo_pose'])} images from {path}")
        return ret

    def _keypoints(self, record: dict, anns: list):
        if record.get("keypoints") is None and self.pseudo_pose:
            kps = self.pseudo_pose.get(str(record.get("image_id")))
            if kps is not None:
                record["keypoints"] = kps
        if record.get("keypoints") is None and not any(a.get("keypoints") is not None for a in anns):
            # e.g. an image the LIP pose json or the pseudo-pose file lacks: documented skip
            self.missing_pose += 1
            log_every_n_seconds(logging.WARNING, f"{self.missing_pose} images without keypoints so far "
                                f"(e.g. {record['file_name']}): zero heatmaps", n=60)
        kps = super()._keypoints(record, anns)
        if len(kps) != 3 * self.num_joints:
            raise DataFormatError(
                f"{record['file_name']}: {len(kps) // 3} joints in its keypoints but "
                f"MODEL.CORRPM.NUM_JOINTS={self.num_joints}"
            )
        return kps

    def _transform_keypoints(self, kps, transforms, image_shape) -> np.ndarray:
        kps = np.asarray(kps, dtype=np.float64).reshape(-1, 3).copy()
        kps[:, :2] = transforms.apply_coords(kps[:, :2] + 0.5) - 0.5  # index <-> corner convention
        if sum(isinstance(t, T.HFlipTransform) for t in transforms.transforms) % 2 == 1:
            kps = kps[np.asarray(self.keypoint_hflip_indices)]
        kps[kps[:, 2] <= 0] = 0
        return kps
