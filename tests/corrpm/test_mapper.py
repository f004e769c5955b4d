"""CorrPMDatasetMapper: the affine crop moves labels and joints together, the flip swaps labels
and joints with the correct (or, behind the flag, the official) pairs, bad input fails clearly."""
import os

import cv2
import numpy as np
import pytest

from corrpm.data import CorrPMDatasetMapper
from human_parsing.data.io import DataFormatError
from human_parsing.data.label_spaces import get_label_space

from .common import load_cfg


def _record(tmp_path, num_joints=16):
    h = w = 40
    img = np.zeros((h, w, 3), np.uint8)
    lab = np.zeros((h, w), np.uint8)
    lab[8:30, 2:12] = 14  # left-arm on the left of the image
    img[lab > 0] = 180
    cv2.imwrite(os.path.join(tmp_path, "a.jpg"), img)
    cv2.imwrite(os.path.join(tmp_path, "a.png"), lab)
    kps = np.zeros((num_joints, 3))
    kps[0] = [5, 10, 2]  # right ankle (MPII index 0)
    return {"file_name": os.path.join(tmp_path, "a.jpg"), "sem_seg_file_name": os.path.join(tmp_path, "a.png"),
            "height": h, "width": w, "image_id": "a", "keypoints": kps.reshape(-1).tolist()}


def _cfg(fmt="mpii", flip_prob=1.0, **opts):
    cfg = load_cfg(opts=[
        "INPUT.CROP.SIZE", [40, 40], "INPUT.AFFINE.SCALE_FACTOR", 0.0, "INPUT.AFFINE.ROT_PROB", 0.0,
        "INPUT.PARSING.FLIP_PROB", flip_prob, "INPUT.PARSING.KEYPOINT_FORMAT", fmt,
        "INPUT.PARSING.HEATMAP_SIGMA", 1.0, "INPUT.LABEL_SPACE", "lip",
    ] + [x for kv in opts.items() for x in kv])
    return cfg


@pytest.mark.parametrize("fmt,channel", [("mpii", 5), ("mpii_corrpm", 3)])
def test_flip_crop_moves_labels_and_joints(tmp_path, fmt, channel):
    out = CorrPMDatasetMapper(_cfg(fmt), is_train=True)(_record(str(tmp_path)))
    assert out["image"].shape == (3, 40, 40) and out["heatmaps"].shape == (16, 10, 10)
    sem = out["sem_seg"].numpy()
    lip = get_label_space("lip")
    right_arm = lip.classes.index("right-arm")
    assert lip.classes.index("left-arm") == 14 and right_arm == 15
    # mirrored: the arm is now on the right and is a right arm; the crop is 40/39 x the image
    assert set(np.unique(sem)) <= {0, 15, 255} and sem[:, 30:].max() == 15 and (sem[:, :20] != 15).all()
    # the right ankle (5, 10) -> mirrored (34, 10) -> crop k (x - 19.5) + 20 with k = 40/39
    # -> (34.87, 10.26) -> heatmap cell (int(34.87/4 + .5), int(10.26/4 + .5)) = (9, 3)
    heat = out["heatmaps"].numpy()
    assert heat[channel].max() == 1.0 and np.unravel_index(heat[channel].argmax(), (10, 10)) == (3, 9)
    assert heat.sum(axis=(1, 2)).nonzero()[0].tolist() == [channel]  # nothing else is labelled
    edges = out["edges"].numpy()
    assert edges.max() == 1 and (edges[sem == 255] == 0).all()


def test_no_flip_keeps_joint_and_test_mapper_keeps_image(tmp_path):
    rec = _record(str(tmp_path))
    out = CorrPMDatasetMapper(_cfg(flip_prob=0.0), is_train=True)(rec)
    # (5, 10) -> (40/39 * (5 - 19.5) + 20, 40/39 * (10 - 19.5) + 20) = (5.13, 10.26) -> cell (1, 3)
    assert np.unravel_index(out["heatmaps"][0].numpy().argmax(), (10, 10)) == (3, 1)
    test = CorrPMDatasetMapper(_cfg(), is_train=False)(rec)
    assert test["image"].shape == (3, 40, 40) and "sem_seg" not in test  # the model crops itself


def test_bad_joint_counts(tmp_path):
    with pytest.raises(ValueError, match="MODEL.CORRPM.NUM_JOINTS=17"):
        CorrPMDatasetMapper(_cfg(**{"MODEL.CORRPM.NUM_JOINTS": 17}), is_train=True)
    mapper = CorrPMDatasetMapper(_cfg(), is_train=True)
    with pytest.raises(DataFormatError, match=r"a\.jpg: 17 joints"):
        mapper(_record(str(tmp_path), num_joints=17))


def test_image_missing_from_pose_file_is_counted(tmp_path):
    mapper = CorrPMDatasetMapper(_cfg(), is_train=True)
    rec = _record(str(tmp_path))
    rec.pop("keypoints")
    out = mapper(rec)
    assert out["heatmaps"].sum() == 0 and mapper.missing_pose == 1
    mapper(_record(str(tmp_path)))
    assert mapper.missing_pose == 1
