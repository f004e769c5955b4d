"""Hand-worked semantic (mIoU family) and ATR metrics on a 5-pixel example."""

import numpy as np
import pytest

from human_parsing.evaluation.atr import atr_metrics
from human_parsing.evaluation.semantic import confusion_matrix, semantic_metrics

# GT / prediction, one row of 5 pixels; the last GT pixel is ignored (255).
GT = np.array([[0, 0, 1, 1, 255]], np.uint8)
PRED = np.array([[0, 1, 1, 2, 2]], np.uint8)
# Valid pixels: (gt,pred) = (0,0) (0,1) (1,1) (1,2)
# TP = [1, 1, 0, 0]  G = [2, 2, 0, 0]  P = [1, 2, 1, 0]  U = G+P-TP = [2, 3, 1, 0]
# IoU = [1/2, 1/3, 0 (predicted, absent from GT), NaN (absent from both)]


def test_confusion_matrix_counts():
    h = confusion_matrix(GT, PRED, 4)
    expected = np.zeros((4, 4), int)
    expected[0, 0] = expected[0, 1] = expected[1, 1] = expected[1, 2] = 1
    np.testing.assert_array_equal(h, expected)


def test_official_nanmean():
    r = semantic_metrics(confusion_matrix(GT, PRED, 4), "official")
    assert r["pixAcc"] == pytest.approx(0.5)  # (1 + 1) / 4
    assert r["mIoU"] == pytest.approx(0.277778, abs=1e-6)  # (1/2 + 1/3 + 0) / 3, class 3 skipped
    assert r["meanAcc"] == pytest.approx(0.5)  # nanmean(1/2, 1/2), classes 2, 3 have no GT
    assert r["fwIoU"] == pytest.approx(0.416667, abs=1e-6)  # 2/4 * 1/2 + 2/4 * 1/3
    assert r["IoU-2"] == 0.0 and np.isnan(r["IoU-3"])


def test_all_classes_corrpm():
    r = semantic_metrics(confusion_matrix(GT, PRED, 4), "all_classes")
    assert r["mIoU"] == pytest.approx(0.208333, abs=1e-6)  # (1/2 + 1/3 + 0 + 0) / 4
    assert r["meanAcc"] == pytest.approx(0.25)  # (1/2 + 1/2 + 0 + 0) / 4
    assert r["IoU-3"] == 0.0


def test_gt_present_detectron2():
    r = semantic_metrics(confusion_matrix(GT, PRED, 4), "gt_present")
    assert r["mIoU"] == pytest.approx(0.416667, abs=1e-6)  # (1/2 + 1/3) / 2
    assert r["meanAcc"] == pytest.approx(0.5)
    assert np.isnan(r["IoU-2"])


def test_prediction_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="pred_7.png.*outside"):
        confusion_matrix(GT, np.array([[0, 1, 4, 0, 0]], np.uint8), 4, name="pred_7.png")


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="size"):
        confusion_matrix(GT, np.zeros((1, 4), np.uint8), 4)


def test_accumulates_over_images_not_averaged():
    # Image 1: 1 GT pixel of class 1, wrong. Image 2: 3 GT pixels of class 1, right.
    h = confusion_matrix(np.array([[1]]), np.array([[0]]), 2) + confusion_matrix(
        np.array([[1, 1, 1]]), np.array([[1, 1, 1]]), 2
    )
    r = semantic_metrics(h)
    # class 0: TP 0, U = 0 + 1 - 0 = 1 -> 0; class 1: TP 3, U = 4 + 3 - 3 = 4 -> 3/4
    assert r["mIoU"] == pytest.approx(0.375)  # (0 + 0.75) / 2; per-image averaging would give 0.5


def test_atr_metrics():
    r = atr_metrics(confusion_matrix(GT, PRED, 3))
    # TP = [1, 1, 0]  G = [2, 2, 0]  P = [1, 2, 1]
    assert r["acc"] == pytest.approx(0.5)  # 2 / 4
    assert r["fg_acc"] == pytest.approx(0.5)  # (1 + 0) / (2 + 0)
    assert r["precision"] == pytest.approx(0.5)  # mean(1/1, 1/2, 0/1)
    assert r["recall"] == pytest.approx(0.5)  # nanmean(1/2, 1/2, 0/0)
    assert r["f1"] == pytest.approx(0.388889, abs=1e-6)  # mean(2/3, 2/4, 0/1)
    assert r["f1_of_means"] == pytest.approx(0.5)  # 2 * .5 * .5 / (.5 + .5)
    r = atr_metrics(confusion_matrix(GT, PRED, 3), include_background=False)
    assert r["precision"] == pytest.approx(0.25)  # mean(1/2, 0/1)
    assert r["recall"] == pytest.approx(0.5)  # nanmean(1/2, NaN)
    assert r["f1"] == pytest.approx(0.25)  # mean(2/4, 0)
