"""One trainer for every human-parsing method.

``ParsingTrainer`` is Detectron2's ``DefaultTrainer`` with four changes: data loaders use the
mapper named by ``INPUT.MAPPER_NAME``, evaluation uses the parsing evaluators chosen from the
dataset's ``evaluator_type``, DistributedDataParallel also works for CPU models (gloo), where
PyTorch rejects ``device_ids``, ``SOLVER.AMP.ENABLED`` also works on CPU (bfloat16 autocast), and
checkpoints are written to a temporary name then renamed
(:class:`~human_parsing.engine.checkpoint.AtomicCheckpointer`).
"""
import json
import logging
import os
import time
import weakref

import torch
from detectron2.data import MetadataCatalog, build_detection_test_loader, build_detection_train_loader
from detectron2.engine import AMPTrainer, DefaultTrainer, SimpleTrainer, TrainerBase
from detectron2.evaluation import DatasetEvaluators
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger
from detectron2.utils.registry import Registry
from torch.nn.parallel import DistributedDataParallel

from .checkpoint import build_checkpointer

__all__ = [
    "ParsingTrainer",
    "DeviceAMPTrainer",
    "build_train_loop",
    "create_ddp_model",
    "shutdown_distributed",
    "build_tta_model",
    "TTA_REGISTRY",
]

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


def shutdown_distributed() -> None:
    """End a ``launch``-ed process's process group cleanly: wait for every rank, then destroy it.
    Detectron2's worker returns with the group alive; a gloo rank whose peer already closed its
    connection can then abort at exit ("terminate called without an active exception")."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        comm.synchronize()
        torch.distributed.destroy_process_group()


def create_ddp_model(model, **kwargs):
    """Wrap in DDP when running with several processes; ``device_ids`` only for CUDA models."""
    if comm.get_world_size() == 1:
        return model
    on_cuda = next(model.parameters()).is_cuda
    kwargs.setdefault("device_ids", [comm.get_local_rank()] if on_cuda else None)
    return DistributedDataParallel(model, **kwargs)


_AMP_PRECISIONS = {"float16": torch.float16, "bfloat16": torch.bfloat16}


class DeviceAMPTrainer(AMPTrainer):
    """Detectron2's ``AMPTrainer`` for any device: autocast on the model's device type (CPU too,
    where ``AMPTrainer`` asserts CUDA and uses ``torch.cuda.amp``). Loss scaling only for float16:
    bfloat16 has float32's exponent range, so its gradients do not underflow."""

    def __init__(self, model, data_loader, optimizer, precision: torch.dtype = torch.float16, **kwargs):
        self.device_type = next(model.parameters()).device.type
        scaler = torch.amp.GradScaler(self.device_type, enabled=precision == torch.float16)
        super().__init__(model, data_loader, optimizer, grad_scaler=scaler, precision=precision, **kwargs)

    def run_step(self):
        assert self.model.training, "[DeviceAMPTrainer] model was changed to eval mode!"
        start = time.perf_counter()
        data = next(self._data_loader_iter)
        data_time = time.perf_counter() - start
        if self.zero_grad_before_forward:
            self.optimizer.zero_grad()
        with torch.autocast(self.device_type, dtype=self.precision):
            loss_dict = self.model(data)
            if isinstance(loss_dict, torch.Tensor):
                loss_dict = {"total_loss": loss_dict}
            losses = sum(loss_dict.values())
        if not self.zero_grad_before_forward:
            self.optimizer.zero_grad()
        self.grad_scaler.scale(losses).backward()
        self.after_backward()
        self._write_metrics(loss_dict, data_time)
        self.grad_scaler.step(self.optimizer)
        self.grad_scaler.update()


def build_train_loop(cfg, model, data_loader, optimizer) -> SimpleTrainer:
    """``SimpleTrainer``, or with ``SOLVER.AMP.ENABLED`` a ``DeviceAMPTrainer`` in
    ``SOLVER.AMP.PRECISION`` ("auto": float16 on CUDA as Detectron2, bfloat16 elsewhere)."""
    if not cfg.SOLVER.AMP.ENABLED:
        return SimpleTrainer(model, data_loader, optimizer)
    name = cfg.SOLVER.AMP.get("PRECISION", "auto")
    if name == "auto":
        name = "float16" if next(model.parameters()).is_cuda else "bfloat16"
    if name not in _AMP_PRECISIONS:
        raise ValueError(f"SOLVER.AMP.PRECISION must be 'auto' or one of {sorted(_AMP_PRECISIONS)}, got {name!r}")
    return DeviceAMPTrainer(model, data_loader, optimizer, precision=_AMP_PRECISIONS[name])


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
        self._trainer = build_train_loop(cfg, model, data_loader, optimizer)
        self.scheduler = self.build_lr_scheduler(cfg, optimizer)
        self.checkpointer = build_checkpointer(cfg, model, cfg.OUTPUT_DIR, trainer=weakref.proxy(self))
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
        """By the dataset's ``evaluator_type``: "parsing" / "sem_seg_parsing" → ``ParsingEvaluator``
        (+ ``ParsingBoxEvaluator`` for "parsing" with ``TEST.PARSING_EVAL.BOX_AP``); "coco" (e.g.
        COCO keypoints for the keypoint pre-training) → Detectron2's ``COCOEvaluator`` with the
        official COCO API; "densepose" → ``DensePoseEvaluator`` (GPS/GPSm AP)."""
        from detectron2.data import MetadataCatalog
        from detectron2.evaluation import COCOEvaluator

        from human_parsing.evaluation import build_parsing_evaluator
        from human_parsing.evaluation.box import ParsingBoxEvaluator
        from human_parsing.evaluation.densepose_evaluator import build_densepose_evaluator

        if output_folder is None:
            output_folder = os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        etype = MetadataCatalog.get(dataset_name).get("evaluator_type", "parsing")
        if etype == "coco":
            return COCOEvaluator(dataset_name, output_dir=output_folder, use_fast_impl=False)
        if etype == "densepose":
            return DatasetEvaluators([build_densepose_evaluator(cfg, dataset_name, output_folder)])
        evaluators = [build_parsing_evaluator(cfg, dataset_name, output_folder)]
        if etype == "parsing" and cfg.TEST.PARSING_EVAL.BOX_AP:
            evaluators.append(ParsingBoxEvaluator(dataset_name, output_folder,
                                                  area=cfg.TEST.PARSING_EVAL.BOX_AREA))
        return DatasetEvaluators(evaluators)

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
