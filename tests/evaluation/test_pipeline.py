"""Per-image core: which images count in the mIoU (the "no detection" rule)."""

import numpy as np

from human_parsing.evaluation.pipeline import ParsingEvalOptions, image_record

GT = {
    "sem": np.array([[1, 1], [0, 0]], np.uint8),
    "persons": np.array([[[1, 1], [0, 0]]], np.uint8),
}
NONE = {"crops": [], "offsets": np.zeros((0, 2), np.int64), "scores": np.zeros(0)}


def test_no_detection_skipped_or_background():
    skip = ParsingEvalOptions(num_classes=2)
    bg = ParsingEvalOptions(num_classes=2, empty_images="background")
    assert image_record(GT, None, skip, "x")["hist"] is None  # no prediction file
    assert image_record(GT, dict(NONE), skip, "x")["hist"] is None  # zero detections
    # a model's global map that is all background, with zero detections: still "no detection"
    assert image_record(GT, dict(NONE, sem=np.zeros((2, 2), np.uint8)), skip, "x")["hist"] is None
    # background: rows GT, cols pred -> 2 bg pixels right, 2 class-1 pixels predicted 0
    assert image_record(GT, dict(NONE), bg, "x")["hist"].tolist() == [[2, 0], [2, 0]]
    # zero people but a non-empty semantic map (bottom-up model): always counted
    sem = np.array([[1, 0], [0, 0]], np.uint8)
    assert image_record(GT, dict(NONE, sem=sem), skip, "x")["hist"].tolist() == [[2, 0], [1, 1]]
    # APp / APr records exist in every case: the GT person stays in npos / n_gt
    r = image_record(GT, None, skip, "x")
    assert r["app"]["overlap"].shape == (0, 1) and r["apr"]["n_gt"].tolist() == [0, 1]


def test_person_label_outside_label_space_is_an_error():
    import pytest

    pred = {
        "crops": [np.array([[1, 7]], np.uint8)],
        "offsets": np.zeros((1, 2), np.int64),
        "scores": np.ones(1),
    }
    opts = ParsingEvalOptions(num_classes=2, metrics=("apr",))
    with pytest.raises(ValueError, match="image 3.*\\[7\\]"):
        image_record(GT, pred, opts, "image 3")
