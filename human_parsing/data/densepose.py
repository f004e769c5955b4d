"""DensePose-COCO annotations: checks, the 14 coarse part masks, and the horizontal flip of the
annotated points (patch index swap and the U/V symmetry).

An annotated person carries, in the 256×256 frame of its GT box (methods.md §1.3):
``dp_x, dp_y`` (point coordinates, box pixel = dp · box size / 256), ``dp_I`` (patch 1..24),
``dp_U, dp_V`` (chart coordinates in [0, 1]) and ``dp_masks`` (14 COCO RLE masks of the coarse
parts, empty entries allowed; decoded in order, a later mask overwrites an earlier one).

Flip (as DensePose's ``get_symmetric_densepose`` / Detectron2's ``_flip_iuv_semantics``): x becomes
256 − x, the coarse labels and patch indices are swapped through the label spaces
``densepose_parts`` / ``densepose_patches``, and U, V are mapped by a :class:`UVSymmetry` chosen
by the *original* patch. Real DensePose charts need the tables of ``UV_symmetry_transforms.mat``
(:class:`TableUVSymmetry`, looked up at ``[int(255·V), int(255·U)]``); the synthetic charts have
an exact symmetry defined in code (:class:`SyntheticUVSymmetry`).
"""
import logging
from typing import Optional, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_utils

from .io import DataFormatError
from .label_spaces import get_label_space

logger = logging.getLogger(__name__)

__all__ = [
    "DP_KEYS",
    "MASK_SIZE",
    "NUM_COARSE",
    "NUM_PATCHES",
    "PATCH_TO_COARSE",
    "check_densepose_annotation",
    "has_densepose",
    "decode_dp_masks",
    "encode_dp_masks",
    "UVSymmetry",
    "TableUVSymmetry",
    "SyntheticUVSymmetry",
    "build_uv_symmetry",
    "flip_densepose",
]

DP_KEYS = ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V", "dp_masks")
MASK_SIZE = 256
NUM_COARSE = 14
NUM_PATCHES = 24


def _patch_to_coarse() -> np.ndarray:
    """(25,) coarse part of each patch, derived from the names (``left-upper-arm-inside`` ->
    ``left-upper-arm``, ``torso-front`` -> ``torso``, ``head-left`` -> ``head``)."""
    patches = get_label_space("densepose_patches").classes
    parts = get_label_space("densepose_parts").classes
    out = np.zeros(len(patches), dtype=np.int64)
    for i, name in enumerate(patches[1:], start=1):
        for suffix in ("-back", "-front", "-inside", "-outside", "-left", "-right"):
            if name.endswith(suffix) and name[: -len(suffix)] in parts:
                name = name[: -len(suffix)]
                break
        out[i] = parts.index(name)
    return out


PATCH_TO_COARSE = _patch_to_coarse()


def has_densepose(ann: dict) -> bool:
    """Whether a COCO annotation carries dense-pose points (``dp_x``), as DensePose decides."""
    return "dp_x" in ann


def check_densepose_annotation(ann: dict, where: str) -> None:
    """Raise a ``DataFormatError`` starting with ``where`` (file, image and annotation id) if the
    dense-pose fields are inconsistent: missing keys, arrays of unequal length, a patch index
    outside 1..24, U/V outside [0, 1], x/y outside [0, 256], or ``dp_masks`` that is not a list
    of 14 entries (each empty or an RLE dict of size 256×256)."""
    missing = [k for k in DP_KEYS if k not in ann]
    if missing:
        raise DataFormatError(f"{where}: dense-pose annotation without {missing}")
    n = [len(ann[k]) for k in DP_KEYS[:5]]
    if len(set(n)) != 1:
        raise DataFormatError(
            f"{where}: dp_x/dp_y/dp_I/dp_U/dp_V have unequal lengths {dict(zip(DP_KEYS[:5], n))}"
        )
    arr = {k: np.asarray(ann[k], dtype=np.float64) for k in DP_KEYS[:5]}
    i = arr["dp_I"]
    if n[0] and ((i != np.round(i)) | (i < 1) | (i > NUM_PATCHES)).any():
        bad = np.unique(i[(i != np.round(i)) | (i < 1) | (i > NUM_PATCHES)])[:5].tolist()
        raise DataFormatError(f"{where}: dp_I values {bad} are not patch indices 1..{NUM_PATCHES}")
    for k, hi in (("dp_U", 1.0), ("dp_V", 1.0), ("dp_x", MASK_SIZE), ("dp_y", MASK_SIZE)):
        a = arr[k]
        if n[0] and (~np.isfinite(a) | (a < 0) | (a > hi)).any():
            bad = a[~np.isfinite(a) | (a < 0) | (a > hi)][:5].tolist()
            raise DataFormatError(f"{where}: {k} values {bad} outside [0, {hi}]")
    masks = ann["dp_masks"]
    if not isinstance(masks, (list, tuple)) or len(masks) != NUM_COARSE:
        got = len(masks) if isinstance(masks, (list, tuple)) else type(masks).__name__
        raise DataFormatError(f"{where}: dp_masks must be a list of {NUM_COARSE} entries, got {got}")
    for k, m in enumerate(masks):
        if not m:
            continue
        if not isinstance(m, dict) or "counts" not in m or list(m.get("size", ())) != [MASK_SIZE] * 2:
            raise DataFormatError(
                f"{where}: dp_masks[{k}] is not an RLE dict of size [{MASK_SIZE}, {MASK_SIZE}]"
            )


def decode_dp_masks(masks: Sequence, where: str = "dp_masks") -> np.ndarray:
    """14 RLE masks -> (256, 256) uint8 coarse label map (0 background, later masks win)."""
    out = np.zeros((MASK_SIZE, MASK_SIZE), dtype=np.uint8)
    for k, m in enumerate(masks):
        if not m:
            continue
        rle = dict(m)
        if isinstance(rle["counts"], str):
            rle["counts"] = rle["counts"].encode("ascii")
        try:
            dec = mask_utils.decode(rle)
        except (ValueError, TypeError) as e:
            raise DataFormatError(f"{where}: dp_masks[{k}] does not decode ({e})") from e
        out[dec > 0] = k + 1
    return out


def encode_dp_masks(label: np.ndarray) -> list:
    """(256, 256) coarse label map -> 14 entries: an RLE dict (``counts`` as str, json-ready) for
    each part present, ``[]`` for absent ones (the official files use empty entries too)."""
    label = np.asarray(label)
    if label.shape != (MASK_SIZE, MASK_SIZE):
        raise ValueError(f"encode_dp_masks: expected a 256x256 map, got {label.shape}")
    out = []
    for k in range(1, NUM_COARSE + 1):
        m = np.asfortranarray((label == k).astype(np.uint8))
        if not m.any():
            out.append([])
            continue
        rle = mask_utils.encode(m)
        out.append({"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")})
    return out


class UVSymmetry:
    """Maps the U, V of points under a horizontal flip, given each point's *original* patch."""

    def transform(self, patch: np.ndarray, u: np.ndarray, v: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(N,) patch ids 1..24 (0 = none: kept), U, V in [0, 1] -> flipped (U, V)."""
        raise NotImplementedError


class TableUVSymmetry(UVSymmetry):
    """DensePose's ``UV_symmetry_transforms.mat``: ``U_transforms`` / ``V_transforms``, 24 tables
    of 256×256, read at ``[int(255·V), int(255·U)]`` of the original patch (U, V clipped to
    [0, 1] first, as Parsing R-CNN's TTA flip does)."""

    def __init__(self, u_tables: np.ndarray, v_tables: np.ndarray):
        u_tables, v_tables = np.asarray(u_tables, np.float64), np.asarray(v_tables, np.float64)
        if u_tables.shape != (NUM_PATCHES, 256, 256) or v_tables.shape != u_tables.shape:
            raise ValueError(f"UV symmetry tables must be (24, 256, 256), got {u_tables.shape}")
        self.u_tables, self.v_tables = u_tables, v_tables

    @classmethod
    def load(cls, path: str) -> "TableUVSymmetry":
        import scipy.io
        from scipy.io.matlab import MatReadError

        try:
            mat = scipy.io.loadmat(path)
            tables = [
                np.stack([np.asarray(mat[key][0, i], dtype=np.float64) for i in range(NUM_PATCHES)])
                for key in ("U_transforms", "V_transforms")
            ]
        except (OSError, ValueError, KeyError, IndexError, MatReadError) as e:
            raise DataFormatError(
                f"{path}: not a DensePose UV_symmetry_transforms.mat (U_transforms/V_transforms, "
                f"24 tables of 256x256): {e}"
            ) from e
        return cls(*tables)

    def transform(self, patch, u, v):
        patch = np.asarray(patch, dtype=np.int64)
        u, v = np.asarray(u, np.float64).copy(), np.asarray(v, np.float64).copy()
        sel = patch > 0
        ui = (np.clip(u[sel], 0, 1) * 255).astype(np.int64)
        vi = (np.clip(v[sel], 0, 1) * 255).astype(np.int64)
        p = patch[sel] - 1
        u[sel], v[sel] = self.u_tables[p, vi, ui], self.v_tables[p, vi, ui]
        return u, v


class SyntheticUVSymmetry(UVSymmetry):
    """The exact symmetry of the synthetic charts (``human_parsing.data.synthetic.densepose``):
    every chart is defined relative to the person's own medial/lateral sides, so a mirrored
    point keeps its U, V on the swapped patch — except on the torso, whose U runs from the
    person's right (0) to their left (1), so it becomes 1 − U."""

    TORSO_PATCHES = (1, 2)

    def transform(self, patch, u, v):
        patch = np.asarray(patch)
        u, v = np.asarray(u, np.float64).copy(), np.asarray(v, np.float64).copy()
        torso = np.isin(patch, self.TORSO_PATCHES)
        u[torso] = 1.0 - u[torso]
        return u, v


def build_uv_symmetry(spec: str) -> Optional[UVSymmetry]:
    """``""`` -> None (U/V cannot be flipped), ``"synthetic"`` -> :class:`SyntheticUVSymmetry`,
    else the path of ``UV_symmetry_transforms.mat``."""
    if not spec:
        return None
    if spec == "synthetic":
        return SyntheticUVSymmetry()
    return TableUVSymmetry.load(spec)


def flip_densepose(ann: dict, symmetry: UVSymmetry) -> dict:
    """The dense-pose fields of ``ann`` under a horizontal flip of the image (and so of its box):
    x -> 256 − x, patch and coarse labels swapped, U/V through ``symmetry``. Returns a new dict
    with numpy arrays ``dp_x, dp_y, dp_I, dp_U, dp_V`` and ``dp_segm`` (256×256 coarse map,
    decoded from ``dp_masks`` unless ``ann`` already has ``dp_segm``)."""
    i = np.asarray(ann["dp_I"], dtype=np.int64)
    u, v = symmetry.transform(i, ann["dp_U"], ann["dp_V"])
    segm = ann["dp_segm"] if "dp_segm" in ann else decode_dp_masks(ann["dp_masks"])
    return {
        "dp_x": MASK_SIZE - np.asarray(ann["dp_x"], dtype=np.float64),
        "dp_y": np.asarray(ann["dp_y"], dtype=np.float64).copy(),
        "dp_I": get_label_space("densepose_patches").flip_perm[i],
        "dp_U": u,
        "dp_V": v,
        "dp_segm": get_label_space("densepose_parts").flip_label_map(np.asarray(segm, np.uint8)),
    }
