"""The TensorFlow checkpoint reader on a real checkpoint written by TensorFlow 2.21's
``tf.compat.v1.train.Saver`` (``data/tiny.*``, by ``data/make_tiny_tf_checkpoint.py``: 155
variables of five dtypes, several index blocks with shared key prefixes; ``tiny_expected.npz``
holds the values it was written from)."""
import os
import shutil

import numpy as np
import pytest

from human_parsing.official_weights import TFCheckpointError, read_any, read_tf_checkpoint, resolve_tf_checkpoint

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def _expected():
    with np.load(os.path.join(DATA, "tiny_expected.npz")) as z:
        return {k.replace("|", "/"): z[k] for k in z.files}


@pytest.mark.parametrize("form", ["prefix", "index", "folder"])
def test_reads_every_variable_exactly(form):
    path = {"prefix": os.path.join(DATA, "tiny"), "index": os.path.join(DATA, "tiny.index"), "folder": DATA}[form]
    got, want = read_tf_checkpoint(path), _expected()
    assert sorted(got) == sorted(want) and len(got) == 155
    for k, v in want.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
        assert np.array_equal(got[k], v), k
    assert got["global_step"] == 123456789012 and got["scalar_f64"] == 3.25
    assert read_any(path).keys() == got.keys()


def test_errors_name_the_file(tmp_path):
    with pytest.raises(TFCheckpointError, match="model.ckpt.index not found"):
        resolve_tf_checkpoint(str(tmp_path / "model.ckpt"))
    with pytest.raises(TFCheckpointError, match="without a 'checkpoint' file"):
        resolve_tf_checkpoint(str(tmp_path))
    bad = tmp_path / "bad"
    bad.with_suffix(".index").write_bytes(b"not a table" * 10)
    with pytest.raises(TFCheckpointError, match="bad magic number"):
        read_tf_checkpoint(str(bad))
    shutil.copy(os.path.join(DATA, "tiny.index"), tmp_path / "nodata.index")
    with pytest.raises(TFCheckpointError, match=r"nodata.data-00000-of-00001 not found"):
        read_tf_checkpoint(str(tmp_path / "nodata"))
    short = tmp_path / "short"
    shutil.copy(os.path.join(DATA, "tiny.index"), str(short) + ".index")
    with open(os.path.join(DATA, "tiny.data-00000-of-00001"), "rb") as f:
        (tmp_path / "short.data-00000-of-00001").write_bytes(f.read()[:100])
    with pytest.raises(TFCheckpointError, match="bytes of data"):
        read_tf_checkpoint(str(short))
