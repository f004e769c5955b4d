"""Label graphs: which parts of a label space touch each other (Graphonomy's intra-dataset
adjacencies, as published in Grapy-ML's ``networks/graph.py``; methods.md §4.8 and §6.6), and
the coarse Grapy-ML hierarchy levels' graphs. The one copy used by Grapy-ML's GCN ablation and
SST's M_intra.

The published graphs are data files, ``priors/<space>_adjacency.json`` next to this module:
``{"label_space", "classes", "neighbours": {class: [class, ...]}, "provenance", "as_read"}``,
keyed by class name and checked against :mod:`human_parsing.data.label_spaces` when read. A graph
in memory is a dict ``{class id: [neighbour ids]}`` in the file's listing order (one-sided pairs
and self-loops as listed). Each method's treatment is a function of it:

- :func:`normalized_adjacency` (Grapy-ML's GCN): Graphonomy's ``preprocess_adj``, the symmetric
  0/1 matrix A with the listed self-loops kept (PASCAL lists them), then D^-½ (A + I) D^-½;
- :func:`adjacency_matrix` with ``with_identity=True`` (SST's M_intra): the symmetric 0/1 matrix
  with every diagonal entry 1, so each class keeps its own value.
"""
import functools
import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from .label_spaces import LabelSpace, get_label_space

__all__ = [
    "GRAPHS_DIR",
    "GRAPH_OF",
    "COARSE_LEVEL_GRAPHS",
    "PriorError",
    "read_json",
    "check_classes",
    "label_graph_path",
    "read_label_graph",
    "label_graph",
    "adjacency_matrix",
    "normalized_adjacency",
]

GRAPHS_DIR = os.path.join(os.path.dirname(__file__), "priors")

# LIP has CIHP's classes except jumpsuits for torso-skin: Graphonomy uses the CIHP graph for both.
GRAPH_OF: Dict[str, str] = {"lip": "cihp"}

# Coarse levels (not published; our choice, methods.md §4.8 suggests a chain through the torso):
# level 1 = {background, person} without edges; level 2 = background alone and head, arms and
# legs each attached to the torso.
COARSE_LEVEL_GRAPHS: Dict[int, Dict[int, List[int]]] = {
    1: {0: [], 1: []},
    2: {0: [], 1: [2], 2: [1, 3, 4], 3: [2], 4: [2]},
}


class PriorError(ValueError):
    """A prior data file (label graph, label similarity) is missing or disagrees with the label spaces."""


def read_json(path: str) -> dict:
    """The JSON document at ``path``; a missing or malformed file is a :class:`PriorError` naming it."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise PriorError(f"{path}: prior file not found") from None
    except ValueError as e:
        raise PriorError(f"{path}: not valid JSON ({e})") from None


def check_classes(path: str, key: str, got: Sequence[str], space: LabelSpace) -> None:
    """The class names under ``key`` of the file must be the label space's, in its order."""
    if list(got) != list(space.classes):
        raise PriorError(
            f"{path}: '{key}' ({len(got)} classes) does not match label space {space.name!r} "
            f"({space.num_classes} classes {list(space.classes)}); got {list(got)}"
        )


def label_graph_path(space: str, directory: Optional[str] = None) -> str:
    return os.path.join(directory or GRAPHS_DIR, f"{space}_adjacency.json")


def read_label_graph(path: str, space_name: str) -> Dict[int, List[int]]:
    """The graph stored at ``path`` for label space ``space_name``, checked against it by name."""
    space = get_label_space(space_name)
    doc = read_json(path)
    if doc.get("label_space") != space_name:
        raise PriorError(f"{path}: label_space is {doc.get('label_space')!r}, expected {space_name!r}")
    check_classes(path, "classes", doc.get("classes", []), space)
    neighbours = doc.get("neighbours")
    if not isinstance(neighbours, dict):
        raise PriorError(f"{path}: 'neighbours' must be an object {{class: [class, ...]}}")
    graph: Dict[int, List[int]] = {}
    for name, nbs in neighbours.items():
        for nb in [name] + list(nbs):
            if nb not in space.classes:
                raise PriorError(f"{path}: unknown class {nb!r} (label space {space_name!r})")
        graph[space.classes.index(name)] = [space.classes.index(nb) for nb in nbs]
    return graph


@functools.lru_cache(maxsize=None)
def _published_graph(space: str) -> Dict[int, List[int]]:
    return read_label_graph(label_graph_path(space), space)


def label_graph(label_space: str) -> Dict[int, List[int]]:
    """The published graph of a label space (LIP: CIHP's, see :data:`GRAPH_OF`); a fresh copy."""
    space = GRAPH_OF.get(label_space, label_space)
    path = label_graph_path(space)
    if not os.path.exists(path):
        known = sorted(f[: -len("_adjacency.json")] for f in os.listdir(GRAPHS_DIR) if f.endswith("_adjacency.json"))
        raise PriorError(f"No label graph for label space {label_space!r}: {path} does not exist; "
                         f"known: {sorted(known + list(GRAPH_OF))}")
    return {i: list(nbs) for i, nbs in _published_graph(space).items()}


def adjacency_matrix(graph: Dict[int, List[int]], num_nodes: int, with_identity: bool = False) -> np.ndarray:
    """Symmetric 0/1 (num_nodes, num_nodes) matrix of the graph (a pair listed on one side counts
    both ways); listed self-loops are kept, and ``with_identity`` sets the whole diagonal to 1."""
    a = np.eye(num_nodes) if with_identity else np.zeros((num_nodes, num_nodes))
    for i, nbrs in graph.items():
        for j in nbrs:
            if not (0 <= i < num_nodes and 0 <= j < num_nodes):
                raise ValueError(f"label graph edge ({i}, {j}) outside {num_nodes} nodes")
            a[i, j] = a[j, i] = 1.0
    return a


def normalized_adjacency(graph: Dict[int, List[int]], num_nodes: int) -> np.ndarray:
    """Graphonomy's Â = D^-½ (A + I) D^-½ (float32); a listed self-loop makes (A + I)_ii = 2."""
    a = adjacency_matrix(graph, num_nodes) + np.eye(num_nodes)
    d = 1.0 / np.sqrt(a.sum(1))
    return (d[:, None] * a * d[None, :]).astype(np.float32)
