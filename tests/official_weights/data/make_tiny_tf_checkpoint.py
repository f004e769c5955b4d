"""Writes tiny.* and tiny_expected.npz (run with a Python that has tensorflow: python make_tiny_tf_checkpoint.py OUT_DIR)."""
import sys, numpy as np, tensorflow as tf
tf.compat.v1.disable_eager_execution()
out = sys.argv[1]
rng = np.random.default_rng(0)
vals = {
    "conv1/weights": rng.standard_normal((3, 3, 2, 4)).astype(np.float32),
    "bn_conv1/moving_variance": rng.uniform(0.5, 2, 4).astype(np.float32),
    "global_step": np.int64(123456789012),
    "scalar_f64": np.float64(3.25),
    "ints": np.arange(-5, 5, dtype=np.int32),
}
for i in range(150):  # enough names for several index blocks and shared key prefixes
    vals[f"res4b{i}_branch2a/weights"] = rng.standard_normal((1, 1, 2, 1)).astype(np.float32)
vs = {k: tf.compat.v1.Variable(v, name=k.split(":")[0]) for k, v in vals.items()}
saver = tf.compat.v1.train.Saver()
with tf.compat.v1.Session() as s:
    s.run(tf.compat.v1.global_variables_initializer())
    saver.save(s, out + "/tiny")
np.savez(out + "/tiny_expected.npz", **{k.replace("/", "|"): v for k, v in vals.items()})
