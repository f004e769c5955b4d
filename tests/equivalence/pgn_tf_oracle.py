"""Writes an official-format PGN checkpoint and the official graph's outputs (run with TensorFlow).

    python pgn_tf_oracle.py CIHP_PGN_REPO OUT_DIR HEIGHT WIDTH [HEIGHT WIDTH ...]

Runs in an environment with ``tensorflow`` (2.x, through ``tensorflow.compat.v1``) and ``tf_slim``
(``tf.contrib.slim`` is gone from TF 2), never in the project's: builds the official ``PGNModel``
of ``utils/model_pgn.py`` from the checkout (imported, not copied) as ``test_pgn.py`` does, gives
every variable random values, saves them with ``tf.train.Saver`` to ``OUT_DIR/model.ckpt`` and,
for each size, a random BGR mean-subtracted input and the seven logit maps to
``OUT_DIR/outputs_HxW.npz``. Used by ``test_official_weights_pgn.py``.
"""
import sys
import types

import numpy as np
import tensorflow as tf_real
from tensorflow.python.framework import ops as _tf_ops

if not hasattr(_tf_ops, "Tensor"):  # removed in TF 2.16+, still used by tf_slim 1.1
    _tf_ops.Tensor = tf_real.Tensor
import tf_slim  # noqa: E402

tf1 = tf_real.compat.v1
tf1.disable_v2_behavior()
shim = types.ModuleType("tensorflow")
shim.__dict__.update({k: getattr(tf1, k) for k in dir(tf1) if not k.startswith("__")})
shim.contrib = types.SimpleNamespace(slim=tf_slim)
sys.modules["tensorflow"] = shim

OUTPUTS = {"parsing": "parsing_fc", "parsing_refine": "parsing_rf_fc", "edge": "edge_fc",
           "edge_refine": "edge_rf_fc", "edge_side_res5": "fc1_edge_res5", "edge_side_res4": "fc1_edge_res4",
           "edge_side_res3": "fc1_edge_res3"}


def main(repo, out_dir, sizes):
    import importlib.util

    sys.path.insert(0, repo)  # for kaffe; model_pgn.py alone (utils/__init__ needs matplotlib etc.)
    spec = importlib.util.spec_from_file_location("model_pgn", f"{repo}/utils/model_pgn.py")
    model_pgn = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model_pgn)
    PGNModel = model_pgn.PGNModel

    rng = np.random.default_rng(0)
    data = tf1.placeholder(tf1.float32, [1, None, None, 3])
    with tf1.variable_scope("", reuse=False):
        net = PGNModel({"data": data}, is_training=False, n_classes=20)
    values = []
    for v in tf1.global_variables():
        shape, name = v.shape.as_list(), v.op.name
        if name.endswith("moving_variance"):
            val = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("moving_mean"):
            val = 0.1 * rng.standard_normal(shape)
        elif name.endswith("gamma"):
            val = 1 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(("beta", "biases")):
            val = 0.05 * rng.standard_normal(shape)
        else:  # kernels (kh, kw, in, out): He-like scale keeps activations O(1)
            val = rng.standard_normal(shape) * (1.0 / np.prod(shape[:3])) ** 0.5
        values.append((v, val.astype(np.float32)))
    saver = tf1.train.Saver()
    with tf1.Session() as sess:
        for v, val in values:  # Variable.load feeds the value: no 660 MB of constants in the graph
            v.load(val, sess)
        saver.save(sess, f"{out_dir}/model.ckpt")
        for h, w in sizes:
            x = rng.uniform(0, 255, (1, h, w, 3)).astype(np.float32) - np.array([125.0, 114.4, 107.9], np.float32)
            outs = sess.run({k: net.layers[v] for k, v in OUTPUTS.items()}, feed_dict={data: x})
            np.savez(f"{out_dir}/outputs_{h}x{w}.npz", input=x, **outs)
    print("trainable parameters:", sum(int(np.prod(v.shape.as_list())) for v in tf1.trainable_variables()))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], args[1], [(int(a), int(b)) for a, b in zip(args[2::2], args[3::2])])
