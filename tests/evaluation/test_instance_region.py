"""Hand-worked APp / PCP / APr / global-map examples, including the quirks of metrics.md."""

import numpy as np
import pytest

from human_parsing.evaluation.global_map import paint_instances, part_instances
from human_parsing.evaluation.instance import app_image_record, crops_from_full, evaluate_app
from human_parsing.evaluation.region import evaluate_apr, region_image_record
from human_parsing.evaluation.voc import voc_ap

# Two GT people on a 2x4 image, C = 3.
A = np.array([[1, 1, 0, 0], [2, 2, 0, 0]], np.uint8)
B = np.array([[0, 0, 1, 1], [0, 0, 0, 0]], np.uint8)
D3 = np.array([[0, 0, 1, 0], [0, 0, 0, 0]], np.uint8)


def _record(gt, preds, scores, C=3):
    crops, offsets = crops_from_full(np.asarray(preds, np.uint8).reshape(-1, *gt.shape[1:]))
    return app_image_record(gt, crops, offsets, np.asarray(scores, float), C)


def test_voc_ap_basic_and_no_detection():
    # rec [.5,.5,1], prec [1,.5,2/3]: envelope -> .5*1 + .5*2/3
    assert voc_ap(np.array([0.5, 0.5, 1.0]), np.array([1, 0.5, 2 / 3])) == pytest.approx(
        0.833333, abs=1e-6
    )
    assert voc_ap(np.zeros(0), np.zeros(0)) == 0.0


def test_overlap_includes_background_and_nanmean():
    r = _record(np.stack([A, B]), [A, D3], [0.9, 0.7])
    # d0 = A vs A: IoU (bg, 1, 2) = (1, 1, 1) -> 1
    # d0 vs B: bg: |A0 ∩ B0| = 2, |B0| = 6, |A0| = 4 -> 2/8; cls 1: 0/4; cls 2: 0/2 -> mean 0.25/3
    # d1 = D3 vs B: bg 6/7, cls 1: 1/2, cls 2 absent from both (NaN, skipped) -> (6/7 + 1/2) / 2
    # d1 vs A: bg 3/8, cls 1: 0/3, cls 2: 0/2 -> 0.375 / 3 = 0.125
    np.testing.assert_allclose(
        r["overlap"], [[1.0, 0.25 / 3], [0.125, (6 / 7 + 0.5) / 2]], atol=1e-12
    )
    # parts_ok at t = 0.1: d0 vs A: classes 1, 2 have IoU 1 -> 2; d1 vs B: class 1 IoU 1/2 -> 1
    assert (
        r["parts_ok"][0, 0, 0] == 2 and r["parts_ok"][1, 1, 0] == 1 and r["parts_ok"][1, 1, 4] == 0
    )
    assert r["parts_gt"].tolist() == [2, 1]


def test_app_pcp_duplicates_strictness():
    # d1 (0.9) = A, d2 (0.8) = A again (duplicate), d3 (0.7) = one pixel of B.
    r = _record(np.stack([A, B]), [A, A, D3], [0.9, 0.8, 0.7])
    res = evaluate_app([r])
    # d1 -> A (overlap 1): TP at every t; d2 -> A again: FP (not re-matched to B);
    # d3 -> B, overlap (6/7 + 1/2)/2 = 0.678571: TP for t <= 0.6, FP for t >= 0.7.
    # t <= 0.6: rec [.5, .5, 1], prec [1, .5, 2/3] -> AP = .5*1 + .5*(2/3) = 0.833333
    # t >= 0.7: rec [.5, .5, .5], prec [1, .5, 1/3] -> AP = .5*1 = 0.5
    assert res["APp@0.6"] == pytest.approx(0.833333, abs=1e-6)
    assert res["APp@0.7"] == pytest.approx(0.5)
    assert res["APp50"] == pytest.approx(0.833333, abs=1e-6)
    assert res["APp_vol"] == pytest.approx(0.722222, abs=1e-6)  # (6 * 0.833333 + 3 * 0.5) / 9
    # PCP@0.5: d1 -> A has parts {1, 2}, both IoU 1 > .5 -> 2/2; d3 -> B has part {1} with
    # IoU 1/2, not > 0.5 (strict) -> 0/1.  (1 + 0) / npos 2 = 0.5.  At 0.4: (1 + 1) / 2 = 1.
    assert res["PCP50"] == pytest.approx(0.5)
    assert res["PCP@0.4"] == pytest.approx(1.0)


def test_person_without_parts_counts_in_npos():
    empty = np.zeros_like(A)
    r = _record(np.stack([A, B, empty]), [A, A, D3], [0.9, 0.8, 0.7])
    # npos = 3: t <= 0.6: rec [1/3, 1/3, 2/3], prec [1, .5, 2/3] -> 1/3 + 1/3 * 2/3 = 0.555556
    assert evaluate_app([r])["APp@0.1"] == pytest.approx(0.555556, abs=1e-6)
    # MHP v2 rule: people with an empty map are not counted -> as with 2 people: 0.833333
    assert evaluate_app([r], count_empty_gt=False)["APp@0.1"] == pytest.approx(0.833333, abs=1e-6)


def test_all_background_prediction_matches_single_part_person():
    # A 1-pixel person in a 2x4 image; a prediction with no part at all still overlaps:
    # bg IoU = 7/8, class 1 IoU = 0/1 -> mean 0.4375: TP for t < 0.4375 (metrics.md §3.2 quirk).
    gt = np.zeros((1, 2, 4), np.uint8)
    gt[0, 0, 0] = 1
    r = app_image_record(gt, [np.zeros((1, 1), np.uint8)], np.array([[3, 1]]), np.array([0.5]), 3)
    res = evaluate_app([r])
    assert res["APp@0.4"] == pytest.approx(1.0) and res["APp@0.5"] == 0.0


def test_no_detection_and_score_threshold():
    r = _record(np.stack([A, B]), np.zeros((0, 2, 4)), [])
    res = evaluate_app([r])
    assert res["APp_vol"] == 0.0 and res["PCP50"] == 0.0
    # A detection below score_thresh (0.001) is neither TP nor FP -> same as no detection.
    r = _record(np.stack([A, B]), [A], [0.0005])
    assert evaluate_app([r])["APp50"] == 0.0


def test_ties_follow_numpy_argsort_of_negated_scores():
    # Two detections with the same score: d0 wrong (hits nothing), d1 = A. npos = 1.
    wrong = np.array([[0, 0, 0, 0], [0, 0, 2, 2]], np.uint8)
    r = _record(A[None], [wrong, A], [0.5, 0.5])
    order = np.argsort(-np.array([0.5, 0.5]))
    # order [0, 1]: tp [0, 1], prec [0, .5] -> AP 0.5;  order [1, 0]: AP 1.0
    expected = 0.5 if order[0] == 0 else 1.0
    assert evaluate_app([r])["APp@0.5"] == pytest.approx(expected)


def test_ignored_gt_pixels():
    # GT 255 pixels are dropped for both maps: pred labels there do not count.
    gt = np.array([[[1, 1, 255, 255]]], np.uint8)
    pred = np.array([[1, 1, 1, 1]], np.uint8)
    r = app_image_record(gt, [pred], np.array([[0, 0]]), np.array([1.0]), 2)
    # valid pixels: 2, both class 1 in GT and pred -> IoU cls1 = 1, bg absent from both -> 1
    assert r["overlap"][0, 0] == pytest.approx(1.0)


# ---------------------------------------------------------------- APr (PGN) ----------------------


def _layer(ids, classes):
    return (np.asarray(ids), np.asarray([0] + list(classes)))


def test_apr_split_part_counts_twice_official():
    gt = [_layer([[1, 1, 1, 1]], [1])]  # one GT part of class 1, 4 pixels
    pred_ids = np.array([[1, 1, 2, 2]])  # two halves, both class 1
    r = region_image_record(gt, pred_ids, [1, 1], [0.9, 0.8], 3)
    res = evaluate_apr([r], 3)
    # Each half: IoU 2/4 = 0.5. Official (no one-to-one): t < 0.5 both TP -> rec [1, 2], prec [1, 1]
    # -> AP = 1*1 + 1*1 = 2.0 for class 1; class 2 has no GT and no prediction -> 0.
    # mAP(t<0.5) = (2 + 0) / 2 = 1.0; at t >= 0.5, 0.5 is not > t -> 0.
    assert res["APr@0.4"] == pytest.approx(1.0)
    assert res["APr50"] == 0.0
    assert res["APr_vol"] == pytest.approx(0.444444, abs=1e-6)  # 4 * 1.0 / 9
    # One-to-one: second half is an FP -> rec [1, 1], prec [1, .5] -> AP 1 -> mAP 0.5
    res = evaluate_apr([r], 3, matching="one_to_one")
    assert res["APr@0.4"] == pytest.approx(0.5)
    assert res["APr_vol"] == pytest.approx(0.222222, abs=1e-6)  # 4 * 0.5 / 9


def test_apr_predicted_class_without_gt_is_nan():
    gt = [_layer([[1, 1, 0, 0]], [1])]
    r = region_image_record(gt, np.array([[1, 1, 0, 2]]), [1, 2], [0.9, 0.8], 3)
    res = evaluate_apr([r], 3)
    # class 2 predicted, no GT: recall 0/0 = NaN -> AP NaN -> mAP NaN (as the script)
    assert np.isnan(res["APr50"]) and res["APr50-1"] == pytest.approx(1.0)


def test_apr_unlisted_and_pixelless_ids():
    gt = [_layer([[1, 1, 2, 2]], [1, 2])]
    # pixel value 3 is not in the txt (ignored); line 2 (class 2) has no pixel (dropped)
    r = region_image_record(gt, np.array([[1, 1, 3, 3]]), [1, 2], [0.9, 0.8], 3)
    assert r["pred_class"].tolist() == [1]
    res = evaluate_apr([r], 3)
    # class 1: 1 TP -> AP 1; class 2: 1 GT, no prediction -> AP 0 -> mAP 0.5
    assert res["APr50"] == pytest.approx(0.5)


# ---------------------------------------------------------------- global map ---------------------


def test_paint_ascending_score_and_threshold():
    p0 = np.array([[1, 1, 1]], np.uint8)  # score 0.9
    p1 = np.array([[2, 2, 0]], np.uint8)  # score 0.5, its background pixel never overwrites
    p2 = np.array([[3, 3, 3]], np.uint8)  # score 0.2 < 0.3: not painted
    crops, offsets = [p0, p1, p2], np.array([[0, 0], [1, 0], [0, 0]])
    parts, ids, order = paint_instances(crops, offsets, [0.9, 0.5, 0.2], (1, 4), 0.3)
    # p1 painted first at x = 1..2 -> [0, 2, 2, 0]; then p0 (higher score) on top at x = 0..2
    assert parts.tolist() == [[1, 1, 1, 0]]
    assert order.tolist() == [1, 0] and ids.tolist() == [[2, 2, 2, 0]]
    parts, ids, order = paint_instances(
        [p1, p0], np.array([[1, 0], [0, 0]]), [0.9, 0.5], (1, 4), 0.3
    )
    assert parts.tolist() == [[1, 2, 2, 0]]  # now p1 (0.9) wins the overlap
    inst, cls, sc = part_instances(parts, ids, np.array([0.5, 0.9]), 3)
    # (person rank 1 = p0 @0.5, class 1) -> line 1; (rank 2 = p1 @0.9, class 2) -> line 2
    assert inst.tolist() == [[1, 2, 2, 0]] and cls.tolist() == [1, 2] and sc.tolist() == [0.5, 0.9]
