"""One trainer for every human-parsing method.

``ParsingTrainer`` is Detectron2's ``DefaultTrainer`` with three changes: data loaders use the
mapper named by ``INPUT.MAPPER_NAME``, evaluation uses the parsing evaluators chosen from the
dataset's ``evaluator_type``, and DistributedDataParallel also works for CPU models (gloo), where
PyTorch rejects ``device_ids``.
"""
import json
import logging
import os
import weakref

import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import MetadataCatalog, build_detection_test_loader, build_detection_train_loader
from detectron2.engine import AMPTrainer, DefaultTrainer, SimpleTrainer, TrainerBase
from detectron2.evaluation import DatasetEvaluators
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger
from detectron2.utils.registry import Registry
from torch.nn.parallel import DistributedDataParallel

__all__ = ["ParsingTrainer", "create_ddp_model", "build_tta_model", "TTA_REGISTRY"]

logger = logging.getLogger(__name__)

TTA_REGISTRY = Registry("PARSING_TTA")
TTA_REGISTRY.__doc__ = """
Test-time-augmentation wrappers, registered under the name of the meta-architecture they wrap
(``cfg.MODEL.META_ARCHITECTURE``). Called with ``obj(cfg, model)``; returns a module with the same
inference interface as the model.
"""


def build_tta_model(cfg, model):
    """Wrap ``model`` in the TTA registered for its meta-architecture; a
    ``SemanticParsingModel`` without one gets ``SemanticParsingWithTTA``."""
    name = cfg.MODEL.META_ARCHITECTURE
    if name not in TTA_REGISTRY:
        from human_parsing.modeling.semantic import SemanticParsingModel
        from human_parsing.modeling.semantic_tta import SemanticParsingWithTTA

        inner = model.module if isinstance(model, DistributedDataParallel) else model
        if isinstance(inner, SemanticParsingModel):  # every semantic model has the shared TTA
            return SemanticParsingWithTTA(cfg, model)
        raise ValueError(f"No test-time augmentation is registered for meta-architecture {name!r}")
    return TTA_REGISTRY.get(name)(cfg, model)


def create_ddp_model(model, **kwargs):
    """Wrap in DDP when running with several processes; ``device_ids`` only for CUDA models."""
    if comm.get_world_size() == 1:
        return model
    on_cuda = next(model.parameters()).is_cuda
    kwargs.setdefault("device_ids", [comm.get_local_rank()] if on_cuda else None)
    return DistributedDataParallel(model, **kwargs)


def _write_results(cfg, results, filename):
    if comm.is_main_process() and cfg.OUTPUT_DIR:
        os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
        with open(os.path.join(cfg.OUTPUT_DIR, filename), "w") as f:
            json.dump(results, f, indent=1, default=float)


class ParsingTrainer(DefaultTrainer):
    """``DefaultTrainer`` for parsing models (see module docstring)."""

    def __init__(self, cfg):
        TrainerBase.__init__(self)
        if not logging.getLogger("detectron2").isEnabledFor(logging.INFO):
            setup_logger()
        cfg = DefaultTrainer.auto_scale_workers(cfg, comm.get_world_size())
        if comm.get_world_size() > 1 and cfg.MODEL.DEVICE == "cpu":
            # processes share the cores; more threads each only slows them down
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // comm.get_local_size()))
        model = self.build_model(cfg)
        optimizer = self.build_optimizer(cfg, model)
        data_loader = self.build_train_loader(cfg)
        # multi-domain models leave the heads of the domains absent from a batch unused
        multi_domain = cfg.DATALOADER.MULTI_DOMAIN.ENABLED or len(cfg.MODEL.SEMANTIC.DOMAINS) > 1
        model = create_ddp_model(model, broadcast_buffers=False, find_unused_parameters=multi_domain)
        self._trainer = (AMPTrainer if cfg.SOLVER.AMP.ENABLED else SimpleTrainer)(
            model, data_loader, optimizer
        )
        self.scheduler = self.build_lr_scheduler(cfg, optimizer)
        self.checkpointer = DetectionCheckpointer(model, cfg.OUTPUT_DIR, trainer=weakref.proxy(self))
        self.start_iter = 0
        self.max_iter = cfg.SOLVER.MAX_ITER
        self.cfg = cfg
        self.register_hooks(self.build_hooks())

    @classmethod
    def build_optimizer(cls, cfg, model):
        """SGD or AdamW from ``SOLVER.OPTIMIZER`` (human_parsing/engine/optimizer.py)."""
        from .optimizer import build_optimizer

        return build_optimizer(cfg, model)

    @classmethod
    def build_lr_scheduler(cls, cfg, optimizer):
        """Detectron2's schedulers plus DeepLab's ``WarmupPolyLR`` (PGN's poly decay)."""
        from detectron2.projects.deeplab import build_lr_scheduler

        return build_lr_scheduler(cfg, optimizer)

    @classmethod
    def build_train_loader(cls, cfg):
        """``DATALOADER.MULTI_DOMAIN.ENABLED``: :func:`build_multi_domain_train_loader`; else
        Detectron2's loader with records tagged by their (single) label space as ``"domain"``."""
        from human_parsing.data.domains import single_train_domain
        from human_parsing.data.mappers import build_mapper
        from human_parsing.data.samplers import TagDomain, build_multi_domain_train_loader

        if cfg.DATALOADER.MULTI_DOMAIN.ENABLED:
            return build_multi_domain_train_loader(cfg)
        domain = single_train_domain(cfg)  # raises on mixed label spaces
        mapper = build_mapper(cfg, is_train=True)
        return build_detection_train_loader(cfg, mapper=TagDomain(mapper, domain) if domain else mapper)

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        """Records carry their dataset's label space as ``"domain"``; with
        ``DATALOADER.MULTI_DOMAIN.ENABLED`` the mapper is built in that label space."""
        from human_parsing.data.mappers import build_mapper
        from human_parsing.data.samplers import TagDomain, build_domain_mappers

        domain = MetadataCatalog.get(dataset_name).get("label_space", "")
        if domain and cfg.DATALOADER.MULTI_DOMAIN.ENABLED:
            mapper = build_domain_mappers(cfg, [domain], is_train=False)
        else:
            mapper = build_mapper(cfg, is_train=False)
        if domain:
            mapper = TagDomain(mapper, domain)
        return build_detection_test_loader(cfg, dataset_name, mapper=mapper)

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        from human_parsing.evaluation import build_parsing_evaluator

        if output_folder is None:
            output_folder = os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        return DatasetEvaluators([build_parsing_evaluator(cfg, dataset_name, output_folder)])

    @classmethod
    def test(cls, cfg, model, evaluators=None):
        """Detectron2's evaluation loop; the results also go to ``OUTPUT_DIR/eval_results.json``."""
        results = super().test(cfg, model, evaluators)
        _write_results(cfg, results, "eval_results.json")
        return results

    @classmethod
    def test_with_TTA(cls, cfg, model):
        """Evaluate ``model`` wrapped in its method's test-time augmentation."""
        logger.info("Running inference with test-time augmentation ...")
        model = build_tta_model(cfg, model)
        evaluators = [
            cls.build_evaluator(cfg, name, os.path.join(cfg.OUTPUT_DIR, "inference_TTA", name))
            for name in cfg.DATASETS.TEST
        ]
        res = super().test(cfg, model, evaluators)
        res = {k + "_TTA": v for k, v in res.items()}
        _write_results(cfg, res, "eval_results_TTA.json")
        return res
