"""DensePose GPS / GPSm AP: hand-worked GPS, matching and AP; providers; official oracle.

The oracle test runs Parsing R-CNN's (= DensePose's) ``densepose_cocoeval.py`` when
``HP_DENSEPOSE_COCOEVAL`` names that file (e.g. ``git show HEAD:utils/data/evaluation/
densepose_cocoeval.py`` of soeaver/Parsing-R-CNN), with the synthetic geodesic tables in place of
the SMPL files and the minimal Python-3/numpy shims (``np.int``, ``np.float``, a float ``num`` to
``np.linspace``, the unused ``h5py`` import). It is skipped otherwise.
"""
import copy
import importlib.util
import os
import sys
import types

import cv2
import numpy as np
import pytest

from human_parsing.data.densepose import encode_dp_masks
from human_parsing.evaluation.densepose import (
    AREA_RANGES,
    IOU_THRESHOLDS,
    accumulate,
    densepose_ap,
    evaluate_image,
    gps_matrix,
)
from human_parsing.evaluation.geodesics import VertexGeodesics, synthetic_geodesics


def _tiny_geodesics():
    """Patch 1 has vertices 1 at UV (0, 0) and 2 at (1, 1), 0.2 apart; every other patch p one
    vertex p + 1 at (0.5, 0.5); all other distances 1."""
    part = np.array([1, 1] + list(range(2, 25)))
    uv = np.array([[0, 1] + [0.5] * 23, [0, 1] + [0.5] * 23], float)
    n = len(part)
    square = np.ones((n, n))
    square[0, 1] = square[1, 0] = 0.2
    return VertexGeodesics.from_vertices(part, uv, square[np.tril_indices(n, -1)])


def test_gps_hand_worked():
    geo = _tiny_geodesics()
    # GT box [10, 20, 255, 255]: dp_x = 255 maps to column 10 + 255 - dx; detection box at (10, 20)
    gt = {"bbox": [10, 20, 255, 255], "dp_x": [0, 100, 250], "dp_y": [0, 50, 254],
          "dp_I": [1, 1, 1], "dp_U": [0.1, 0.9, 0.9], "dp_V": [0.1, 0.9, 0.9]}
    uv = np.zeros((3, 200, 200), np.uint8)
    uv[:, 0, 0] = (1, 25, 25)  # point 1: patch 1 near (0, 0) -> same vertex as the GT: d = 0
    uv[:, 50, 100] = (1, 0, 0)  # point 2: GT snaps to vertex 2, prediction to vertex 1: d = 0.2
    dt = {"bbox": [10, 20, 200, 200], "uv": uv}  # point 3 (row 254) is outside: d = inf
    k = 0.351  # GPS normaliser of the torso group
    want = (1 + np.exp(-0.04 / (2 * k * k)) + 0) / 3  # = (1 + 0.850155) / 3
    assert gps_matrix([gt], [dt], geo)[0, 0] == pytest.approx(want, abs=1e-12)
    assert want == pytest.approx(0.616718, abs=1e-6)
    assert gps_matrix([{k: v for k, v in gt.items() if not k.startswith("dp")}], [dt], geo)[0, 0] == 0


def test_synthetic_geodesics_is_a_metric():
    geo = synthetic_geodesics(grid=5)
    I = np.array([2, 2, 9, 23, 24])
    U, V = np.array([0.5, 0.9, 0.5, 0.5, 0.5]), np.array([0.5, 0.5, 0.1, 0.5, 0.5])
    v = geo.closest_vertices(I, U, V)
    assert (v > 0).all() and v[0] != v[1]
    assert geo.distances(v, v).tolist() == [0.0] * 5
    d = geo.distances(v[[0, 0, 0]], v[[1, 2, 3]])
    # torso-front neighbours: x = (2 * 0.9 - 1) * 0.11 * 1.7 apart; torso to right upper leg: far
    assert d[0] == pytest.approx(0.1496) and d[1] > 0.4
    assert np.isinf(geo.distances(v[:1], np.array([-1])))[0]
    d_head = geo.distances(v[[3]], v[[4]])[0]  # head right vs left at U = 0.5: 0.05 * 1.7 apart
    assert d_head == pytest.approx(0.085, abs=1e-9)


def _gt(i, dp=True, area=200 * 200):
    g = {"id": i, "bbox": [0, 0, 10, 10], "area": area, "iscrowd": 0}
    if dp:
        g["dp_x"] = [1.0]
    return g


def _dt(i, score):
    return {"id": i, "score": score, "area": 100 * 100}


def test_matching_and_ap_hand_worked():
    # one GT, two detections: d1 (score .9) has GPSm .6, d2 (score .8) has GPSm .92.
    gts, dts = [_gt(1)], [_dt(1, 0.9), _dt(2, 0.8)]
    gps, miou = np.array([[0.36], [0.92**2]]), np.ones((2, 1))
    e = evaluate_image(gts, dts, gps, miou, np.zeros((2, 1)), AREA_RANGES["all"])
    # t <= .6: d1 is the TP; .65 <= t <= .9: d2; .95: none
    assert e.dt_matches[:, 0].tolist() == [1, 1, 1] + [0] * 7
    assert e.dt_matches[:, 1].tolist() == [0] * 3 + [1] * 6 + [0]
    prec = accumulate([e])
    assert np.allclose(prec[:3], 1) and np.allclose(prec[3:9], 0.5) and (prec[9] == 0).all()
    # AP = (3 * 1 + 6 * 0.5 + 0) / 10
    assert prec.mean() == pytest.approx(0.6)


def test_ignored_gt_and_box_fallback():
    # GT 2 has no dense pose (ignored); d2 overlaps it with box IoU .85 -> ignored everywhere
    gts, dts = [_gt(1), _gt(2, dp=False)], [_dt(1, 0.9), _dt(2, 0.8)]
    gps = np.array([[1.0, 0.0], [0.0, 0.0]])
    biou = np.array([[0.0, 0.0], [0.0, 0.85]])
    e = evaluate_image(gts, dts, gps, np.ones((2, 2)), biou, AREA_RANGES["all"])
    assert e.dt_ignore[:, 1].all() and not e.dt_ignore[:, 0].any()
    assert e.dt_matches[-1, 1] == 2 and (e.dt_matches[:-1, 1] == 0).all()  # last threshold only
    assert np.allclose(accumulate([e]), 1.0)
    # an image whose GT are all ignored ignores its detections (here: a FP that would cost AP)
    e2 = evaluate_image([_gt(3, dp=False)], [_dt(3, 0.95)], np.zeros((1, 1)), np.zeros((1, 1)),
                        np.zeros((1, 1)), AREA_RANGES["all"])
    assert e2.dt_ignore.all()
    assert np.allclose(accumulate([e, e2]), 1.0)
    # area ranges: the GT (area 200²) is outside "medium": ignored there -> no AP (-1)
    e3 = evaluate_image(gts[:1], dts[:1], gps[:1, :1], np.ones((1, 1)), np.zeros((1, 1)), AREA_RANGES["medium"])
    assert (accumulate([e3]) == -1).all()


# ---- random cases: our AP against the official evaluation -------------------------------------
def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    images, gt_anns, dt_anns, imgs = {}, [], [], []
    for iid in range(1, 6):
        H, W = 260, 230
        gts, dts = [], []
        for _ in range(int(rng.integers(1, 4))):
            w, h = int(rng.integers(20, 180)), int(rng.integers(30, 220))
            x, y = float(rng.integers(-10, W - 15)), float(rng.integers(-10, H - 20))
            g = {"id": len(gt_anns) + 1, "image_id": iid, "category_id": 1, "iscrowd": 0,
                 "bbox": [x, y, float(w), float(h)], "area": float(w * h * rng.uniform(0.3, 0.9))}
            if rng.random() < 0.8:
                segm = np.zeros((256, 256), np.uint8)
                for _ in range(4):
                    a, b = rng.integers(0, 200, 2)
                    segm[a : a + rng.integers(20, 120), b : b + rng.integers(20, 120)] = rng.integers(1, 15)
                n = int(rng.integers(5, 40))
                g.update(dp_x=rng.uniform(0, 255, n).round(2).tolist(), dp_y=rng.uniform(0, 255, n).round(2).tolist(),
                         dp_I=rng.integers(1, 25, n).astype(float).tolist(),
                         dp_U=rng.uniform(0, 1, n).tolist(), dp_V=rng.uniform(0, 1, n).tolist(),
                         dp_masks=encode_dp_masks(segm))
            gts.append(g)
            gt_anns.append(g)
            for _ in range(int(rng.integers(0, 3))):  # detections near this person
                dw, dh = max(1, int(w + rng.integers(-6, 7))), max(1, int(h + rng.integers(-6, 7)))
                dx, dy = x + rng.uniform(-5, 5), y + rng.uniform(-5, 5)
                uv = np.zeros((3, dh, dw), np.uint8)
                uv[0, dh // 6 : dh - dh // 6, dw // 6 : dw - dw // 6] = rng.integers(1, 25)
                if "dp_x" in g and rng.random() < 0.8:  # the GT's foreground, as a good model would
                    uv[0] = np.where(cv2.resize(segm, (dw, dh), interpolation=cv2.INTER_NEAREST) > 0, 3, 0)
                if "dp_x" in g:  # copy the GT at (most of) its points, as a good model would
                    col = (np.asarray(g["dp_x"]) * w / 255.0 + x - dx).astype(int)
                    row = (np.asarray(g["dp_y"]) * h / 255.0 + y - dy).astype(int)
                    ok = (row >= 0) & (row < dh) & (col >= 0) & (col < dw) & (rng.random(len(col)) < 0.8)
                    uv[0, row[ok], col[ok]] = np.asarray(g["dp_I"])[ok]
                    uv[1, row[ok], col[ok]] = (np.asarray(g["dp_U"])[ok] * 255).astype(np.uint8)
                    uv[2, row[ok], col[ok]] = (np.asarray(g["dp_V"])[ok] * 255).astype(np.uint8)
                dts.append({"image_id": iid, "category_id": 1, "bbox": [dx, dy, dw, dh],
                            "score": float(rng.uniform(0.05, 1)), "uv": uv})
        for _ in range(int(rng.integers(0, 2))):  # a false positive somewhere
            dw, dh = int(rng.integers(5, 60)), int(rng.integers(5, 60))
            dts.append({"image_id": iid, "category_id": 1, "bbox": [float(rng.integers(0, 60)), 3.5, dw, dh],
                        "score": float(rng.uniform(0.05, 1)), "uv": rng.integers(0, 25, (3, dh, dw)).astype(np.uint8)})
        imgs.append({"id": iid, "width": W, "height": H, "file_name": f"{iid}.jpg"})
        dt_anns += dts
        images[iid] = {"height": H, "width": W, "gts": gts, "dts": dts}
    for k, d in enumerate(dt_anns):  # as pycocotools' loadRes numbers them
        d["id"], d["area"] = k + 1, d["bbox"][2] * d["bbox"][3]
    return images, {"images": imgs, "annotations": gt_anns, "categories": [{"id": 1, "name": "person"}]}, dt_anns


def _official(path, geo, gt_json, dt_anns, monkeypatch):
    from pycocotools.coco import COCO

    monkeypatch.setitem(sys.modules, "h5py", types.ModuleType("h5py"))
    monkeypatch.setattr(np, "int", int, raising=False)
    monkeypatch.setattr(np, "float", float, raising=False)
    linspace = np.linspace
    monkeypatch.setattr(np, "linspace", lambda a, b, n, **kw: linspace(a, b, int(n), **kw))
    spec = importlib.util.spec_from_file_location("official_densepose_cocoeval", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    def load_geval(self):  # the synthetic tables in the official attribute layout
        self.Part_UVs, self.Part_ClosestVertInds = geo.part_uvs, geo.part_vertex_ids
        self.PDIST_transform, self.Part_ids = geo.transform, geo.part_ids
        self.Pdist_matrix = geo.table[:, None]
        self.Mean_Distances = np.array([0, 0.351, 0.107, 0.126, 0.237, 0.173, 0.142, 0.128, 0.150])
        self.CoarseParts = np.array([0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 8])

    monkeypatch.setattr(mod.denseposeCOCOeval, "_loadGEval", load_geval)
    gt = COCO()
    gt.dataset = copy.deepcopy(gt_json)
    gt.createIndex()
    dt = gt.loadRes(copy.deepcopy(dt_anns))
    ev = mod.denseposeCOCOeval("", gt, dt, "uv", 0.255)
    ev.evaluate(calc_mode="GPSm")
    ev.accumulate()
    ev.summarize()
    s = ev.stats
    return {"AP": s[0], "AP50": s[1], "AP75": s[6], "APm": s[11], "APl": s[12]}


@pytest.mark.skipif(not os.environ.get("HP_DENSEPOSE_COCOEVAL"), reason="HP_DENSEPOSE_COCOEVAL not set")
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_against_official_evaluation(seed, monkeypatch):
    geo = synthetic_geodesics(grid=6)
    images, gt_json, dt_anns = _random_case(seed)
    ours = densepose_ap(copy.deepcopy(images), geo)
    theirs = _official(os.environ["HP_DENSEPOSE_COCOEVAL"], geo, gt_json, dt_anns, monkeypatch)
    assert ours["AP"] > 0  # the case exercises matches, not only misses
    for k in ours:
        assert ours[k] == pytest.approx(theirs[k], abs=1e-12), (k, ours, theirs)
    assert len({round(v, 6) for v in ours.values()}) > 2  # distinct, non-trivial numbers


# ---- the Detectron2 evaluator on synthetic data -----------------------------------------------
def _outputs(recs, scenes, corrupt=False):
    import torch
    from detectron2.structures import Boxes, Instances

    from human_parsing.data.synthetic.densepose import person_iuv

    inputs, outputs = [], []
    for rec, scene in zip(recs, scenes):
        boxes, charts = [], []
        for k, a in enumerate(rec["annotations"]):
            x1, y1, x2, y2 = a["bbox"]
            I, U, V = person_iuv(scene, k)
            crop = (slice(int(y1), int(y1) + int(y2 - y1)), slice(int(x1), int(x1) + int(x2 - x1)))
            labels = I[crop]
            if corrupt:  # every patch replaced by its mirror: right coarse parts, wrong patches
                labels = get_label_space_patches().flip_lut[labels]
            boxes.append([x1, y1, x2, y2])
            charts.append({"labels": labels, "uv": np.stack([U[crop], V[crop]])})
        inst = Instances((rec["height"], rec["width"]))
        inst.pred_boxes = Boxes(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
        inst.scores = torch.linspace(0.9, 0.5, len(boxes))
        inst.pred_densepose = charts
        inputs.append({"image_id": rec["image_id"], "height": rec["height"], "width": rec["width"]})
        outputs.append({"instances": inst})
    return inputs, outputs


def get_label_space_patches():
    from human_parsing.data.label_spaces import get_label_space

    return get_label_space("densepose_patches")


def test_evaluator_on_synthetic_ground_truth(tmp_path):
    from human_parsing.data.datasets.densepose_coco import load_densepose_coco_json, register_densepose_coco
    from human_parsing.data.synthetic import generate_scene
    from human_parsing.data.synthetic.densepose import densepose_paths
    from human_parsing.data.synthetic.generate import generate_split
    from human_parsing.evaluation.densepose_evaluator import DensePoseEvaluator

    root = str(tmp_path / "dp")
    generate_split("densepose_coco", root, "val", 3, seed=1, person_scale=1.8)
    json_file, img = densepose_paths(root, "val")
    register_densepose_coco("test_dp_eval_val", json_file, img, densepose_geodesics="synthetic")
    recs = load_densepose_coco_json(json_file, img)
    scenes = [generate_scene(1, i, (256, 192), 1.8) for i in range(3)]
    results = {}
    for corrupt in (False, True):
        ev = DensePoseEvaluator("test_dp_eval_val", "", distributed=False)
        ev.reset()
        ev.process(*_outputs(recs, scenes, corrupt))
        results[corrupt] = ev.evaluate()["densepose"]
    good, bad = results[False], results[True]
    # the GT charts themselves: the official point mapping scales by 256/255 (up to a pixel off at
    # the far side of a box), so a few points land on a neighbouring pixel of another patch
    assert 97 < good["patch_acc"] < 100 and good["uv_err"] < 0.01
    assert good["AP"] > 60 and good["AP50"] == pytest.approx(100.0)
    assert bad["patch_acc"] < 70 and bad["AP"] < good["AP"] - 20  # the torso patches stay right
