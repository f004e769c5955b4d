"""Human-parsing evaluation: the field's metrics, number for number with the official scripts.

* :mod:`.semantic` — pixel accuracy, mean accuracy, (per-class) IoU, mIoU, fwIoU (one confusion matrix).
* :mod:`.instance` — APp@t, APp50, APp_vol, PCP (Parsing R-CNN / MHP v2).
* :mod:`.region` — APr@t, APr50, APr_vol (PGN / CIHP part instances).
* :mod:`.atr` — ATR accuracy, foreground accuracy, precision, recall, F-1.
* :mod:`.global_map` — global part map and part instances painted from per-person predictions.
* :mod:`.pipeline` — the per-image core and final summary (numpy only) shared by all entry points.
* :mod:`.parsing_evaluator` — the streaming, distributed Detectron2 ``ParsingEvaluator``.
* :mod:`.formats` — open prediction / GT formats used by ``tools/evaluate_parsing.py``.
* :mod:`.densepose`, :mod:`.geodesics`, :mod:`.densepose_evaluator` — DensePose GPS / GPSm AP
  (official ``densepose_cocoeval``), its geodesic providers and the ``DensePoseEvaluator``.
"""

from .atr import atr_metrics
from .global_map import paint_instances, part_instances, semseg_score_thresh_for
from .instance import app_image_record, crops_from_full, evaluate_app
from .pipeline import ParsingEvalOptions, image_record, summarize
from .region import evaluate_apr, region_image_record
from .semantic import confusion_matrix, semantic_metrics
from .voc import DEFAULT_THRESHOLDS, voc_ap

__all__ = [
    "ParsingEvalOptions",
    "image_record",
    "summarize",
    "DEFAULT_THRESHOLDS",
    "app_image_record",
    "atr_metrics",
    "confusion_matrix",
    "crops_from_full",
    "evaluate_app",
    "evaluate_apr",
    "paint_instances",
    "part_instances",
    "region_image_record",
    "semantic_metrics",
    "semseg_score_thresh_for",
    "voc_ap",
    "ParsingEvaluator",
    "build_parsing_evaluator",
]


def __getattr__(name):
    # The evaluator imports torch/Detectron2; load it only when asked for, so the numpy metrics
    # (and the CLI's worker processes) stay light.
    if name in ("ParsingEvaluator", "build_parsing_evaluator"):
        from . import parsing_evaluator

        return getattr(parsing_evaluator, name)
    raise AttributeError(name)
