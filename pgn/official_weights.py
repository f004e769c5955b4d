"""The official PGN checkpoint (Engineering-Course/CIHP_PGN, TensorFlow 1) -> ours.

Variable names come from the official ``utils/model_pgn.py`` (kaffe ``Network``): a conv layer
``NAME`` holds ``NAME/weights`` (kh, kw, in, out) and ``NAME/biases``; a slim batch norm ``bnNAME``
holds ``beta``, ``gamma``, ``moving_mean``, ``moving_variance``. The backbone is the DeepLab-v2
ResNet-101 of Caffe naming (``res4b22_branch2b``); the heads are named as in methods.md §3.3.

The checkpoint is read without TensorFlow (``human_parsing.official_weights.tf_checkpoint``), or
from an ``.npz`` of the same variables. TF slim's batch-norm epsilon is 1e-3 and ours (PyTorch)
1e-5: the converter stores ``moving_variance + 1e-3 - 1e-5`` as the running variance, so that our
``var + 1e-5`` equals TF's ``var + 1e-3``. Training state (``global_step``, ``*/Momentum``) is left
out. The 164,839,673 trainable parameters map variable for variable.
"""
import os
import re
from typing import Dict, List, Tuple

import numpy as np

from human_parsing.official_weights import (
    OFFICIAL_WEIGHTS_REGISTRY,
    TF_CONV,
    NameTable,
    OfficialWeightsConverter,
    Transform,
    read_any,
)

__all__ = ["PGNOfficialWeights", "pgn_name_table", "TF_SLIM_BN_EPS", "OUR_BN_EPS"]

TF_SLIM_BN_EPS = 1e-3  # tf.contrib.slim.batch_norm default
OUR_BN_EPS = 1e-5  # torch.nn.BatchNorm2d default, BatchNorm2dEval in pgn/backbone.py

_VARIANCE = Transform(
    "tf_bn_variance", lambda a: (a.astype(np.float64) + (TF_SLIM_BN_EPS - OUR_BN_EPS)).astype(np.float32),
    lambda s: tuple(s))

# official block names per stage (Caffe ResNet-101): res2a..c, res3a, b1..b3, res4a, b1..b22, res5a..c
_BLOCKS_101 = (3, 4, 23, 3)


def _block_names(stage: int, n: int) -> List[str]:
    if n <= 3:
        return [f"res{stage}{c}" for c in "abc"[:n]]
    return [f"res{stage}a"] + [f"res{stage}b{i}" for i in range(1, n)]


def _conv(t: NameTable, official: str, ours: str, bias: bool = True) -> None:
    t.add(f"{official}/weights", f"{ours}.weight", TF_CONV)
    if bias:
        t.add(f"{official}/biases", f"{ours}.bias")


def _bn(t: NameTable, official: str, ours: str) -> None:
    t.add(f"{official}/gamma", f"{ours}.weight")
    t.add(f"{official}/beta", f"{ours}.bias")
    t.add(f"{official}/moving_mean", f"{ours}.running_mean")
    t.add(f"{official}/moving_variance", f"{ours}.running_var", _VARIANCE)
    t.fill(f"{ours}.num_batches_tracked", 0, "BatchNorm counter; TF has none")


def _backbone(t: NameTable) -> None:
    _conv(t, "conv1", "backbone.stem.conv1", bias=False)
    _bn(t, "bn_conv1", "backbone.stem.conv1.norm")
    for s, n in zip((2, 3, 4, 5), _BLOCKS_101):
        for j, name in enumerate(_block_names(s, n)):
            ours = f"backbone.res{s}.{j}"
            bn = "bn" + name[len("res"):]
            for k, branch in enumerate("abc", start=1):
                _conv(t, f"{name}_branch2{branch}", f"{ours}.conv{k}", bias=False)
                _bn(t, f"{bn}_branch2{branch}", f"{ours}.conv{k}.norm")
            if j == 0:
                _conv(t, f"{name}_branch1", f"{ours}.shortcut", bias=False)
                _bn(t, f"{bn}_branch1", f"{ours}.shortcut.norm")


def _stack(t: NameTable, official: str, ours: str, conv: str, pp_conv: str, fc: str) -> None:
    """One head stack: 3×3 conv, the four pyramid-pooling convs (kernels 60, 30, 20, 10 =
    ``{official}_pp1..4`` = our ``ppm.convs.0..3``), the conv after them, the classifier."""
    _conv(t, conv, f"{ours}.conv")
    for i in range(4):
        _conv(t, f"{official}_pp{i + 1}", f"{ours}.ppm.convs.{i}")
    _conv(t, pp_conv, f"{ours}.pp_conv")
    _conv(t, fc, f"{ours}.predictor")


def _head(t: NameTable, num_side_dilations: int) -> None:
    h = "head"
    for i in range(3):  # on res3b3, res4b22, res5c
        _conv(t, f"parsing_branch{i + 1}", f"{h}.parsing_branches.{i}")
        _conv(t, f"edge_branch{i + 1}", f"{h}.edge_branches.{i}")
    _stack(t, "parsing", f"{h}.parsing", "parsing_branch", "parsing_pp_conv", "parsing_fc")
    _stack(t, "edge", f"{h}.edge", "edge_branch", "edge_pp_conv", "edge_fc")
    for i, res in enumerate(("res3", "res4", "res5")):  # side outputs on edge_branch1/2/3
        for d in range(num_side_dilations):
            _conv(t, f"fc1_edge_c{d}_{res}", f"{h}.edge_sides.{i}.branches.{d}")
    for name in ("parsing_fea", "parsing_remap", "edge_fea", "edge_remap"):
        _conv(t, name, f"{h}.{name}")
    _stack(t, "parsing_rf", f"{h}.parsing_refine", "parsing_rf", "parsing_rf_conv", "parsing_rf_fc")
    _stack(t, "edge_rf", f"{h}.edge_refine", "edge_rf", "edge_rf_conv", "edge_rf_fc")


def pgn_name_table(cfg) -> NameTable:
    """The table for the released PGN (ResNet-101, PPM with 4 kernels, 5 side dilations, refinement)."""
    r, p = cfg.MODEL.RESNETS, cfg.MODEL.PGN
    problems = []
    if r.DEPTH != 101 or cfg.MODEL.BACKBONE.NAME != "build_pgn_resnet_backbone":
        problems.append(f"backbone {cfg.MODEL.BACKBONE.NAME} depth {r.DEPTH} (official: PGN ResNet-101)")
    if r.NORM != "BNEval":
        problems.append(f"MODEL.RESNETS.NORM {r.NORM} (official: BNEval, TF batch norm with statistics)")
    if not (p.USE_EDGE and p.USE_REFINE and p.USE_SIDE_OUTPUTS and p.USE_PPM) or len(p.PPM_KERNELS) != 4:
        problems.append("the official model has edges, refinement, side outputs and a 4-path PPM")
    if problems:
        raise ValueError("the config does not describe the released PGN: " + "; ".join(problems))
    t = NameTable()
    _backbone(t)
    _head(t, len(p.SIDE_DILATIONS))
    t.ignore(r"global_step", "training step counter")
    t.ignore(r".+/Momentum", "optimizer slot")
    return t


_LAYER = re.compile(r"name='([A-Za-z0-9_]+)'")


@OFFICIAL_WEIGHTS_REGISTRY.register()
class PGNOfficialWeights(OfficialWeightsConverter):
    method = "pgn"
    default_config = "configs/CIHP/pgn_R_101_official_weights.yaml"
    description = "Engineering-Course/CIHP_PGN TensorFlow checkpoint (CIHP, ResNet-101)"

    def read(self, path: str) -> Dict[str, np.ndarray]:
        return read_any(path)

    def table(self, cfg, official: Dict[str, np.ndarray]) -> NameTable:
        return pgn_name_table(cfg)

    def official_names(self, source_dir: str, cfg) -> Dict[str, Tuple[int, ...]]:
        """The variable names of ``utils/model_pgn.py`` (parsed, TensorFlow not needed): every layer
        with parameters; shapes are not derived (``None``)."""
        path = os.path.join(source_dir, "utils", "model_pgn.py")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: not a checkout of Engineering-Course/CIHP_PGN")
        names: Dict[str, Tuple[int, ...]] = {}
        with open(path) as f:
            for line in f:
                m = _LAYER.search(line)
                if not m:
                    continue
                layer = m.group(1)
                if ".batch_normalization(" in line:
                    for v in ("beta", "gamma", "moving_mean", "moving_variance"):
                        names[f"{layer}/{v}"] = None
                elif ".conv(" in line or ".atrous_conv(" in line or ".pyramid_pooling(" in line:
                    names[f"{layer}/weights"] = None
                    if "biased=False" not in line:
                        names[f"{layer}/biases"] = None
        return names
