"""SST priors: the stored adjacencies and similarity matrices, their orientation, bad files."""
import json
import os
import shutil

import numpy as np
import pytest

from human_parsing.data.label_graphs import GRAPHS_DIR
from human_parsing.data.label_spaces import get_label_space
from sst.priors import PRIORS_DIR, PriorError, load_intra_adjacency, load_similarity

SPACES = ("pascal_person_part", "atr", "cihp")


@pytest.mark.parametrize("space", SPACES)
def test_adjacency_symmetric_binary_with_identity(space):
    adj = load_intra_adjacency(space)
    z = get_label_space(space).num_classes
    assert adj.shape == (z, z)
    assert set(np.unique(adj)) <= {0.0, 1.0}
    np.testing.assert_array_equal(adj, adj.T)
    np.testing.assert_array_equal(np.diag(adj), np.ones(z))
    assert adj[0].sum() == 1  # background: itself only


def test_adjacency_known_edges():
    cihp = get_label_space("cihp")
    adj = load_intra_adjacency("cihp")
    c = cihp.classes.index
    assert adj[c("hair"), c("face")] == 1 and adj[c("glove"), c("left-arm")] == 1
    assert adj[c("hat"), c("left-shoe")] == 0
    atr = get_label_space("atr")
    a = load_intra_adjacency("atr")
    # listed on dress's side only in graph.py (skirt: [4, 6, 7, ...] has dress, dress has no skirt)
    assert a[atr.classes.index("dress"), atr.classes.index("skirt")] == 1


def test_similarity_orientation_by_names():
    cihp, atr, pascal = (get_label_space(n) for n in ("cihp", "atr", "pascal_person_part"))
    m = load_similarity("cihp", "atr")  # rows CIHP, columns ATR
    assert m.shape == (20, 18)
    for name in atr.classes:
        if name in cihp.classes:
            i, j = cihp.classes.index(name), atr.classes.index(name)
            # same word: cosine 1, except "dress" (0.859 as stored in graph.py), still the maximum
            assert m[i, j] == pytest.approx(0.8593966, abs=1e-6) if name == "dress" else m[i, j] == pytest.approx(1.0), name
            assert m[i].argmax() == j and m[:, j].argmax() == i, name
    np.testing.assert_array_equal(load_similarity("atr", "cihp"), m.T)
    # the same (PASCAL word, part word) similarity appears in both PASCAL matrices
    pc, pa = load_similarity("pascal_person_part", "cihp"), load_similarity("pascal_person_part", "atr")
    assert pc.shape == (7, 20) and pa.shape == (7, 18)
    for name in ("hat", "hair", "face", "left-arm", "right-leg", "upper-clothes"):
        np.testing.assert_allclose(pc[:, cihp.classes.index(name)], pa[:, atr.classes.index(name)])
    assert pc[pascal.classes.index("torso")].argmax() == cihp.classes.index("torso-skin")


def _copy_priors(tmp_path, adjacency=True):
    """A user priors directory: SST's similarity matrices, plus the shared adjacency files."""
    d = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, d)
    if adjacency:
        shutil.copytree(GRAPHS_DIR, d, dirs_exist_ok=True)
    return str(d)


def test_bad_shape_names_file(tmp_path):
    d = _copy_priors(tmp_path)
    path = os.path.join(d, "atr__cihp_similarity.json")
    doc = json.load(open(path))
    doc["values"] = doc["values"][:-1]
    json.dump(doc, open(path, "w"))
    with pytest.raises(PriorError, match=r"atr__cihp_similarity.json.*shape \(19, 18\)"):
        load_similarity("cihp", "atr", d)


def test_wrong_classes_and_missing_pair(tmp_path):
    d = _copy_priors(tmp_path)
    path = os.path.join(d, "cihp_adjacency.json")
    doc = json.load(open(path))
    doc["classes"][10] = "jumpsuits"
    json.dump(doc, open(path, "w"))
    with pytest.raises(PriorError, match="cihp_adjacency.json.*does not match label space 'cihp'"):
        load_intra_adjacency("cihp", d)
    with pytest.raises(PriorError, match=r"domain pair \('lip', 'atr'\)"):
        load_similarity("lip", "atr", d)
    with pytest.raises(PriorError, match=r"lip_adjacency.json or .*human_parsing.*lip_adjacency.json.*USE_INTRA_MASK"):
        load_intra_adjacency("lip", d)


def test_priors_dir_adjacency_overrides_else_shared(tmp_path):
    """MODEL.SST.PRIORS_DIR: an adjacency file there replaces the shared label graph; without one
    the shared graph is used, while the similarity matrices always come from that directory."""
    d = _copy_priors(tmp_path, adjacency=False)
    assert not any(f.endswith("_adjacency.json") for f in os.listdir(d))
    np.testing.assert_array_equal(load_intra_adjacency("atr", d), load_intra_adjacency("atr"))
    doc = json.load(open(os.path.join(GRAPHS_DIR, "atr_adjacency.json")))
    doc["neighbours"]["bag"] = []  # the user's graph: bag touches no arm
    doc["neighbours"]["left-arm"].remove("bag")
    doc["neighbours"]["right-arm"].remove("bag")
    json.dump(doc, open(os.path.join(d, "atr_adjacency.json"), "w"))
    atr = get_label_space("atr").classes.index
    ours, shared = load_intra_adjacency("atr", d), load_intra_adjacency("atr")
    assert shared[atr("bag"), atr("left-arm")] == 1 and ours[atr("bag"), atr("left-arm")] == 0
    assert (shared != ours).sum() == 4  # bag-left-arm, bag-right-arm, both ways
    # the shared file is untouched
    assert json.load(open(os.path.join(GRAPHS_DIR, "atr_adjacency.json")))["neighbours"]["bag"] == ["left-arm", "right-arm"]
