"""The priors of SST (methods.md §6.6) as data: intra-domain adjacencies (M_intra) and
label-name similarity matrices (M_static), read from JSON files and checked against the label
spaces of ``human_parsing.data.label_spaces`` by class name.

Files (in ``sst/priors/`` unless ``MODEL.SST.PRIORS_DIR`` says otherwise):

- ``<space>_adjacency.json``: ``{"label_space", "classes", "neighbours": {class: [class, ...]},
  "provenance"}``;
- ``<a>__<b>_similarity.json`` with ``a < b``: ``{"rows", "cols", "row_classes", "col_classes",
  "values": rows x cols, "provenance"}``; either orientation is accepted and transposed as needed.
"""
import json
import os
from typing import Optional

import numpy as np

from human_parsing.data.label_spaces import get_label_space

__all__ = [
    "PRIORS_DIR",
    "PriorError",
    "adjacency_path",
    "similarity_path",
    "load_intra_adjacency",
    "load_similarity",
]

PRIORS_DIR = os.path.join(os.path.dirname(__file__), "priors")


class PriorError(ValueError):
    """A prior file is missing or disagrees with the label spaces."""


def _read(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise PriorError(f"{path}: prior file not found") from None
    except ValueError as e:
        raise PriorError(f"{path}: not valid JSON ({e})") from None


def _check_classes(path: str, key: str, got, space) -> None:
    if list(got) != list(space.classes):
        raise PriorError(
            f"{path}: '{key}' ({len(got)} classes) does not match label space {space.name!r} "
            f"({space.num_classes} classes {list(space.classes)}); got {list(got)}"
        )


def adjacency_path(space: str, priors_dir: Optional[str] = None) -> str:
    return os.path.join(priors_dir or PRIORS_DIR, f"{space}_adjacency.json")


def similarity_path(a: str, b: str, priors_dir: Optional[str] = None) -> str:
    a, b = sorted((a, b))
    return os.path.join(priors_dir or PRIORS_DIR, f"{a}__{b}_similarity.json")


def load_intra_adjacency(space_name: str, priors_dir: Optional[str] = None) -> np.ndarray:
    """(Z, Z) float32 0/1 M_intra of a label space: the listed neighbours made symmetric (a pair
    listed on one side counts both ways) plus the identity, so that every class keeps its own
    value in the SP layers; background is connected to itself only unless the file says more."""
    space = get_label_space(space_name)
    path = adjacency_path(space_name, priors_dir)
    if not os.path.exists(path):
        raise PriorError(
            f"No intra-domain adjacency for domain {space_name!r}: {path} does not exist. Add it, "
            f"or set MODEL.SST.USE_INTRA_MASK False (the 'L_aux (None)' ablation)"
        )
    doc = _read(path)
    if doc.get("label_space") != space_name:
        raise PriorError(f"{path}: label_space is {doc.get('label_space')!r}, expected {space_name!r}")
    _check_classes(path, "classes", doc.get("classes", []), space)
    adj = np.eye(space.num_classes, dtype=np.float32)
    for name, nbs in doc.get("neighbours", {}).items():
        for nb in [name] + list(nbs):
            if nb not in space.classes:
                raise PriorError(f"{path}: unknown class {nb!r} (label space {space_name!r})")
        i = space.classes.index(name)
        for nb in nbs:
            j = space.classes.index(nb)
            adj[i, j] = adj[j, i] = 1.0
    return adj


def load_similarity(target: str, source: str, priors_dir: Optional[str] = None) -> np.ndarray:
    """(Z_target, Z_source) float32 M_static: rows are the target domain's classes."""
    t, s = get_label_space(target), get_label_space(source)
    path = similarity_path(target, source, priors_dir)
    if not os.path.exists(path):
        raise PriorError(
            f"No label similarity matrix for the domain pair ({target!r}, {source!r}): {path} does "
            f"not exist. Build it with projects/SST/tools/build_similarity.py, or use a pair strategy "
            f"that leaves this pair out"
        )
    doc = _read(path)
    rows, cols = doc.get("rows"), doc.get("cols")
    if {rows, cols} != {target, source} or rows == cols:
        raise PriorError(f"{path}: rows/cols are {rows!r}/{cols!r}, expected {target!r} and {source!r}")
    values = np.asarray(doc.get("values", []), dtype=np.float32)
    r, c = get_label_space(rows), get_label_space(cols)
    if values.shape != (r.num_classes, c.num_classes):
        raise PriorError(
            f"{path}: 'values' has shape {values.shape}, but rows {rows!r} x cols {cols!r} need "
            f"{(r.num_classes, c.num_classes)}"
        )
    _check_classes(path, "row_classes", doc.get("row_classes", []), r)
    _check_classes(path, "col_classes", doc.get("col_classes", []), c)
    if not np.isfinite(values).all():
        raise PriorError(f"{path}: 'values' holds non-finite numbers")
    return values if rows == t.name else np.ascontiguousarray(values.T)
