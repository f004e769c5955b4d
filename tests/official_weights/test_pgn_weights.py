"""The PGN converter: the table covers the released model variable for variable (on the meta
device: no memory), and representative variables convert with the right layout and BN epsilon."""
import numpy as np
import pytest

from human_parsing.official_weights import ConversionError, NameTable, apply_table, get_converter, model_shapes
from pgn.official_weights import OUR_BN_EPS, TF_SLIM_BN_EPS
from tests.official_weights.common import get_config, synthetic_official

CONFIG = "configs/CIHP/pgn_R_101_official_weights.yaml"
OFFICIAL_TRAINABLE = 164_839_673  # trainable variables of the official graph (counted in TF)


@pytest.fixture(scope="module")
def setup():
    cfg = get_config(CONFIG)
    return cfg, get_converter("pgn").table(cfg, {}), model_shapes(cfg)


def test_table_covers_every_variable(setup):
    _, table, shapes = setup
    filled = {f.ours for f in table.fills}
    assert {e.ours for e in table.entries} | filled == set(shapes)
    assert len({e.official for e in table.entries}) == len(table.entries) == 626
    assert filled == {k for k in shapes if k.endswith("num_batches_tracked")} and len(filled) == 104
    # TF's trainable variables: every weights/biases/gamma/beta (moving statistics are not)
    trainable = sum(int(np.prod(e.transform.official_shape(shapes[e.ours]))) for e in table.entries
                    if not e.official.endswith(("moving_mean", "moving_variance")))
    assert trainable == OFFICIAL_TRAINABLE
    names = {e.official for e in table.entries}
    for n in ("conv1/weights", "bn_conv1/moving_variance", "res4b22_branch2b/weights", "bn5c_branch2c/gamma",
              "res3b3_branch2a/weights", "fc1_edge_c4_res3/biases", "parsing_rf_pp4/weights", "edge_rf_fc/biases"):
        assert n in names
    assert table.is_ignored("global_step") and table.is_ignored("res2a_branch1/weights/Momentum")


def test_representative_variables_convert(setup):
    _, table, shapes = setup
    keep = ("conv1/weights", "bn_conv1/", "res4b22_branch2b/weights", "fc1_edge_c4_res3/", "parsing_fc/",
            "parsing_rf_pp4/", "edge_remap/")
    sub = NameTable([e for e in table.entries if e.official.startswith(keep)],
                    [f for f in table.fills if f.ours.startswith("backbone.stem")], table.ignored)
    sub_shapes = {e.ours: shapes[e.ours] for e in sub.entries} | {f.ours: shapes[f.ours] for f in sub.fills}
    official = synthetic_official(sub, shapes)
    official["global_step"] = np.int64(5)
    official["conv1/weights/Momentum"] = np.zeros((7, 7, 3, 64), np.float32)
    ours = apply_table(official, sub, sub_shapes)
    w = official["conv1/weights"]  # (7, 7, 3, 64): ours[o, i, y, x] = tf[y, x, i, o]
    assert ours["backbone.stem.conv1.weight"].shape == (64, 3, 7, 7)
    assert ours["backbone.stem.conv1.weight"][10, 2, 6, 1] == w[6, 1, 2, 10]
    assert ours["backbone.res4.22.conv2.weight"].shape == (256, 256, 3, 3)
    assert ours["head.edge_sides.0.branches.4.weight"].shape == (1, 256, 3, 3)
    assert ours["head.parsing_refine.ppm.convs.3.weight"].shape == (512, 512, 3, 3)
    assert ours["head.edge_remap.weight"].shape == (128, 1, 1, 1)
    np.testing.assert_array_equal(ours["head.parsing.predictor.bias"], official["parsing_fc/biases"])
    np.testing.assert_array_equal(ours["backbone.stem.conv1.norm.weight"], official["bn_conv1/gamma"])
    np.testing.assert_array_equal(ours["backbone.stem.conv1.norm.bias"], official["bn_conv1/beta"])
    # our var + 1e-5 == TF's var + 1e-3
    var = official["bn_conv1/moving_variance"]
    np.testing.assert_allclose(ours["backbone.stem.conv1.norm.running_var"] + OUR_BN_EPS, var + TF_SLIM_BN_EPS,
                               rtol=1e-6)
    assert ours["backbone.stem.conv1.norm.num_batches_tracked"] == 0


def test_wrong_config_and_wrong_checkpoint(setup, tmp_path):
    cfg, table, shapes = setup
    small = cfg.clone()
    small.MODEL.RESNETS.DEPTH = 50
    with pytest.raises(ValueError, match="does not describe the released PGN"):
        get_converter("pgn").table(small, {})
    # a DeepLab ImageNet checkpoint (backbone only) is not the released PGN: every head variable is named
    official = {e.official: np.zeros(1, np.float32) for e in table.entries if not e.ours.startswith("head.")}
    with pytest.raises(ConversionError) as e:
        apply_table(official, table, shapes)
    assert "missing official tensor parsing_rf_fc/weights" in str(e.value)
