"""Official Grapy-ML checkpoints -> ``tools/convert_official_weights.py grapy_ml`` -> our model,
against the official modules (``GRAPY_ML_REPO``; skipped without it)::

    GRAPY_ML_REPO=/path/to/Grapy-ML python -m pytest tests/equivalence/test_official_weights_grapy_ml.py -q -s -p no:cacheprovider

Each released variant is built from the official code on CPU (helpers of
``test_grapy_ml_official.py``), given random weights and saved as its training scripts save it
(``torch.save(net.state_dict())``; its names equal, in order, the converter's
``official_parameter_names`` of the variant); the command line converts it, with ``--check`` against the official model built from the
checkout, for the variant's
``*_official_weights.yaml``; ours loads it through the checkpointer with no warning and its
outputs (GPM ŷ and DeepLab y) are compared with the official ones (max |Δ| printed), with the
argmax labels.
"""
import torch

from tests.cli_helpers import run_tool
from tests.equivalence.test_grapy_ml_official import (  # noqa: F401 (the fixture and the skip mark)
    REPO, _inputs, _our_outputs, _randomize_bn, gpm_cihp_net, mutual_learning_net, official, pytestmark)
from tests.official_weights.common import get_config, load_warnings, load_with_log

CPU_BN = ["MODEL.XCEPTION.NORM", "BN", "MODEL.DEEPLAB_V3PLUS.NORM", "BN", "MODEL.DEEPLAB_V3PLUS.POOL_NORM", "BN"]
CONFIGS = "projects/GrapyML/configs/"


def _convert_and_load(net, config, tmp_path):
    """Also checks the converter's list of the official names (used when it has no checkpoint)."""
    from grapy_ml.official_weights import official_parameter_names, official_variant

    cfg = get_config(CONFIGS + config, CPU_BN)
    assert official_parameter_names(official_variant(cfg)) == list(net.state_dict())
    src, out = tmp_path / "official.pth", tmp_path / "converted.pth"
    torch.save(net.state_dict(), src)
    r = run_tool(["convert_official_weights.py", "grapy_ml", str(src), str(out), "--config", CONFIGS + config,
                  "--check", REPO, "--opts", *CPU_BN])
    assert r.returncode == 0, r.stderr[-3000:]
    ours, log = load_with_log(cfg, str(out))
    assert "Loading from" in log and load_warnings(log) == [], load_warnings(log)
    return ours


def _compare(tag, ours, ref):
    assert ours.shape == ref.shape, tag
    d = (ours - ref).abs().max().item()
    same = (ours.argmax(1) == ref.argmax(1)).float().mean().item()
    print(f"grapy_ml {tag} {tuple(ref.shape)}: max |Δ| {d:.2e} (max |official| {ref.abs().max().item():.2e}), "
          f"argmax equal on {100 * same:.2f}% of pixels")
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4, msg=tag)
    assert same == 1.0, tag


def test_deeplab_cihp(official, tmp_path):
    torch.manual_seed(0)
    net = _randomize_bn(official.deeplab.DeepLabv3_plus(n_classes=20, os=16, _print=False), 1)
    ours = _convert_and_load(net, "CIHP/deeplab_v3plus_X65_os16_official_weights.yaml", tmp_path)
    x = _inputs()
    with torch.no_grad():
        ref = net(x)
    _compare("DeepLab v3+ CIHP y", _our_outputs(ours, x, "cihp")[1], ref)


def test_gpm_cihp(official, tmp_path):
    torch.manual_seed(1)
    x = _inputs(1)
    net = gpm_cihp_net(official, 2, x)
    ours = _convert_and_load(net, "CIHP/gpm_X65_os16_official_weights.yaml", tmp_path)
    with torch.no_grad():
        ref, ref_aux = net(x, training=False)
    gpm, main = _our_outputs(ours, x, "cihp")
    _compare("GPM CIHP y", main, ref_aux)
    _compare("GPM CIHP ŷ", gpm, ref)


def test_multi_dataset_deeplab(official, tmp_path):
    torch.manual_seed(2)
    net = _randomize_bn(official.deeplab.DeepLabv3_plus_multi_set(os=16, _print=False), 3)
    ours = _convert_and_load(net, "CIHP+PASCAL+ATR/grapy_ml_stage1_deeplab_X65_os16_official_weights.yaml", tmp_path)
    x = _inputs(2)
    for i, domain in enumerate(("cihp", "pascal_person_part", "atr")):
        with torch.no_grad():
            ref = net((x, i))
        _compare(f"multi-dataset DeepLab {domain} y", _our_outputs(ours, x, domain)[1], ref)


def test_multi_dataset_grapy_ml(official, tmp_path):
    torch.manual_seed(3)
    x = _inputs(3)
    ml = mutual_learning_net(official, 4, x)
    ours = _convert_and_load(ml, "CIHP+PASCAL+ATR/grapy_ml_stage2_X65_os16_official_weights.yaml", tmp_path)
    for i, domain in enumerate(("cihp", "pascal_person_part", "atr")):
        with torch.no_grad():
            ref, ref_aux = ml((x, i), training=False)
        gpm, main = _our_outputs(ours, x, domain)
        _compare(f"Grapy-ML {domain} y", main, ref_aux)
        _compare(f"Grapy-ML {domain} ŷ", gpm, ref)


def test_pascal_fine_tuned_grapy_ml(official, tmp_path):
    """The PASCAL fine-tuned release is a whole mutual-learning model; ours outputs PASCAL's head."""
    torch.manual_seed(5)
    x = _inputs(4)
    ml = mutual_learning_net(official, 6, x)
    ours = _convert_and_load(ml, "PASCAL-Person-Part/grapy_ml_stage3_X65_os16_official_weights.yaml", tmp_path)
    with torch.no_grad():
        ref, ref_aux = ml((x, 1), training=False)
    gpm, main = _our_outputs(ours, x, "pascal_person_part")
    _compare("Grapy-ML PASCAL fine-tuned y", main, ref_aux)
    _compare("Grapy-ML PASCAL fine-tuned ŷ", gpm, ref)
