"""Detectron2 transforms for human parsing: a horizontal flip that swaps left/right labels,
PGN's relative scale jitter, and the augmentation list built from the config.

Data kinds and how each transform treats them:
  - image: as Detectron2 (bilinear resize, mirror, crop, pad with ``IMAGE_PAD_VALUE``);
  - part-label maps (``apply_segmentation``): nearest resize, mirror *and* swap left/right labels
    through the label space's ``flip_lut``, pad with 255;
  - id maps such as human ids or edge maps (:func:`apply_id_map`): like part labels but never
    swapped, because their values are not part labels;
  - coordinates (boxes, keypoints): mirrored ``x -> W - x``; keypoint indices are swapped by
    Detectron2's ``transform_keypoint_annotations`` with the indices of ``keypoints.py``.

The same symmetry serves test-time augmentation through :func:`flip_logits`.
"""
from typing import List, Union

import numpy as np
import torch
from detectron2.data import transforms as T
from fvcore.transforms.transform import NoOpTransform, Transform, TransformList
from PIL import Image

from .label_spaces import IGNORE_LABEL, LabelSpace

__all__ = [
    "HFlipParsingTransform",
    "RandomFlipParsing",
    "RandomScale",
    "apply_id_map",
    "flip_logits",
    "build_parsing_augmentation",
]


class HFlipParsingTransform(T.HFlipTransform):
    """Horizontal flip that mirrors label maps and swaps their left/right classes.

    It subclasses ``HFlipTransform``, so Detectron2 recognises it as a flip (keypoint swapping in
    ``transform_keypoint_annotations``) and its inverse is itself.
    """

    def __init__(self, width: int, flip_lut: np.ndarray):
        super().__init__(width)
        lut = np.asarray(flip_lut, dtype=np.uint8)
        assert lut.shape == (256,), f"flip_lut must be (256,), got {lut.shape}"
        self.flip_lut = lut

    def apply_segmentation(self, segmentation: np.ndarray) -> np.ndarray:
        """Mirror a (H, W) part-label map (values < 256) and swap left/right labels."""
        mirrored = np.ascontiguousarray(segmentation[:, ::-1])
        return self.flip_lut[mirrored].astype(segmentation.dtype, copy=False)

    def apply_id_map(self, id_map: np.ndarray) -> np.ndarray:
        """Mirror a (H, W) map whose values are not part labels (human ids, edges)."""
        return np.ascontiguousarray(id_map[:, ::-1])


def apply_id_map(transforms: Union[Transform, TransformList], id_map: np.ndarray) -> np.ndarray:
    """Apply the geometry of ``transforms`` to an id map (nearest, 255 padding, no label swap)."""
    tfms = transforms.transforms if isinstance(transforms, TransformList) else [transforms]
    for t in tfms:
        if isinstance(t, HFlipParsingTransform):
            id_map = t.apply_id_map(id_map)
        else:
            id_map = t.apply_segmentation(id_map)
    return id_map


class RandomFlipParsing(T.Augmentation):
    """Flip horizontally with probability ``prob``, swapping labels with ``flip_lut`` (256,)."""

    def __init__(self, flip_lut: np.ndarray, prob: float = 0.5):
        super().__init__()
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"Flip probability must be in [0, 1], got {prob}")
        self.flip_lut = np.asarray(flip_lut, dtype=np.uint8)
        self.prob = prob

    def get_transform(self, image: np.ndarray) -> Transform:
        if self._rand_range() < self.prob:
            return HFlipParsingTransform(image.shape[1], self.flip_lut)
        return NoOpTransform()

    def __repr__(self) -> str:
        return f"RandomFlipParsing(prob={self.prob})"


class RandomScale(T.Augmentation):
    """Resize by one factor s ~ U(min_scale, max_scale) of the image's own size (both axes).

    PGN's scale jitter (methods.md §3.4): the new size is ``int(h * s)``, ``int(w * s)``
    (truncation, as ``tf.to_int32``); bilinear for the image, nearest for labels. With
    ``independent_xy`` the width and height factors are drawn independently (width first), as
    Grapy-ML's ``RandomSized_new`` (methods.md §4.6; the aspect ratio changes).
    """

    def __init__(self, min_scale: float, max_scale: float, independent_xy: bool = False):
        super().__init__()
        if not 0 < min_scale <= max_scale:
            raise ValueError(f"Invalid scale range ({min_scale}, {max_scale})")
        self.min_scale, self.max_scale = float(min_scale), float(max_scale)
        self.independent_xy = independent_xy

    def get_transform(self, image: np.ndarray) -> Transform:
        h, w = image.shape[:2]
        sx = np.random.uniform(self.min_scale, self.max_scale)
        sy = np.random.uniform(self.min_scale, self.max_scale) if self.independent_xy else sx
        new_h, new_w = max(1, int(h * sy)), max(1, int(w * sx))
        return T.ResizeTransform(h, w, new_h, new_w, Image.BILINEAR)

    def __repr__(self) -> str:
        xy = ", independent_xy=True" if self.independent_xy else ""
        return f"RandomScale(min_scale={self.min_scale}, max_scale={self.max_scale}{xy})"


class LimitLongestEdge(T.Augmentation):
    """Downscale (never upscale) so that the longer side is at most ``max_size``, keeping the
    aspect ratio (bilinear): the test-time size limit of methods that otherwise run on the full
    image (PGN), so a huge photo cannot exhaust memory."""

    def __init__(self, max_size: int):
        super().__init__()
        if max_size <= 0:
            raise ValueError(f"max_size must be positive, got {max_size}")
        self.max_size = int(max_size)

    def get_transform(self, image: np.ndarray) -> Transform:
        h, w = image.shape[:2]
        scale = self.max_size / max(h, w)
        if scale >= 1.0:
            return NoOpTransform()
        new_h, new_w = max(1, int(h * scale + 0.5)), max(1, int(w * scale + 0.5))
        return T.ResizeTransform(h, w, new_h, new_w, Image.BILINEAR)

    def __repr__(self) -> str:
        return f"LimitLongestEdge(max_size={self.max_size})"


def build_test_resize(cfg) -> List[T.Augmentation]:
    """The inference size policy, shared by the test mapper and :class:`ParsingPredictor`:

    * ``INPUT.MIN_SIZE_TEST > 0``: Detectron2's ``ResizeShortestEdge(MIN_SIZE_TEST,
      MAX_SIZE_TEST)`` (Parsing R-CNN: shorter side to 800, longer side at most 1333);
    * ``INPUT.MIN_SIZE_TEST == 0`` (the full image, PGN): :class:`LimitLongestEdge` with
      ``INPUT.MAX_SIZE_TEST`` (only images larger than that are downscaled);
    * both 0: no resize at all.

    Models return their outputs at the original size (``height``/``width`` of the inputs).
    """
    min_size, max_size = cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST
    if min_size > 0:
        return [T.ResizeShortestEdge(min_size, max_size, "choice")]
    return [LimitLongestEdge(max_size)] if max_size > 0 else []


def flip_logits(logits, label_space: LabelSpace):
    """Mirror the width axis of (..., K, H, W) logits and permute channels with ``flip_perm``.

    Works on torch tensors (any device) and numpy arrays. Applying it twice is the identity, and
    ``argmax(flip_logits(x)) == label_space.flip_label_map(argmax(x))``.
    """
    k = label_space.num_classes
    if logits.ndim < 3 or logits.shape[-3] != k:
        raise ValueError(
            f"flip_logits: expected (..., {k}, H, W) for label space {label_space.name!r}, "
            f"got {tuple(logits.shape)}"
        )
    perm = label_space.flip_perm
    if torch.is_tensor(logits):
        idx = torch.as_tensor(perm, dtype=torch.long, device=logits.device)
        return logits.index_select(logits.ndim - 3, idx).flip(-1)
    return np.ascontiguousarray(np.take(logits, perm, axis=-3)[..., ::-1])


def build_parsing_augmentation(cfg, is_train: bool, label_space: LabelSpace) -> List[T.Augmentation]:
    """Augmentations from the config, in PGN's order: flip, resize, crop (methods.md §3.4).

    Train: ``INPUT.RANDOM_FLIP`` ("horizontal" or "none"; a vertical flip has no meaning for
    people), ``INPUT.PARSING.RESIZE_TYPE`` ("ResizeShortestEdge" with ``MIN_SIZE_TRAIN``,
    ``MAX_SIZE_TRAIN``, ``MIN_SIZE_TRAIN_SAMPLING``; "RandomScale" with
    ``INPUT.PARSING.SCALE_RANGE``; "RandomScaleXY", the same with independent width and height
    factors; "none"), and ``INPUT.CROP`` when enabled (type
    "absolute_pad" = pad bottom/right to ``CROP.SIZE`` with 255 for labels then random crop;
    other types are Detectron2's ``RandomCrop``). Test: :func:`build_test_resize`.
    """
    if not is_train:
        return build_test_resize(cfg)
    augs: List[T.Augmentation] = []
    flip = cfg.INPUT.RANDOM_FLIP
    if flip == "horizontal":
        augs.append(RandomFlipParsing(label_space.flip_lut, prob=cfg.INPUT.PARSING.FLIP_PROB))
    elif flip != "none":
        raise ValueError(f"INPUT.RANDOM_FLIP={flip!r} is not supported for human parsing")
    resize = cfg.INPUT.PARSING.RESIZE_TYPE
    if resize == "ResizeShortestEdge":
        augs.append(
            T.ResizeShortestEdge(
                cfg.INPUT.MIN_SIZE_TRAIN, cfg.INPUT.MAX_SIZE_TRAIN, cfg.INPUT.MIN_SIZE_TRAIN_SAMPLING
            )
        )
    elif resize in ("RandomScale", "RandomScaleXY"):
        augs.append(RandomScale(*cfg.INPUT.PARSING.SCALE_RANGE, independent_xy=resize == "RandomScaleXY"))
    elif resize != "none":
        raise ValueError(f"Unknown INPUT.PARSING.RESIZE_TYPE {resize!r}")
    if cfg.INPUT.CROP.ENABLED:
        if cfg.INPUT.CROP.TYPE == "absolute_pad":
            augs.append(
                T.FixedSizeCrop(
                    tuple(cfg.INPUT.CROP.SIZE),
                    pad=True,
                    pad_value=float(cfg.INPUT.PARSING.IMAGE_PAD_VALUE),
                    seg_pad_value=IGNORE_LABEL,
                )
            )
        else:
            augs.append(T.RandomCrop(cfg.INPUT.CROP.TYPE, cfg.INPUT.CROP.SIZE))
    return augs
