"""The official PGN folder formats read and written by the instance partition.

Input (what ``test_pgn.py`` writes under its output folder):
  - ``cihp_parsing_maps/<id>.png``: class ids (8-bit; ``<id>_vis.png`` colour files are ignored);
  - ``cihp_parsing_maps/<id>.mat``: variable ``data``, the (H, W) float32 max-logit map;
  - ``cihp_edge_maps/<id>.png``: ``round(255 * edge probability)``;
  - optionally ``list/val_id.txt``: the ids to process (else every parsing PNG).
Output (what ``generate_instance_human.m`` / ``generate_instance_part.m`` write):
  - ``cihp_human_maps/<id>.png`` (uint8 palette PNG of person ids) and ``<id>.txt`` with one line
    ``1, <area>`` per person (MATLAB ``'%d, %f\\n'``);
  - ``cihp_instance_part_maps/<id>.png`` (part-instance ids) and ``<id>.txt`` with one line
    ``<class> <score>`` per part instance (``'%d %f\\n'``; NaN printed as MATLAB does, ``NaN``).
Files are written to a temporary name and renamed, never left half-written.
"""

import logging
import math
import os
from typing import List, Tuple

import numpy as np
import scipy.io

from human_parsing.data.io import DataFormatError, read_label_map, write_label_png, write_text
from human_parsing.data.label_spaces import _pascal_voc_palette  # the palette of the official PNGs

from . import PartitionResult, partition_instances

__all__ = [
    "PARSING_DIR",
    "EDGE_DIR",
    "HUMAN_DIR",
    "PART_DIR",
    "DataFormatError",
    "list_image_ids",
    "input_paths",
    "read_inputs",
    "format_matlab_float",
    "human_txt",
    "part_txt",
    "write_outputs",
    "process_image",
]

logger = logging.getLogger(__name__)

PARSING_DIR = "cihp_parsing_maps"
EDGE_DIR = "cihp_edge_maps"
HUMAN_DIR = "cihp_human_maps"
PART_DIR = "cihp_instance_part_maps"
ID_LIST = os.path.join("list", "val_id.txt")

_PALETTE = np.asarray(_pascal_voc_palette(256), dtype=np.uint8)


def list_image_ids(input_dir: str) -> List[str]:
    """Ids from ``list/val_id.txt`` when present, else every ``cihp_parsing_maps/<id>.png``."""
    id_file = os.path.join(input_dir, ID_LIST)
    if os.path.isfile(id_file):
        with open(id_file) as f:
            return [line.split()[0] for line in f if line.strip()]
    parsing_dir = os.path.join(input_dir, PARSING_DIR)
    if not os.path.isdir(parsing_dir):
        raise DataFormatError(f"{parsing_dir}: folder not found (and no {id_file})")
    names = sorted(os.listdir(parsing_dir))
    return [n[:-4] for n in names if n.endswith(".png") and not n.endswith("_vis.png")]


def input_paths(input_dir: str, img_id: str) -> Tuple[str, str, str]:
    """(parsing PNG, max-logit MAT, edge PNG) paths of one image."""
    return (
        os.path.join(input_dir, PARSING_DIR, img_id + ".png"),
        os.path.join(input_dir, PARSING_DIR, img_id + ".mat"),
        os.path.join(input_dir, EDGE_DIR, img_id + ".png"),
    )


def _read_score(path: str, shape: Tuple[int, int]) -> np.ndarray:
    """The ``data`` variable of a ``.mat`` file as (H, W) float32."""
    if not os.path.isfile(path):
        raise DataFormatError(f"{path}: file not found")
    try:
        mat = scipy.io.loadmat(path)
    except Exception as e:  # scipy raises several types for corrupt files
        raise DataFormatError(f"{path}: unreadable .mat file ({e})") from e
    if "data" not in mat:
        raise DataFormatError(f"{path}: no variable 'data' in the .mat file")
    data = np.asarray(mat["data"], dtype=np.float32)
    if data.shape != tuple(shape):
        raise DataFormatError(f"{path}: 'data' has shape {data.shape}, the parsing map is {shape}")
    return data


def read_inputs(input_dir: str, img_id: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parsing uint8, edge PNG values uint8, max-logit float32) of one image; errors name the file.

    PNGs are read as indices (palette or grayscale), never converted by luminance.
    """
    parsing_path, score_path, edge_path = input_paths(input_dir, img_id)
    parsing = read_label_map(parsing_path)
    edge = read_label_map(edge_path)
    if edge.shape != parsing.shape:
        raise DataFormatError(f"{edge_path}: size {edge.shape} differs from the parsing map {parsing.shape}")
    return parsing, edge, _read_score(score_path, parsing.shape)


def format_matlab_float(x: float) -> str:
    """MATLAB's ``sprintf('%f', x)``: 6 decimals, and ``NaN``/``Inf``/``-Inf`` spelled as MATLAB does."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return "%f" % x


def human_txt(areas: np.ndarray) -> str:
    """Lines ``1, <area>`` (class 1 = person), as ``generate_instance_human.m``."""
    return "".join(f"1, {format_matlab_float(float(a))}\n" for a in areas)


def part_txt(classes: np.ndarray, scores: np.ndarray) -> str:
    """Lines ``<class> <score>``, line n for part-instance id n, as ``generate_instance_part.m``."""
    return "".join(f"{int(k)} {format_matlab_float(float(s))}\n" for k, s in zip(classes, scores))


def _write_id_png(path: str, ids: np.ndarray, faithful: bool) -> None:
    """uint8 palette PNG of ids; above 255 MATLAB's ``uint8`` saturates (faithful) or 16-bit (clean)."""
    if ids.max(initial=0) <= 255 or faithful:
        write_label_png(path, np.minimum(ids, 255).astype(np.uint8), _PALETTE)
        return
    from PIL import Image

    from human_parsing.data.io import atomic_path

    logger.warning("%s: %d ids do not fit in 8 bits; writing a 16-bit PNG", path, int(ids.max()))
    with atomic_path(path) as tmp:
        Image.fromarray(ids.astype(np.uint16)).save(tmp, format="PNG")


def write_outputs(output_dir: str, img_id: str, result: PartitionResult, faithful: bool = True) -> None:
    """Write the human and part-instance PNG + txt files of one image (atomic renames)."""
    human_dir = os.path.join(output_dir, HUMAN_DIR)
    part_dir = os.path.join(output_dir, PART_DIR)
    write_text(os.path.join(human_dir, img_id + ".txt"), human_txt(result.human_scores))
    _write_id_png(os.path.join(human_dir, img_id + ".png"), result.human_map, faithful)
    write_text(os.path.join(part_dir, img_id + ".txt"), part_txt(result.part_classes, result.part_scores))
    _write_id_png(os.path.join(part_dir, img_id + ".png"), result.part_instance_map, faithful)


def process_image(
    img_id: str, input_dir: str, output_dir: str, mode: str = "faithful", **params
) -> Tuple[int, int]:
    """Partition one image of an official PGN output folder and write its four result files.

    ``params`` go to :func:`partition_instances`. Returns (people, part instances).
    """
    parsing, edge, score = read_inputs(input_dir, img_id)
    res = partition_instances(parsing, edge, score, mode=mode, **params)
    write_outputs(output_dir, img_id, res, faithful=mode == "faithful")
    return res.num_humans, res.num_parts


def init_worker() -> None:
    """One OpenCV thread per worker process of the CLI: the workers already use the cores."""
    import cv2

    cv2.setNumThreads(1)
