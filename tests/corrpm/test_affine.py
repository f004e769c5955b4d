"""CorrPM's affine crop: the matrix on hand-made cases, image / label / keypoints moving together,
the flip composed with the crop as the official ``x -> W - 1 - x``, and the torch warp."""
import numpy as np
import pytest
import torch
from detectron2.data import transforms as T

from corrpm.data.affine import AffineTransform, RandomAffineCrop, affine_matrix, center_scale
from corrpm.data.affine import invert_affine, warp_affine_torch
from human_parsing.data.transforms import HFlipParsingTransform


def test_center_scale_grows_box_to_aspect():
    c, s = center_scale(100, 200, 1.0)  # box 199 x 99 -> 199 x 199
    np.testing.assert_allclose(c, [99.5, 49.5])
    np.testing.assert_allclose(s, [199.0, 199.0])
    c, s = center_scale(300, 101, 0.5)  # w/h = 100/299 < 0.5 -> w = 149.5
    np.testing.assert_allclose(s, [149.5, 299.0])


def test_affine_matrix_by_hand():
    m = affine_matrix([10.0, 20.0], 50.0, 0.0, (100, 100))  # k = 2, centre -> (50, 50)
    np.testing.assert_allclose(m, [[2, 0, 30], [0, 2, 10]])
    # 90 degrees: a point right of the centre goes up in the crop (official direction)
    m = affine_matrix([0.0, 0.0], 10.0, 90.0, (10, 10))
    np.testing.assert_allclose(m @ [5, 0, 1], [5, 0], atol=1e-12)
    np.testing.assert_allclose(m @ [0, 5, 1], [10, 5], atol=1e-12)
    with pytest.raises(ValueError, match="scale"):
        affine_matrix([0, 0], 0.0, 0.0, (10, 10))


def test_image_label_keypoints_move_together():
    h, w = 60, 40
    img = np.zeros((h, w, 3), np.uint8)
    lab = np.zeros((h, w), np.uint8)
    img[10:20, 5:15] = 200
    lab[10:20, 5:15] = 3
    m = affine_matrix([w / 2, h / 2], 45.0, 30.0, (32, 32))
    t = AffineTransform(m, h, w, 32, 32)
    out_img, out_lab = t.apply_image(img), t.apply_segmentation(lab)
    assert out_img.shape == (32, 32, 3) and out_lab.shape == (32, 32)
    assert set(np.unique(out_lab)) <= {0, 3, 255} and (out_lab == 255).any()  # border = ignore
    # the square's centre (index 9.5, 14.5) lands inside the warped square, image and label alike
    x, y = t.apply_coords(np.array([[10.0, 15.0]]))[0]  # corner convention: index + 0.5
    assert out_lab[int(y), int(x)] == 3 and out_img[int(y), int(x)].min() > 150
    # inverse round trip
    back = t.inverse().apply_coords(t.apply_coords(np.array([[3.0, 7.0], [30.0, 50.0]])))
    np.testing.assert_allclose(back, [[3.0, 7.0], [30.0, 50.0]], atol=1e-9)


def test_flip_then_crop_is_official_index_mirror():
    h, w = 30, 20
    m = affine_matrix([9.5, 14.5], 25.0, 10.0, (16, 16))
    tl = T.TransformList([HFlipParsingTransform(w, np.arange(256, dtype=np.uint8)),
                          AffineTransform(m, h, w, 16, 16)])
    idx = np.array([[3.0, 4.0], [0.0, 29.0]])  # pixel indices (LIP joints)
    ours = tl.apply_coords(idx + 0.5) - 0.5
    official = (np.c_[w - 1 - idx[:, 0], idx[:, 1], np.ones(2)]) @ m.T
    np.testing.assert_allclose(ours, official, atol=1e-9)


def test_random_affine_crop_ranges_and_test_crop():
    np.random.seed(0)
    aug = RandomAffineCrop((16, 16), scale_factor=0.25, rot_factor=30, rot_prob=0.6)
    img = np.zeros((40, 40, 3), np.uint8)
    ks, angles = [], []
    for _ in range(300):
        m = aug.get_transform(img).matrix
        k = np.hypot(m[0, 0], m[0, 1])
        ks.append(16 / 39 / k)  # the scale factor s / s0
        angles.append(np.degrees(np.arctan2(m[0, 1], m[0, 0])))
    assert 0.75 - 1e-9 <= min(ks) and max(ks) <= 1.25 + 1e-9
    assert max(np.abs(angles)) <= 60 + 1e-9
    frac_rot = np.mean(np.abs(angles) > 1e-9)
    assert 0.45 < frac_rot < 0.75  # 0.6 of the samples are rotated
    fixed = RandomAffineCrop((16, 16), 0.0, 0.0, 0.0).get_transform(img).matrix
    np.testing.assert_allclose(fixed, affine_matrix([19.5, 19.5], 39.0, 0.0, (16, 16)))
    with pytest.raises(ValueError, match="crop_size"):
        RandomAffineCrop((0, 16))


def test_torch_warp_matches_cv2():
    rng = np.random.RandomState(0)
    img = rng.randint(0, 255, (23, 31, 3)).astype(np.float32)
    m = affine_matrix([15.0, 11.0], 28.0, 20.0, (17, 19))
    ref = AffineTransform(m, 23, 31, 17, 19).apply_image(img)
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    ours = warp_affine_torch(x, m, (17, 19))[0].permute(1, 2, 0).numpy()
    # cv2 quantises the bilinear weights to 1/32: up to 255/32 on this noise
    diff = np.abs(ours - ref)
    assert diff.max() < 255 / 32 and diff.mean() < 1.5
    assert np.array_equal(ours == 0, ref == 0)  # same footprint of the crop
    lab = rng.randint(0, 5, (23, 31)).astype(np.float32)
    near = warp_affine_torch(torch.from_numpy(lab)[None, None], m, (17, 19), "nearest")[0, 0].numpy()
    ref_lab = AffineTransform(m, 23, 31, 17, 19, seg_pad=0).apply_segmentation(lab)
    assert ref_lab.shape == near.shape and (near == ref_lab).mean() > 0.97
    np.testing.assert_allclose(invert_affine(invert_affine(m)), m, atol=1e-12)
