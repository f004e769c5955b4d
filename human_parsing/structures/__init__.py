from .densepose import DensePoseCharts, DensePoseGT, DensePoseList, densepose_roi_targets
from .parsing import ParsingMaps, PersonParsing

__all__ = ["ParsingMaps", "PersonParsing", "DensePoseGT", "DensePoseList", "DensePoseCharts",
           "densepose_roi_targets"]
