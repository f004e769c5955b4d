from .checkpoint import AtomicCheckpointer
from .trainer import ParsingTrainer, build_tta_model, TTA_REGISTRY

__all__ = ["AtomicCheckpointer", "ParsingTrainer", "build_tta_model", "TTA_REGISTRY"]
