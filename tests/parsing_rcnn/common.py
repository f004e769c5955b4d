"""Helpers for the Parsing R-CNN tests: configs and hand-made multi-person scenes."""
import os

import numpy as np
import torch

from detectron2.config import get_cfg
from detectron2.structures import BitMasks, Boxes, Instances
from human_parsing.config import add_human_parsing_config
from human_parsing.structures import ParsingMaps
import parsing_rcnn

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.path.join(REPO, "configs", "quick_schedules", "parsing_rcnn_R_18_FPN_synthetic.yaml")

# CIHP ids: face, upper-clothes, left-leg, right-leg; one BGR colour each
PARTS = {13: (90, 140, 220), 5: (200, 60, 40), 16: (40, 160, 60), 17: (30, 120, 200)}


def get_parsing_cfg(config_file: str = QUICK, opts=()):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    parsing_rcnn.add_parsing_rcnn_config(cfg)
    cfg.merge_from_file(config_file)
    cfg.merge_from_list(["MODEL.WEIGHTS", "", "MODEL.DEVICE", "cpu", *opts])
    return cfg


def toy_scene(seed: int, height: int = 160, width: int = 192, num_people: int = 2):
    """A noisy background with ``num_people`` boxy people (face, torso, left/right leg).

    Returns (image (3, H, W) uint8 BGR tensor, Instances(gt_boxes, gt_classes, gt_masks, gt_parsing)).
    """
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(height, width, 3)).astype(np.float32) * 0.3 + 60
    maps = np.zeros((num_people, height, width), np.uint8)
    slot = width // num_people
    for k in range(num_people):
        h = int(rng.integers(height * 5 // 10, height * 9 // 10))
        w = max(12, int(h * rng.uniform(0.3, 0.45)))
        x0 = k * slot + int(rng.integers(0, max(1, slot - w)))
        y0 = int(rng.integers(0, height - h + 1))
        m = maps[k]
        head, torso = y0 + h // 5, y0 + h * 3 // 5
        m[y0:head, x0 + w // 4 : x0 + w - w // 4] = 13
        m[head:torso, x0 : x0 + w] = 5
        # the person's left leg is on the image's right
        m[torso : y0 + h, x0 : x0 + w // 2 - 1] = 17
        m[torso : y0 + h, x0 + w // 2 + 1 : x0 + w] = 16
    for m in maps:
        for label, color in PARTS.items():
            img[m == label] = np.asarray(color, np.float32) + rng.normal(0, 8, size=3)
    image = torch.from_numpy(np.clip(img, 0, 255).astype(np.uint8).transpose(2, 0, 1).copy())
    boxes = []
    for m in maps:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    inst = Instances(
        (height, width),
        gt_boxes=Boxes(torch.tensor(boxes, dtype=torch.float32)),
        gt_classes=torch.zeros(num_people, dtype=torch.int64),
        gt_masks=BitMasks(torch.from_numpy(maps > 0)),
        gt_parsing=ParsingMaps(torch.from_numpy(maps)),
    )
    return image, inst


def toy_batch(seeds, **kwargs):
    out = []
    for s in seeds:
        image, inst = toy_scene(s, **kwargs)
        out.append({"image": image, "instances": inst, "height": image.shape[1], "width": image.shape[2]})
    return out
