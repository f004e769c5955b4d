"""Open dump formats of ``apply_net.py dump``: writers, and readers that reload a dump into
:class:`~human_parsing.apply.result.ParsingResult` objects.

``--format png`` (default) writes, per image ``<name>`` (per video frame
``<video>/<video>_<frame:06d>``, 0-based frame index), into the output folder:

* ``<name>_parsing.png``: the global part map, a palette PNG in the label space's colours
  (pixel value = class id);
* ``<name>_persons.png``: person ids, 0 = background, ``i`` = the i-th person of the json
  (8-bit, or 16-bit with more than 255 people); overlaps go to the higher score;
* ``<name>_edges.png``: only for models that predict instance edges (PGN), the edge probability
  × 255 as an 8-bit grey PNG (so it reloads quantized to 1/255);
* ``<name>.json``::

    {"format": "human_parsing.apply_net.dump/1", "file_name": "<input>", "frame": null | int,
     "height": H, "width": W, "label_space": "cihp", "classes": [...],
     "files": {"parsing": "<name>_parsing.png", "persons": "...", "edges": null | "..."},
     "people": [{"id": 1, "box": [x0, y0, x1, y1], "score": s, "crop": [x0, y0, w, h],
                 "parts": [{"category_id": c, "name": "face", "area": a,
                            "segmentation": {"size": [H, W], "counts": "<COCO RLE>"}}, ...]}]}

  Boxes are XYXY in pixels; ``segmentation`` is a full-image COCO RLE (``pycocotools.mask``)
  of that person's pixels of class ``c``; ``crop`` is the window the predictor stored the
  person's part map in (only needed to rebuild the result bit for bit).

``--format pickle`` writes one file: a header dict ``{"format": ..., "label_space": ...}``
followed by one :meth:`ParsingResult.to_dict` per image, each a separate ``pickle.dump``
(read them with :func:`load_dump`).
"""
import json
import os
import pickle
from typing import Iterator, List, Optional

import numpy as np
from PIL import Image
from pycocotools import mask as mask_util

from human_parsing.data.io import (
    read_png_array,
    DataFormatError,
    atomic_path,
    read_label_map,
    write_label_png,
    write_text,
)
from human_parsing.data.label_spaces import get_label_space
from human_parsing.structures.parsing import PersonParsing

from .inputs import InputSource
from .result import ParsingResult

__all__ = [
    "DUMP_FORMATS",
    "FORMAT_TAG",
    "output_stem",
    "PngDumpWriter",
    "PickleDumpWriter",
    "read_result_json",
    "load_dump",
]

FORMAT_TAG = "human_parsing.apply_net.dump/1"
DUMP_FORMATS = ("png", "pickle")


def output_stem(out_dir: str, source: InputSource, frame: Optional[int]) -> str:
    """Path prefix of one image's outputs: ``out/<name>`` or ``out/<video>/<video>_<frame>``."""
    if source.kind == "video":
        return os.path.join(out_dir, source.name, f"{os.path.basename(source.name)}_{frame:06d}")
    return os.path.join(out_dir, source.name)


def _write_ids_png(path: str, ids: np.ndarray) -> None:
    if ids.max(initial=0) <= 255:
        img = Image.fromarray(ids.astype(np.uint8), mode="L")
    else:
        img = Image.fromarray(ids.astype(np.uint16), mode="I;16")
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def _person_json(result: ParsingResult, i: int) -> dict:
    full = result.person_parsing.full(i)
    crop = result.person_parsing.crops[i]
    x0, y0 = (int(v) for v in result.person_parsing.offsets[i])
    parts = []
    for c in np.unique(crop):
        if c == 0:
            continue
        rle = mask_util.encode(np.asfortranarray((full == c).astype(np.uint8)))
        parts.append({
            "category_id": int(c),
            "name": result.label_space.classes[c] if c < result.label_space.num_classes else str(c),
            "area": int(mask_util.area(rle)),
            "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
        })
    return {
        "id": i + 1,
        "box": [float(v) for v in result.boxes[i]],
        "score": float(result.scores[i]),
        "crop": [x0, y0, int(crop.shape[1]), int(crop.shape[0])],
        "parts": parts,
    }


class PngDumpWriter:
    """``--format png``: palette PNG + person-id PNG (+ edges PNG) + json per image."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.output = out_dir

    def planned_outputs(self, source: InputSource) -> List[str]:
        """Paths this writer would create for ``source`` (a video's folder as a whole)."""
        if source.kind == "video":
            return [os.path.join(self.out_dir, source.name)]
        stem = output_stem(self.out_dir, source, None)
        return [stem + s for s in (".json", "_parsing.png", "_persons.png", "_edges.png")]

    def is_complete(self, source: InputSource, frame: Optional[int]) -> bool:
        """Whether the outputs of one image (or video frame) are all there: its json (written
        last, after the PNGs it lists) is a dump json and every file it lists exists. Files only
        reach their final names complete (temporary name + rename), so existence is enough.
        A video as a whole (``frame`` None) is never complete: its frames are checked one by one."""
        if source.kind == "video" and frame is None:
            return False
        path = output_stem(self.out_dir, source, frame) + ".json"
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError):
            return False
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_TAG:
            return False
        files = [n for n in (doc.get("files") or {}).values() if n]
        return bool(files) and all(os.path.isfile(os.path.join(os.path.dirname(path), n)) for n in files)

    def write(self, result: ParsingResult, source: InputSource, frame: Optional[int] = None) -> str:
        """Write one image's files; return the json path."""
        stem = output_stem(self.out_dir, source, frame)
        base = os.path.basename(stem)
        ls = result.label_space
        write_label_png(stem + "_parsing.png", result.parsing, palette=ls.palette)
        _write_ids_png(stem + "_persons.png", result.person_ids())
        edges_file = None
        if result.edges is not None:
            edges_file = base + "_edges.png"
            q = np.clip(np.round(result.edges * 255.0), 0, 255).astype(np.uint8)
            write_label_png(stem + "_edges.png", q)
        doc = {
            "format": FORMAT_TAG,
            "file_name": source.path,
            "frame": frame,
            "height": result.image_size[0],
            "width": result.image_size[1],
            "label_space": ls.name,
            "classes": list(ls.classes),
            "files": {"parsing": base + "_parsing.png", "persons": base + "_persons.png", "edges": edges_file},
            "people": [_person_json(result, i) for i in range(len(result))],
        }
        write_text(stem + ".json", json.dumps(doc, indent=1))
        return stem + ".json"

    def close(self) -> None:
        pass


class PickleDumpWriter:
    """``--format pickle``: one file of pickled :meth:`ParsingResult.to_dict` records, written to
    a temporary file that replaces ``path`` only when the run succeeds."""

    def __init__(self, path: str):
        self.output = path
        self._ctx = None
        self._file = None

    def planned_outputs(self, source: InputSource) -> List[str]:
        return [self.output]

    def is_complete(self, source: InputSource, frame: Optional[int]) -> bool:
        raise ValueError(
            f"--skip-existing: {self.output}: the pickle format writes one file at the end of the "
            "run, so an interrupted run leaves nothing to continue; use --format png"
        )

    def _open(self, label_space: Optional[str]) -> None:
        self._ctx = atomic_path(self.output)
        self._file = open(self._ctx.__enter__(), "wb")
        pickle.dump({"format": FORMAT_TAG, "label_space": label_space}, self._file)

    def write(self, result: ParsingResult, source: InputSource, frame: Optional[int] = None) -> str:
        if self._file is None:
            self._open(result.label_space.name)
        d = result.to_dict()
        d.update(file_name=source.path, frame=frame, name=source.name)
        pickle.dump(d, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        return self.output

    def close(self, ok: bool = True) -> None:
        """Move the file into place (``ok``; an empty dump if nothing was written) or discard it."""
        if self._file is None:
            if not ok:
                return
            self._open(None)
        self._file.close()
        self._file = None
        if ok:
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)


def read_result_json(path: str) -> ParsingResult:
    """Reload one image's ``png``-format dump (its json and the PNGs next to it)."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataFormatError(f"{path}: not a json file ({e})") from e
    if doc.get("format") != FORMAT_TAG:
        raise DataFormatError(f"{path}: not an apply_net dump (format {doc.get('format')!r})")
    d = os.path.dirname(path)
    hw = (int(doc["height"]), int(doc["width"]))
    ls = get_label_space(doc["label_space"])
    parsing_path = os.path.join(d, doc["files"]["parsing"])
    parsing = read_label_map(parsing_path)
    if parsing.shape != hw:
        raise DataFormatError(f"{parsing_path}: size {parsing.shape} differs from {hw} in {path}")
    edges = None
    if doc["files"].get("edges"):
        edges = read_png_array(os.path.join(d, doc["files"]["edges"])).astype(np.float32) / 255.0
    crops, offsets, boxes, scores = [], [], [], []
    for p in doc["people"]:
        full = np.zeros(hw, dtype=np.uint8)
        for part in p["parts"]:
            rle = dict(part["segmentation"], counts=part["segmentation"]["counts"].encode("ascii"))
            full[mask_util.decode(rle).astype(bool)] = part["category_id"]
        x0, y0, w, h = p["crop"]
        crops.append(full[y0 : y0 + h, x0 : x0 + w])
        offsets.append((x0, y0))
        boxes.append(p["box"])
        scores.append(p["score"])
    pp = PersonParsing(crops, np.asarray(offsets, dtype=np.int64).reshape(-1, 2), hw)
    return ParsingResult(parsing, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32),
                         pp, ls, edges=edges, file_name=doc.get("file_name"), frame=doc.get("frame"))


def _iter_pickle(path: str) -> Iterator[ParsingResult]:
    with open(path, "rb") as f:
        try:
            header = pickle.load(f)
        except (pickle.UnpicklingError, EOFError) as e:
            raise DataFormatError(f"{path}: not a pickle dump ({e})") from e
        if not isinstance(header, dict) or header.get("format") != FORMAT_TAG:
            raise DataFormatError(f"{path}: not an apply_net dump")
        while True:
            try:
                d = pickle.load(f)
            except EOFError:
                return
            yield ParsingResult.from_dict(d)


def load_dump(path: str) -> List[ParsingResult]:
    """Reload a dump: a ``.pkl`` file, one ``.json``, or a whole ``png``-format output folder
    (every json under it, in sorted order of relative path, so video frames come in order)."""
    if os.path.isdir(path):
        files = []
        for d, _, names in os.walk(path):
            files.extend(os.path.join(d, n) for n in names if n.endswith(".json"))
        files.sort(key=lambda f: os.path.relpath(f, path).split(os.sep))
        return [read_result_json(f) for f in files]
    if path.endswith(".json"):
        return [read_result_json(path)]
    if not os.path.isfile(path):
        raise DataFormatError(f"{path}: file not found")
    return list(_iter_pickle(path))
