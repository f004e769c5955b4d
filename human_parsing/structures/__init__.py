from .densepose import DensePoseGT, DensePoseList, densepose_roi_targets
from .parsing import ParsingMaps, PersonParsing

__all__ = ["ParsingMaps", "PersonParsing", "DensePoseGT", "DensePoseList", "densepose_roi_targets"]
