"""Label domains of multi-dataset semantic parsing (Grapy-ML, SST; semantic_interface.md §1).

A record's ``"domain"`` is the *label-space name* of its dataset's metadata. A model has one head
per domain in ``MODEL.SEMANTIC.DOMAINS`` (empty = the label spaces of ``DATASETS.TRAIN``). Every
check here raises ``ValueError`` naming the dataset or config key, before training starts.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Union

from detectron2.data import MetadataCatalog

from .label_spaces import LABEL_SPACES, get_label_space

__all__ = [
    "dataset_domain",
    "resolve_domains",
    "train_dataset_domains",
    "resolve_test_domain",
    "pick_domain",
    "single_train_domain",
    "check_num_classes",
]


def _check_known(name: str, where: str) -> str:
    if name not in LABEL_SPACES:
        raise ValueError(f"{where}: {name!r} is not a label space; known: {sorted(LABEL_SPACES)}")
    return name


def dataset_domain(dataset_name: str) -> str:
    """The domain of a registered dataset: its metadata's ``label_space``."""
    name = MetadataCatalog.get(dataset_name).get("label_space", "")
    if not name:
        raise ValueError(
            f"Dataset {dataset_name!r} has no 'label_space' in its metadata, so its records have "
            "no domain; register it with one (human_parsing.data.datasets.builtin._set_metadata)"
        )
    return _check_known(name, f"metadata of dataset {dataset_name!r}")


def resolve_domains(cfg) -> List[str]:
    """``MODEL.SEMANTIC.DOMAINS``, or the distinct label spaces of ``DATASETS.TRAIN`` in order
    (then of ``DATASETS.TEST``, then ``INPUT.LABEL_SPACE``, for inference-only configs)."""
    domains = list(cfg.MODEL.SEMANTIC.DOMAINS)
    if domains:
        if len(set(domains)) != len(domains):
            raise ValueError(f"MODEL.SEMANTIC.DOMAINS has duplicates: {domains}")
        return [_check_known(d, "MODEL.SEMANTIC.DOMAINS") for d in domains]
    for names in (cfg.DATASETS.TRAIN, cfg.DATASETS.TEST):
        for n in names:
            d = dataset_domain(n)
            if d not in domains:
                domains.append(d)
        if domains:
            return domains
    if cfg.INPUT.LABEL_SPACE:
        return [_check_known(cfg.INPUT.LABEL_SPACE, "INPUT.LABEL_SPACE")]
    raise ValueError(
        "Cannot tell the model's domains: set MODEL.SEMANTIC.DOMAINS, DATASETS.TRAIN or INPUT.LABEL_SPACE"
    )


def train_dataset_domains(cfg, dataset_names: Optional[Sequence[str]] = None) -> Dict[str, str]:
    """``{dataset: domain}`` for ``dataset_names`` (default ``DATASETS.TRAIN``); every domain
    must be one of :func:`resolve_domains`."""
    domains = resolve_domains(cfg)
    names = list(cfg.DATASETS.TRAIN if dataset_names is None else dataset_names)
    out = {}
    for n in names:
        d = dataset_domain(n)
        if d not in domains:
            raise ValueError(
                f"Dataset {n!r} has label space {d!r}, which is not in MODEL.SEMANTIC.DOMAINS="
                f"{tuple(domains)}: add it there (the model needs a head for it)"
            )
        out[n] = d
    return out


def single_train_domain(cfg) -> Optional[str]:
    """The one label space of ``DATASETS.TRAIN`` for single-domain loaders (None when a dataset
    has no ``label_space`` metadata). Several label spaces without
    ``DATALOADER.MULTI_DOMAIN.ENABLED`` (no domain mapping) are an error."""
    spaces = {}
    for n in cfg.DATASETS.TRAIN:
        ls = MetadataCatalog.get(n).get("label_space", "")
        if not ls:
            return None
        spaces[n] = ls
    if len(set(spaces.values())) > 1:
        raise ValueError(
            f"DATASETS.TRAIN mixes label spaces {spaces} but DATALOADER.MULTI_DOMAIN.ENABLED is "
            "False, so there is no domain mapping: enable it (one head per domain in "
            "MODEL.SEMANTIC.DOMAINS) or train on datasets of one label space"
        )
    if not spaces:
        return None
    domain = next(iter(spaces.values()))
    if cfg.MODEL.SEMANTIC.DOMAINS:
        train_dataset_domains(cfg)  # the domain must be configured
    return domain


def resolve_test_domain(cfg, input_domain: Optional[str] = None,
                        domains: Optional[Sequence[str]] = None) -> str:
    """The domain used at inference: ``MODEL.SEMANTIC.TEST_DOMAIN`` if set, else
    ``input_domain`` (the record's), else the first domain. Must be one of ``domains``."""
    domains = list(resolve_domains(cfg) if domains is None else domains)
    return pick_domain(domains, cfg.MODEL.SEMANTIC.TEST_DOMAIN, input_domain)


def pick_domain(domains: Sequence[str], test_domain: str = "", input_domain: Optional[str] = None) -> str:
    """:func:`resolve_test_domain` without a config (used by models)."""
    if test_domain:
        if test_domain not in domains:
            raise ValueError(
                f"MODEL.SEMANTIC.TEST_DOMAIN={test_domain!r} is not one of the model's domains "
                f"{tuple(domains)}"
            )
        return test_domain
    if input_domain:
        if input_domain not in domains:
            raise ValueError(
                f"Input domain {input_domain!r} is not one of the model's domains {tuple(domains)}; "
                "set MODEL.SEMANTIC.TEST_DOMAIN (apply_net --domain) to choose a head"
            )
        return input_domain
    return domains[0]


def check_num_classes(num_classes: Union[int, Mapping[str, int]], domains: Sequence[str], key: str) -> None:
    """Check a method's class-count config ``key`` against the domains' label spaces: an int
    needs a single domain with that many classes; a mapping needs exactly the domains as keys."""
    if isinstance(num_classes, Mapping):
        if set(num_classes) != set(domains):
            raise ValueError(f"{key} has keys {sorted(num_classes)} but the domains are {list(domains)}")
        items = list(num_classes.items())
    else:
        if len(domains) != 1:
            raise ValueError(f"{key}={num_classes} is one number but there are domains {list(domains)}")
        items = [(domains[0], num_classes)]
    for d, k in items:
        expected = get_label_space(d).num_classes
        if int(k) != expected:
            raise ValueError(f"{key}: domain {d!r} has {expected} classes in its label space, config says {k}")
