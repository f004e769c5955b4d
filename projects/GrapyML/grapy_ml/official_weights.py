"""The official Grapy-ML checkpoints (``Charleshhy/Grapy-ML``, PyTorch ``.pth``) -> ours, registered
in ``OFFICIAL_WEIGHTS_REGISTRY`` as ``grapy_ml`` for ``tools/convert_official_weights.py``.

Released: the DeepLab v3+ CIHP model and the GPM CIHP model, the multi-dataset DeepLab
(``semantic_aux_{cihp,pascal,atr}``) and Grapy-ML models, the Grapy-ML model fine-tuned on
PASCAL-Person-Part, and the pre-training ``deeplab_v3plus_v3.pth`` (a DeepLab v3+ checkpoint whose
classifier the official ``load_state_dict_new`` skips when its class count differs; converted
with a DeepLab config, see the README). The table is :func:`grapy_ml.checkpoint.official_name_map`
(the package's one mapping, also behind its ``load_state_dict`` hook) applied to the checkpoint's
names: which official tensors exist depends on the released variant (DeepLab / GPM, one or three
datasets), which the names themselves tell. Entries the mapping drops (the never-used
``transform``, heads of datasets the config does not have, the stale ``semantic`` of a GPM
checkpoint) are ignored with that reason; an official tensor it does not know is unmatched, and
a tensor of ours that nothing fills is reported, so a checkpoint of another variant than the
config's fails naming every difference.
"""
from typing import Dict, List, Tuple

import numpy as np

from human_parsing.data.domains import resolve_domains
from human_parsing.official_weights import (
    OFFICIAL_WEIGHTS_REGISTRY,
    NameTable,
    OfficialWeightsConverter,
    model_shapes,
)

from .checkpoint import official_name_map

__all__ = ["GrapyMLOfficialWeights", "grapy_ml_name_table", "official_parameter_names", "official_variant"]

_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
_DATASETS = ("cihp", "pascal", "atr")  # the official dataset ids 0, 1, 2
VARIANTS = ("deeplab", "deeplab_multi", "gpm", "grapy_ml")


def _wb(p: str) -> List[str]:
    return [f"{p}.weight", f"{p}.bias"]


def _bn(p: str) -> List[str]:
    return [f"{p}.{x}" for x in _BN]


def _sep(p: str) -> List[str]:
    """An official ``SeparableConv2d_same``: depthwise and pointwise convs, each with its BN."""
    return [f"{p}.depthwise.weight"] + _bn(f"{p}.depthwise_bn") + [f"{p}.pointwise.weight"] + _bn(f"{p}.pointwise_bn")


def _xception(num_middle: int) -> List[str]:
    x = "xception_features."
    n = [x + "conv1.weight"] + _bn(x + "bn1") + [x + "conv2.weight"] + _bn(x + "bn2")
    # rep indices count the ReLUs between the separable convs; block1 starts without one
    reps = {1: (0, 2, 4), 2: (1, 3), 3: (1, 3, 5), 20: (1, 3, 5)}
    for i in [1, 2, 3] + list(range(4, 4 + num_middle)) + [20]:
        b = f"{x}block{i}."
        if i in (1, 2, 3, 20):
            n += [b + "skip.weight"] + _bn(b + "skipbn")
        if i == 2:
            n += _sep(b + "block2_lastconv.1")
        for j in reps.get(i, (1, 3, 5)):
            n += _sep(f"{b}rep.{j}")
    for c in ("conv3", "conv4", "conv5"):
        n += _sep(x + c)
    return n


def _deeplab_head() -> List[str]:
    n = ["aspp1.atrous_convolution.weight"] + _bn("aspp1.bn")
    for i in (2, 3, 4):
        n += _sep(f"aspp{i}.atrous_convolution")
    n += ["global_avg_pool.1.weight"] + _bn("global_avg_pool.2")
    for p in ("concat_projection", "feature_projection"):
        n += [f"{p}_conv1.weight"] + _bn(f"{p}_bn1")
    return n + [x for i in (0, 1) for x in _sep(f"decoder.{i}.atrous_convolution")]


def _reasoning(p: str) -> List[str]:
    n = _wb(f"{p}.graph_transfer") + _wb(f"{p}.graph_transfer_back")
    n += [x for a in (1, 2, 3) for c in ("query", "key", "value") for x in _wb(f"{p}.attn{a}.{c}_conv")]
    return n + [x for i in (1, 2, 3) for x in _bn(f"{p}.bn{i}")]


def official_parameter_names(variant: str, num_middle: int = 16) -> List[str]:
    """Every tensor name of an official model: ``DeepLabv3_plus`` ("deeplab"),
    ``DeepLabv3_plus_multi_set`` ("deeplab_multi"), ``GrapyNet`` ("gpm") or
    ``GrapyMutualLearning`` ("grapy_ml"); ``num_middle`` Xception middle blocks (16 in the releases)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown official Grapy-ML variant {variant!r}; known: {', '.join(VARIANTS)}")
    n = _xception(num_middle) + _deeplab_head()
    multi = variant in ("deeplab_multi", "grapy_ml")
    n += [x for d in _DATASETS for x in _wb(f"semantic_aux_{d}")] if multi else _wb("semantic")
    if variant.startswith("deeplab"):
        return n
    g = "gcn_network."
    n += _wb("transform")  # defined by the official GPM models, never used
    if multi:
        levels = [f"{g}gcn_block_feature{i}" for i in (1, 2)] + [f"{g}gcn_block_feature_{d}" for d in _DATASETS]
    else:
        n += _wb("sem2")
        levels = [f"{g}gcn_block_feature{i}" for i in (1, 2, 3)]
    n += [x for lv in levels for x in _reasoning(lv)]
    n += _wb(g + "fusion.0") + _wb(g + "fusion.1") + [x for i in (1, 2, 3) for x in _wb(f"{g}transform_lv{i}")]
    if multi:
        n += [x for d in _DATASETS for x in _wb(f"{g}sem_{d}")] + [x for d in _DATASETS for x in _wb(f"sem2_{d}")]
    else:
        n += _wb(g + "sem")
    return n


def official_variant(cfg) -> str:
    """The official model that corresponds to our config: GPM or not, one or several datasets."""
    multi = len(resolve_domains(cfg)) > 1
    if cfg.MODEL.GPM.ENABLED:
        return "grapy_ml" if multi else "gpm"
    return "deeplab_multi" if multi else "deeplab"


def grapy_ml_name_table(cfg, official: Dict) -> NameTable:
    """The table from the official names of ``official`` (or, for no checkpoint, of the official
    model matching ``cfg``: :func:`official_parameter_names`) to our model of ``cfg`` (its domains as the
    model resolves them,
    ``MODEL.GRAPY_ML.OFFICIAL_DOMAINS`` and ``SHARED_LEVELS``)."""
    g = cfg.MODEL.GRAPY_ML
    names = list(official) or official_parameter_names(official_variant(cfg), cfg.MODEL.XCEPTION.NUM_MIDDLE_BLOCKS)
    mapping, _ = official_name_map(names, resolve_domains(cfg), list(g.OFFICIAL_DOMAINS),
                                   list(g.SHARED_LEVELS))
    t = NameTable()
    for name, ours in mapping.items():
        if ours is None:
            t.ignore(name.replace(".", r"\."), "dropped by grapy_ml.checkpoint: never used by the official "
                     "model, a dataset the config does not have, or the stale DeepLab classifier of a GPM model")
        else:
            t.add(name, ours)
    return t


@OFFICIAL_WEIGHTS_REGISTRY.register()
class GrapyMLOfficialWeights(OfficialWeightsConverter):
    method = "grapy_ml"
    default_config = "projects/GrapyML/configs/CIHP/gpm_X65_os16_official_weights.yaml"
    description = "Charleshhy/Grapy-ML .pth (DeepLab v3+ / GPM / Grapy-ML; CIHP, 3 datasets, PASCAL)"

    def table(self, cfg, official: Dict[str, np.ndarray]) -> NameTable:
        return grapy_ml_name_table(cfg, official)

    def official_names(self, source_dir: str, cfg) -> Dict[str, Tuple[int, ...]]:
        """Builds the official model of the config's variant from ``source_dir`` (on CPU)."""
        from .official_source import build_official_model, official_modules

        variant = official_variant(cfg)
        domain = resolve_domains(cfg)[0]
        k = model_shapes(cfg)[f"head.predictor.{domain}.weight"][0]
        with official_modules(source_dir) as ns:
            model = build_official_model(ns, variant, k, cfg.MODEL.XCEPTION.OUTPUT_STRIDE)
        return {n: tuple(v.shape) for n, v in model.state_dict().items()}
