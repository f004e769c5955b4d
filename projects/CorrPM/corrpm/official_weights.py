"""The official CorrPM checkpoints (``ziwei-zh/CorrPM``, PyTorch ``.pth``) -> ours, registered in
``OFFICIAL_WEIGHTS_REGISTRY`` as ``corrpm`` for ``tools/convert_official_weights.py``.

Released: the LIP model (``LIP_best.pth``, K = 20, 16 joints) and CE2P's deep-stem ImageNet
ResNet-101 it starts from (``resnet101-imagenet.pth``; the backbone only, with ImageNet's ``fc``).
The name table is :func:`corrpm.checkpoint.official_to_ours` (the package's one mapping) applied to
every name of the official model (:func:`official_parameter_names`); parameters the official model
defines but never uses, ImageNet's ``fc`` and BN batch counters are ignored with their reason. Our
BatchNorm counters get 0 (InPlace-ABN has none).
"""
from typing import Dict, List, Tuple

import numpy as np

from human_parsing.official_weights import (
    OFFICIAL_WEIGHTS_REGISTRY,
    NameTable,
    OfficialWeightsConverter,
    model_shapes,
)

from .checkpoint import OFFICIAL_UNUSED_PREFIXES, official_to_ours

__all__ = ["CorrPMOfficialWeights", "corrpm_name_table", "official_parameter_names"]

_RESNET_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
_BN = ("weight", "bias", "running_mean", "running_var")


def _bn(prefix: str) -> List[str]:
    return [f"{prefix}.{p}" for p in _BN]


def _conv_bn(conv: str, bn: str) -> List[str]:
    return [f"{conv}.weight"] + _bn(bn)


def _backbone_names(depth: int) -> List[str]:
    """CE2P's deep-stem ResNet (``networks/model.py`` ``ResNet``): conv1-3/bn1-3, layer1-4."""
    if depth not in _RESNET_BLOCKS:
        raise ValueError(f"official CorrPM ResNet depth {depth} is not in the table (have {sorted(_RESNET_BLOCKS)})")
    names = [n for i in (1, 2, 3) for n in _conv_bn(f"conv{i}", f"bn{i}")]
    for stage, n in enumerate(_RESNET_BLOCKS[depth], start=1):
        for j in range(n):
            b = f"layer{stage}.{j}"
            names += [x for k in (1, 2, 3) for x in _conv_bn(f"{b}.conv{k}", f"{b}.bn{k}")]
            if j == 0:
                names += _conv_bn(f"{b}.downsample.0", f"{b}.downsample.1")
    return names


def _head_names() -> List[str]:
    """The official heads: ASPP, edge, pose, decoder, seg2, fusion, HNL."""
    n = _conv_bn("layer5.conv1.1", "layer5.conv1.2")
    n += [x for i in (2, 3, 4, 5) for x in _conv_bn(f"layer5.conv{i}.0", f"layer5.conv{i}.1")]
    n += _conv_bn("layer5.bottleneck.0", "layer5.bottleneck.1")
    n += [x for i in (1, 2, 3) for x in _conv_bn(f"edge_layer.conv{i}.0", f"edge_layer.conv{i}.1")]
    n += ["edge_layer.conv4.weight", "edge_layer.conv4.bias", "edge_layer.conv5.weight", "edge_layer.conv5.bias",
          "edge_layer.conv6.weight"]
    n += _conv_bn("pose_layer.deconv_layers.0", "pose_layer.deconv_layers.1")
    n += _conv_bn("pose_layer.deconv_layers.3", "pose_layer.deconv_layers.4")
    n += ["pose_layer.final_layer.weight", "pose_layer.final_layer.bias"]
    n += [x for i in (1, 2, 3) for x in _conv_bn(f"layer6.conv{i}.0", f"layer6.conv{i}.1")]
    n += ["layer6.conv4.weight", "layer6.conv4.bias", "out_layer.weight", "out_layer.bias"]
    n += _conv_bn("conv_fuse.0", "conv_fuse.1")
    n += [f"nl_SEP.{m}.{p}" for m in ("theta", "phi.0", "g.0", "W.0") for p in ("weight", "bias")]
    return n + _bn("nl_SEP.W.1")


def official_parameter_names(depth: int = 101, backbone_only: bool = False) -> List[str]:
    """Every tensor name of the official model (less BN counters): the whole ``CorrPM_Model``, or
    CE2P's ImageNet backbone (then also ``fc``)."""
    if backbone_only:
        return _backbone_names(depth) + ["fc.weight", "fc.bias"]
    return _backbone_names(depth) + _head_names()


def is_backbone_only(official: Dict) -> bool:
    """CE2P's ImageNet ResNet (no head tensor) rather than a CorrPM model."""
    return bool(official) and not any(k.startswith("layer5.") for k in official)


def corrpm_name_table(cfg, official: Dict) -> NameTable:
    """The table for our model of ``cfg`` (ResNet depth from it): the whole model, or the
    backbone for CE2P's ImageNet ResNet."""
    t = NameTable()
    for name in official_parameter_names(cfg.MODEL.RESNETS.DEPTH, is_backbone_only(official)):
        if not name.startswith(OFFICIAL_UNUSED_PREFIXES):
            t.add(name, official_to_ours(name))
    t.ignore("(" + "|".join(p.replace(".", r"\.") for p in OFFICIAL_UNUSED_PREFIXES) + ").*",
             "defined by the official model but never used (methods.md §5.2), or ImageNet's classifier")
    t.ignore(r".*\.num_batches_tracked", "BatchNorm counter (InPlace-ABN has none)")
    return t


@OFFICIAL_WEIGHTS_REGISTRY.register()
class CorrPMOfficialWeights(OfficialWeightsConverter):
    method = "corrpm"
    default_config = "projects/CorrPM/configs/LIP/corrpm_R_101_official_weights.yaml"
    description = "ziwei-zh/CorrPM .pth (LIP) and CE2P's deep-stem ImageNet ResNet-101"

    def table(self, cfg, official: Dict[str, np.ndarray]) -> NameTable:
        t = corrpm_name_table(cfg, official)
        for name in self.target_shapes(model_shapes(cfg), official):
            if name.endswith("num_batches_tracked"):
                t.fill(name, 0, "BatchNorm counter, unused at test time; InPlace-ABN has none")
        return t

    def target_shapes(self, shapes: Dict[str, Tuple[int, ...]], official: Dict) -> Dict[str, Tuple[int, ...]]:
        """The ImageNet ResNet converts into a backbone-only checkpoint (the pre-training that
        ``MODEL.WEIGHTS`` of the faithful LIP config names; the heads start from scratch)."""
        if is_backbone_only(official):
            return {k: v for k, v in shapes.items() if k.startswith("backbone.")}
        return shapes

    def official_names(self, source_dir: str, cfg) -> Dict[str, Tuple[int, ...]]:
        """Builds the official ``CorrPM_Model`` (our config's class and joint counts) from
        ``source_dir`` on CPU (a check of a whole model; the ImageNet file has no such model)."""
        from .official_source import official_modules

        with official_modules(source_dir) as ns:
            model = ns.model.CorrPM_Model(num_classes=cfg.MODEL.CORRPM.NUM_CLASSES, npoints=cfg.MODEL.CORRPM.NUM_JOINTS)
        return {n: tuple(v.shape) for n, v in model.state_dict().items()}
