"""Tiny hand-built datasets written in each official layout (for reader tests and others').

Every label map is written out below by hand, with the tight boxes worked out by hand
([x0, y0, x1, y1], x1/y1 = last pixel index + 1). Images are deterministic random JPEGs.

    from tests.data.fixtures import write_cihp, CIHP
    root = write_cihp(tmp_path / "cihp")   # then load_cihp_instances(root, "train")
"""

import os
from typing import Dict

import numpy as np
from PIL import Image

from human_parsing.data.io import write_image, write_label_png, write_text
from human_parsing.data.label_spaces import get_label_space

__all__ = [
    "CIHP",
    "MHP_V2",
    "SEMANTIC",
    "write_cihp",
    "write_mhp_v2",
    "write_semantic",
    "write_jpeg",
    "write_rgb_label",
]

# ---------------------------------------------------------------------------------------------
# CIHP. Image 0000001 (6x8): person 1 on the left (hat 1, face 13, upper-clothes 5, left-arm 14,
# pants 9), person 2 on the right (hair 2, face 13, right-arm 15, torso-skin 10, left-leg 16,
# left-shoe 18). Its Instance_ids txt also lists a human 3 that has no pixels (must be skipped).
# Image 0000002 (4x5): one person cut by the right border; its Category_ids is a *palette* PNG.
# fmt: off
_H1 = [[0, 1, 1, 0, 0, 0, 0, 0],
       [0, 1, 1, 0, 0, 2, 2, 0],
       [0, 1, 1, 0, 0, 2, 2, 2],
       [1, 1, 1, 0, 0, 2, 2, 0],
       [0, 1, 0, 0, 0, 0, 2, 0],
       [0, 0, 0, 0, 0, 0, 2, 0]]
_C1 = [[0,  1,  1, 0, 0,  0,  0,  0],
       [0, 13, 13, 0, 0,  2,  2,  0],
       [0,  5,  5, 0, 0, 13, 13, 15],
       [14, 5,  5, 0, 0, 10, 10,  0],
       [0,  9,  0, 0, 0,  0, 16,  0],
       [0,  0,  0, 0, 0,  0, 18,  0]]
_H2 = [[0, 0, 0, 0, 0],
       [0, 0, 0, 1, 1],
       [0, 0, 1, 1, 1],
       [0, 0, 0, 1, 1]]
_C2 = [[0, 0,  0, 0, 0],
       [0, 0,  0, 2, 2],
       [0, 0, 14, 5, 5],
       [0, 0,  0, 9, 9]]
# fmt: on

CIHP: Dict[str, dict] = {
    # split -> id -> expected record facts
    "train": {
        "0000001": {
            "hw": (6, 8),
            "human_ids": [1, 2],
            "boxes": [[0, 0, 3, 5], [5, 1, 8, 6]],
            "humans": _H1,
            "categories": _C1,
            "palette": False,
        },
        "0000002": {
            "hw": (4, 5),
            "human_ids": [1],
            "boxes": [[2, 1, 5, 4]],
            "humans": _H2,
            "categories": _C2,
            "palette": True,
        },
    },
    "val": {
        "0000003": {
            "hw": (4, 5),
            "human_ids": [1],
            "boxes": [[2, 1, 5, 4]],
            "humans": _H2,
            "categories": _C2,
            "palette": False,
        },
    },
    "test": {"0000004": {"hw": (5, 7)}},
}
_CIHP_FOLDERS = {
    "train": ("Training", "train_id.txt"),
    "val": ("Validation", "val_id.txt"),
    "test": ("Testing", "test_id.txt"),
}


def write_jpeg(path: str, hw, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    write_image(str(path), rng.integers(0, 256, size=(*hw, 3), dtype=np.uint8))


def write_rgb_label(path: str, label, g: int = 7, b: int = 200) -> None:
    """A 3-channel label PNG with the labels in channel 0 and *other* values in channels 1, 2,
    so that only a channel-0 reader (not a luminance conversion) recovers the labels."""
    label = np.asarray(label, dtype=np.uint8)
    rgb = np.stack([label, np.full_like(label, g), np.full_like(label, b)], axis=-1)
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    Image.fromarray(rgb, mode="RGB").save(str(path))


def _instance_txt(humans, cats, extra_human=None) -> str:
    h, c = np.asarray(humans), np.asarray(cats)
    lines = []
    for k in np.unique(h[h > 0]):
        for cls in np.unique(c[(h == k) & (c > 0)]):
            lines.append(f"{20 * (k - 1) + cls} {cls} {k}")
    if extra_human is not None:
        lines.append(f"{20 * (extra_human - 1) + 2} 2 {extra_human}")
    return "\n".join(lines) + "\n"


def write_cihp(root) -> str:
    """Write the CIHP fixture (train, val, test) under ``root``; returns ``root``."""
    root = str(root)
    palette = get_label_space("cihp").palette
    for split, items in CIHP.items():
        folder, list_name = _CIHP_FOLDERS[split]
        d = os.path.join(root, folder)
        for n, (i, e) in enumerate(items.items()):
            write_jpeg(os.path.join(d, "Images", f"{i}.jpg"), e["hw"], seed=int(i))
            if split == "test":
                continue
            cats, humans = np.array(e["categories"], np.uint8), np.array(e["humans"], np.uint8)
            write_label_png(
                os.path.join(d, "Category_ids", f"{i}.png"), cats, palette if e["palette"] else None
            )
            write_label_png(os.path.join(d, "Human_ids", f"{i}.png"), humans)
            extra = 3 if i == "0000001" else None
            write_text(
                os.path.join(d, "Instance_ids", f"{i}.txt"), _instance_txt(humans, cats, extra)
            )
        write_text(os.path.join(d, list_name), "".join(f"{i}\n" for i in items))
    return root


# ---------------------------------------------------------------------------------------------
# MHP v2. Image "1" (5x6) has two people; they overlap at (row 2, col 2) where person 2 (label 11,
# jacket) is painted over person 1 (12, t-shirt) in the semantic map. Image "2" (3x4) lists two
# people but person 2's file is empty (skipped). Label files are 3-channel (channel 0 = labels).
# fmt: off
_P1 = [[0,  3,  3, 0, 0, 0],
       [0,  4,  5, 0, 0, 0],
       [0, 12, 12, 0, 0, 0],
       [0, 17, 17, 0, 0, 0],
       [0,  0,  0, 0, 0, 0]]
_P2 = [[0, 0,  0,  0,  0,  0],
       [0, 0,  0,  0,  4,  0],
       [0, 0, 11, 12, 12, 12],
       [0, 0,  0,  0, 30, 31],
       [0, 0,  0,  0, 30, 31]]
_SEM1 = [[0,  3,  3,  0,  0,  0],
         [0,  4,  5,  0,  4,  0],
         [0, 12, 11, 12, 12, 12],
         [0, 17, 17,  0, 30, 31],
         [0,  0,  0,  0, 30, 31]]
_Q1 = [[0, 0, 0, 0],
       [0, 3, 0, 0],
       [0, 0, 0, 0]]
_EMPTY = [[0] * 4 for _ in range(3)]
# fmt: on

MHP_V2: Dict[str, dict] = {
    "train": {
        "1": {
            "hw": (5, 6),
            "persons": [_P1, _P2],
            "boxes": [[1, 0, 3, 4], [2, 1, 6, 5]],
            "semantic": _SEM1,
        },
        "2": {"hw": (3, 4), "persons": [_Q1, _EMPTY], "boxes": [[1, 1, 2, 2]], "semantic": _Q1},
    },
    "val": {"3": {"hw": (3, 4), "persons": [_Q1], "boxes": [[1, 1, 2, 2]], "semantic": _Q1}},
    "test": {"4": {"hw": (4, 4)}},
}
_MHP_LISTS = {"train": "train.txt", "val": "val.txt", "test": "test_all.txt"}


def write_mhp_v2(root) -> str:
    """Write the MHP v2 fixture (train, val, test) under ``root``; returns ``root``."""
    root = str(root)
    for split, items in MHP_V2.items():
        for i, e in items.items():
            write_jpeg(os.path.join(root, split, "images", f"{i}.jpg"), e["hw"], seed=int(i))
            persons = e.get("persons", [])
            for kk, p in enumerate(persons, start=1):
                name = f"{i}_{len(persons):02d}_{kk:02d}.png"
                write_rgb_label(os.path.join(root, split, "parsing_annos", name), p)
        write_text(os.path.join(root, "list", _MHP_LISTS[split]), "".join(f"{i}\n" for i in items))
    return root


# ---------------------------------------------------------------------------------------------
# Semantic-only layouts: two train images, one val image each, labels written by hand.
# fmt: off
_S1 = [[0, 1, 1], [2, 5, 2], [0, 6, 0], [0, 3, 4]]         # 4x3 (values < 7: valid in all three)
_S2 = [[0, 0, 6, 6, 0], [0, 1, 1, 2, 255]]                  # 2x5 (255 = ignore is valid)
# fmt: on
SEMANTIC = {
    # layout -> (image path, label path, list path) patterns; {split}, {id}
    "lip": ("{split}_images/{id}.jpg", "{split}_segmentations/{id}.png", "{split}_id.txt"),
    "atr": ("JPEGImages/{id}.jpg", "SegmentationClassAug/{id}.png", "list/{split}_id.txt"),
    "pascal_person_part": (
        "JPEGImages/{id}.jpg",
        "SegmentationPart/{id}.png",
        "list/{split}_id.txt",
    ),
}
SEMANTIC_ITEMS = {"train": {"100": _S1, "101": _S2}, "val": {"200": _S2}}


def write_semantic(root, layout: str) -> str:
    """Write a semantic-only fixture in ``layout`` ("lip", "atr", "pascal_person_part")."""
    root = str(root)
    image_pat, label_pat, list_pat = SEMANTIC[layout]
    for split, items in SEMANTIC_ITEMS.items():
        for i, lab in items.items():
            lab = np.array(lab, np.uint8)
            write_jpeg(
                os.path.join(root, image_pat.format(split=split, id=i)), lab.shape, seed=int(i)
            )
            write_label_png(os.path.join(root, label_pat.format(split=split, id=i)), lab)
        write_text(
            os.path.join(root, list_pat.format(split=split)), "".join(f"{i}\n" for i in items)
        )
    return root
