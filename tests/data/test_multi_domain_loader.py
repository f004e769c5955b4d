"""build_multi_domain_train_loader and the trainer's loaders on tiny ATR + PASCAL-Person-Part
fixtures: records carry "domain" through the mapper, per-domain mappers, config errors."""
import itertools

import numpy as np
import pytest
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog

from human_parsing.config import add_human_parsing_config
from human_parsing.data import register_semantic_parsing
from human_parsing.data.domains import check_num_classes, resolve_domains, train_dataset_domains
from human_parsing.data.label_spaces import get_label_space
from human_parsing.data.io import read_label_map
from human_parsing.data.samplers import build_domain_mappers, build_multi_domain_train_loader
from human_parsing.engine import ParsingTrainer
from tests.data.fixtures import write_semantic

NAMES = {"atr": "mdtest_atr_train", "pascal_person_part": "mdtest_pascal_train"}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    for layout, name in NAMES.items():
        if name not in DatasetCatalog.list():
            root = write_semantic(tmp_path_factory.mktemp(layout), layout)
            register_semantic_parsing(name, layout, root, "train")
    return NAMES


def _cfg(train, **kw):
    cfg = get_cfg()
    add_human_parsing_config(cfg)
    cfg.INPUT.MAPPER_NAME = "SemanticParsingDatasetMapper"
    cfg.INPUT.PARSING.RESIZE_TYPE = "none"
    cfg.INPUT.PARSING.FLIP_PROB = 1.0
    cfg.INPUT.FORMAT = "RGB"
    cfg.DATASETS.TRAIN = tuple(train)
    cfg.DATASETS.TEST = ()
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.DATALOADER.MULTI_DOMAIN.ENABLED = True
    cfg.SOLVER.IMS_PER_BATCH = 2
    for k, v in kw.items():
        cfg.merge_from_list([k, v])
    return cfg


def test_homogeneous_loader_tags_domains_and_maps_per_domain(datasets):
    cfg = _cfg(datasets.values())
    loader = build_multi_domain_train_loader(cfg)
    gts = {r["file_name"]: r["sem_seg_file_name"] for n in NAMES.values() for r in DatasetCatalog.get(n)}
    seen = set()
    for batch in itertools.islice(iter(loader), 6):
        assert len(batch) == 2
        (domain,) = {x["domain"] for x in batch}
        seen.add(domain)
        for x in batch:
            # flip prob 1: the label is mirrored and swapped with *its domain's* table
            gt = get_label_space(domain).flip_lut[read_label_map(gts[x["file_name"]])[:, ::-1]]
            np.testing.assert_array_equal(x["sem_seg"].numpy(), gt)
            assert x["image"].shape[-2:] == x["sem_seg"].shape
    assert seen == {"atr", "pascal_person_part"}
    mappers = build_domain_mappers(cfg, ["atr", "pascal_person_part"], is_train=True).mappers
    for d in ("atr", "pascal_person_part"):
        assert mappers[d].label_space.name == d
        np.testing.assert_array_equal(mappers[d].augmentations.augs[0].flip_lut, get_label_space(d).flip_lut)


def test_mixed_loader_counts(datasets):
    cfg = _cfg(datasets.values(), **{"DATALOADER.MULTI_DOMAIN.SAMPLER": "mixed", "SOLVER.IMS_PER_BATCH": 3,
                                     "DATALOADER.MULTI_DOMAIN.MIXED_COUNTS": "(1, 2)"})
    for batch in itertools.islice(iter(build_multi_domain_train_loader(cfg)), 3):
        assert [x["domain"] for x in batch] == ["atr", "pascal_person_part", "pascal_person_part"]
    cfg.DATALOADER.MULTI_DOMAIN.MIXED_COUNTS = (1, 1)
    with pytest.raises(ValueError, match="MIXED_COUNTS=.*sums to 2, not SOLVER.IMS_PER_BATCH=3"):
        build_multi_domain_train_loader(cfg)


def test_trainer_uses_multi_domain_loader_and_tags_single_domain(datasets):
    batch = next(iter(ParsingTrainer.build_train_loader(_cfg(datasets.values()))))
    assert len({x["domain"] for x in batch}) == 1
    cfg = _cfg([NAMES["atr"]], **{"DATALOADER.MULTI_DOMAIN.ENABLED": False})
    batch = next(iter(ParsingTrainer.build_train_loader(cfg)))
    assert [x["domain"] for x in batch] == ["atr", "atr"]
    test = list(ParsingTrainer.build_test_loader(cfg, NAMES["pascal_person_part"]))
    assert [x["domain"] for b in test for x in b] == ["pascal_person_part"] * 2


def test_domain_config_errors(datasets):
    cfg = _cfg(datasets.values(), **{"MODEL.SEMANTIC.DOMAINS": "('cihp', 'atr')"})
    with pytest.raises(ValueError, match="'mdtest_pascal_train' has label space 'pascal_person_part', which is not in"):
        build_multi_domain_train_loader(cfg)
    cfg = _cfg(datasets.values(), **{"DATALOADER.MULTI_DOMAIN.ENABLED": False})
    with pytest.raises(ValueError, match="mixes label spaces .* no domain mapping"):
        ParsingTrainer.build_train_loader(cfg)
    cfg = _cfg(datasets.values(), **{"MODEL.SEMANTIC.DOMAINS": "('cihp', 'nope')"})
    with pytest.raises(ValueError, match="MODEL.SEMANTIC.DOMAINS: 'nope' is not a label space"):
        resolve_domains(cfg)
    cfg = _cfg(datasets.values(), **{"DATALOADER.MULTI_DOMAIN.SAMPLER": "bogus"})
    with pytest.raises(ValueError, match="SAMPLER='bogus'"):
        build_multi_domain_train_loader(cfg)
    cfg = _cfg(datasets.values())
    assert resolve_domains(cfg) == ["atr", "pascal_person_part"]
    assert train_dataset_domains(cfg) == {NAMES["atr"]: "atr", NAMES["pascal_person_part"]: "pascal_person_part"}


def test_check_num_classes():
    check_num_classes({"atr": 18, "cihp": 20}, ["cihp", "atr"], "MODEL.X.NUM_CLASSES")
    check_num_classes(7, ["pascal_person_part"], "MODEL.SEM_SEG_HEAD.NUM_CLASSES")
    with pytest.raises(ValueError, match="MODEL.X.NUM_CLASSES: domain 'atr' has 18 classes .* says 20"):
        check_num_classes({"atr": 20, "cihp": 20}, ["cihp", "atr"], "MODEL.X.NUM_CLASSES")
    with pytest.raises(ValueError, match="has keys"):
        check_num_classes({"atr": 18}, ["cihp", "atr"], "MODEL.X.NUM_CLASSES")
    with pytest.raises(ValueError, match="one number but there are domains"):
        check_num_classes(20, ["cihp", "atr"], "MODEL.SEM_SEG_HEAD.NUM_CLASSES")
