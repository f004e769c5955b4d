"""Network outputs + partition -> the project-wide output interface, on hand-made maps."""

import numpy as np
import pytest
import torch

from pgn.post_processing import (
    instances_from_human_map,
    pgn_postprocess,
    postprocess_at_output_size,
    working_size,
)


def test_instances_from_human_map_by_hand():
    human = np.array(
        [
            [0, 1, 1, 0, 0],
            [0, 1, 1, 0, 2],
            [0, 0, 0, 0, 2],
            [3, 0, 0, 0, 0],  # person 3 is painted background only (faithful border fill): dropped
        ]
    )
    parsing = np.array(
        [
            [0, 4, 5, 0, 0],
            [0, 0, 6, 0, 7],
            [1, 0, 0, 0, 7],
            [0, 0, 0, 0, 0],
        ]
    )
    inst = instances_from_human_map(human, np.array([4.0, 2.0, 1.0]), parsing, (4, 5))
    assert inst.pred_boxes.tensor.tolist() == [[1, 0, 3, 2], [4, 1, 5, 3]]
    assert inst.scores.tolist() == [4.0, 2.0]
    assert inst.pred_classes.tolist() == [0, 0]
    pp = inst.pred_parsing
    assert pp.offsets.tolist() == [[1, 0], [4, 1]]
    assert pp.crops[0].tolist() == [[4, 5], [0, 6]] and pp.crops[1].tolist() == [[7], [7]]
    # the background pixel with label 1 at (2, 0) belongs to nobody
    assert pp.full(0)[2, 0] == 0 and pp.full(1)[2, 0] == 0


def _two_people_logits(K=4, H=40, W=60):
    # people A (cols 10..29) and B (cols 30..49), rows 5..34: head = 1 (rows 5..14), body = 2;
    # an instance edge at cols 29..30 that runs past both ends (thinning shortens lines)
    logits = torch.zeros(K, H, W)
    for x0, x1 in [(10, 30), (30, 50)]:
        logits[1, 5:15, x0:x1] = 5
        logits[2, 15:35, x0:x1] = 5
    edge = torch.full((H, W), -10.0)
    edge[3:37, 29:31] = 10
    return logits, edge


def test_postprocess_splits_two_touching_people_clean():
    logits, edge = _two_people_logits()
    out = pgn_postprocess(logits, edge, partition_mode="clean")
    assert torch.equal(out["parsing"], logits.argmax(0))
    assert torch.allclose(out["edges"], torch.sigmoid(edge))
    inst = out["instances"]
    boxes = sorted(inst.pred_boxes.tensor.tolist())
    # the clean mode gives the thinned edge column (29) back to a person: A or B, not both
    assert boxes in ([[10, 5, 30, 35], [30, 5, 50, 35]], [[10, 5, 29, 35], [29, 5, 50, 35]])
    assert inst.scores.sum().item() == 1200  # every person pixel, areas as scores
    for crop in inst.pred_parsing.crops:  # each person has a head and a body
        assert {1, 2} <= set(np.unique(crop).tolist()) <= {0, 1, 2}
    # the partition's part instances: a head and a body per person, each inside one person
    pi = out["part_instances"]
    ids = pi["ids"].numpy()
    assert ids.shape == (40, 60) and sorted(pi["classes"].tolist()) == [1, 1, 2, 2]
    assert pi["scores"].dtype == torch.float64 and torch.isfinite(pi["scores"]).all()
    for k, c in enumerate(pi["classes"].tolist(), start=1):
        m = ids == k
        assert m.any() and (out["parsing"].numpy()[m] == c).all()
        cols = np.nonzero(m)[1]
        assert cols.max() <= 30 or cols.min() >= 29  # within one person (either side of the edge)


def test_postprocess_faithful_keeps_gap_and_official_scores():
    logits, edge = _two_people_logits()
    inst = pgn_postprocess(logits, edge, partition_mode="faithful")["instances"]
    assert len(inst) == 2
    # boxes cover part pixels only, so the border fill does not reach the image borders;
    # the thinned edge column 29 stays unassigned (the official tool's 1-pixel gap)
    assert sorted(inst.pred_boxes.tensor.tolist()) == [[10, 5, 29, 35], [30, 5, 50, 35]]


def test_postprocess_without_edges_gives_zero_edge_map():
    logits, _ = _two_people_logits()
    out = pgn_postprocess(logits, None, partition_mode="clean")
    assert out["edges"].abs().sum() == 0
    assert len(out["instances"]) == 1  # one connected foreground region
    with pytest.raises(ValueError, match="mode"):
        pgn_postprocess(logits, None, partition_mode="exact")


def test_postprocess_edge_thresh_decides_the_split():
    # the instance edge has probability sigmoid(0) = 0.5: an edge for the official threshold 0.2,
    # not for 0.6, where the two touching people become one region
    logits, edge = _two_people_logits()
    edge[3:37, 29:31] = 0.0
    assert len(pgn_postprocess(logits, edge, partition_mode="clean", edge_thresh=0.2)["instances"]) == 2
    assert len(pgn_postprocess(logits, edge, partition_mode="clean", edge_thresh=0.6)["instances"]) == 1


def test_outputs_of_a_downscaled_image_are_upscaled_to_the_original_size():
    """A huge image the size policy downscaled: partition at the logits' size, maps upscaled ×4
    by nearest neighbour, area scores ×16, boxes in original pixels."""
    logits, edge = _two_people_logits()
    small = pgn_postprocess(logits, edge, partition_mode="faithful")
    big = postprocess_at_output_size(logits, edge, (160, 240), partition_mode="faithful")
    up = np.kron(small["parsing"].numpy(), np.ones((4, 4), np.int64))
    assert big["parsing"].shape == (160, 240) and np.array_equal(big["parsing"].numpy(), up)
    ids_up = np.kron(small["part_instances"]["ids"].numpy(), np.ones((4, 4), np.int64))
    assert np.array_equal(big["part_instances"]["ids"].numpy(), ids_up)
    assert torch.allclose(big["part_instances"]["scores"], small["part_instances"]["scores"] * 16)
    assert big["edges"].shape == (160, 240)
    # bilinear: output pixel 4i + 2 samples source i + 1/8 on each axis, weight (7/8)² on pixel i
    # (0/1 steps: off by at most 1 - 49/64 at a corner), nearest neighbour would be exact
    diff = (big["edges"][2::4, 2::4] - torch.sigmoid(edge)).abs()
    assert diff.max() <= 1 - 49 / 64 + 1e-4 and diff.max() > 0.1
    assert sorted(big["instances"].pred_boxes.tensor.tolist()) == [[40, 20, 116, 140], [120, 20, 200, 140]]
    assert torch.allclose(big["instances"].scores.sort().values, small["instances"].scores.sort().values * 16)
    # an output no larger than the logits: resized logits, as before (the official test)
    same = postprocess_at_output_size(logits, edge, (40, 60), partition_mode="faithful")
    assert torch.equal(same["parsing"], small["parsing"])
    assert working_size((40, 60), (160, 240)) == (40, 60) and working_size((40, 60), (20, 30)) == (20, 30)
