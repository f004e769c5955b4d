"""Dense-pose mapper (flip of the box-relative GT) and the UV head's ROI targets (§2.9)."""
import numpy as np
import pytest
import torch

from human_parsing.data.densepose import SyntheticUVSymmetry, encode_dp_masks
from human_parsing.data.densepose_mapper import DensePoseDatasetMapper
from human_parsing.data.transforms import RandomFlipParsing
from human_parsing.data.label_spaces import get_label_space
from human_parsing.structures.densepose import DensePoseGT, DensePoseList, densepose_roi_targets
from detectron2.data import transforms as T
from detectron2.structures import BoxMode

from tests.data.fixtures import write_jpeg


def _segm():
    s = np.zeros((256, 256), np.uint8)
    s[0:128, 0:128] = 1  # torso in the top-left quarter
    s[128:256, 0:128] = 4  # left foot below it
    return s


def _record(tmp_path):
    path = str(tmp_path / "im.jpg")
    write_jpeg(path, (40, 60))
    dp = {"dp_x": [32.0, 200.0], "dp_y": [64.0, 10.0], "dp_I": [2.0, 5.0], "dp_U": [0.25, 0.5],
          "dp_V": [0.1, 0.9], "dp_masks": encode_dp_masks(_segm())}
    anns = [
        {"id": 1, "bbox": [10, 4, 42, 36], "bbox_mode": BoxMode.XYXY_ABS, "iscrowd": 0, **dp},
        {"id": 2, "bbox": [0, 0, 5, 5], "bbox_mode": BoxMode.XYXY_ABS, "iscrowd": 0},
        {"id": 3, "bbox": [1, 1, 9, 9], "bbox_mode": BoxMode.XYXY_ABS, "iscrowd": 1},
    ]
    return {"file_name": path, "image_id": 1, "height": 40, "width": 60, "annotations": anns}


def _mapper(flip: bool, symmetry=SyntheticUVSymmetry()):
    augs = [RandomFlipParsing(get_label_space("densepose_parts").flip_lut, prob=1.0 if flip else 0.0)]
    return DensePoseDatasetMapper(True, augmentations=augs, label_space="densepose_parts", uv_symmetry=symmetry)


def test_mapper_flip(tmp_path):
    rec = _record(tmp_path)
    plain = _mapper(False)(rec)["instances"]
    flipped = _mapper(True)(rec)["instances"]
    assert plain.gt_boxes.tensor.tolist() == [[10, 4, 42, 36], [0, 0, 5, 5]]  # crowd dropped
    assert flipped.gt_boxes.tensor.tolist() == [[18, 4, 50, 36], [55, 0, 60, 5]]
    assert plain.gt_densepose.has_annotation.tolist() == [True, False]
    a, b = plain.gt_densepose.items[0], flipped.gt_densepose.items[0]
    assert b.x.tolist() == [224.0, 56.0] and b.y.tolist() == [64.0, 10.0]
    assert b.i.tolist() == [2, 6]  # torso-front stays, left foot -> right foot
    assert b.u.tolist() == [0.75, 0.5] and b.v.tolist() == [0.1, 0.9]  # torso U -> 1 - U
    assert b.segm[0, 255] == 1 and b.segm[200, 255] == 5 and b.segm[200, 0] == 0
    np.testing.assert_array_equal(a.segm, _segm())


def test_mapper_without_symmetry_drops_the_flip(tmp_path, caplog):
    m = _mapper(True, symmetry=None)
    out = m(_record(tmp_path))["instances"]
    assert out.gt_boxes.tensor[0].tolist() == [10, 4, 42, 36]  # not flipped
    assert "flip augmentation is off" in caplog.text
    with pytest.raises(ValueError, match="INPUT.CROP"):
        DensePoseDatasetMapper(True, augmentations=[T.RandomCrop("absolute", (8, 8))], label_space="densepose_parts")


def test_roi_targets_hand_worked():
    segm = _segm()
    gt = DensePoseList([DensePoseGT(np.array([32.0, 200.0, 250.0]), np.array([64.0, 10.0, 250.0]),
                                    np.array([2, 5, 1]), np.array([0.25, 0.5, 0.1]),
                                    np.array([0.1, 0.9, 0.2]), segm)])
    gt_box = torch.tensor([[0.0, 0.0, 256.0, 256.0]])  # GT frame = image pixels
    roi = torch.tensor([[0.0, 0.0, 128.0, 128.0]])  # the top-left quarter, 8 px per heat-map cell
    t = densepose_roi_targets(gt, gt_box, roi, size=16)
    # grid x_j = 8 j -> GT frame 8 j: the quarter is all torso
    assert t["segm"].shape == (1, 16, 16) and (t["segm"] == 1).all()
    # point 1: (32, 64) -> (4, 8) cells; point 2 (200, 10): x = 25 > 15 -> dropped; point 3 dropped
    assert t["point_xy"].tolist() == [[4.0, 8.0]] and t["point_i"].tolist() == [2]
    assert t["point_roi"].tolist() == [0] and t["point_u"].tolist() == [0.25]
    # an ROI shifted down by half its height sees the foot in its lower half, 0 outside the GT
    t2 = densepose_roi_targets(gt, gt_box, torch.tensor([[-64.0, 64.0, 64.0, 192.0]]), size=16)
    assert (t2["segm"][0, :8, 8:] == 1).all() and (t2["segm"][0, 8:, 8:] == 4).all()
    assert (t2["segm"][0, :, :8] == 0).all()
    with pytest.raises(ValueError, match="without dense pose"):
        densepose_roi_targets(DensePoseList([None]), gt_box, roi)
