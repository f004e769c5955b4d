"""Loading the official Grapy-ML / DeepLab v3+ checkpoints (``Charleshhy/Grapy-ML``).

A ``load_state_dict`` pre-hook on :class:`grapy_ml.GrapyML` renames official parameter names to
this package's, so ``MODEL.WEIGHTS`` may point at an official file (the ``deeplab_v3plus_v3.pth``
pre-training, a stage-1 DeepLab, a GPM or Grapy-ML model) through any Detectron2 checkpointer.
It includes the official renaming between training stages (methods.md §4.6):

- ``semantic.*`` (DeepLab v3+ classifier) -> the main classifier y of the model's first domain,
  like the official ``semantic`` -> ``gcn_network.sem`` copy; when a checkpoint has both (GPM
  checkpoints keep the stale ``semantic``), ``gcn_network.sem`` wins, and likewise
  ``gcn_network.sem_X`` over the stale ``semantic_aux_X`` of a Grapy-ML checkpoint;
- ``semantic_aux_{cihp,pascal,atr}`` (multi-task DeepLab) and ``gcn_network.sem_*`` -> the main
  classifiers of those domains; ``sem2[_*]`` -> the GPM classifiers;
- parameters the official models define but never use (``transform``) and heads of domains the
  model does not have are dropped (logged).

Checkpoints written by this package need no renaming between stages: a stage-1 DeepLab v3+ and
the stage-2 GPM share every name of the DeepLab part.
"""
import logging
import re
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ["is_official_state_dict", "official_name_map", "official_to_grapy_ml", "register_official_weights_hook"]

logger = logging.getLogger(__name__)

_OFFICIAL_SUFFIXES = ("cihp", "pascal", "atr")  # dataset ids 0, 1, 2 of the official code


def is_official_state_dict(state_dict: Dict) -> bool:
    return any(k.replace("module.", "", 1).startswith("xception_features.") for k in state_dict)


def _sep(rest: str) -> str:
    """Inside an official separable conv: ``depthwise_bn.x`` -> ``depthwise.norm.x`` etc."""
    return rest.replace("depthwise_bn.", "depthwise.norm.").replace("pointwise_bn.", "pointwise.norm.")


def _backbone(name: str) -> str:
    m = re.match(r"(conv[12])\.(.+)", name)
    if m:
        return f"backbone.{m.group(1)}.{m.group(2)}"
    m = re.match(r"bn([12])\.(.+)", name)
    if m:
        return f"backbone.conv{m.group(1)}.norm.{m.group(2)}"
    m = re.match(r"conv([345])\.(.+)", name)
    if m:
        return f"backbone.exit_convs.{int(m.group(1)) - 3}.{_sep(m.group(2))}"
    m = re.match(r"block(\d+)\.(.+)", name)
    if not m:
        raise KeyError(name)
    i, rest = int(m.group(1)), m.group(2)
    block = f"block{i}" if i in (1, 2, 3, 20) else f"middle.{i - 4}"
    if rest.startswith("skipbn."):
        return f"backbone.{block}.skip.norm.{rest[len('skipbn.'):]}"
    if rest.startswith("skip."):
        return f"backbone.{block}.{rest}"
    if rest.startswith("block2_lastconv.1."):
        return f"backbone.{block}.convs.2.{_sep(rest[len('block2_lastconv.1.'):])}"
    m = re.match(r"rep\.(\d+)\.(.+)", rest)
    j = int(m.group(1))
    k = j // 2 if i == 1 else (j - 1) // 2  # ReLUs sit between the convs of `rep`
    return f"backbone.{block}.convs.{k}.{_sep(m.group(2))}"


def _reasoning(rest: str) -> str:
    m = re.match(r"attn(\d)\.(query|key|value)_conv\.(.+)", rest)
    if m:
        return f"attn.{int(m.group(1)) - 1}.{m.group(2)}.{m.group(3)}"
    m = re.match(r"bn(\d)\.(.+)", rest)
    if m:
        return f"norms.{int(m.group(1)) - 1}.{m.group(2)}"
    return rest  # graph_transfer, graph_transfer_back


def _rename(name: str, dom: Dict[str, str], single: str, shared: Sequence[int]):
    """New name of an official parameter, or None to drop it."""
    D = "head.decoder."
    if name.startswith("xception_features."):
        return _backbone(name[len("xception_features."):])
    m = re.match(r"aspp1\.(atrous_convolution|bn)\.(.+)", name)
    if m:
        return D + ("aspp.convs.0." if m.group(1) == "atrous_convolution" else "aspp.convs.0.norm.") + m.group(2)
    m = re.match(r"aspp([234])\.atrous_convolution\.(.+)", name)
    if m:
        return D + f"aspp.convs.{int(m.group(1)) - 1}.{_sep(m.group(2))}"
    m = re.match(r"global_avg_pool\.([12])\.(.+)", name)
    if m:
        return D + "aspp.convs.4.1." + ("" if m.group(1) == "1" else "norm.") + m.group(2)
    for off, ours in (("concat_projection", "aspp.project"), ("feature_projection", "project")):
        m = re.match(off + r"_(conv|bn)1\.(.+)", name)
        if m:
            return D + ours + ("." if m.group(1) == "conv" else ".norm.") + m.group(2)
    m = re.match(r"decoder\.(\d)\.atrous_convolution\.(.+)", name)
    if m:
        return D + f"fuse.{m.group(1)}.{_sep(m.group(2))}"
    m = re.match(r"(?:semantic_aux|gcn_network\.sem)_(cihp|pascal|atr)\.(.+)", name)
    if m:
        d = dom[m.group(1)]
        return d and f"head.predictor.{d}.{m.group(2)}"
    m = re.match(r"(?:semantic|gcn_network\.sem)\.(.+)", name)
    if m:
        return f"head.predictor.{single}.{m.group(1)}"
    m = re.match(r"sem2(?:_(cihp|pascal|atr))?\.(.+)", name)
    if m:
        d = dom[m.group(1)] if m.group(1) else single
        return d and f"head.gpm_predictor.{d}.{m.group(2)}"
    m = re.match(r"gcn_network\.gcn_block_feature(?:(\d)|_(cihp|pascal|atr))\.(.+)", name)
    if m:
        lv = int(m.group(1)) if m.group(1) else 3
        d = dom[m.group(2)] if m.group(2) else single
        if d is None:
            return None
        prefix = f"head.gpm.reasoning.{lv}." if lv in shared else f"head.gpm.domain_reasoning.{d}.{lv}."
        return prefix + _reasoning(m.group(3))
    m = re.match(r"gcn_network\.(transform_lv(\d)|fusion)\.(.+)", name)
    if m:
        return ("head.gpm.transforms." + m.group(2) if m.group(2) else "head.gpm.fusion") + "." + m.group(3)
    if name.startswith("transform."):
        return None  # defined by GrapyNet / GrapyMutualLearning, never used
    raise KeyError(name)


def official_name_map(names: Sequence[str], domains: Sequence[str], official_domains: Sequence[str],
                      shared_levels: Sequence[int] = (1, 2)) -> Tuple[Dict[str, Optional[str]], List[str]]:
    """The one official -> ours name mapping, for official ``names`` (without ``module.``):
    ({name: our name, or None for an entry that is dropped}, [names it does not know]).

    ``domains``: the model's domains (label spaces); ``official_domains``: the label space of the
    official dataset ids 0, 1, 2.
    """
    dom = {s: (d if d in domains else None) for s, d in zip(_OFFICIAL_SUFFIXES, official_domains)}
    single = domains[0]
    # gcn_network.sem[_X] (the trained GPM main classifiers) win over the stale DeepLab copies
    # `semantic` / `semantic_aux_X` that GPM and Grapy-ML checkpoints keep
    stale = tuple(f"semantic{n[len('gcn_network.sem'):].split('.')[0].replace('_', '_aux_', 1)}."
                  for n in names if re.match(r"gcn_network\.sem(_[a-z]+)?\.", n))
    mapping, unknown = {}, []
    for name in names:
        if stale and name.startswith(stale):
            mapping[name] = None
            continue
        try:
            mapping[name] = _rename(name, dom, single, [int(x) for x in shared_levels])
        except (KeyError, AttributeError):
            unknown.append(name)
    return mapping, unknown


def official_to_grapy_ml(state_dict: Dict, domains: Sequence[str], official_domains: Sequence[str],
                         shared_levels: Sequence[int] = (1, 2)) -> Dict:
    """Rename an official state dict (optionally ``module.``-prefixed) to this package's names
    (:func:`official_name_map`). Unknown official names raise a ``KeyError`` naming them.
    """
    names = {(k[len("module."):] if k.startswith("module.") else k): k for k in state_dict}
    mapping, unknown = official_name_map(list(names), domains, official_domains, shared_levels)
    if unknown:
        raise KeyError(f"Official checkpoint has parameters this converter does not know: {unknown[:10]}")
    dropped = sorted(n for n, new in mapping.items() if new is None)
    if dropped:
        logger.info(f"Official checkpoint: {len(dropped)} unused entries dropped: {dropped[:12]} ...")
    return {new: state_dict[names[n]] for n, new in mapping.items() if new is not None}


def register_official_weights_hook(model, fmt: str, domains: List[str], official_domains: Sequence[str],
                                   shared_levels: Sequence[int]) -> None:
    """Make ``model.load_state_dict`` accept official checkpoints (``fmt``: auto, official, none)."""
    if fmt not in ("auto", "official", "none"):
        raise ValueError(f"MODEL.GRAPY_ML.WEIGHTS_FORMAT must be auto, official or none, got {fmt!r}")
    if fmt == "none":
        return

    def hook(state_dict, prefix, *args):
        if prefix or not (fmt == "official" or is_official_state_dict(state_dict)):
            return
        new = official_to_grapy_ml(dict(state_dict), domains, official_domains, shared_levels)
        state_dict.clear()
        state_dict.update(new)
        logger.info(f"Renamed an official Grapy-ML checkpoint: {len(new)} entries")

    model._register_load_state_dict_pre_hook(hook)
