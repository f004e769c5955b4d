"""DensePose-COCO: reader, checks, coarse masks, U/V flip symmetry, synthetic charts."""
import copy
import dataclasses
import json
import logging

import numpy as np
import pytest
import scipy.io

from human_parsing.data.datasets.densepose_coco import load_densepose_coco_json
from human_parsing.data.densepose import (
    PATCH_TO_COARSE,
    SyntheticUVSymmetry,
    TableUVSymmetry,
    check_densepose_annotation,
    decode_dp_masks,
    encode_dp_masks,
    flip_densepose,
)
from human_parsing.data.io import DataFormatError
from human_parsing.data.label_spaces import get_label_space
from human_parsing.data.synthetic import generate_scene
from human_parsing.data.synthetic.densepose import densepose_paths, person_iuv
from human_parsing.data.synthetic.generate import generate_split

from tests.data.fixtures import write_jpeg


def _coarse_map():
    m = np.zeros((256, 256), np.uint8)
    m[10:100, 20:60] = 1  # torso
    m[50:70, 30:40] = 14  # head, written later: overwrites the torso there
    m[200:250, 0:10] = 4
    return m


def _dp_ann(n=3):
    return {
        "dp_x": [10.0, 128.0, 255.5][:n],
        "dp_y": [0.0, 64.0, 200.0][:n],
        "dp_I": [1.0, 14.0, 24.0][:n],
        "dp_U": [0.0, 0.5, 1.0][:n],
        "dp_V": [0.25, 0.75, 0.125][:n],
        "dp_masks": encode_dp_masks(_coarse_map()),
    }


def _write_json(tmp_path, anns):
    img_dir = tmp_path / "img"
    write_jpeg(str(img_dir / "a.jpg"), (40, 30))
    data = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 30, "height": 40}],
        "annotations": anns,
        "categories": [{"id": 1, "name": "person"}],
    }
    path = tmp_path / "dp.json"
    path.write_text(json.dumps(data))
    return str(path), str(img_dir)


def test_patch_to_coarse_matches_densepose():
    # DensePose: patches 1-2 torso, 3 right hand, 4 left hand, 5 left foot, 6 right foot,
    # 7/9 right upper leg, 8/10 left upper leg, 11/13 right lower leg, 12/14 left lower leg,
    # 15/17 left upper arm, 16/18 right upper arm, 19/21 left lower arm, 20/22 right lower arm,
    # 23/24 head.
    want = [0, 1, 1, 2, 3, 4, 5, 6, 7, 6, 7, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 14]
    assert PATCH_TO_COARSE.tolist() == want


def test_masks_round_trip_and_later_mask_wins():
    m = _coarse_map()
    masks = encode_dp_masks(m)
    assert len(masks) == 14 and masks[1] == [] and isinstance(masks[0]["counts"], str)
    np.testing.assert_array_equal(decode_dp_masks(masks), m)
    # overlapping masks: the later one (head, 14) wins over the torso (1)
    full = encode_dp_masks(np.where(m == 14, 1, m).astype(np.uint8))
    full[13] = encode_dp_masks(np.where(m == 14, 14, 0).astype(np.uint8))[13]
    assert decode_dp_masks(full)[60, 35] == 14
    bad = list(masks)
    bad[0] = {"size": [256, 256], "counts": "zz!!"}
    with pytest.raises(DataFormatError, match="img 3, ann 9: dp_masks\\[0\\] does not decode"):
        decode_dp_masks(bad, "img 3, ann 9")


def test_reader_keeps_people_without_densepose(tmp_path):
    anns = [
        {"id": 2, "image_id": 7, "category_id": 1, "bbox": [1, 2, 10, 20], "iscrowd": 0, **_dp_ann()},
        {"id": 1, "image_id": 7, "category_id": 1, "bbox": [5, 5, 4, 4], "iscrowd": 0, "area": 16},
    ]
    recs = load_densepose_coco_json(*_write_json(tmp_path, anns))
    assert len(recs) == 1 and recs[0]["image_id"] == 7 and recs[0]["height"] == 40
    a, b = recs[0]["annotations"]  # sorted by id
    assert a["id"] == 1 and "dp_x" not in a and a["bbox"] == [5, 5, 9, 9]
    assert b["id"] == 2 and b["bbox"] == [1, 2, 11, 22] and b["dp_I"] == [1.0, 14.0, 24.0]
    np.testing.assert_array_equal(decode_dp_masks(b["dp_masks"]), _coarse_map())


@pytest.mark.parametrize(
    "key,value,msg",
    [
        ("dp_U", [0.0, 0.5], "unequal lengths"),
        ("dp_I", [1.0, 0.0, 3.0], "dp_I values \\[0.0\\]"),
        ("dp_I", [1.0, 25.0, 3.0], "dp_I values \\[25.0\\]"),
        ("dp_I", [1.5, 2.0, 3.0], "dp_I values \\[1.5\\]"),
        ("dp_V", [0.0, 1.2, 0.1], "dp_V values \\[1.2\\] outside \\[0, 1.0\\]"),
        ("dp_x", [-1.0, 1.0, 3.0], "dp_x values"),
        ("dp_masks", [[]] * 13, "list of 14 entries, got 13"),
        ("dp_masks", [{"size": [10, 10], "counts": "a"}] + [[]] * 13, "dp_masks\\[0\\] is not an RLE"),
    ],
)
def test_bad_annotations_name_image_and_annotation(tmp_path, key, value, msg, caplog):
    bad = {"id": 5, "image_id": 7, "category_id": 1, "bbox": [1, 2, 10, 20], **_dp_ann()}
    bad[key] = value
    json_file, img = _write_json(tmp_path, [bad])
    with pytest.raises(DataFormatError, match=f"dp.json: image a.jpg \\(id 7\\), annotation 5: .*{msg}"):
        load_densepose_coco_json(json_file, img)
    with caplog.at_level(logging.WARNING):
        recs = load_densepose_coco_json(json_file, img, on_bad="skip")
    assert "dp_x" not in recs[0]["annotations"][0] and recs[0]["annotations"][0]["bbox"] == [1, 2, 11, 22]
    assert "1 persons with bad dense-pose fields" in caplog.text


def test_check_accepts_good_annotation():
    check_densepose_annotation(_dp_ann(), "x")
    check_densepose_annotation(_dp_ann(0), "x")  # no points is fine


def _symmetry_tables():
    # U table of patch p (1-based): value (p + u_index) / 1000, V table: v_index / 255.
    u = np.stack([np.broadcast_to((p + np.arange(256)) / 1000.0, (256, 256)) for p in range(1, 25)])
    v = np.stack([np.broadcast_to(np.arange(256)[:, None] / 255.0, (256, 256)) for _ in range(24)])
    return u, v


def test_table_symmetry_lookup_and_mat_file(tmp_path):
    u_t, v_t = _symmetry_tables()
    path = str(tmp_path / "UV_symmetry_transforms.mat")
    cells_u, cells_v = np.empty((1, 24), object), np.empty((1, 24), object)
    for i in range(24):
        cells_u[0, i], cells_v[0, i] = u_t[i], v_t[i]
    scipy.io.savemat(path, {"U_transforms": cells_u, "V_transforms": cells_v})
    sym = TableUVSymmetry.load(path)
    # patch 3, U = 0.5 -> index int(127.5) = 127 -> (3 + 127) / 1000; V = 0.1 -> int(25.5) = 25
    u, v = sym.transform(np.array([3, 0]), np.array([0.5, 0.3]), np.array([0.1, 0.4]))
    np.testing.assert_allclose(u, [0.13, 0.3])  # patch 0 (no part) is left alone
    np.testing.assert_allclose(v, [25 / 255, 0.4])
    (tmp_path / "bad.mat").write_bytes(b"nope")
    with pytest.raises(DataFormatError, match="bad.mat: not a DensePose UV_symmetry"):
        TableUVSymmetry.load(str(tmp_path / "bad.mat"))


def test_flip_twice_is_identity_and_swaps_labels():
    ann = _dp_ann()
    sym = SyntheticUVSymmetry()
    once = flip_densepose(ann, sym)
    np.testing.assert_allclose(once["dp_x"], [246.0, 128.0, 0.5])
    assert once["dp_I"].tolist() == [1, 13, 23]  # torso-back stays; 14 <-> 13; 24 <-> 23
    np.testing.assert_allclose(once["dp_U"], [1.0, 0.5, 1.0])  # torso: 1 - U; others kept
    assert once["dp_segm"][60, 255 - 35] == 14 and once["dp_segm"][220, 250] == 5  # left -> right foot
    twice = flip_densepose(once, sym)
    for k in ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V"):
        np.testing.assert_allclose(twice[k], np.asarray(ann[k], float))
    np.testing.assert_array_equal(twice["dp_segm"], _coarse_map())


def _mirror_scene(scene):
    """The scene mirrored left-right, people's sides swapped, with their skeletons and frames."""
    w = scene.fine.shape[1]
    fine_space = get_label_space("synthetic_fine")
    F = np.diag([-1.0, 1.0])
    people = []
    for p in scene.people:
        joints = {}
        for k, v in p.joints.items():
            name = k.replace("left", "@").replace("right", "left").replace("@", "right")
            joints[name] = np.array([w - 1 - v[0], v[1]])
        m, t = p.frame
        people.append(dataclasses.replace(p, joints=joints, frame=(F @ m @ F, F @ t + [w - 1, 0])))
    return dataclasses.replace(
        scene,
        fine=fine_space.flip_label_map(scene.fine),
        human_ids=np.ascontiguousarray(scene.human_ids[:, ::-1]),
        people=people,
    )


def test_synthetic_charts_flip_exactly():
    scene = generate_scene(1, 0, (256, 192), 1.8)
    mirrored = _mirror_scene(scene)
    patches, sym = get_label_space("densepose_patches"), SyntheticUVSymmetry()
    for k in range(len(scene.people)):
        I, U, V = person_iuv(scene, k)
        Im, Um, Vm = person_iuv(mirrored, k)
        assert len(np.unique(I)) > 5
        np.testing.assert_array_equal(Im, patches.flip_label_map(I))
        u, v = sym.transform(I, U, V)
        np.testing.assert_allclose(Um, u[:, ::-1], atol=1e-5)
        np.testing.assert_allclose(Vm, v[:, ::-1], atol=1e-5)


def test_synthetic_densepose_layout_is_read_back(tmp_path):
    root = str(tmp_path / "dp")
    summary = generate_split("densepose_coco", root, "val", 4, seed=1, person_scale=1.8)
    assert summary["images"] == 4
    json_file, img_root = densepose_paths(root, "val")
    recs = load_densepose_coco_json(json_file, img_root)
    people = [a for r in recs for a in r["annotations"]]
    dp = [a for a in people if "dp_x" in a]
    assert len(people) == summary["people"] and 0 < len(dp)
    for r in recs:
        for k, a in enumerate(r["annotations"]):
            if "dp_x" not in a:
                continue
            scene = generate_scene(1, recs.index(r), (256, 192), 1.8)
            I, U, V = person_iuv(scene, k)
            x0, y0, x1, y1 = a["bbox"]
            assert 100 <= len(a["dp_x"]) <= 196 or len(a["dp_x"]) == int((I > 0).sum())
            px = np.floor(np.asarray(a["dp_x"]) * (x1 - x0) / 256 + x0).astype(int)
            py = np.floor(np.asarray(a["dp_y"]) * (y1 - y0) / 256 + y0).astype(int)
            np.testing.assert_array_equal(I[py, px], a["dp_I"])
            np.testing.assert_allclose(U[py, px], a["dp_U"], atol=1e-5)
            np.testing.assert_allclose(V[py, px], a["dp_V"], atol=1e-5)
            # the coarse mask agrees with the points' patches almost everywhere (nearest sampling)
            segm = decode_dp_masks(a["dp_masks"])
            at = segm[np.asarray(a["dp_y"], int), np.asarray(a["dp_x"], int)]
            assert (at == PATCH_TO_COARSE[np.asarray(a["dp_I"], int)]).mean() > 0.9
    # deterministic: the same arguments give the same json
    again = str(tmp_path / "dp2")
    generate_split("densepose_coco", again, "val", 4, seed=1, person_scale=1.8)
    assert open(json_file).read() == open(densepose_paths(again, "val")[0]).read()
    copy.deepcopy(recs)  # records are plain data


def test_check_record_decodes_densepose_masks(tmp_path):
    from human_parsing.data.datasets.validate import check_record

    ann = {"id": 4, "image_id": 7, "category_id": 1, "bbox": [1, 2, 10, 20], **_dp_ann()}
    recs = load_densepose_coco_json(*_write_json(tmp_path, [ann]))
    assert check_record(recs[0], "densepose_parts") == 1
    recs[0]["annotations"][0]["dp_masks"][0] = {"size": [256, 256], "counts": "zz!!"}
    with pytest.raises(DataFormatError, match="a.jpg: annotation 4: dp_masks\\[0\\] does not decode"):
        check_record(recs[0], "densepose_parts")
