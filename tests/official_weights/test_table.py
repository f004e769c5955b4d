"""Name tables: transforms on hand-made tensors, and errors that list every problem at once."""
import numpy as np
import pytest

from human_parsing.official_weights import TF_CONV, ConversionError, NameTable, apply_table, take_rows


def test_transforms_and_fills():
    k = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # TF (kh, kw, in, out)
    cls = np.array([[0.0, 0.5], [1.0, 1.5]], np.float32)  # rows (background, person)
    t = NameTable()
    t.add("conv/weights", "conv.weight", TF_CONV)
    t.add("cls", "cls.weight", take_rows([1, 0], 2))
    t.fill("bn.running_var", 1.0, "test")
    t.ignore(r"global_step", "counter")
    out = apply_table({"conv/weights": k, "cls": cls, "global_step": np.int64(3)}, t,
                      {"conv.weight": (5, 4, 2, 3), "cls.weight": (2, 2), "bn.running_var": (3,)})
    assert out["conv.weight"].shape == (5, 4, 2, 3)
    # ours[o, i, y, x] = official[y, x, i, o]
    assert out["conv.weight"][3, 2, 1, 0] == k[1, 0, 2, 3]
    assert np.array_equal(out["cls.weight"], [[1.0, 1.5], [0.0, 0.5]])
    assert np.array_equal(out["bn.running_var"], np.ones(3, np.float32))


def test_every_problem_is_listed():
    t = NameTable()
    t.add("a", "A")
    t.add("b", "B")
    t.add("c", "C")
    official = {"a": np.zeros(3), "b": np.zeros(4), "extra.weight": np.zeros((2, 2))}  # c missing
    with pytest.raises(ConversionError) as e:
        apply_table(official, t, {"A": (3,), "B": (5,), "C": (1,), "D": (7,)}, source="ckpt.pth")
    msg = str(e.value)
    assert "4 problem(s) converting ckpt.pth" in msg
    assert "unmatched official tensor extra.weight (2, 2)" in msg
    assert "mis-shaped official tensor b: (4), expected (5) for B (5)" in msg
    assert "missing official tensor c (1) (for C)" in msg
    assert "our D (7) gets no value" in msg


def test_table_onto_unknown_names():
    t = NameTable()
    t.add("a", "nope")
    t.fill("also_nope", 0.0, "test")
    with pytest.raises(ConversionError, match="which the model does not have") as e:
        apply_table({"a": np.zeros(1)}, t, {})
    assert "fills also_nope" in str(e.value)
