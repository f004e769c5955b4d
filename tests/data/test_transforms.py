"""Label-swapping flip, logit flip, nearest resize/crop with 255 padding, augmentation building."""
import numpy as np
import pytest
import torch
from detectron2.config import get_cfg
from detectron2.data import transforms as T

from human_parsing.config import add_human_parsing_config
from human_parsing.data.keypoints import (
    COCO_KEYPOINT_NAMES,
    MPII_KEYPOINT_NAMES,
    get_keypoint_hflip_indices,
)
from human_parsing.data.label_spaces import LABEL_SPACES, get_label_space
from human_parsing.data.transforms import (
    HFlipParsingTransform,
    RandomFlipParsing,
    RandomScale,
    apply_id_map,
    build_parsing_augmentation,
    flip_logits,
)


def _lr(*parts, sep="-"):
    return {(f"left{sep}{p}", f"right{sep}{p}") for p in parts}


def test_every_registered_label_space_flips_as_an_involution():
    import human_parsing.data.synthetic  # noqa: F401  (registers synthetic_fine)

    for ls in LABEL_SPACES.values():
        assert (ls.flip_lut[ls.flip_lut] == np.arange(256)).all(), ls.name


# Written here by name, independently of label_spaces.py (methods.md §1.2).
EXPECTED_PAIRS = {
    "cihp": _lr("arm", "leg", "shoe"),
    "lip": _lr("arm", "leg", "shoe"),
    "atr": _lr("shoe", "leg", "arm"),
    "pascal_person_part": set(),
    "mhp_v2": _lr("arm", "hand", "boot", "shoe", "highheel", "sandal", "leg", "foot"),
    "densepose_parts": _lr("hand", "foot", "upper-leg", "lower-leg", "upper-arm", "lower-arm"),
    "densepose_patches": _lr(
        "hand", "foot", "upper-leg-back", "upper-leg-front", "lower-leg-back", "lower-leg-front",
        "upper-arm-inside", "upper-arm-outside", "lower-arm-inside", "lower-arm-outside",
    ) | {("head-left", "head-right")},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PAIRS))
def test_flip_is_involution_and_swaps_exactly_the_named_pairs(name):
    ls = get_label_space(name)
    label = np.tile(np.append(np.arange(ls.num_classes), 255).astype(np.uint8), (2, 1))
    t = HFlipParsingTransform(label.shape[1], ls.flip_lut)
    once = t.apply_segmentation(label)
    assert np.array_equal(t.apply_segmentation(once), label)
    # once[:, j] = lut[label[:, W-1-j]]; recover the swap of each class from it
    swapped = once[0, ::-1]
    assert swapped[-1] == 255
    got = {
        tuple(sorted((ls.classes[a], ls.classes[b])))
        for a, b in enumerate(swapped[:-1].tolist())
        if a != b
    }
    assert got == {tuple(sorted(p)) for p in EXPECTED_PAIRS[name]}


def test_flip_pairs_by_id():
    cihp = get_label_space("cihp").flip_lut
    assert [cihp[i] for i in (14, 15, 16, 17, 18, 19, 13, 0, 255)] == [15, 14, 17, 16, 19, 18, 13, 0, 255]
    mhp = get_label_space("mhp_v2").flip_lut
    for a, b in ((5, 6), (7, 8), (22, 23), (24, 25), (26, 27), (28, 29), (30, 31), (32, 33)):
        assert mhp[a] == b and mhp[b] == a
    assert (get_label_space("pascal_person_part").flip_lut == np.arange(256)).all()


def test_flip_hand_made_map_and_id_maps_are_not_swapped():
    label = np.array([[0, 14, 5], [18, 2, 255]], np.uint8)
    t = RandomFlipParsing(get_label_space("cihp").flip_lut, prob=1.0).get_transform(label)
    assert isinstance(t, HFlipParsingTransform) and isinstance(t, T.HFlipTransform)
    assert t.apply_segmentation(label).tolist() == [[5, 15, 0], [255, 2, 19]]
    assert apply_id_map(T.TransformList([t]), label).tolist() == [[5, 14, 0], [255, 2, 18]]
    assert t.apply_coords(np.array([[0.5, 1.0]])).tolist() == [[2.5, 1.0]]
    assert isinstance(RandomFlipParsing(np.arange(256), prob=0.0).get_transform(label), T.NoOpTransform)


@pytest.mark.parametrize("as_numpy", [False, True])
def test_flip_logits(as_numpy):
    ls = get_label_space("cihp")
    torch.manual_seed(0)
    x = torch.randn(2, ls.num_classes, 5, 7)
    if as_numpy:
        x = x.numpy()
    f = flip_logits(x, ls)
    assert f.shape == x.shape
    back = flip_logits(f, ls)
    assert (back == x).all()
    am, fam = (np.asarray(v).argmax(1) for v in (x, f))
    assert np.array_equal(fam, ls.flip_label_map(am.astype(np.uint8)))
    # channel 15 (right arm) of the flipped logits is channel 14 of the input, mirrored
    assert np.array_equal(np.asarray(f)[:, 15, :, 0], np.asarray(x)[:, 14, :, -1])
    with pytest.raises(ValueError, match="cihp"):
        flip_logits(x[:, :5], ls)


def _blocks():
    lab = np.zeros((12, 16), np.uint8)
    lab[2:7, 3:9], lab[6:11, 8:14], lab[0:3, 12:16] = 14, 3, 255
    return lab


@pytest.mark.parametrize("size", [(29, 38), (7, 9), (5, 40)])
def test_resize_keeps_labels(size):
    lab = _blocks()
    out = T.ResizeTransform(12, 16, *size).apply_segmentation(lab)
    assert out.shape == size and set(np.unique(out)) <= {0, 3, 14, 255}
    # ids follow the same geometry
    assert np.array_equal(apply_id_map(T.ResizeTransform(12, 16, *size), lab), out)


def test_random_scale_size_and_labels():
    np.random.seed(3)
    s = np.random.uniform(0.5, 2.0)
    np.random.seed(3)
    t = RandomScale(0.5, 2.0).get_transform(np.zeros((12, 16, 3), np.uint8))
    assert (t.new_h, t.new_w) == (int(12 * s), int(16 * s))
    assert set(np.unique(t.apply_segmentation(_blocks()))) <= {0, 3, 14, 255}


def test_crop_with_padding_pads_labels_with_255():
    lab = _blocks()
    img = np.full((12, 16, 3), 7, np.uint8)
    aug = T.AugInput(img, sem_seg=lab)
    tfm = T.AugmentationList([T.FixedSizeCrop((20, 10), pad_value=0.0, seg_pad_value=255)])(aug)
    assert aug.image.shape == (20, 10, 3) and aug.sem_seg.shape == (20, 10)
    assert (aug.sem_seg[12:] == 255).all() and (aug.image[12:] == 0).all() and (aug.image[:12] == 7).all()
    x0 = tfm.transforms[0].x0
    assert np.array_equal(aug.sem_seg[:12], lab[:, x0 : x0 + 10])
    assert (apply_id_map(tfm, np.ones((12, 16), np.uint8))[12:] == 255).all()


def _cfg(**kw):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    for k, v in kw.items():
        node = cfg
        *path, last = k.split("__")
        for p in path:
            node = getattr(node, p)
        setattr(node, last, v)
    return cfg


def test_build_parsing_augmentation():
    ls = get_label_space("cihp")
    augs = build_parsing_augmentation(_cfg(), True, ls)
    assert [type(a) for a in augs] == [RandomFlipParsing, T.ResizeShortestEdge]
    cfg = _cfg(INPUT__PARSING__RESIZE_TYPE="RandomScale", INPUT__CROP__ENABLED=True,
               INPUT__CROP__TYPE="absolute_pad", INPUT__CROP__SIZE=[512, 512])
    augs = build_parsing_augmentation(cfg, True, ls)
    assert [type(a) for a in augs] == [RandomFlipParsing, RandomScale, T.FixedSizeCrop]
    assert augs[2].seg_pad_value == 255 and augs[1].max_scale == 2.0
    assert [type(a) for a in build_parsing_augmentation(cfg, False, ls)] == [T.ResizeShortestEdge]
    with pytest.raises(ValueError, match="vertical"):
        build_parsing_augmentation(_cfg(INPUT__RANDOM_FLIP="vertical"), True, ls)


def test_keypoint_flip_indices():
    coco = get_keypoint_hflip_indices("coco")
    assert COCO_KEYPOINT_NAMES[coco[COCO_KEYPOINT_NAMES.index("left_wrist")]] == "right_wrist"
    assert coco[0] == 0 and (coco[coco] == np.arange(17)).all()
    mpii = get_keypoint_hflip_indices("mpii")
    pairs = {(i, int(j)) for i, j in enumerate(mpii) if i < j}
    assert pairs == {(0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)}
    assert MPII_KEYPOINT_NAMES[mpii[9]] == "head_top"
    faithful = get_keypoint_hflip_indices("mpii_corrpm")
    assert {(i, int(j)) for i, j in enumerate(faithful) if i < j} == {
        (0, 3), (1, 4), (2, 5), (10, 13), (11, 14), (12, 15)
    }
