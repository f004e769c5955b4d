"""Synthetic dataset generator: determinism, CIHP invariants, every layout's files, label-space
consistency, keypoints on their limbs, people count/scale, ensure/append/overwrite safety."""

import json
import os

import numpy as np
import pytest
import scipy.io
from PIL import Image

from human_parsing.data import synthetic
from human_parsing.data.io import read_label_map
from human_parsing.data.label_spaces import get_label_space, label_mapping_lut
from human_parsing.data.synthetic import (
    ensure_synthetic_dataset,
    fine_id,
    fine_label_space,
    generate_scene,
    generate_split,
)
from human_parsing.data.synthetic.people import draw_person, sample_person

SIZE = (96, 72)  # small scenes keep the tests fast


def _files(root):
    out = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            if not f.startswith(".synthetic_"):  # the marker records the output path
                with open(os.path.join(d, f), "rb") as fh:
                    out[os.path.relpath(os.path.join(d, f), root)] = fh.read()
    return out


def test_deterministic_per_seed(tmp_path):
    for layout in ("cihp", "mhp_v2"):
        a, b, c = (str(tmp_path / f"{layout}{k}") for k in "abc")
        generate_split(layout, a, "train", 3, seed=7, size=SIZE)
        generate_split(layout, b, "train", 3, seed=7, size=SIZE)
        generate_split(layout, c, "train", 3, seed=8, size=SIZE)
        fa, fb, fc = _files(a), _files(b), _files(c)
        assert len(fa) > 3 and fa == fb
        jpgs = [k for k in fa if k.endswith(".jpg")]
        assert all(fa[k] != fc[k] for k in jpgs)


def test_cihp_invariants_and_reader(tmp_path):
    root = str(tmp_path / "cihp")
    generate_split("cihp", root, "val", 4, seed=3, size=SIZE)
    d = os.path.join(root, "Validation")
    ids = open(os.path.join(d, "val_id.txt")).read().split()
    assert ids == ["1000001", "1000002", "1000003", "1000004"]
    for iid in ids:
        cat = read_label_map(os.path.join(d, "Category_ids", f"{iid}.png"))
        hum = read_label_map(os.path.join(d, "Human_ids", f"{iid}.png"))
        inst = read_label_map(os.path.join(d, "Instance_ids", f"{iid}.png"))
        assert cat.max() < 20 and 1 <= hum.max() <= 6
        np.testing.assert_array_equal(cat > 0, hum > 0)  # every part pixel belongs to a person
        np.testing.assert_array_equal(inst > 0, hum > 0)
        lines = [
            tuple(map(int, ln.split()))
            for ln in open(os.path.join(d, "Instance_ids", f"{iid}.txt"))
        ]
        assert sorted(p for p, _, _ in lines) == sorted(np.unique(inst[inst > 0]).tolist())
        for pid, cls, hid in lines:
            sel = inst == pid
            assert set(np.unique(cat[sel]).tolist()) == {cls}
            assert set(np.unique(hum[sel]).tolist()) == {hid}
            assert pid == 20 * (hid - 1) + cls
        for vis in ("Categories", "Humans", "Instances"):
            assert os.path.isfile(os.path.join(d, vis, f"{iid}.png"))
    from human_parsing.data.datasets.cihp import load_cihp_instances

    recs = load_cihp_instances(root, "val")
    hum = read_label_map(os.path.join(d, "Human_ids", f"{ids[0]}.png"))
    assert len(recs[0]["annotations"]) == hum.max()


def _expected_files(layout, split, iid, n_people):
    if layout == "cihp":
        d = {"train": "Training", "val": "Validation"}[split]
        return [
            f"{d}/{sub}/{iid}.{ext}"
            for sub, ext in (
                ("Images", "jpg"),
                ("Category_ids", "png"),
                ("Human_ids", "png"),
                ("Instance_ids", "png"),
                ("Instance_ids", "txt"),
                ("Categories", "png"),
                ("Humans", "png"),
                ("Instances", "png"),
            )
        ]
    if layout == "mhp_v2":
        return [f"{split}/images/{iid}.jpg", f"{split}/pose_annos/{iid}.mat"] + [
            f"{split}/parsing_annos/{iid}_{n_people:02d}_{k:02d}.png"
            for k in range(1, n_people + 1)
        ]
    if layout == "lip":
        return [f"{split}_images/{iid}.jpg", f"{split}_segmentations/{iid}.png"]
    if layout == "atr":
        return [f"JPEGImages/{iid}.jpg", f"SegmentationClassAug/{iid}.png"]
    if layout == "pascal_person_part":
        return [f"JPEGImages/{iid}.jpg", f"SegmentationPart/{iid}.png"]
    if layout == "densepose_coco":
        return [f"{split}_img/{iid}.jpg"]
    return [f"{split}_img/{iid}.jpg", f"{split}_seg/{iid}.png"] + [
        f"{split}_parsing/{iid}_{k:02d}.png" for k in range(1, n_people + 1)
    ]


_LISTS = {
    "cihp": ["Training/train_id.txt", "Validation/val_id.txt"],
    "mhp_v2": ["list/train.txt", "list/val.txt"],
    "lip": [
        "train_id.txt",
        "val_id.txt",
        "TrainVal_pose_annotations/LIP_SP_TRAIN_annotations.json",
        "TrainVal_pose_annotations/LIP_SP_VAL_annotations.json",
    ],
    "atr": ["list/train_id.txt", "list/val_id.txt"],
    "pascal_person_part": ["list/train_id.txt", "list/val_id.txt"],
    "coco": ["annotations/CIHP_train.json", "annotations/CIHP_val.json"],
    "densepose_coco": ["annotations/densepose_train.json", "annotations/densepose_val.json"],
}


@pytest.mark.parametrize("layout", synthetic.LAYOUTS)
def test_layout_files_and_append(tmp_path, layout):
    root = str(tmp_path / layout)
    generate_split(layout, root, "train", 2, seed=0, size=SIZE)
    generate_split(layout, root, "val", 1, seed=1, size=SIZE)  # appending a split
    space = get_label_space(synthetic.LAYOUT_LABEL_SPACE[layout])
    expected = set(_LISTS[layout])
    for split, seed, n in (("train", 0, 2), ("val", 1, 1)):
        for i in range(n):
            iid = str(i + 1 + (1_000_000 if split == "val" else 0))
            iid = iid if layout == "mhp_v2" else iid.zfill(7)
            scene = generate_scene(seed, i, SIZE)
            expected |= set(_expected_files(layout, split, iid, len(scene.people)))
    written = {k for k in _files(root) if not k.startswith(".")}
    assert written == expected
    for rel in written:
        if rel.endswith(".png") and not any(
            v in rel for v in ("Humans", "Instances", "Human_ids", "Instance_ids")
        ):
            lab = read_label_map(os.path.join(root, rel))
            assert lab.shape == (SIZE[1], SIZE[0]) and lab.max() < space.num_classes, rel
    assert not any(".tmp" in f for f in os.listdir(root))  # the temporary folders are gone
    with pytest.raises(FileExistsError):
        generate_split(layout, root, "val", 1, seed=1, size=SIZE)
    generate_split(layout, root, "val", 1, seed=1, size=SIZE, overwrite=True)


def test_layout_formats_mhp_lip(tmp_path):
    root = str(tmp_path / "mhp")
    generate_split("mhp_v2", root, "train", 3, seed=4, size=SIZE)
    for i in range(3):
        scene = generate_scene(4, i, SIZE)
        n = len(scene.people)
        mat = scipy.io.loadmat(os.path.join(root, "train", "pose_annos", f"{i + 1}.mat"))
        assert sorted(k for k in mat if not k.startswith("__")) == [f"person_{k}" for k in range(n)]
        for k in range(n):
            png = os.path.join(root, "train", "parsing_annos", f"{i + 1}_{n:02d}_{k + 1:02d}.png")
            rgb = np.asarray(Image.open(png))
            assert (
                rgb.ndim == 3
                and (rgb[..., 0] == rgb[..., 1]).all()
                and (rgb[..., 0] == rgb[..., 2]).all()
            )
            m = rgb[..., 0] > 0
            rows = mat[f"person_{k}"]
            assert rows.shape == (20, 3)
            ys, xs = np.nonzero(m)
            np.testing.assert_array_equal(
                rows[18:20, :2].ravel(), [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            )
            for x, y, flag in rows[:16]:  # visible joints lie on the person
                if flag == 0:
                    assert np.hypot(xs - x, ys - y).min() <= 2.0
                inside = 0 <= round(x) < SIZE[0] and 0 <= round(y) < SIZE[1]
                assert (flag == 2) == (not inside)
    root = str(tmp_path / "lip")
    generate_split("lip", root, "val", 3, seed=4, size=SIZE)
    data = json.load(
        open(os.path.join(root, "TrainVal_pose_annotations", "LIP_SP_VAL_annotations.json"))
    )
    assert [r["im_name"] for r in data["root"]] == ["1000001.jpg", "1000002.jpg", "1000003.jpg"]
    for i, rec in enumerate(data["root"]):
        joints = np.asarray(rec["joint_self"])
        assert joints.shape == (16, 3)
        scene = generate_scene(4, i, SIZE)
        big = max(range(len(scene.people)), key=lambda k: scene.people[k].num_pixels)
        ys, xs = np.nonzero(scene.human_ids == big + 1)
        for x, y, flag in joints:
            if flag == 1:
                assert np.hypot(xs - x, ys - y).min() <= 2.0


def test_fine_mapping_by_hand():
    cihp, pascal, mhp, atr, lip = (
        get_label_space(n) for n in ("cihp", "pascal_person_part", "mhp_v2", "atr", "lip")
    )
    cases = [  # fine class -> expected class in (cihp, pascal, mhp_v2, atr, lip)
        (
            fine_id("lower-arm", "coat", "left"),
            ("coat", "lower-arm", "coat", "upper-clothes", "coat"),
        ),
        (
            fine_id("hand", "skin", "right"),
            ("right-arm", "lower-arm", "right-hand", "right-arm", "right-arm"),
        ),
        (fine_id("hand", "glove", "left"), ("glove", "lower-arm", "glove", "left-arm", "glove")),
        (fine_id("upper-leg", "pants", "right"), ("pants", "upper-leg", "pants", "pants", "pants")),
        (
            fine_id("foot", "shoe", "left"),
            ("left-shoe", "lower-leg", "left-shoe", "left-shoe", "left-shoe"),
        ),
        (
            fine_id("foot", "skin", "left"),
            ("left-leg", "lower-leg", "left-foot", "left-leg", "left-leg"),
        ),
        (
            fine_id("torso", "skin"),
            ("torso-skin", "torso", "torso-skin", "upper-clothes", "upper-clothes"),
        ),
        (fine_id("hips", "skirt"), ("skirt", "upper-leg", "skirt", "skirt", "skirt")),
        (
            fine_id("head", "sunglasses"),
            ("sunglasses", "head", "sunglasses", "sunglasses", "sunglasses"),
        ),
        (
            fine_id("upper-arm", "upper-clothes", "right"),
            ("upper-clothes", "upper-arm", "t-shirt", "upper-clothes", "upper-clothes"),
        ),
    ]
    for fid, names in cases:
        for space, name in zip((cihp, pascal, mhp, atr, lip), names):
            lut = label_mapping_lut("synthetic_fine", space.name)
            assert space.classes[lut[fid]] == name, (fine_label_space().classes[fid], space.name)
    for space in (cihp, pascal, mhp, atr, lip):  # every person pixel stays a person pixel
        lut = label_mapping_lut("synthetic_fine", space.name)
        assert (
            (lut[1 : fine_label_space().num_classes] > 0).all() and lut[0] == 0 and lut[255] == 255
        )


def test_same_scene_consistent_across_label_spaces():
    fine_ls = fine_label_space()
    for i in range(4):
        scene = generate_scene(11, i, SIZE)
        cihp, pascal, atr, mhp = (
            scene.labels(n) for n in ("cihp", "pascal_person_part", "atr", "mhp_v2")
        )
        c = get_label_space("cihp").classes.index
        p = get_label_space("pascal_person_part").classes.index
        for m in (pascal, atr, mhp):
            np.testing.assert_array_equal(m > 0, cihp > 0)
        head = np.isin(cihp, [c("hat"), c("hair"), c("face"), c("sunglasses")])
        np.testing.assert_array_equal(head, pascal == p("head"))
        assert not np.isin(
            pascal[np.isin(cihp, [c("glove")])], [p("upper-arm"), p("torso"), p("head")]
        ).any()
        shoes = np.isin(cihp, [c("left-shoe"), c("right-shoe")])
        assert (pascal[shoes] == p("lower-leg")).all()
        np.testing.assert_array_equal(
            pascal, label_mapping_lut("synthetic_fine", "pascal_person_part")[scene.fine]
        )
        # a horizontal flip commutes with the mapping: swap-in-fine then map == map then swap
        for name in ("cihp", "atr", "mhp_v2", "pascal_person_part"):
            ls, lut = get_label_space(name), label_mapping_lut("synthetic_fine", name)
            np.testing.assert_array_equal(
                lut[fine_ls.flip_label_map(scene.fine)], ls.flip_label_map(lut[scene.fine])
            )


_LIMB_PREFIX = {
    "shoulder": ("upper-arm", "torso"),
    "elbow": ("upper-arm", "lower-arm"),
    "wrist": ("lower-arm", "hand"),
    "hip": ("upper-leg", "hips", "torso"),
    "knee": ("upper-leg", "lower-leg", "hips"),
    "ankle": ("lower-leg", "foot", "hips"),
}


def _segment_mask(fine, side, segments):
    names = fine_label_space().classes
    ids = [
        k
        for k, n in enumerate(names)
        if any(n.startswith(f"{side}-{s}:") or n.startswith(f"{s}:") for s in segments)
    ]
    return np.isin(fine, ids)


def test_keypoints_lie_on_their_limbs():
    """Drawn alone, every limb joint of a person is on (within a pixel of) its own limb, on the
    side its name says; in scenes, joints flagged visible are on their limb too."""
    rng = np.random.default_rng(0)
    for k in range(12):
        spec = sample_person(rng, (80, 95), float(rng.uniform(40, 150)))
        d = draw_person(spec, (200, 160))
        for j, name in enumerate(synthetic.COCO_KEYPOINTS[5:], start=5):
            side, joint = name.split("_")
            ys, xs = np.nonzero(_segment_mask(d.labels, side, _LIMB_PREFIX[joint]))
            x, y = d.coco[j]
            assert np.hypot(xs - x, ys - y).min() <= 1.0, (k, name)
    n_vis = n_in = 0
    for i in range(10):
        scene = generate_scene(2, i, (128, 96))
        for pid, person in enumerate(scene.people, start=1):
            for j, name in enumerate(synthetic.COCO_KEYPOINTS[5:], start=5):
                x, y, v = person.coco[j]
                n_in += v > 0
                if v == 2:
                    n_vis += 1
                    side, joint = name.split("_")
                    mask = _segment_mask(scene.fine, side, _LIMB_PREFIX[joint]) & (
                        scene.human_ids == pid
                    )
                    ys, xs = np.nonzero(mask)
                    assert np.hypot(xs - x, ys - y).min() <= 2.0, (i, pid, name)
    assert (
        n_vis >= 0.6 * n_in > 0
    )  # most in-image joints are visible: the check above is not vacuous


def test_people_count_scale_and_boxes():
    counts, heights = [], []
    for i in range(40):
        scene = generate_scene(5, i, (128, 96))
        counts.append(len(scene.people))
        assert scene.human_ids.max() == len(scene.people)
        for pid, person in enumerate(scene.people, start=1):
            heights.append(person.height / 96)
            ys, xs = np.nonzero(scene.human_ids == pid)
            assert person.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert person.num_pixels == len(xs) >= 16
    assert min(counts) >= 1 and max(counts) <= 6 and len(set(counts)) >= 4
    assert 0.05 <= min(heights) < 0.12 and 0.6 < max(heights) <= 0.9


def test_person_scale_makes_people_taller_and_is_recorded(tmp_path, capsys):
    from human_parsing.data.synthetic.cli import main

    def stats(scale):
        fg, heights = [], []
        for i in range(20):
            scene = generate_scene(5, i, (128, 96), person_scale=scale)
            fg.append((scene.human_ids > 0).mean())
            heights += [p.height / 96 for p in scene.people]
        return np.mean(fg), np.median(heights)

    fg1, h1 = stats(1.0)
    fg2, h2 = stats(1.8)
    assert 1.5 < h2 / h1 < 2.1 and fg2 > 1.8 * fg1
    with pytest.raises(ValueError, match="person_scale"):
        generate_scene(5, 0, (128, 96), person_scale=0.0)
    out = str(tmp_path / "cihp")
    args = ["--layout", "cihp", "--out", out, "--num-images", "1", "--size", "64x48"]
    first = main(args + ["--person-scale", "1.8"])
    assert first["person_scale"] == 1.8
    again = main(args + ["--person-scale", "1.8"])  # same parameters: kept as it is
    assert "already complete" in capsys.readouterr().out
    with pytest.raises(FileExistsError):  # another scale would replace files: needs --overwrite
        main(args)
    assert again["person_scale"] == 1.8


def test_ensure_is_idempotent_and_survives_interruption(tmp_path, monkeypatch):
    root = str(tmp_path / "atr")
    from human_parsing.data.synthetic import generate as gen

    calls = {"n": 0}
    real = gen.write_scene

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real(*args)

    monkeypatch.setattr(gen, "write_scene", failing)
    with pytest.raises(KeyboardInterrupt):
        ensure_synthetic_dataset("atr", root, "val", num_images=3, size=SIZE)
    assert [f for f in os.listdir(root) if not f.endswith(".lock")] == []  # nothing half-written
    monkeypatch.setattr(gen, "write_scene", real)
    assert ensure_synthetic_dataset("atr", root, "val", num_images=3, size=SIZE) == root
    assert open(os.path.join(root, "list", "val_id.txt")).read().split() == [
        "1000001",
        "1000002",
        "1000003",
    ]
    img = os.path.join(root, "JPEGImages", "1000001.jpg")
    mtime = os.stat(img).st_mtime_ns
    ensure_synthetic_dataset("atr", root, "val", num_images=3, size=SIZE)
    assert os.stat(img).st_mtime_ns == mtime  # complete: not regenerated
    ensure_synthetic_dataset(
        "atr", root, "train", num_images=2, size=SIZE
    )  # the other split appends
    assert os.path.isfile(os.path.join(root, "JPEGImages", "0000002.jpg"))
    assert not any(".tmp" in f for f in os.listdir(root))


def test_cli_prints_summary(tmp_path, capsys):
    from human_parsing.data.synthetic.cli import main

    main(
        [
            "--layout",
            "pascal_person_part",
            "--out",
            str(tmp_path / "p"),
            "--num-images",
            "2",
            "--size",
            "96x72",
        ]
    )
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "2 images" in line and "classes present" in line


def test_coco_layout_carries_keypoints(tmp_path):
    root = str(tmp_path / "coco")
    generate_split("coco", root, "train", 2, seed=6, size=SIZE)
    from human_parsing.data.datasets.builtin import _coco_paths
    from human_parsing.data.datasets.coco_parsing import load_coco_parsing_json
    from human_parsing.data.io import load_person_parsing

    recs = load_coco_parsing_json(*_coco_paths(root, "train"), "t", num_classes=20)
    for i, rec in enumerate(recs):
        scene = generate_scene(6, i, SIZE)
        maps = load_person_parsing(rec)
        assert len(rec["annotations"]) == len(scene.people)
        for ann, m in zip(rec["annotations"], maps):
            # find the person by its map, then compare keypoints
            k = int(np.bincount(scene.human_ids[m > 0]).argmax()) - 1
            np.testing.assert_array_equal(m, scene.person_labels("cihp")[k])
            kps = np.asarray(ann["keypoints"]).reshape(17, 3)
            expect = scene.people[k].coco.copy()
            expect[expect[:, 2] == 0] = 0
            np.testing.assert_allclose(kps, expect, atol=0.006)


def test_ensure_uses_a_complete_split_made_by_the_tool(tmp_path, capsys):
    """The demo writes more images with the tool; the lazy loader must use them, and re-running
    the tool with the same arguments is a no-op rather than an error."""
    from human_parsing.data.synthetic.cli import main

    root = str(tmp_path / "lip")
    args = ["--layout", "lip", "--out", root, "--split", "val", "--num-images", "3", "--size", "96x72"]
    main(args)
    assert ensure_synthetic_dataset("lip", root, "val") == root
    assert len(open(os.path.join(root, "val_id.txt")).read().split()) == 3  # kept, not regenerated
    main(args)
    assert capsys.readouterr().out.strip().endswith("(already complete)")
    with pytest.raises(FileExistsError):
        main(args[:-4] + ["--num-images", "2"])  # different files: refuse without --overwrite
    ensure_synthetic_dataset("lip", root, "val", num_images=2, size=(96, 72))  # explicit: regenerated
    assert len(open(os.path.join(root, "val_id.txt")).read().split()) == 2
