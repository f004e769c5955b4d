"""The priors of SST (methods.md §6.6) as data: intra-domain adjacencies (M_intra) and
label-name similarity matrices (M_static), read from JSON files and checked against the label
spaces of ``human_parsing.data.label_spaces`` by class name.

Files:

- ``<space>_adjacency.json``: the shared label graphs of :mod:`human_parsing.data.label_graphs`
  (``human_parsing/data/priors/``, also used by Grapy-ML), unless ``MODEL.SST.PRIORS_DIR`` holds
  a file of that name, which then replaces the shared one (same format);
- ``<a>__<b>_similarity.json`` with ``a < b`` (SST's own, in ``sst/priors/`` unless
  ``MODEL.SST.PRIORS_DIR`` says otherwise): ``{"rows", "cols", "row_classes", "col_classes",
  "values": rows x cols, "provenance"}``; either orientation is accepted and transposed as needed.
"""
import os
from typing import Optional

import numpy as np

from human_parsing.data.label_graphs import (
    PriorError,
    adjacency_matrix,
    check_classes,
    label_graph_path,
    read_json,
    read_label_graph,
)
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


def adjacency_path(space: str, priors_dir: Optional[str] = None) -> str:
    """The adjacency file in ``priors_dir`` when there is one, else the shared label graph's."""
    if priors_dir and os.path.exists(label_graph_path(space, priors_dir)):
        return label_graph_path(space, priors_dir)
    return label_graph_path(space)


def similarity_path(a: str, b: str, priors_dir: Optional[str] = None) -> str:
    a, b = sorted((a, b))
    return os.path.join(priors_dir or PRIORS_DIR, f"{a}__{b}_similarity.json")


def load_intra_adjacency(space_name: str, priors_dir: Optional[str] = None) -> np.ndarray:
    """(Z, Z) float32 0/1 M_intra of a label space: the listed neighbours made symmetric (a pair
    listed on one side counts both ways) plus the identity, so that every class keeps its own
    value in the SP layers; background is connected to itself only unless the file says more."""
    path = adjacency_path(space_name, priors_dir)
    if not os.path.exists(path):
        looked = [label_graph_path(space_name, priors_dir)] * bool(priors_dir) + [path]
        raise PriorError(
            f"No intra-domain adjacency for domain {space_name!r}: no {' or '.join(looked)}. Add it, "
            f"or set MODEL.SST.USE_INTRA_MASK False (the 'L_aux (None)' ablation)"
        )
    graph = read_label_graph(path, space_name)
    return adjacency_matrix(graph, get_label_space(space_name).num_classes, with_identity=True).astype(np.float32)


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
    doc = read_json(path)
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
    check_classes(path, "row_classes", doc.get("row_classes", []), r)
    check_classes(path, "col_classes", doc.get("col_classes", []), c)
    if not np.isfinite(values).all():
        raise PriorError(f"{path}: 'values' holds non-finite numbers")
    return values if rows == t.name else np.ascontiguousarray(values.T)
