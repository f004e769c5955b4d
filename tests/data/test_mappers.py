"""Instance and semantic mappers on a tiny hand-made CIHP-style record (2 people, 12×16)."""
import numpy as np
import pytest
import torch
from detectron2.config import get_cfg
from detectron2.data import transforms as T
from detectron2.structures import BoxMode

from human_parsing.config import add_human_parsing_config
from human_parsing.data.io import DataFormatError, write_image, write_label_png
from human_parsing.data.label_spaces import get_label_space
from human_parsing.data.mappers import (
    MAPPER_REGISTRY,
    InstanceParsingDatasetMapper,
    SemanticParsingDatasetMapper,
    build_mapper,
)
from human_parsing.data.targets import instance_edges
from human_parsing.data.transforms import RandomFlipParsing

CIHP = get_label_space("cihp")
H, W = 12, 16
HAIR, UPPER, L_ARM, R_ARM, L_SHOE, R_SHOE = 2, 5, 14, 15, 18, 19


def _scene():
    """Person 1: rows 2-5, cols 1-4, upper-clothes with a left arm in rows 2-3, cols 1-2.
    Person 2: rows 6-10, cols 10-13, hair with a left shoe at (8, 13)."""
    cat = np.zeros((H, W), np.uint8)
    hid = np.zeros((H, W), np.uint8)
    cat[2:6, 1:5] = UPPER
    cat[2:4, 1:3] = L_ARM
    hid[2:6, 1:5] = 1
    cat[6:11, 10:14] = HAIR
    cat[8, 13] = L_SHOE
    hid[6:11, 10:14] = 2
    return cat, hid


@pytest.fixture
def record(tmp_path):
    cat, hid = _scene()
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 0] = np.arange(W, dtype=np.uint8)[None] * 10  # blue ramp left->right
    paths = {k: str(tmp_path / f"{k}.png") for k in ("img", "cat", "hid")}
    write_image(paths["img"], img)
    write_label_png(paths["cat"], cat)
    write_label_png(paths["hid"], hid)
    anns = [
        {
            "bbox": box, "bbox_mode": BoxMode.XYXY_ABS, "category_id": 0, "iscrowd": 0,
            "parsing": {"file_name": paths["cat"], "human_ids_file_name": paths["hid"], "human_id": k},
        }
        for k, box in ((1, [1, 2, 5, 6]), (2, [10, 6, 14, 11]))
    ]
    return {
        "file_name": paths["img"], "image_id": "0000001", "height": H, "width": W,
        "sem_seg_file_name": paths["cat"], "human_ids_file_name": paths["hid"], "annotations": anns,
    }


def _mapper(augs, **kw):
    return InstanceParsingDatasetMapper(True, augmentations=augs, label_space="cihp", **kw)


def test_registry_and_build_from_cfg(record):
    assert {"InstanceParsingDatasetMapper", "SemanticParsingDatasetMapper"} <= set(
        dict(MAPPER_REGISTRY).keys()
    )
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    cfg.INPUT.LABEL_SPACE = "cihp"
    cfg.INPUT.MIN_SIZE_TRAIN = (24,)  # shortest edge 12 -> 24: everything doubles
    cfg.INPUT.MAX_SIZE_TRAIN = 1000
    cfg.INPUT.RANDOM_FLIP = "none"
    out = build_mapper(cfg, is_train=True)(record)
    assert out["image"].shape == (3, 24, 32) and out["image"].dtype == torch.uint8
    assert out["instances"].gt_boxes.tensor.tolist() == [[2, 4, 10, 12], [20, 12, 28, 22]]
    assert set(out["sem_seg"].unique().tolist()) == {0, HAIR, UPPER, L_ARM, L_SHOE}
    test_out = build_mapper(cfg, is_train=False)(record)
    assert "instances" not in test_out and "annotations" not in test_out
    assert test_out["image"].shape == (3, 800, 1067)  # MIN_SIZE_TEST 800 by default


def test_person_masks_only_with_the_mask_head(record):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    cfg.INPUT.LABEL_SPACE = "cihp"
    cfg.INPUT.MIN_SIZE_TRAIN = (12,)
    cfg.INPUT.RANDOM_FLIP = "none"
    assert not cfg.MODEL.MASK_ON
    inst = build_mapper(cfg, is_train=True)(record)["instances"]
    assert not inst.has("gt_masks") and len(inst.gt_parsing) == 2
    cfg.MODEL.MASK_ON = True
    inst = build_mapper(cfg, is_train=True)(record)["instances"]
    assert torch.equal(inst.gt_masks.tensor, (inst.gt_parsing.tensor > 0) & (inst.gt_parsing.tensor != 255))


def test_instance_mapper_identity(record):
    out = _mapper([], human_ids_on=True, edges_on=True)(record)
    cat, hid = _scene()
    inst = out["instances"]
    assert out["image"].shape == (3, H, W) and out["image"].dtype == torch.uint8
    assert inst.gt_boxes.tensor.tolist() == [[1, 2, 5, 6], [10, 6, 14, 11]]
    assert inst.gt_classes.tolist() == [0, 0]
    expected = np.stack([cat * (hid == 1), cat * (hid == 2)])
    assert torch.equal(inst.gt_parsing.tensor, torch.from_numpy(expected))
    assert torch.equal(inst.gt_masks.tensor, torch.from_numpy(hid[None] == np.array([1, 2])[:, None, None]))
    assert out["sem_seg"].dtype == torch.int64 and torch.equal(out["sem_seg"], torch.from_numpy(cat).long())
    assert torch.equal(out["human_ids"], torch.from_numpy(hid).long())
    assert torch.equal(out["edges"], torch.from_numpy(instance_edges(hid)).long())


def test_instance_mapper_forced_flip_swaps_left_right(record):
    out = _mapper([RandomFlipParsing(CIHP.flip_lut, prob=1.0)], human_ids_on=True)(record)
    inst = out["instances"]
    # column c -> 15 - c
    assert inst.gt_boxes.tensor.tolist() == [[11, 2, 15, 6], [2, 6, 6, 11]]
    p1, p2 = inst.gt_parsing.tensor.numpy()
    assert (p1[2:4, 13:15] == R_ARM).all() and not (p1 == L_ARM).any()
    assert (p1[4:6, 11:15] == UPPER).all() and (p1[2:4, 11:13] == UPPER).all()
    assert p2[8, 2] == R_SHOE and (p2 == R_SHOE).sum() == 1 and (p2 == HAIR).sum() == 19
    sem = out["sem_seg"].numpy()
    assert sem[2, 14] == R_ARM and sem[8, 2] == R_SHOE and sem[2, 1] == 0
    assert (out["image"][0, 0].numpy() == np.arange(W)[::-1] * 10).all()  # image mirrored too
    hid = out["human_ids"].numpy()
    assert (hid[2:6, 11:15] == 1).all() and (hid[6:11, 2:6] == 2).all() and (hid > 0).sum() == 36


def test_instance_mapper_crop_drops_people_and_pads(record):
    crop = T.CropTransform(8, 0, 8, 12)  # keep columns 8..15: person 1 is cropped away
    pad = T.PadTransform(0, 0, 2, 1, 8, 12, pad_value=0, seg_pad_value=255)  # -> 13×10
    out = _mapper([crop, pad], human_ids_on=True, edges_on=True, edge_pad_value=0)(record)
    inst = out["instances"]
    assert len(inst) == 1 and inst.gt_boxes.tensor.tolist() == [[2, 6, 6, 11]]
    assert inst.gt_parsing.tensor.shape == (1, 13, 10)
    assert (inst.gt_parsing.tensor[0, 12] == 255).all() and (inst.gt_parsing.tensor[0, :, 8:] == 255).all()
    assert inst.gt_masks.tensor.sum() == 20
    sem, hid, edges = out["sem_seg"], out["human_ids"], out["edges"]
    assert (sem[12] == 255).all() and (sem[:, 8:] == 255).all()
    assert (hid[6:11, 2:6] == 1).all() and (hid[:12, :8] <= 1).all() and (hid[12] == 255).all()
    assert set(edges.unique().tolist()) == {0, 1} and (edges[12] == 0).all()


def test_instance_mapper_keypoints_flip(record):
    kp = [0.0] * 51
    kp[5 * 3 : 5 * 3 + 3] = [2.5, 3.5, 2]  # left_shoulder of person 1
    record["annotations"][0]["keypoints"] = kp
    mapper = _mapper(
        [RandomFlipParsing(CIHP.flip_lut, prob=1.0)],
        use_keypoints=True,
        keypoint_hflip_indices=np.array([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]),
    )
    kps = mapper(record)["instances"].gt_keypoints.tensor
    assert kps.shape == (2, 17, 3)
    assert kps[0, 6].tolist() == [W - 2.5, 3.5, 2]  # now the right shoulder, mirrored x
    assert kps[0, 5].tolist() == [0, 0, 0] and (kps[1] == 0).all()


def test_bad_semantic_map_names_file(record, tmp_path):
    bad = np.zeros((H, W), np.uint8)
    bad[0, 0] = 40  # CIHP has 20 classes
    path = str(tmp_path / "bad.png")
    write_label_png(path, bad)
    record["sem_seg_file_name"] = path
    with pytest.raises(DataFormatError, match="bad.png"):
        _mapper([])(record)


def test_semantic_mapper_edges_heatmaps_flip(record):
    record["keypoints"] = [0.0] * 48
    record["keypoints"][3 * 3 : 3 * 3 + 3] = [4.0, 8.0, 1]  # MPII l-hip
    mapper = SemanticParsingDatasetMapper(
        True,
        augmentations=[RandomFlipParsing(CIHP.flip_lut, prob=1.0)],
        label_space=CIHP,
        keypoint_hflip_indices=np.array([5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10]),
        use_keypoints=True,
        edges_on=True,
        heatmaps_on=True,
        heatmap_stride=4,
        heatmap_sigma=1.0,
    )
    out = mapper(record)
    assert out["sem_seg"][2, 14] == R_ARM and "instances" not in out
    assert out["edges"].shape == (H, W) and out["edges"][0, 0] == 0 and out["edges"][2, 12] == 1
    heat = out["heatmaps"]
    assert heat.shape == (16, 3, 4)
    # l-hip (x 4 -> 12 after the flip) is now the r-hip (index 2): peak at cell (2, 3)
    assert heat[2, 2, 3] == 1.0 and heat[3].sum() == 0 and heat[2].argmax() == 2 * 4 + 3


def test_empty_record_and_per_person_files(record, tmp_path):
    empty = dict(record, annotations=[])
    out = _mapper([], human_ids_on=True, edges_on=True)(empty)
    inst = out["instances"]
    assert len(inst) == 0 and inst.gt_boxes.tensor.shape == (0, 4)
    assert inst.gt_parsing.tensor.shape == (0, H, W) and inst.gt_masks.tensor.shape == (0, H, W)
    assert out["human_ids"].sum() == 0 and out["edges"].sum() == 0
    # MHP-style: one PNG per person, no Human_ids file -> ids derived from the maps, in order
    cat, hid = _scene()
    paths = []
    for k in (2, 1):  # listed in reverse, so person ids follow the annotation order
        paths.append(str(tmp_path / f"person{k}.png"))
        write_label_png(paths[-1], cat * (hid == k))
    mhp = dict(record, human_ids_file_name=None)
    mhp["annotations"] = [dict(a, parsing={"file_name": p}) for a, p in zip(record["annotations"], paths)]
    out = _mapper([], human_ids_on=True)(mhp)
    assert out["instances"].gt_boxes.tensor.tolist() == [[10, 6, 14, 11], [1, 2, 5, 6]]
    assert torch.equal(out["human_ids"], torch.from_numpy(np.choose(hid, [0, 2, 1])).long())


def test_semantic_mapper_inference_keeps_only_the_image(record):
    mapper = SemanticParsingDatasetMapper(False, augmentations=[T.ResizeShortestEdge(24, 100)], label_space="cihp")
    out = mapper(record)
    assert out["image"].shape == (3, 24, 32) and "sem_seg" not in out and "annotations" not in out
    assert out["height"] == H and out["width"] == W  # for resizing the outputs back
