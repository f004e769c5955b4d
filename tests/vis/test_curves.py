"""Learning-curve plot from a small hand-written metrics.json."""
import json

import cv2
import pytest

from human_parsing.vis.curves import plot_training_curves, read_metrics


def _write(path, rows, garbage=False):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        if garbage:
            f.write('{"iteration": 9')  # a run killed mid-line


ROWS = [
    {"iteration": 19, "total_loss": 4.0, "loss_parsing": 3.0, "lr": 0.001},
    {"iteration": 39, "total_loss": 2.0, "loss_parsing": 1.5, "lr": 0.001},
    {"iteration": 39, "parsing/mIoU": 12.5, "parsing/APp50": 1.0},
    {"iteration": 59, "total_loss": 1.0, "loss_parsing": 0.7, "parsing/mIoU": 20.0},
]


def test_read_metrics_groups_series_by_key(tmp_path):
    p = tmp_path / "metrics.json"
    _write(p, ROWS, garbage=True)
    s = read_metrics(str(p))
    assert s["total_loss"] == [(19, 4.0), (39, 2.0), (59, 1.0)]
    assert s["parsing/mIoU"] == [(39, 12.5), (59, 20.0)]


def test_plot_file_written(tmp_path):
    p = tmp_path / "metrics.json"
    _write(p, ROWS)
    out = plot_training_curves(str(p), str(tmp_path / "plots" / "curves.png"), title="toy")
    img = cv2.imread(out)
    assert img is not None and img.shape == (450, 1200, 3)
    assert (img < 250).any()  # something was drawn


def test_bad_metrics(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        read_metrics(str(tmp_path / "nope.json"))
    p = tmp_path / "metrics.json"
    _write(p, [{"iteration": 5, "parsing/mIoU": 3.0}])
    with pytest.raises(ValueError, match="no loss series"):
        plot_training_curves(str(p), str(tmp_path / "x.png"))
    _write(p, [])
    with pytest.raises(ValueError, match="no iteration records"):
        read_metrics(str(p))
