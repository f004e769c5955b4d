"""Pseudo-pose: the keypoint choice from a keypoint R-CNN's output, the file round trip, the
command on synthetic images with a random-init keypoint R-CNN, and the mapper reading the file."""
import importlib.util
import json
import os

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog
from detectron2.structures import Instances

from corrpm.data import CorrPMDatasetMapper
from corrpm.data.pseudo_pose import keypoints_from_instances, read_pseudo_pose, write_pseudo_pose
from human_parsing.data.io import DataFormatError

from .common import load_cfg


def test_keypoints_from_instances_by_hand():
    inst = Instances((10, 10))
    inst.scores = torch.tensor([0.3, 0.9])
    kps = torch.zeros(2, 17, 3)
    kps[1, :, :2] = torch.tensor([4.5, 2.5])  # continuous coords: pixel index (4, 2)
    kps[1, :, 2] = 1.0
    kps[1, 3, 2] = 0.01  # below the threshold: dropped
    inst.pred_keypoints = kps
    out = keypoints_from_instances(inst, 17, 0.05)
    assert out.shape == (17, 3) and out[0].tolist() == [4.0, 2.0, 2.0] and out[3].tolist() == [0, 0, 0]
    assert keypoints_from_instances(inst[:0], 17) is None
    with pytest.raises(ValueError, match="17 joints, expected 16"):
        keypoints_from_instances(inst, 16)


def test_file_round_trip_and_errors(tmp_path):
    path = str(tmp_path / "pose.json")
    kps = {"a": np.arange(51, dtype=float).reshape(17, 3), "b": np.zeros((17, 3))}
    write_pseudo_pose(path, kps)
    back = read_pseudo_pose(path, 17, "coco")
    assert sorted(back) == ["a", "b"] and back["a"] == list(range(51))
    with pytest.raises(DataFormatError, match="NUM_JOINTS=16"):
        read_pseudo_pose(path, 16, "coco")
    with pytest.raises(DataFormatError, match="KEYPOINT_FORMAT='mpii'"):
        read_pseudo_pose(path, 17, "mpii")
    with open(path, "w") as f:
        f.write("{")
    with pytest.raises(DataFormatError, match="pose.json"):
        read_pseudo_pose(path, 17, "coco")


def test_command_with_random_keypoint_rcnn_feeds_the_mapper(tmp_path):
    from detectron2 import model_zoo

    path = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "pseudo_pose.py")
    spec = importlib.util.spec_from_file_location("pseudo_pose_tool", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = str(tmp_path / "pose.json")
    torch.manual_seed(0)
    kept, missing = tool.main([
        "--config-file", model_zoo.get_config_file("COCO-Keypoints/keypoint_rcnn_R_50_FPN_1x.yaml"),
        "--dataset", "synthetic_lip_val", "--output", out, "--limit", "2", "--keypoint-thresh=-1e9",
        "--opts", "INPUT.MIN_SIZE_TEST", "96", "INPUT.MAX_SIZE_TEST", "128",
        "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0", "MODEL.RESNETS.NORM", "BN",
    ])
    assert kept + missing == 2 and kept >= 1  # a random model still returns low-score boxes
    with open(out) as f:
        data = json.load(f)
    assert data["num_joints"] == 17 and data["keypoint_format"] == "coco"
    # the CorrPM mapper of an ATR-like config (COCO joints) takes them for records without keypoints
    cfg = load_cfg(opts=["MODEL.CORRPM.NUM_JOINTS", 17, "INPUT.PARSING.KEYPOINT_FORMAT", "coco",
                         "INPUT.PSEUDO_POSE_FILE", out, "INPUT.CROP.SIZE", [64, 64]])
    mapper = CorrPMDatasetMapper(cfg, is_train=True)
    for rec in DatasetCatalog.get("synthetic_lip_val")[:2]:
        rec = dict(rec)
        rec.pop("keypoints")  # as an ATR record
        mapped = mapper(rec)
        assert mapped["heatmaps"].shape == (17, 16, 16)
        has_pose = str(rec["image_id"]) in data["images"]
        assert (mapped["heatmaps"].amax() == 1.0) == has_pose  # every joint kept at threshold -1e9
    assert mapper.missing_pose == missing
    with pytest.raises(DataFormatError, match="NUM_JOINTS=16"):
        CorrPMDatasetMapper(load_cfg(opts=["INPUT.PSEUDO_POSE_FILE", out]), is_train=True)
    with pytest.raises(FileExistsError, match="exists"):
        tool.main(["--config-file", "x.yaml", "--dataset", "d", "--output", out])
