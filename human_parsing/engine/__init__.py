from .checkpoint import AtomicCheckpointer, ParsingCheckpointer, build_checkpointer
from .trainer import (
    DeviceAMPTrainer,
    ParsingTrainer,
    TTA_REGISTRY,
    build_train_loop,
    build_tta_model,
    shutdown_distributed,
)

__all__ = ["ParsingTrainer", "DeviceAMPTrainer", "AtomicCheckpointer", "ParsingCheckpointer",
           "build_checkpointer", "build_train_loop", "build_tta_model", "shutdown_distributed", "TTA_REGISTRY"]
