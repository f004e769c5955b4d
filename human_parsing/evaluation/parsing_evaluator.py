"""The streaming, distributed Detectron2 evaluator of human parsing (``ParsingEvaluator``).

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
from dataclasses import replace
from typing import Optional

import numpy as np
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm

from .formats import write_cihp_submission, write_instances
from .global_map import paint_instances, part_instances, semseg_score_thresh_for
from .pipeline import (
    ParsingEvalOptions,
    format_results,
    image_record,
    image_sort_key,
    region_thresh,
    summarize,
)

__all__ = [
    "ParsingEvalOptions",
    "image_record",
    "summarize",
    "image_sort_key",
    "ParsingEvaluator",
    "build_parsing_evaluator",
]

logger = logging.getLogger(__name__)


class ParsingEvaluator(DatasetEvaluator):
    """Semantic, person (APp/PCP) and part-instance (APr) parsing metrics, streaming and distributed.

    Reads per input the GT through ``human_parsing.data.io`` (``sem_seg_file_name``; per-person
    maps with ``load_person_parsing``) and per output ``instances`` (``scores``, ``pred_parsing``: a
    ``PersonParsing``) and/or ``parsing`` (H, W) / ``sem_seg`` (C, H, W), and optionally
    ``part_instances`` = ``{"ids": (H, W), "classes": (K,), "scores": (K,)}`` (PGN-style part
    instances, pixel value k = entry k-1; otherwise they are painted from the people for APr).
    With ``output_dir`` it also writes the predictions in the open formats of :mod:`.formats`
    (``instances.json`` + per-person PNGs, the CIHP submission layout) and ``parsing_results.json``.
    """

    def __init__(
        self,
        dataset_name: str,
        options: Optional[ParsingEvalOptions] = None,
        *,
        output_dir: Optional[str] = None,
        distributed: bool = True,
        write_predictions: bool = True,
    ):
        """
        Args:
            options: the conventions; default from the dataset metadata (:func:`default_options`).
            output_dir: where ``parsing_results.json`` (and the predictions) are written.
            write_predictions: with ``output_dir``, also write the predictions (one PNG per
                person: costly with many low-score detections).
        """
        meta = MetadataCatalog.get(dataset_name)
        names = tuple(meta.stuff_classes)
        if options is None:
            options = default_options(meta)
        if options.class_names is None:
            options = replace(options, class_names=names)
        if options.num_classes != len(names):
            raise ValueError(
                f"{dataset_name}: {len(names)} stuff_classes but num_classes={options.num_classes}"
            )
        self._name, self._opts = dataset_name, options
        self._label_space = meta.get("label_space")  # decodes colour-coded GT PNGs, if any
        self._output_dir, self._distributed = output_dir, distributed
        self._write_predictions = write_predictions
        self._catalog = None  # image_id -> dataset record, built on first need
        self.reset()

    def reset(self):
        C = self._opts.num_classes
        self._hist = np.zeros((C, C), dtype=np.int64)
        self._records, self._entries = [], {}

    def _gt_record(self, inp: dict) -> dict:
        """The dataset record with the GT of ``inp``: ``inp`` itself if it still carries the GT
        fields, else the ``DatasetCatalog`` record of its ``image_id`` (test-time mappers drop
        ``annotations``; Detectron2's own evaluators also read the GT from the catalog)."""
        need_people = bool(set(self._opts.metrics) & {"app", "apr"})
        if "sem_seg_file_name" in inp and ("annotations" in inp or not need_people):
            return inp
        if self._catalog is None:
            self._catalog = {r["image_id"]: r for r in DatasetCatalog.get(self._name)}
        rec = self._catalog.get(inp["image_id"])
        if rec is None:
            raise KeyError(f"image_id {inp['image_id']!r} is not in dataset {self._name}")
        return rec

    def _load_gt(self, inp: dict) -> dict:
        from human_parsing.data.io import load_person_parsing, load_sem_seg

        inp = self._gt_record(inp)
        C, ls, gt = self._opts.num_classes, self._label_space, {}
        if set(self._opts.metrics) & {"semantic", "atr"} and inp.get("sem_seg_file_name"):
            gt["sem"] = load_sem_seg(inp, ls, C)
        if set(self._opts.metrics) & {"app", "apr"}:
            gt["persons"] = load_person_parsing(inp, C, ls)
        if not gt:
            raise ValueError(
                f"image {inp.get('image_id')}: no ground truth for {self._opts.metrics}"
            )
        return gt

    @staticmethod
    def _pred(out: dict) -> dict:
        pred = {}
        if "instances" in out and out["instances"].has("pred_parsing"):
            inst = out["instances"]
            pp = inst.pred_parsing
            pred.update(
                crops=pp.crops,
                offsets=pp.offsets,
                scores=_np(inst.scores),
                size=tuple(pp.image_size),
            )
        if "part_instances" in out:  # optional, PGN style: ids (H, W), classes (K,), scores (K,)
            pi = out["part_instances"]
            pred.update(
                part_ids=_np(pi["ids"]).astype(np.int64),
                part_classes=_np(pi["classes"]).astype(np.int64),
                part_scores=_np(pi["scores"]).astype(np.float64),
            )
        if "parsing" in out:
            pred["sem"] = _np(out["parsing"])
        elif "sem_seg" in out:
            pred["sem"] = _np(out["sem_seg"].argmax(dim=0))
        return pred

    def process(self, inputs, outputs):
        for inp, out in zip(inputs, outputs):
            hw = (inp["height"], inp["width"])
            pred = self._pred(out)
            name = f"prediction for image {inp['image_id']} ({inp.get('file_name', '')})"
            rec = image_record(self._load_gt(inp), pred, self._opts, name)
            hist = rec.pop("hist")
            if hist is not None:
                self._hist += hist
            self._records.append((inp["image_id"], rec))
            if self._output_dir and self._write_predictions:
                self._write(str(inp["image_id"]), pred, hw)

    def _write(self, image_id: str, pred: dict, hw) -> None:
        d, o = self._output_dir, self._opts
        parts = pred.get("sem")
        ids = human_scores = None
        if "crops" in pred:
            crops, offsets, scores = pred["crops"], pred["offsets"], pred["scores"]
            self._entries[image_id] = write_instances(d, image_id, crops, offsets, scores, hw)
            painted, ids, order = paint_instances(crops, offsets, scores, hw, o.semseg_score_thresh)
            human_scores = scores[order]
            parts = painted if parts is None else parts
        if parts is None:
            return
        if "part_ids" in pred:
            pids, cls, sc = pred["part_ids"], pred["part_classes"], pred["part_scores"]
        elif "crops" in pred:  # the part instances APr uses (people from region_thresh)
            rparts, rids, rorder = paint_instances(crops, offsets, scores, hw, region_thresh(o))
            pids, cls, sc = part_instances(rparts, rids, scores[rorder], o.num_classes)
        else:
            pids, cls, sc = np.zeros(hw, np.int32), np.zeros(0, np.int64), np.zeros(0)
        parts = np.asarray(parts).astype(np.uint8)
        write_cihp_submission(d, image_id, parts, pids, cls, sc, ids, human_scores)

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
            logger.warning(
                "ParsingEvaluator: %d duplicate image ids; each is counted every time it "
                "was processed",
                len(ids) - len(set(ids)),
            )
        if not records:
            logger.warning("ParsingEvaluator on %s: no image was processed", self._name)
            return {}
        res = summarize(hist if hist.any() else None, records, self._opts)
        logger.info(
            "Parsing evaluation of %s on %d images:\n%s",
            self._name,
            len(records),
            format_results(res),
        )
        if self._output_dir:
            from human_parsing.data.io import write_text

            write_text(
                os.path.join(self._output_dir, "parsing_results.json"), json.dumps(res, indent=1)
            )
            if entries:
                write_text(os.path.join(self._output_dir, "instances.json"), json.dumps(entries))
        return res


def _np(x) -> np.ndarray:
    """Tensor or array-like → numpy; bfloat16 tensors (autocast) go through float32, which numpy
    lacks."""
    if not hasattr(x, "detach"):
        return np.asarray(x)
    x = x.detach().cpu()
    return (x.float() if x.dtype == torch.bfloat16 else x).numpy()


def default_options(meta, **overrides) -> ParsingEvalOptions:
    """Options for a dataset from its metadata: metrics by ``evaluator_type``, the label space's
    painting threshold (0.3, MHP v2 0.05) unless ``semseg_score_thresh`` is set, ATR metrics for ATR.
    """
    etype = meta.get("evaluator_type", "parsing")
    if etype not in ("parsing", "sem_seg_parsing"):
        raise ValueError(f"ParsingEvaluator cannot evaluate evaluator_type {etype!r}")
    space = meta.get("label_space", "")
    metrics = ("semantic", "app", "apr") if etype == "parsing" else ("semantic",)
    if space == "atr":
        metrics += ("atr",)
    kw = dict(
        num_classes=len(meta.stuff_classes),
        class_names=tuple(meta.stuff_classes),
        metrics=metrics,
        semseg_score_thresh=meta.get("semseg_score_thresh", semseg_score_thresh_for(space)),
    )
    kw.update(overrides)
    return ParsingEvalOptions(**kw)


# Optional config keys (cfg.TEST.PARSING_EVAL.<KEY>) and the option each one sets.
_CFG_KEYS = {
    "AVERAGING": "averaging",
    "EMPTY_IMAGES": "empty_images",
    "APR_MATCHING": "apr_matching",
    "SCORE_THRESH": "score_thresh",
    "SEMSEG_SCORE_THRESH": "semseg_score_thresh",
    "REGION_SCORE_THRESH": "region_score_thresh",
    "COUNT_EMPTY_GT": "count_empty_gt",
}


def build_parsing_evaluator(
    cfg, dataset_name: str, output_dir: Optional[str] = None
) -> ParsingEvaluator:
    """The evaluator for ``dataset_name`` (metadata ``evaluator_type`` "parsing" or "sem_seg_parsing").

    Conventions come from the metadata and, if the config has a ``TEST.PARSING_EVAL`` node, from
    its keys (``AVERAGING``, ``EMPTY_IMAGES``, ``APR_MATCHING``, ``SCORE_THRESH``,
    ``SEMSEG_SCORE_THRESH``, ``REGION_SCORE_THRESH``, ``COUNT_EMPTY_GT``, and
    ``WRITE_PREDICTIONS``; see ``human_parsing/config.py`` for their meaning).
    """
    node = cfg.TEST.get("PARSING_EVAL", None) if cfg is not None else None
    node = node if node is not None else {}
    overrides = {opt: node[key] for key, opt in _CFG_KEYS.items() if key in node}
    for key in ("semseg_score_thresh", "region_score_thresh"):  # < 0 means "dataset default"
        if key in overrides and overrides[key] < 0:
            del overrides[key]
    opts = default_options(MetadataCatalog.get(dataset_name), **overrides)
    write = bool(node.get("WRITE_PREDICTIONS", True))  # no config: an output_dir asks for files
    return ParsingEvaluator(dataset_name, opts, output_dir=output_dir, write_predictions=write)
