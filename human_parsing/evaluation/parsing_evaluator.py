"""The streaming, distributed Detectron2 evaluator of human parsing, and its per-image core.

Results (Detectron2-style nested dict; every value a percentage, i.e. fraction x 100):

* ``"parsing"``: ``mIoU``, ``pixAcc``, ``meanAcc``, ``fwIoU``, ``IoU-<class>`` (semantic metrics of the
  global part map, metrics.md §2); for instance datasets also ``APp50``, ``APp_vol``, ``PCP50`` and
  ``APp@t`` / ``PCP@t`` for t = 0.1 … 0.9 (metrics.md §3).
* ``"region"`` (instance datasets): ``APr50``, ``APr_vol``, ``APr@t``, ``APr50-<class>`` (metrics.md §4).
* ``"atr"`` (ATR label space): ``acc``, ``fg_acc``, ``precision``, ``recall``, ``f1``, ``f1_of_means`` (§5).

Streaming: per image only a confusion matrix (summed), the (D, G) person overlaps with part counts
and the sparse part-instance IoUs are kept; all matching happens in :meth:`evaluate` on rank 0
after ``comm.gather``, over images sorted by ``image_id`` (the official order).
"""
import itertools
import json
import logging
import os
from dataclasses import dataclass, replace
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from detectron2.data import MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm

from .atr import atr_metrics
from .formats import write_cihp_submission, write_instances
from .global_map import paint_instances, part_instances, semseg_score_thresh_for
from .instance import SCORE_THRESH, app_image_record, evaluate_app, person_boxes
from .region import evaluate_apr, region_image_record
from .semantic import confusion_matrix, semantic_metrics
from .voc import DEFAULT_THRESHOLDS

__all__ = ["ParsingEvalOptions", "image_record", "summarize", "image_sort_key",
           "ParsingEvaluator", "build_parsing_evaluator"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParsingEvalOptions:
    """Every convention of the evaluation (defaults = the official scripts)."""

    num_classes: int
    class_names: Optional[Tuple[str, ...]] = None
    metrics: Tuple[str, ...] = ("semantic", "app", "apr")  # plus "atr"
    thresholds: Tuple[float, ...] = DEFAULT_THRESHOLDS
    score_thresh: float = SCORE_THRESH  # APp: detections below are ignored
    semseg_score_thresh: float = 0.3  # global map: people below are not painted
    region_score_thresh: Optional[float] = None  # APr part instances; None = semseg_score_thresh
    empty_images: str = "skip"  # images with no detection in mIoU: "skip" (official) | "background"
    averaging: str = "official"  # semantic class averaging, see semantic.py
    apr_matching: str = "official"  # "official" (many-to-one) | "one_to_one"
    count_empty_gt: bool = True  # APp npos counts people with empty maps (Parsing R-CNN)
    atr_include_background: bool = True


def image_sort_key(image_id):
    """Order of images in the final matching (decides the order of equal scores): integer and
    all-digit ids numerically (Parsing R-CNN sorts COCO ids), then the others as strings."""
    s = str(image_id)
    return (0, int(s), s) if s.isdigit() else (1, 0, s)


def image_record(gt: dict, pred: Optional[dict], opts: ParsingEvalOptions, name: str) -> dict:
    """Reduce one image to the small arrays the final metrics need.

    Args:
        gt: ``sem`` (H, W) and/or ``persons`` (G, H, W) uint8, optional ``part_layers`` (region.py).
        pred: None (no prediction: counted as no detection) or a dict with any of ``sem`` (H, W);
            ``crops``/``offsets``/``scores`` (people); ``part_ids``/``part_classes``/``part_scores``
            (part instances, PGN style); ``size`` (H, W) of the person maps.
        name: names the prediction in error messages.
    Returns:
        ``{"hist": (C, C) or None, "app": record or None, "apr": record or None}``.
    """
    C, pred = opts.num_classes, pred or {}
    persons = gt.get("persons")
    hw = gt["sem"].shape if gt.get("sem") is not None else persons.shape[1:]
    for key in ("sem", "part_ids"):
        if pred.get(key) is not None and tuple(pred[key].shape) != tuple(hw):
            raise ValueError(f"{name}: prediction size {tuple(pred[key].shape)} != GT size {tuple(hw)}")
    if pred.get("size") is not None and tuple(pred["size"]) != tuple(hw):
        raise ValueError(f"{name}: person map size {tuple(pred['size'])} != GT size {tuple(hw)}")
    crops = pred.get("crops", [])
    offsets = pred.get("offsets", np.zeros((0, 2), np.int64))
    scores = np.asarray(pred.get("scores", np.zeros(0)), dtype=np.float64)
    painted = {}

    def paint(thresh):
        if thresh not in painted:
            painted[thresh] = paint_instances(crops, offsets, scores, hw, thresh)
        return painted[thresh]

    out = {"hist": None, "app": None, "apr": None}
    if "semantic" in opts.metrics or "atr" in opts.metrics:
        sem = pred.get("sem")
        if sem is None and len(crops):
            sem = paint(opts.semseg_score_thresh)[0]
        if sem is None and opts.empty_images == "background":
            sem = np.zeros(hw, np.uint8)
        if sem is not None:
            gsem = gt.get("sem")
            if gsem is None:  # paint the GT people, later ones on top
                gsem = np.zeros(hw, np.uint8)
                for p in persons:
                    gsem = np.where(p > 0, p, gsem)
            out["hist"] = confusion_matrix(gsem, sem, C, name)
    boxes = person_boxes(persons) if persons is not None else None
    if "app" in opts.metrics and persons is not None:
        out["app"] = app_image_record(persons, crops, offsets, scores, C, opts.thresholds, name, boxes)
    if "apr" in opts.metrics and (persons is not None or gt.get("part_layers") is not None):
        layers = gt.get("part_layers")
        if layers is None:
            ident = np.arange(C)
            layers = [(p, ident, b) for p, b in zip(persons, boxes)]
        if pred.get("part_ids") is not None:
            ids, cls, sc = pred["part_ids"], pred["part_classes"], pred["part_scores"]
        else:
            thresh = opts.region_score_thresh
            parts, pids, order = paint(opts.semseg_score_thresh if thresh is None else thresh)
            ids, cls, sc = part_instances(parts, pids, scores[order], C)
        out["apr"] = region_image_record(layers, ids, cls, sc, C)
    return out


def summarize(hist: Optional[np.ndarray], records: Sequence[Tuple[object, dict]],
              opts: ParsingEvalOptions) -> Dict[str, Dict[str, float]]:
    """Final metrics (percentages) from the summed confusion matrix and the per-image records."""
    records = sorted(records, key=lambda r: image_sort_key(r[0]))
    pc = lambda d: {k: 100.0 * v for k, v in d.items()}  # noqa: E731
    res = {"parsing": {}}
    if hist is not None and "semantic" in opts.metrics:
        res["parsing"].update(pc(semantic_metrics(hist, opts.averaging, opts.class_names)))
    app = [r["app"] for _, r in records if r["app"] is not None]
    if "app" in opts.metrics and app:
        res["parsing"].update(pc(evaluate_app(app, opts.thresholds, opts.score_thresh, opts.count_empty_gt)))
    apr = [r["apr"] for _, r in records if r["apr"] is not None]
    if "apr" in opts.metrics and apr:
        res["region"] = pc(evaluate_apr(apr, opts.num_classes, opts.thresholds,
                                        opts.apr_matching, opts.class_names))
    if "atr" in opts.metrics and hist is not None:
        res["atr"] = pc(atr_metrics(hist, opts.atr_include_background))
    return res


def format_results(res: Dict[str, Dict[str, float]]) -> str:
    """A readable table of the headline numbers (per-class values last)."""
    lines = []
    for task, d in res.items():
        head = [k for k in d if "-" not in k]
        rest = [k for k in d if "-" in k]
        lines.append(f"[{task}]")
        lines += [f"  {k:<28s} {d[k]:8.3f}" for k in head + rest]
    return "\n".join(lines)



class ParsingEvaluator(DatasetEvaluator):
    """Semantic, person (APp/PCP) and part-instance (APr) parsing metrics, streaming and distributed.

    Reads per input the GT through ``human_parsing.data.io`` (``sem_seg_file_name``; per-person
    maps with ``load_person_parsing``) and per output ``instances`` (``scores``, ``pred_parsing``: a
    ``PersonParsing``) and/or ``parsing`` (H, W) / ``sem_seg`` (C, H, W). With ``output_dir`` it
    also writes the predictions in the open formats of :mod:`.formats` (``instances.json`` +
    per-person PNGs, the CIHP submission layout) and ``parsing_results.json``.
    """

    def __init__(self, dataset_name: str, options: Optional[ParsingEvalOptions] = None, *,
                 output_dir: Optional[str] = None, distributed: bool = True):
        meta = MetadataCatalog.get(dataset_name)
        names = tuple(meta.stuff_classes)
        if options is None:
            options = default_options(meta)
        if options.class_names is None:
            options = replace(options, class_names=names)
        if options.num_classes != len(names):
            raise ValueError(f"{dataset_name}: {len(names)} stuff_classes but num_classes={options.num_classes}")
        self._name, self._opts = dataset_name, options
        self._output_dir, self._distributed = output_dir, distributed
        self.reset()

    def reset(self):
        C = self._opts.num_classes
        self._hist = np.zeros((C, C), dtype=np.int64)
        self._records, self._entries = [], {}

    def _load_gt(self, inp: dict) -> dict:
        from human_parsing.data.io import check_label_values, load_person_parsing, read_label_map

        C, gt = self._opts.num_classes, {}
        if set(self._opts.metrics) & {"semantic", "atr"} and inp.get("sem_seg_file_name"):
            gt["sem"] = read_label_map(inp["sem_seg_file_name"])
            check_label_values(gt["sem"], C, inp["sem_seg_file_name"])
            if gt["sem"].shape != (inp["height"], inp["width"]):
                raise ValueError(f"{inp['sem_seg_file_name']}: GT size {gt['sem'].shape} != record size")
        if set(self._opts.metrics) & {"app", "apr"}:
            gt["persons"] = load_person_parsing(inp, C)
        if not gt:
            raise ValueError(f"image {inp.get('image_id')}: no ground truth for {self._opts.metrics}")
        return gt

    @staticmethod
    def _pred(out: dict, hw) -> dict:
        pred = {}
        if "instances" in out and out["instances"].has("pred_parsing"):
            inst = out["instances"]
            pp = inst.pred_parsing
            pred.update(crops=pp.crops, offsets=pp.offsets, scores=inst.scores.detach().cpu().numpy(),
                        size=tuple(pp.image_size))
        if "parsing" in out:
            pred["sem"] = out["parsing"].detach().cpu().numpy()
        elif "sem_seg" in out:
            pred["sem"] = out["sem_seg"].argmax(dim=0).detach().cpu().numpy()
        return pred

    def process(self, inputs, outputs):
        for inp, out in zip(inputs, outputs):
            hw = (inp["height"], inp["width"])
            pred = self._pred(out, hw)
            name = f"prediction for image {inp['image_id']} ({inp.get('file_name', '')})"
            rec = image_record(self._load_gt(inp), pred, self._opts, name)
            hist = rec.pop("hist")
            if hist is not None:
                self._hist += hist
            self._records.append((inp["image_id"], rec))
            if self._output_dir:
                self._write(str(inp["image_id"]), pred, hw)

    def _write(self, image_id: str, pred: dict, hw) -> None:
        if "crops" not in pred:
            return
        d, o = self._output_dir, self._opts
        self._entries[image_id] = write_instances(d, image_id, pred["crops"], pred["offsets"],
                                                  pred["scores"], hw)
        parts, ids, order = paint_instances(pred["crops"], pred["offsets"], pred["scores"], hw,
                                            o.semseg_score_thresh)
        pids, cls, sc = part_instances(parts, ids, pred["scores"][order], o.num_classes)
        write_cihp_submission(d, image_id, parts, pids, cls, sc, ids, pred["scores"][order])

    def evaluate(self):
        hist, records, entries = self._hist, self._records, self._entries
        if self._distributed and comm.get_world_size() > 1:
            comm.synchronize()
            hists = comm.gather(self._hist, dst=0)
            recs = comm.gather(self._records, dst=0)
            ents = comm.gather(self._entries, dst=0)
            if not comm.is_main_process():
                return {}
            hist = np.sum(hists, axis=0)
            records = list(itertools.chain(*recs))
            entries = {k: v for e in ents for k, v in e.items()}
        ids = [r[0] for r in records]
        if len(set(ids)) != len(ids):
            logger.warning("ParsingEvaluator: %d duplicate image ids; each is counted every time it "
                           "was processed", len(ids) - len(set(ids)))
        if not records:
            logger.warning("ParsingEvaluator on %s: no image was processed", self._name)
            return {}
        res = summarize(hist if hist.any() else None, records, self._opts)
        logger.info("Parsing evaluation of %s on %d images:\n%s", self._name, len(records),
                    format_results(res))
        if self._output_dir:
            from human_parsing.data.io import write_text

            write_text(os.path.join(self._output_dir, "parsing_results.json"), json.dumps(res, indent=1))
            if entries:
                write_text(os.path.join(self._output_dir, "instances.json"), json.dumps(entries))
        return res


def default_options(meta, **overrides) -> ParsingEvalOptions:
    """Options for a dataset from its metadata: metrics by ``evaluator_type``, the label space's
    painting threshold (0.3, MHP v2 0.05) unless ``semseg_score_thresh`` is set, ATR metrics for ATR."""
    etype = meta.get("evaluator_type", "parsing")
    if etype not in ("parsing", "sem_seg_parsing"):
        raise ValueError(f"ParsingEvaluator cannot evaluate evaluator_type {etype!r}")
    space = meta.get("label_space", "")
    metrics = ("semantic", "app", "apr") if etype == "parsing" else ("semantic",)
    if space == "atr":
        metrics += ("atr",)
    kw = dict(num_classes=len(meta.stuff_classes), class_names=tuple(meta.stuff_classes), metrics=metrics,
              semseg_score_thresh=meta.get("semseg_score_thresh", semseg_score_thresh_for(space)))
    kw.update(overrides)
    return ParsingEvalOptions(**kw)


# Optional config keys (cfg.TEST.PARSING_EVAL.<KEY>) and the option each one sets.
_CFG_KEYS = {"AVERAGING": "averaging", "EMPTY_IMAGES": "empty_images", "APR_MATCHING": "apr_matching",
             "SCORE_THRESH": "score_thresh", "SEMSEG_SCORE_THRESH": "semseg_score_thresh",
             "REGION_SCORE_THRESH": "region_score_thresh", "COUNT_EMPTY_GT": "count_empty_gt"}


def build_parsing_evaluator(cfg, dataset_name: str, output_dir: Optional[str] = None) -> ParsingEvaluator:
    """The evaluator for ``dataset_name`` (metadata ``evaluator_type`` "parsing" or "sem_seg_parsing").

    Conventions come from the metadata and, if the config has a ``TEST.PARSING_EVAL`` node, from
    its keys (``AVERAGING``, ``EMPTY_IMAGES``, ``APR_MATCHING``, ``SCORE_THRESH``,
    ``SEMSEG_SCORE_THRESH``, ``REGION_SCORE_THRESH``, ``COUNT_EMPTY_GT``).
    """
    node = cfg.TEST.get("PARSING_EVAL", None) if cfg is not None else None
    overrides = {opt: node[key] for key, opt in _CFG_KEYS.items() if node is not None and key in node}
    opts = default_options(MetadataCatalog.get(dataset_name), **overrides)
    return ParsingEvaluator(dataset_name, opts, output_dir=output_dir)
