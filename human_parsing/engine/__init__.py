from .trainer import ParsingTrainer, build_tta_model, TTA_REGISTRY

__all__ = ["ParsingTrainer", "build_tta_model", "TTA_REGISTRY"]
