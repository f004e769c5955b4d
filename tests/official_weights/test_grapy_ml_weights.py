"""The Grapy-ML converter on synthetic official checkpoints (the official names of each released
variant from ``official_parameter_names`` -- equal to the official modules', checked in
tests/equivalence/test_official_weights_grapy_ml.py -- shapes from our model through the table,
random values), on narrow widths of the released configs; through the command line, with the
checkpointer's log when our model loads the result."""
import numpy as np
import pytest
import torch

from human_parsing.official_weights import ConversionError, convert_state, get_converter, model_shapes
from tests.cli_helpers import run_tool
from tests.official_weights.common import get_config, load_warnings, load_with_log, synthetic_official

C = "projects/GrapyML/configs/"
GPM_CIHP = C + "CIHP/gpm_X65_os16_official_weights.yaml"
DEEPLAB_CIHP = C + "CIHP/deeplab_v3plus_X65_os16_official_weights.yaml"
DEEPLAB_MULTI = C + "CIHP+PASCAL+ATR/grapy_ml_stage1_deeplab_X65_os16_official_weights.yaml"
GRAPY_ML = C + "CIHP+PASCAL+ATR/grapy_ml_stage2_X65_os16_official_weights.yaml"
PASCAL = C + "PASCAL-Person-Part/grapy_ml_stage3_X65_os16_official_weights.yaml"
# the released architecture at narrow widths and one middle block (names do not depend on widths)
TINY = ["MODEL.XCEPTION.NORM", "BN", "MODEL.DEEPLAB_V3PLUS.NORM", "BN", "MODEL.DEEPLAB_V3PLUS.POOL_NORM", "BN",
        "MODEL.XCEPTION.STEM_CHANNELS", "[4, 8]", "MODEL.XCEPTION.ENTRY_CHANNELS", "[8, 16, 16]",
        "MODEL.XCEPTION.NUM_MIDDLE_BLOCKS", "1", "MODEL.XCEPTION.EXIT_CHANNELS", "[20, 16, 16, 24]",
        "MODEL.DEEPLAB_V3PLUS.ASPP_CHANNELS", "8", "MODEL.DEEPLAB_V3PLUS.PROJECT_CHANNELS", "4",
        "MODEL.DEEPLAB_V3PLUS.DECODER_CHANNELS", "8", "MODEL.GPM.NODE_DIM", "16", "MODEL.GPM.HIDDEN_DIM", "8",
        "MODEL.GPM.FUSION_CHANNELS", "12"]


def _synthetic(config, seed=0):
    cfg = get_config(config, TINY)
    table = get_converter("grapy_ml").table(cfg, {})
    return cfg, table, synthetic_official(table, model_shapes(cfg), seed)


@pytest.mark.parametrize("config,variant,n_ignored", [(DEEPLAB_CIHP, "deeplab", 0), (DEEPLAB_MULTI, "deeplab_multi", 0),
                                                      (GPM_CIHP, "gpm", 4), (GRAPY_ML, "grapy_ml", 8),
                                                      (PASCAL, "grapy_ml", 8)])
def test_table_covers_each_released_variant(config, variant, n_ignored):
    from grapy_ml.official_weights import official_parameter_names, official_variant

    cfg, table, official = _synthetic(config)
    assert official_variant(cfg) == variant
    names = official_parameter_names(variant, num_middle=1)
    assert {e.ours for e in table.entries} == set(model_shapes(cfg)) and not table.fills
    # ignored, with their reason: `transform` (never used) and the stale DeepLab classifiers
    assert len(names) - len(table.entries) == n_ignored == len(table.ignored)
    ours = convert_state(get_converter("grapy_ml"), official, cfg)
    assert set(ours) == set(model_shapes(cfg))


def test_cli_converts_gpm_and_it_loads_without_warnings(tmp_path):
    cfg, _, official = _synthetic(GPM_CIHP)
    src, out = tmp_path / "gpm_cihp.pth", tmp_path / "converted.pth"
    state = {"module." + k: torch.from_numpy(v) for k, v in official.items()}
    state["module.semantic.weight"] = torch.zeros(20, 8, 1, 1)  # the stale DeepLab classifier: ignored
    state["module.transform.weight"] = torch.zeros(8, 8, 1, 1)
    torch.save(state, src)
    r = run_tool(["convert_official_weights.py", "grapy_ml", str(src), str(out), "--opts", *TINY])
    assert r.returncode == 0, r.stderr
    model, log = load_with_log(cfg, str(out))
    assert "Loading from" in log and load_warnings(log) == []
    sd = model.state_dict()
    for off, ours in (("gcn_network.sem.weight", "head.predictor.cihp.weight"),
                      ("sem2.bias", "head.gpm_predictor.cihp.bias"),
                      ("gcn_network.gcn_block_feature3.attn2.key_conv.weight", "head.gpm.domain_reasoning.cihp.3.attn.1.key.weight"),
                      ("xception_features.block4.rep.5.pointwise_bn.running_var", "backbone.middle.0.convs.2.pointwise.norm.running_var"),
                      ("global_avg_pool.1.weight", "head.decoder.aspp.convs.4.1.weight")):
        assert torch.equal(sd[ours], torch.from_numpy(official[off])), off

    # apply_net runs it with the config as it is (official TTA: 6 scales × flip)
    import cv2

    img = tmp_path / "person.png"
    cv2.imwrite(str(img), np.random.default_rng(0).integers(0, 255, (40, 32, 3), dtype=np.uint8))
    r = run_tool(["apply_net.py", "dump", GPM_CIHP, str(out), str(img), "--output", str(tmp_path / "dump"),
                  "--opts", "MODEL.DEVICE", "cpu", *TINY])
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "dump" / "person_parsing.png").exists()


def test_multi_dataset_grapy_ml_heads_go_to_their_domains(tmp_path):
    cfg, _, official = _synthetic(GRAPY_ML)
    src, out = tmp_path / "grapy_ml.pth", tmp_path / "converted.pkl"
    torch.save({k: torch.from_numpy(v) for k, v in official.items()}, src)
    r = run_tool(["convert_official_weights.py", "grapy_ml", str(src), str(out), "--config", GRAPY_ML, "--opts", *TINY])
    assert r.returncode == 0, r.stderr
    model, log = load_with_log(cfg, str(out))
    assert load_warnings(log) == []
    sd = model.state_dict()
    for off, ours in (("gcn_network.sem_pascal.weight", "head.predictor.pascal_person_part.weight"),
                      ("sem2_atr.bias", "head.gpm_predictor.atr.bias"),
                      ("gcn_network.gcn_block_feature_atr.bn2.running_mean", "head.gpm.domain_reasoning.atr.3.norms.1.running_mean"),
                      ("gcn_network.gcn_block_feature1.graph_transfer.weight", "head.gpm.reasoning.1.graph_transfer.weight")):
        assert torch.equal(sd[ours], torch.from_numpy(official[off])), off


def test_wrong_variant_or_label_space_names_every_problem():
    conv = get_converter("grapy_ml")
    _, _, gpm = _synthetic(GPM_CIHP)
    deeplab_cfg = get_config(DEEPLAB_CIHP, TINY)
    with pytest.raises(ConversionError) as e:  # a GPM checkpoint for the DeepLab config
        convert_state(conv, gpm, deeplab_cfg)
    msg = str(e.value)
    assert "the table maps gcn_network.fusion.0.weight onto head.gpm.fusion.0.weight, which the model does not have" in msg
    assert "sem2.weight" in msg
    _, _, pascal = _synthetic(PASCAL)
    bad = {k.replace("semantic_aux_pascal", "semantic_aux_cihp") if "semantic_aux_pascal" in k else k: v
           for k, v in _synthetic(DEEPLAB_MULTI)[2].items() if not k.startswith("semantic_aux_cihp")}
    with pytest.raises(ConversionError, match=r"mis-shaped official tensor semantic_aux_cihp.bias: \(7\), expected \(20\)"):
        convert_state(conv, bad, get_config(DEEPLAB_MULTI, TINY))
    bad = dict(pascal)
    del bad["xception_features.conv5.pointwise_bn.running_var"]
    bad["gcn_network.mystery.weight"] = np.zeros(3, np.float32)
    with pytest.raises(ConversionError) as e:
        convert_state(conv, bad, get_config(PASCAL, TINY))
    msg = str(e.value)
    assert "2 problem(s)" in msg and "unmatched official tensor gcn_network.mystery.weight (3)" in msg
    assert "our backbone.exit_convs.2.pointwise.norm.running_var (24) gets no value from the table" in msg
