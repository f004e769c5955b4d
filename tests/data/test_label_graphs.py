"""The shared label graphs (human_parsing/data/priors/*_adjacency.json): read by class name and
checked against the label spaces, as listed in graph.py, and each method's matrix of them."""
import json
import os
import shutil

import numpy as np
import pytest

from human_parsing.data.label_graphs import (
    GRAPHS_DIR,
    PriorError,
    adjacency_matrix,
    label_graph,
    label_graph_path,
    read_label_graph,
)
from human_parsing.data.label_spaces import get_label_space

SPACES = ("pascal_person_part", "cihp", "atr")


@pytest.mark.parametrize("space", SPACES)
def test_file_as_read_notes_match_the_listing(space):
    """Each file's ``as_read`` notes (listed self-loops, one-sided pairs) describe its neighbours."""
    path = label_graph_path(space)
    doc = json.load(open(path))
    names = get_label_space(space).classes
    g = label_graph(space)
    assert sorted(g) == list(range(len(names)))
    loops = [names[i] for i in g if i in g[i]]
    one_sided = sorted(sorted((names[i], names[j])) for i in g for j in g[i] if i not in g[j])
    assert loops == doc["as_read"]["self_loops_listed"]
    assert one_sided == sorted(sorted(p) for p in doc["as_read"]["asymmetric_pairs"])
    assert doc["provenance"]["variable"] == {"cihp": "cihp_graph", "atr": "atr_graph"}.get(space, "pascal_graph")


def test_graphs_by_id_as_listed():
    assert label_graph("pascal_person_part")[1] == [1, 2]  # head: itself and torso
    atr = label_graph("atr")
    assert 7 in atr[5] and 5 not in atr[7]  # skirt lists dress, dress does not list skirt
    assert label_graph("cihp")[0] == [] and label_graph("lip") == label_graph("cihp")
    label_graph("cihp")[1].append(19)  # a copy: the cached graph is unchanged
    assert label_graph("cihp")[1] == [2, 13]


def test_the_two_treatments():
    """Grapy-ML's A keeps the listed self-loops only; SST's M_intra has the whole diagonal. Both
    count a one-sided pair both ways."""
    p = adjacency_matrix(label_graph("pascal_person_part"), 7)
    np.testing.assert_array_equal(np.diag(p), np.ones(7))
    a = adjacency_matrix(label_graph("atr"), 18)
    ai = adjacency_matrix(label_graph("atr"), 18, with_identity=True)
    assert a[7, 5] == a[5, 7] == 1 and a[7, 6] == a[6, 7] == 1
    np.testing.assert_array_equal(np.diag(a), np.zeros(18))
    np.testing.assert_array_equal(ai, a + np.eye(18))
    assert ai[0].sum() == 1  # background: itself only
    assert a.sum() == sum(len(v) for v in label_graph("atr").values()) + 2  # + the two mirrored pairs


def test_bad_files_name_the_file(tmp_path):
    d = str(tmp_path / "g")
    shutil.copytree(GRAPHS_DIR, d)
    path = label_graph_path("atr", d)
    doc = json.load(open(path))
    doc["neighbours"]["bag"] = ["left-arm", "jumpsuits"]
    json.dump(doc, open(path, "w"))
    with pytest.raises(PriorError, match=r"atr_adjacency.json: unknown class 'jumpsuits'"):
        read_label_graph(path, "atr")
    with pytest.raises(PriorError, match=r"atr_adjacency.json: label_space is 'atr', expected 'cihp'"):
        read_label_graph(path, "cihp")
    with pytest.raises(PriorError, match=r"mhp_v2_adjacency.json does not exist; known: \['atr', 'cihp', 'lip', 'pascal"):
        label_graph("mhp_v2")
    open(path, "w").write("{")
    with pytest.raises(PriorError, match="atr_adjacency.json: not valid JSON"):
        read_label_graph(path, "atr")
    assert os.path.getsize(label_graph_path("atr")) > 1000  # the shared file is untouched
