import numpy as np
import torch
from detectron2.structures import Boxes, Instances

from human_parsing.structures import ParsingMaps, PersonParsing


def test_crop_and_resize_follows_cv2_nearest():
    maps = ParsingMaps(torch.arange(16).reshape(1, 4, 4))
    # box (0,0,4,4) -> 2x2: rows/cols floor(i*4/2) = 0, 2 -> values 0, 2, 8, 10
    out = maps.crop_and_resize(torch.tensor([[0.0, 0.0, 4.0, 4.0]]), 2)
    assert out.dtype == torch.int64 and out.tolist() == [[[0, 2], [8, 10]]]
    # box (0.6, 0.6, 2.6, 2.6) rounds to (1,1,3,3): 2x2 crop [[5,6],[9,10]] upsampled to 4x4
    out = maps.crop_and_resize(torch.tensor([[0.6, 0.6, 2.6, 2.6]]), 4)
    assert out.tolist() == [[[5, 5, 6, 6], [5, 5, 6, 6], [9, 9, 10, 10], [9, 9, 10, 10]]]


def test_crop_clips_to_image_and_empty_boxes_are_ignored():
    maps = ParsingMaps(torch.arange(16).reshape(1, 4, 4).repeat(2, 1, 1))
    out = maps.crop_and_resize(torch.tensor([[-2.0, -2.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]]), 2)
    assert out[0].tolist() == [[0, 1], [4, 5]]
    assert (out[1] == 255).all()
    assert maps[:0].crop_and_resize(torch.zeros((0, 4)), 3).shape == (0, 3, 3)


def test_parsing_maps_in_instances():
    inst = Instances((4, 4))
    inst.gt_boxes = Boxes(torch.zeros(3, 4))
    inst.gt_parsing = ParsingMaps(torch.arange(3)[:, None, None].expand(3, 4, 4))
    sub = inst[torch.tensor([2, 0])]
    assert sub.gt_parsing.tensor[:, 0, 0].tolist() == [2, 0]
    both = Instances.cat([inst, sub])
    assert len(both.gt_parsing) == 5


def test_person_parsing_crops_full_and_paint():
    full = np.zeros((2, 3, 4), np.uint8)
    full[0, 0:2, 0:2] = [[1, 2], [3, 0]]
    full[1, 1:3, 1:4] = [[5, 5, 5], [0, 6, 0]]
    p = PersonParsing.from_full(full)
    assert p.offsets.tolist() == [[0, 0], [1, 1]]
    assert p.crops[1].tolist() == [[5, 5, 5], [0, 6, 0]]
    assert (p.to_full() == full).all()
    # paint person 1 then person 0: person 0 wins where both are non-zero ((0,1) is 2 vs none;
    # (1,1) is 0 in person 0 so person 1's 5 stays)
    parts, ids = p.paint([1, 0])
    assert parts.tolist() == [[1, 2, 0, 0], [3, 5, 5, 5], [0, 0, 6, 0]]
    assert ids.tolist() == [[2, 2, 0, 0], [2, 1, 1, 1], [0, 0, 1, 0]]
    inst = Instances((3, 4), pred_parsing=p, scores=torch.tensor([0.9, 0.1]))
    kept = inst[inst.scores > 0.5]
    assert len(kept) == 1 and kept.pred_parsing.crops[0].tolist() == [[1, 2], [3, 0]]


def test_crop_and_resize_equals_official_cv2_crop_on_random_boxes():
    """The official target: ``cv2.resize(map[max(0, y1):y2, max(0, x1):x2], (M, M), INTER_NEAREST)``
    with the box rounded by ``torch.round``; equal on every pixel of thousands of random boxes.
    Box ends stay ≥ 1 (proposals are clipped to the image): a negative end would wrap around in
    the official numpy slice."""
    import cv2

    rng = np.random.default_rng(0)
    checked = 0
    for H, W, M in ((97, 131, 128), (480, 360, 56), (211, 64, 64)):
        m = rng.integers(0, 20, size=(H, W)).astype(np.uint8)
        n = 400
        x1 = rng.uniform(-20, W - 2, n)
        y1 = rng.uniform(-20, H - 2, n)
        x2 = np.maximum(x1 + rng.uniform(1.5, W, n), 1)
        y2 = np.maximum(y1 + rng.uniform(1.5, H, n), 1)
        boxes = torch.tensor(np.stack([x1, y1, x2, y2], 1), dtype=torch.float32)
        ours = ParsingMaps(torch.from_numpy(m)[None].expand(n, H, W)).crop_and_resize(boxes, M).numpy()
        for i, (bx1, by1, bx2, by2) in enumerate(torch.round(boxes).int().tolist()):
            crop = m[max(0, by1):by2, max(0, bx1):bx2]
            if crop.size == 0:
                assert (ours[i] == 255).all()
                continue
            ref = cv2.resize(crop, (M, M), interpolation=cv2.INTER_NEAREST)
            assert np.array_equal(ours[i], ref), (i, (bx1, by1, bx2, by2))
            checked += 1
    assert checked > 1000
