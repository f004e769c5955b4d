"""Building M_static from label-name embeddings, read back through sst.priors."""
import json

import numpy as np
import pytest

from human_parsing.data.label_spaces import get_label_space
from sst.priors import load_similarity
from sst.similarity import load_word_vectors, main, name_words, similarity_matrix, word_vector_embedder


def _vectors(tmp_path):
    """One-hot-ish 3-D vectors for every word of PASCAL and ATR class names."""
    words = sorted({w for s in ("pascal_person_part", "atr") for n in get_label_space(s).classes for w in name_words(n)})
    path = tmp_path / "vec.txt"
    lines = [f"{len(words)} 3"]
    for i, w in enumerate(words):
        v = [1.0, 0.0, 0.0] if w in ("arm", "upper", "lower", "left", "right") else [0.0, 1.0, float(i % 3)]
        lines.append(w + " " + " ".join(map(str, v)))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_name_words_and_hand_computed_cosine(tmp_path):
    assert name_words("upper-clothes") == ["upper", "clothes"] and name_words("cap/hat") == ["cap", "hat"]
    vec = load_word_vectors(_vectors(tmp_path))
    m = similarity_matrix("pascal_person_part", "atr", word_vector_embedder(vec))
    pascal, atr = get_label_space("pascal_person_part"), get_label_space("atr")
    # "upper-arm" = mean([1,0,0],[1,0,0]) and "left-arm" likewise: cosine 1
    assert m[pascal.classes.index("upper-arm"), atr.classes.index("left-arm")] == pytest.approx(1.0)
    # "upper-arm" vs "hat": [1,0,0] . [0,1,x] = 0
    assert m[pascal.classes.index("upper-arm"), atr.classes.index("hat")] == pytest.approx(0.0)


def test_cli_writes_a_file_the_loader_reads(tmp_path):
    main(["pascal_person_part", "atr", "--word-vectors", _vectors(tmp_path), "--out-dir", str(tmp_path)])
    doc = json.load(open(tmp_path / "atr__pascal_person_part_similarity.json"))
    assert doc["rows"] == "pascal_person_part" and len(doc["values"]) == 7
    m = load_similarity("atr", "pascal_person_part", str(tmp_path))
    assert m.shape == (18, 7) and np.isfinite(m).all()


def test_missing_word_is_named(tmp_path):
    embed = word_vector_embedder({"hat": np.ones(3)}, "tiny.txt")
    with pytest.raises(KeyError, match=r"tiny.txt: no vector for \['background'\]"):
        similarity_matrix("pascal_person_part", "atr", embed)
