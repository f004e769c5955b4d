"""Open on-disk formats of parsing ground truth and predictions (read and write).

Ground truth (``--gt-format``):
  * ``cihp``: ``Category_ids/<id>.png`` (part labels), ``Human_ids/<id>.png`` (person ids, 0 = none),
    optionally ``Instance_ids/<id>.png`` + ``<id>.txt`` with lines ``part_id class_id human_id``
    (the official APr GT). Person k's map is ``Category_ids * (Human_ids == k)``, people in
    ascending id order.
  * ``mhp_v2``: ``images/<id>.jpg`` and ``parsing_annos/<id>_<NN>_<kk>.png`` (channel 0), people
    in ``kk`` order. The semantic GT paints them in that order (later people on top).
  * ``semantic``: ``<id>.png`` label maps.
Predictions (``--pred-format``):
  * ``instances``: ``instances.json`` = ``{image_id: [{"parsing": "<relative png>", "score": s}]}``,
    each png a full-image part-label map of one person (0 = not this person).
  * ``cihp_submission`` (CIHP / LIP multi-person challenge, PGN's outputs):
    ``cihp_parsing_maps/<id>.png`` global part map; ``cihp_instance_part_maps/<id>.png`` part-instance
    map + ``<id>.txt`` with line k = ``class score`` of pixel value k; optionally
    ``cihp_human_maps/<id>.png`` + ``<id>.txt`` (line k = ``label score`` or ``label, score``).
  * ``semantic``: ``<id>.png`` label maps.
Every reader raises :class:`~human_parsing.data.io.DataFormatError` naming the offending file;
scores must be finite numbers. Label PNGs are read by ``read_label_map`` (colour-coded ones are
decoded through ``label_space``'s palette when given, else rejected).

Missing predictions, one rule for every format (:func:`match_predictions`): a GT image without a
prediction counts as having no detection (the caller warns with the list); a prediction folder
that is absent or has no prediction for any GT image is an error naming the folder.
"""

import glob
import json
import math
import os
import re
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from human_parsing.data.io import (
    DataFormatError,
    atomic_path,
    check_label_values,
    read_label_map,
    read_png_array,
)

__all__ = [
    "GT_FORMATS",
    "PRED_FORMATS",
    "list_gt_images",
    "list_pred_images",
    "match_predictions",
    "read_gt",
    "load_instances_json",
    "read_pred",
    "read_id_map",
    "write_id_map",
    "write_instances",
    "write_cihp_submission",
]

GT_FORMATS = ("cihp", "mhp_v2", "semantic")
PRED_FORMATS = ("instances", "cihp_submission", "semantic")
_MHP_RE = re.compile(r"^(.*)_(\d+)_(\d+)\.png$")


def list_gt_images(gt_dir: str, fmt: str) -> List[str]:
    """Image ids of a GT folder, sorted."""
    if fmt == "cihp":
        files = glob.glob(os.path.join(gt_dir, "Category_ids", "*.png"))
    elif fmt == "mhp_v2":
        files = glob.glob(os.path.join(gt_dir, "images", "*.jpg"))
    elif fmt == "semantic":
        files = glob.glob(os.path.join(gt_dir, "*.png"))
    else:
        raise ValueError(f"Unknown GT format {fmt!r}; expected one of {GT_FORMATS}")
    if not files:
        raise DataFormatError(f"{gt_dir}: no ground-truth files for format {fmt!r}")
    return sorted(os.path.splitext(os.path.basename(f))[0] for f in files)


def read_id_map(path: str) -> np.ndarray:
    """Read an instance-id PNG (8- or 16-bit, palette indices kept) as (H, W) int32."""
    arr = read_png_array(path)
    if arr.ndim == 3:
        arr = arr[:, :, 0]
    return arr.astype(np.int32)


def write_id_map(path: str, ids: np.ndarray) -> None:
    """Write an instance-id map: 8-bit PNG if ids fit, else 16-bit."""
    ids = np.asarray(ids)
    if ids.max(initial=0) > 65535:
        raise ValueError(f"{path}: instance ids above 65535")
    img = Image.fromarray(ids.astype(np.uint8 if ids.max(initial=0) < 256 else np.uint16))
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


# What each prediction format holds per image (for error messages).
_PRED_LAYOUT = {
    "instances": "instances.json",
    "cihp_submission": "cihp_parsing_maps/<id>.png or cihp_instance_part_maps/<id>.txt",
    "semantic": "<id>.png",
}


def list_pred_images(pred_dir: str, fmt: str, index: Optional[dict] = None) -> List[str]:
    """Image ids that have a prediction in ``pred_dir``, sorted (``index``: the loaded
    ``instances.json`` of the ``instances`` format, read here if not given)."""
    if not os.path.isdir(pred_dir):
        raise DataFormatError(f"{pred_dir}: prediction folder not found")
    if fmt == "instances":
        if index is None and not os.path.isfile(os.path.join(pred_dir, "instances.json")):
            return []
        return sorted(index if index is not None else load_instances_json(pred_dir))
    if fmt == "semantic":
        files = glob.glob(os.path.join(glob.escape(pred_dir), "*.png"))
    elif fmt == "cihp_submission":
        d = glob.escape(pred_dir)
        files = glob.glob(os.path.join(d, "cihp_parsing_maps", "*.png"))
        files += glob.glob(os.path.join(d, "cihp_instance_part_maps", "*.txt"))
    else:
        raise ValueError(f"Unknown prediction format {fmt!r}; expected one of {PRED_FORMATS}")
    return sorted({os.path.splitext(os.path.basename(f))[0] for f in files})


def match_predictions(
    pred_dir: str, fmt: str, gt_ids: List[str], index: Optional[dict] = None
) -> Tuple[List[str], List[str]]:
    """``(GT ids without a prediction, predicted ids not in the GT)``; raises a
    ``DataFormatError`` naming ``pred_dir`` when no GT image has a prediction."""
    predicted = set(list_pred_images(pred_dir, fmt, index))
    gt = set(gt_ids)
    if not predicted & gt:
        example = f", e.g. it has {sorted(predicted)[:3]}" if predicted else ""
        raise DataFormatError(
            f"{pred_dir}: no prediction for any of the {len(gt)} GT images in format {fmt!r} "
            f"(expected {_PRED_LAYOUT[fmt]} per GT image id such as {sorted(gt)[0]!r}{example})"
        )
    return [i for i in gt_ids if i not in predicted], sorted(predicted - gt)


def _read_labels(path: str, num_classes: int, hw=None, label_space=None, channel=None):
    arr = read_label_map(path, label_space, channel)
    check_label_values(arr, num_classes, path)
    if hw is not None and arr.shape != tuple(hw):
        raise DataFormatError(
            f"{path}: size {arr.shape[::-1]} (WxH) differs from {tuple(hw)[::-1]}"
        )
    return arr


def _read_txt(path: str) -> List[List[str]]:
    try:
        with open(path) as f:
            return [ln.replace(",", " ").split() for ln in f if ln.strip()]
    except OSError as e:
        raise DataFormatError(f"{path}: cannot read ({e})") from e


def _persons_from_ids(labels: np.ndarray, humans: np.ndarray) -> np.ndarray:
    ks = np.unique(humans)
    ks = ks[ks > 0]
    return (
        np.stack([np.where(humans == k, labels, 0) for k in ks]).astype(np.uint8)
        if ks.size
        else (np.zeros((0,) + labels.shape, np.uint8))
    )


def read_gt(
    gt_dir: str, fmt: str, image_id: str, num_classes: int, label_space=None
) -> Dict[str, Optional[np.ndarray]]:
    """GT of one image: ``sem`` (H, W), ``persons`` (N, H, W) or None, ``part_layers`` or None.
    ``label_space`` (optional) decodes colour-coded label PNGs."""
    ls = label_space
    if fmt == "semantic":
        return {"sem": _read_labels(os.path.join(gt_dir, image_id + ".png"), num_classes, None, ls)}
    if fmt == "cihp":
        cat = os.path.join(gt_dir, "Category_ids", image_id + ".png")
        sem = _read_labels(cat, num_classes, None, ls)
        humans = read_id_map(os.path.join(gt_dir, "Human_ids", image_id + ".png"))
        if humans.shape != sem.shape:
            raise DataFormatError(
                f"{gt_dir}/Human_ids/{image_id}.png: size differs from Category_ids"
            )
        out = {"sem": sem, "persons": _persons_from_ids(sem, humans), "part_layers": None}
        inst_png = os.path.join(gt_dir, "Instance_ids", image_id + ".png")
        inst_txt = os.path.join(gt_dir, "Instance_ids", image_id + ".txt")
        if os.path.isfile(inst_png) and os.path.isfile(inst_txt):
            ids = read_id_map(inst_png)
            rows = [(int(r[0]), int(r[1])) for r in _read_txt(inst_txt)]
            lut = np.zeros(max([i for i, _ in rows] + [0]) + 1, dtype=np.int64)
            for i, c in rows:
                if not 0 < c < num_classes:
                    raise DataFormatError(f"{inst_txt}: class {c} outside [1, {num_classes})")
                lut[i] = c
            out["part_layers"] = [(ids, lut)]
        return out
    if fmt == "mhp_v2":
        files = glob.glob(os.path.join(gt_dir, "parsing_annos", glob.escape(image_id) + "_*.png"))
        keyed = []
        for f in files:
            m = _MHP_RE.match(os.path.basename(f))
            if m and m.group(1) == image_id:
                keyed.append((int(m.group(3)), f))
        # MHP v2 label PNGs have 3 channels, the index in channel 0 (its README)
        persons = [_read_labels(f, num_classes, channel=0) for _, f in sorted(keyed)]
        if persons:
            persons = np.stack(persons)
            sem = np.zeros(persons.shape[1:], np.uint8)
            for p in persons:
                sem = np.where(p > 0, p, sem)
        else:
            img = Image.open(os.path.join(gt_dir, "images", image_id + ".jpg"))
            persons = np.zeros((0, img.height, img.width), np.uint8)
            sem = np.zeros((img.height, img.width), np.uint8)
        return {"sem": sem, "persons": persons, "part_layers": None}
    raise ValueError(f"Unknown GT format {fmt!r}; expected one of {GT_FORMATS}")


def _finite_score(value, where: str) -> float:
    """``value`` as a finite float, else a ``DataFormatError`` starting with ``where``."""
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: score {value!r} is not a number") from None
    if not math.isfinite(score):
        raise DataFormatError(f"{where}: score is {score} (scores must be finite numbers)")
    return score


def load_instances_json(pred_dir: str) -> Dict[str, list]:
    """The ``instances.json`` mapping of a prediction folder, keys as strings; every entry is
    checked (a ``parsing`` path and a finite ``score``), errors name the file and the image id."""
    path = os.path.join(pred_dir, "instances.json")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise DataFormatError(f"{path}: cannot read prediction index ({e})") from e
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected an object mapping image id -> list of instances")
    data = {str(k): v for k, v in data.items()}
    for image_id, entries in data.items():
        if not isinstance(entries, list):
            raise DataFormatError(f"{path}: image {image_id}: expected a list of instances")
        for k, ent in enumerate(entries):
            if not isinstance(ent, dict) or not isinstance(ent.get("parsing"), str):
                raise DataFormatError(
                    f"{path}: image {image_id}: entry {k} needs a 'parsing' png path, got {ent!r:.100}"
                )
            _finite_score(ent.get("score"), f"{path}: image {image_id}: entry {k}")
    return data


def read_pred(pred_dir: str, fmt: str, image_id: str, num_classes: int, index=None, label_space=None):
    """Prediction of one image as a dict (keys as in ``image_record``), or None if absent.
    ``label_space`` (optional) decodes colour-coded label PNGs."""
    if fmt == "semantic":
        path = os.path.join(pred_dir, image_id + ".png")
        return {"sem": _read_pred_labels(path, num_classes, label_space)} if os.path.isfile(path) else None
    if fmt == "instances":
        if image_id not in index:
            return None
        crops, offsets, scores = [], [], []
        for k, ent in enumerate(index[image_id]):
            where = f"{os.path.join(pred_dir, 'instances.json')}: image {image_id}: entry {k}"
            try:
                path = os.path.join(pred_dir, ent["parsing"])
            except (KeyError, TypeError) as e:
                raise DataFormatError(f"{where}: no 'parsing' png path") from e
            score = _finite_score(ent.get("score"), where)
            m = _read_pred_labels(path, num_classes, label_space)
            if crops and m.shape != size:
                raise DataFormatError(
                    f"{path}: size {m.shape[::-1]} differs from {size[::-1]} (WxH) of "
                    f"the other people of image {image_id}"
                )
            rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
            if rows.size:
                crops.append(m[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
                offsets.append((cols[0], rows[0]))
            else:
                crops.append(np.zeros((0, 0), np.uint8))
                offsets.append((0, 0))
            scores.append(score)
            size = m.shape
        out = {
            "crops": crops,
            "offsets": np.asarray(offsets, np.int64).reshape(-1, 2),
            "scores": np.asarray(scores, np.float64),
        }
        if crops:
            out["size"] = size
        return out
    if fmt == "cihp_submission":
        return _read_cihp_submission(pred_dir, image_id, num_classes, label_space)
    raise ValueError(f"Unknown prediction format {fmt!r}; expected one of {PRED_FORMATS}")


def _read_pred_labels(path: str, num_classes: int, label_space=None) -> np.ndarray:
    arr = read_label_map(path, label_space)
    bad = arr >= num_classes
    if bad.any():
        raise DataFormatError(
            f"{path}: predicted labels {np.unique(arr[bad])[:10].tolist()} outside [0, {num_classes})"
        )
    return arr


def _read_scores(path: str, rows: List[List[str]], image_id: str) -> np.ndarray:
    """Column 2 of a ``class score`` txt as finite floats; errors name the file, image and line."""
    where = f"{path}: image {image_id}: line"
    try:
        return np.array([_finite_score(r[1], f"{where} {n}") for n, r in enumerate(rows, 1)], np.float64)
    except IndexError:
        raise DataFormatError(f"{path}: image {image_id}: lines must be '<class> <score>'") from None


def _read_cihp_submission(pred_dir: str, image_id: str, num_classes: int, label_space=None):
    sem_p = os.path.join(pred_dir, "cihp_parsing_maps", image_id + ".png")
    part_p = os.path.join(pred_dir, "cihp_instance_part_maps", image_id + ".png")
    part_t = part_p[:-4] + ".txt"
    hum_p = os.path.join(pred_dir, "cihp_human_maps", image_id + ".png")
    hum_t = hum_p[:-4] + ".txt"
    if not (os.path.isfile(sem_p) or os.path.isfile(part_t)):
        return None
    out = {}
    if os.path.isfile(sem_p):
        out["sem"] = _read_pred_labels(sem_p, num_classes, label_space)
    if os.path.isfile(part_t):
        rows = _read_txt(part_t)
        sc = _read_scores(part_t, rows, image_id)
        try:
            cls = np.array([int(r[0]) for r in rows], np.int64)
        except ValueError as e:
            raise DataFormatError(f"{part_t}: lines must be '<class> <score>'") from e
        if cls.size and (cls.min() < 1 or cls.max() >= num_classes):
            raise DataFormatError(f"{part_t}: classes outside [1, {num_classes})")
        out.update(part_ids=read_id_map(part_p), part_classes=cls, part_scores=sc)
    if "sem" in out and os.path.isfile(hum_t):
        humans = read_id_map(hum_p)
        sc = _read_scores(hum_t, _read_txt(hum_t), image_id)
        maps = (
            np.stack([np.where(humans == k, out["sem"], 0) for k in range(1, sc.size + 1)]).astype(
                np.uint8
            )
            if sc.size
            else np.zeros((0,) + humans.shape, np.uint8)
        )
        from .instance import crops_from_full

        out["crops"], out["offsets"] = crops_from_full(maps)
        out["scores"] = sc
    return out


def write_instances(pred_dir: str, image_id: str, crops, offsets, scores, image_size) -> list:
    """Write one person PNG per instance under ``instances/``; return the json entries."""
    from human_parsing.data.io import write_label_png

    entries = []
    for k, (c, (x0, y0), s) in enumerate(zip(crops, np.asarray(offsets).reshape(-1, 2), scores)):
        full = np.zeros(image_size, np.uint8)
        full[y0 : y0 + c.shape[0], x0 : x0 + c.shape[1]] = c
        rel = os.path.join("instances", f"{image_id}_{k:03d}.png")
        write_label_png(os.path.join(pred_dir, rel), full)
        entries.append({"parsing": rel, "score": float(s)})
    return entries


def write_cihp_submission(
    pred_dir,
    image_id,
    parts,
    part_ids,
    part_classes,
    part_scores,
    human_ids=None,
    human_scores=None,
) -> None:
    """Write one image in the CIHP challenge layout (see the module doc)."""
    from human_parsing.data.io import write_label_png, write_text

    write_label_png(os.path.join(pred_dir, "cihp_parsing_maps", image_id + ".png"), parts)
    base = os.path.join(pred_dir, "cihp_instance_part_maps", image_id)
    write_id_map(base + ".png", part_ids)
    write_text(
        base + ".txt", "".join(f"{int(c)} {s!r}\n" for c, s in zip(part_classes, part_scores))
    )
    if human_ids is not None:
        base = os.path.join(pred_dir, "cihp_human_maps", image_id)
        write_id_map(base + ".png", human_ids)
        write_text(base + ".txt", "".join(f"1 {s!r}\n" for s in human_scores))
