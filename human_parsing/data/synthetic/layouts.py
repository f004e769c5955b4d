"""Write synthetic scenes in the official on-disk layouts (methods.md §1.3), so the real readers
load them unchanged::

    cihp      <out>/{Training,Validation}/{Images,Category_ids,Human_ids,Instance_ids(.png+.txt),
              Categories,Humans,Instances}/<id>, <out>/Training/train_id.txt, Validation/val_id.txt
    mhp_v2    <out>/{train,val}/{images/<id>.jpg, parsing_annos/<id>_<NN>_<kk>.png,
              pose_annos/<id>.mat}, <out>/list/{train,val}.txt
    lip       <out>/{train,val}_{images,segmentations}/<id>, <out>/{train,val}_id.txt,
              <out>/TrainVal_pose_annotations/LIP_SP_{TRAIN,VAL}_annotations.json
    atr       <out>/{JPEGImages,SegmentationClassAug}/<id>, <out>/list/{train,val}_id.txt
    pascal_person_part  <out>/{JPEGImages,SegmentationPart}/<id>, <out>/list/{train,val}_id.txt
    coco      the CIHP layout converted by the readers' converter (``records_to_coco``), with
              COCO-17 ``keypoints`` per person: <out>/{split}_img, {split}_parsing, {split}_seg,
              annotations/CIHP_{split}.json
    densepose_coco  <out>/{split}_img/<id>.jpg, <out>/annotations/densepose_{split}.json in the
              DensePose-COCO json layout (``densepose.py`` in this package: charts and points)

Ids: 7-digit strings (``0000001``; MHP v2 uses plain integers like the dataset, ``1``); val ids
start at 1000001 so that train and val may share a folder (ATR, PASCAL-Person-Part).
MHP v2 ``pose_annos/<id>.mat`` holds one variable ``person_<k>`` per person (k 0-based, the
person of ``<id>_<NN>_<k+1>.png``): a 20×3 float array ``[x, y, flag]``, rows 0-15 the MPII
joints, 16-17 the face box corners (x0, y0), (x1, y1), 18-19 the instance box corners (tight
box, x1/y1 = max pixel index + 1); flag 0 visible, 1 occluded, 2 out of the image.
LIP ``joint_self`` rows are ``[x, y, 1]`` visible, ``[x, y, 0]`` occluded, ``[0, 0, 0]`` out of
the image (a joint counts as present iff x + y != 0); LIP is single-person: the largest person.
"""

import io
import json
import os
from typing import Callable, Dict, List

import numpy as np
import scipy.io

from ..io import atomic_path, write_image, write_label_png, write_text
from ..label_spaces import get_label_space
from .scene import Scene

__all__ = [
    "LAYOUTS",
    "LAYOUT_LABEL_SPACE",
    "image_id",
    "write_scene",
    "write_split_index",
    "lip_joint_self",
]

LAYOUTS = ("cihp", "mhp_v2", "lip", "atr", "pascal_person_part", "coco", "densepose_coco")
# Label space each layout's label files are written in.
LAYOUT_LABEL_SPACE = {
    "cihp": "cihp",
    "mhp_v2": "mhp_v2",
    "lip": "lip",
    "atr": "atr",
    "pascal_person_part": "pascal_person_part",
    "coco": "cihp",
    "densepose_coco": "densepose_parts",
}
SPLITS = ("train", "val")
_VAL_ID_OFFSET = 1_000_000
_CIHP_DIR = {"train": "Training", "val": "Validation"}


def image_id(layout: str, split: str, index: int) -> str:
    """File id of image ``index`` (0-based) of ``split``."""
    n = index + 1 + (_VAL_ID_OFFSET if split == "val" else 0)
    return str(n) if layout == "mhp_v2" else f"{n:07d}"


def _id_palette() -> np.ndarray:
    """(256, 3) fixed random colours for person / part-instance id visualisations (0 black)."""
    pal = np.random.default_rng(0).integers(40, 256, size=(256, 3)).astype(np.uint8)
    pal[0] = 0
    return pal


def _write_cihp(out: str, split: str, iid: str, scene: Scene) -> None:
    d = os.path.join(out, _CIHP_DIR[split])
    space = get_label_space("cihp")
    cat, hum = scene.labels("cihp"), scene.human_ids
    inst = np.where(cat > 0, 20 * (hum.astype(np.int32) - 1) + cat, 0).astype(np.uint8)
    write_image(os.path.join(d, "Images", f"{iid}.jpg"), scene.image)
    write_label_png(os.path.join(d, "Category_ids", f"{iid}.png"), cat)
    write_label_png(os.path.join(d, "Human_ids", f"{iid}.png"), hum)
    write_label_png(os.path.join(d, "Instance_ids", f"{iid}.png"), inst)
    lines = []
    for pid in np.unique(inst[inst > 0]).tolist():
        sel = inst == pid
        lines.append(f"{pid} {int(cat[sel][0])} {int(hum[sel][0])}\n")
    write_text(os.path.join(d, "Instance_ids", f"{iid}.txt"), "".join(lines))
    write_label_png(os.path.join(d, "Categories", f"{iid}.png"), cat, space.palette)
    write_label_png(os.path.join(d, "Humans", f"{iid}.png"), hum, _id_palette())
    write_label_png(os.path.join(d, "Instances", f"{iid}.png"), inst, _id_palette())


def _mhp_flags(v: np.ndarray) -> np.ndarray:
    return np.select([v == 2, v == 1], [0, 1], 2).astype(np.float64)  # ours 2/1/0 -> MHP 0/1/2


def _write_mhp_v2(out: str, split: str, iid: str, scene: Scene) -> None:
    d = os.path.join(out, split)
    h, w = scene.human_ids.shape
    write_image(os.path.join(d, "images", f"{iid}.jpg"), scene.image)
    maps = scene.person_labels("mhp_v2")
    n = len(scene.people)
    pose = {}
    for k, (person, m) in enumerate(zip(scene.people, maps)):
        write_image(
            os.path.join(d, "parsing_annos", f"{iid}_{n:02d}_{k + 1:02d}.png"),
            np.repeat(m[:, :, None], 3, axis=2),
            format="RGB",
        )
        rows = np.zeros((20, 3))
        rows[:16, :2] = person.mpii[:, :2]
        rows[:16, 2] = _mhp_flags(person.mpii[:, 2])
        fb = person.face_box.reshape(2, 2)
        face_seen = bool(person.coco[0:3, 2].max() == 2)  # nose or an eye visible
        for j, (x, y) in enumerate(fb):
            inside = 0 <= x < w and 0 <= y < h
            rows[16 + j] = (x, y, (0 if face_seen else 1) if inside else 2)
        x0, y0, x1, y1 = person.box
        rows[18], rows[19] = (x0, y0, 0), (x1, y1, 0)
        pose[f"person_{k}"] = rows
    _savemat(os.path.join(d, "pose_annos", f"{iid}.mat"), pose)


def _savemat(path: str, data: dict) -> None:
    """``scipy.io.savemat`` with a fixed header text (it otherwise embeds the creation time,
    which would make the files differ from run to run)."""
    buf = io.BytesIO()
    scipy.io.savemat(buf, data)
    raw = bytearray(buf.getvalue())
    raw[:116] = b"MATLAB 5.0 MAT-file, written by human_parsing.data.synthetic".ljust(116, b" ")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(bytes(raw))


def _write_semantic(image_dir: str, label_dir: str, space: str):
    def write(out: str, split: str, iid: str, scene: Scene) -> None:
        write_image(os.path.join(out, image_dir.format(split=split), f"{iid}.jpg"), scene.image)
        write_label_png(
            os.path.join(out, label_dir.format(split=split), f"{iid}.png"), scene.labels(space)
        )

    return write


_WRITERS: Dict[str, Callable[[str, str, str, Scene], None]] = {
    "cihp": _write_cihp,
    "coco": _write_cihp,  # converted to the json layout once the split is complete
    "mhp_v2": _write_mhp_v2,
    "lip": _write_semantic("{split}_images", "{split}_segmentations", "lip"),
    "atr": _write_semantic("JPEGImages", "SegmentationClassAug", "atr"),
    "pascal_person_part": _write_semantic("JPEGImages", "SegmentationPart", "pascal_person_part"),
    # the image only; the json is written once the split is complete (write_densepose_json)
    "densepose_coco": lambda out, split, iid, scene: write_image(
        os.path.join(out, f"{split}_img", f"{iid}.jpg"), scene.image
    ),
}


def write_scene(layout: str, out: str, split: str, iid: str, scene: Scene) -> None:
    """Write one scene's image and label files (not the split lists) under ``out``."""
    if layout not in _WRITERS:
        raise ValueError(f"Unknown synthetic layout {layout!r}; expected one of {LAYOUTS}")
    if split not in SPLITS:
        raise ValueError(f"Unknown synthetic split {split!r}; expected one of {SPLITS}")
    _WRITERS[layout](out, split, iid, scene)


def lip_joint_self(scene: Scene) -> List[List[float]]:
    """LIP `joint_self` rows (16 x [x, y, flag]) of the largest person of ``scene``."""
    if not scene.people:
        return [[0.0, 0.0, 0.0]] * 16
    person = max(scene.people, key=lambda p: p.num_pixels)
    return [
        [0.0, 0.0, 0.0] if v == 0 else [float(x), float(y), 1.0 if v == 2 else 0.0]
        for x, y, v in person.mpii.tolist()
    ]


def write_split_index(
    layout: str, out: str, split: str, ids: List[str], scenes_joints=None
) -> None:
    """Write the split list (and LIP's pose json) once every image of the split is on disk.
    ``scenes_joints``: LIP only, the ``joint_self`` rows of each image."""
    text = "".join(f"{i}\n" for i in ids)
    if layout in ("cihp", "coco"):
        write_text(os.path.join(out, _CIHP_DIR[split], f"{split}_id.txt"), text)
    elif layout == "mhp_v2":
        write_text(os.path.join(out, "list", f"{split}.txt"), text)
    elif layout == "lip":
        root = [{"im_name": f"{i}.jpg", "joint_self": j} for i, j in zip(ids, scenes_joints)]
        name = f"LIP_SP_{split.upper()}_annotations.json"
        write_text(os.path.join(out, "TrainVal_pose_annotations", name), json.dumps({"root": root}))
        write_text(os.path.join(out, f"{split}_id.txt"), text)
    else:
        write_text(os.path.join(out, "list", f"{split}_id.txt"), text)
