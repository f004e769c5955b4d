"""The domains (label spaces) a Grapy-ML model has heads for (semantic_interface.md §1)."""
from typing import List

from detectron2.data import MetadataCatalog

from human_parsing.data.label_spaces import LABEL_SPACES

__all__ = ["resolve_domains", "dataset_domain"]


def dataset_domain(name: str) -> str:
    """The label-space name of a registered dataset, with a clear error when it has none."""
    ls = MetadataCatalog.get(name).get("label_space")
    if not ls:
        raise ValueError(f"Dataset {name!r} has no 'label_space' metadata, so its domain is unknown")
    return ls


def resolve_domains(cfg) -> List[str]:
    """``MODEL.SEMANTIC.DOMAINS`` if set, else the label spaces of ``DATASETS.TRAIN`` (then
    ``DATASETS.TEST``) in order. Every training dataset's label space must be a configured domain."""
    domains = list(cfg.MODEL.SEMANTIC.DOMAINS)
    for d in domains:
        if d not in LABEL_SPACES:
            raise ValueError(f"MODEL.SEMANTIC.DOMAINS: {d!r} is not a label space ({sorted(LABEL_SPACES)})")
    if len(set(domains)) != len(domains):
        raise ValueError(f"MODEL.SEMANTIC.DOMAINS has duplicates: {domains}")
    train = [(n, dataset_domain(n)) for n in cfg.DATASETS.TRAIN]
    if not domains:
        for _, d in train or [(n, dataset_domain(n)) for n in cfg.DATASETS.TEST]:
            if d not in domains:
                domains.append(d)
    for name, d in train:
        if d not in domains:
            raise ValueError(f"DATASETS.TRAIN: dataset {name!r} has label space {d!r}, which is not in "
                             f"MODEL.SEMANTIC.DOMAINS {domains}")
    if not domains:
        raise ValueError("No domain: set MODEL.SEMANTIC.DOMAINS or DATASETS.TRAIN/TEST")
    test = cfg.MODEL.SEMANTIC.TEST_DOMAIN
    if test and test not in domains:
        raise ValueError(f"MODEL.SEMANTIC.TEST_DOMAIN {test!r} is not a configured domain {domains}")
    return domains
