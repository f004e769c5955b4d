"""Writing Detectron2 checkpoints: both forms keep shapes (0-d counters too) and dtypes, the write
is refused over an existing file without ``overwrite``, and a bad extension is an error."""
import pickle

import numpy as np
import pytest
import torch

from human_parsing.official_weights import read_any, write_detectron2_checkpoint

STATE = {"w": np.arange(6, dtype=np.float64).reshape(2, 3), "n": np.array(0, np.int64),
         "v": np.ones(4, np.float32)}


def test_pth_and_pkl_keep_shapes_and_dtypes(tmp_path):
    write_detectron2_checkpoint(str(tmp_path / "a.pth"), STATE, author="test")
    data = torch.load(tmp_path / "a.pth", weights_only=True)
    assert data["__author__"] == "test"
    m = data["model"]
    assert m["n"].shape == () and m["n"].dtype == torch.int64
    assert m["w"].dtype == torch.float32 and torch.equal(m["w"], torch.arange(6.0).reshape(2, 3))
    back = read_any(str(tmp_path / "a.pth"))
    assert back["n"].shape == () and back["w"].shape == (2, 3)
    write_detectron2_checkpoint(str(tmp_path / "a.pkl"), STATE)
    with open(tmp_path / "a.pkl", "rb") as f:
        m = pickle.load(f)["model"]
    assert m["n"].shape == () and m["w"].dtype == np.float32 and m["v"].shape == (4,)


def test_refusals(tmp_path):
    out = tmp_path / "a.pth"
    out.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_detectron2_checkpoint(str(out), STATE)
    assert out.read_bytes() == b"old"
    write_detectron2_checkpoint(str(out), STATE, overwrite=True)
    assert torch.load(out, weights_only=True)["model"]["v"].shape == (4,)
    with pytest.raises(ValueError, match=r"\.pth or \.pkl"):
        write_detectron2_checkpoint(str(tmp_path / "a.bin"), STATE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pth"]  # no temporary file left
