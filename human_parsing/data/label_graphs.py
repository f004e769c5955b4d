"""Label graphs: which parts of a label space touch each other (Graphonomy's intra-dataset
adjacencies, as published in Grapy-ML's ``networks/graph.py``; methods.md §4.8 and §6.6), and
the coarse Grapy-ML hierarchy levels' graphs. Used by Grapy-ML's GCN ablation and SST's M_intra.

A graph is a dict ``{class id: [neighbour ids]}``. :func:`normalized_adjacency` turns it into
Graphonomy's ``preprocess_adj``: the symmetric 0/1 matrix A (listed self-loops kept, as the
PASCAL graph lists them), then D^-½ (A + I) D^-½.
"""
from typing import Dict, List

import numpy as np

__all__ = ["LABEL_GRAPHS", "COARSE_LEVEL_GRAPHS", "adjacency_matrix", "normalized_adjacency", "label_graph"]

# fmt: off
LABEL_GRAPHS: Dict[str, Dict[int, List[int]]] = {
    "pascal_person_part": {0: [0], 1: [1, 2], 2: [1, 2, 3, 5], 3: [2, 3, 4], 4: [3, 4], 5: [2, 5, 6],
                           6: [5, 6]},
    "cihp": {0: [], 1: [2, 13], 2: [1, 13], 3: [14, 15], 4: [13], 5: [6, 7, 9, 10, 11, 12, 14, 15],
             6: [5, 7, 10, 11, 14, 15, 16, 17], 7: [5, 6, 9, 10, 11, 12, 14, 15], 8: [16, 17, 18, 19],
             9: [5, 7, 10, 16, 17, 18, 19], 10: [5, 6, 7, 9, 11, 12, 13, 14, 15, 16, 17],
             11: [5, 6, 7, 10, 13], 12: [5, 7, 10, 16, 17], 13: [1, 2, 4, 10, 11], 14: [3, 5, 6, 7, 10],
             15: [3, 5, 6, 7, 10], 16: [6, 8, 9, 10, 12, 18], 17: [6, 8, 9, 10, 12, 19], 18: [8, 9, 16],
             19: [8, 9, 17]},
    "atr": {0: [], 1: [2, 11], 2: [1, 11], 3: [11], 4: [5, 6, 7, 11, 14, 15, 17], 5: [4, 6, 7, 8, 12, 13],
            6: [4, 5, 7, 8, 9, 10, 12, 13], 7: [4, 11, 12, 13, 14, 15], 8: [5, 6], 9: [6, 12], 10: [6, 13],
            11: [1, 2, 3, 4, 7, 14, 15, 17], 12: [5, 6, 7, 9], 13: [5, 6, 7, 10], 14: [4, 7, 11, 16],
            15: [4, 7, 11, 16], 16: [14, 15], 17: [4, 11]},
}
# fmt: on
# LIP has CIHP's classes except jumpsuits for torso-skin: Graphonomy uses the CIHP graph for both.
LABEL_GRAPHS["lip"] = LABEL_GRAPHS["cihp"]

# Coarse levels (not published; our choice, methods.md §4.8 suggests a chain through the torso):
# level 1 = {background, person} without edges; level 2 = background alone and head, arms and
# legs each attached to the torso.
COARSE_LEVEL_GRAPHS: Dict[int, Dict[int, List[int]]] = {
    1: {0: [], 1: []},
    2: {0: [], 1: [2], 2: [1, 3, 4], 3: [2], 4: [2]},
}


def label_graph(label_space: str) -> Dict[int, List[int]]:
    """The published graph of a label space."""
    try:
        return LABEL_GRAPHS[label_space]
    except KeyError:
        raise KeyError(f"No label graph for label space {label_space!r}; known: {sorted(LABEL_GRAPHS)}") from None


def adjacency_matrix(graph: Dict[int, List[int]], num_nodes: int) -> np.ndarray:
    """Symmetric 0/1 (num_nodes, num_nodes) matrix of the graph; listed self-loops are kept."""
    a = np.zeros((num_nodes, num_nodes), dtype=np.float64)
    for i, nbrs in graph.items():
        for j in nbrs:
            if not (0 <= i < num_nodes and 0 <= j < num_nodes):
                raise ValueError(f"label graph edge ({i}, {j}) outside {num_nodes} nodes")
            a[i, j] = a[j, i] = 1.0
    return a


def normalized_adjacency(graph: Dict[int, List[int]], num_nodes: int) -> np.ndarray:
    """Graphonomy's Â = D^-½ (A + I) D^-½ (float32)."""
    a = adjacency_matrix(graph, num_nodes) + np.eye(num_nodes)
    d = 1.0 / np.sqrt(a.sum(1))
    return (d[:, None] * a * d[None, :]).astype(np.float32)
