#!/usr/bin/env python
"""Evaluate human-parsing predictions on disk: mIoU family, APp/PCP, APr (and ATR metrics).

    python tools/evaluate_parsing.py --gt DIR --gt-format {cihp,mhp_v2,semantic} \\
        --pred DIR --pred-format {instances,cihp_submission,semantic} --num-classes K \\
        [--metrics semantic app apr atr] [--out results.json [--overwrite]] [--workers 2]

Formats: ``human_parsing/evaluation/formats.py``. Conventions (defaults = official scripts):
``human_parsing/evaluation/parsing_evaluator.py`` (``ParsingEvalOptions``) and README "Evaluation".
Every prediction format: GT images without a prediction are counted as having no detection and
listed in a warning; a prediction folder with no prediction for any GT image is an error.
``--out`` refuses to replace an existing file unless ``--overwrite``.
"""

import argparse
import json
import logging
import multiprocessing as mp
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from human_parsing.data.io import write_text  # noqa: E402
from human_parsing.evaluation import formats, offline  # noqa: E402
from human_parsing.utils.cli import add_debug_argument, run_tool  # noqa: E402
from human_parsing.evaluation.pipeline import (  # noqa: E402
    ParsingEvalOptions,
    format_results,
    summarize,
)

logger = logging.getLogger("human_parsing.evaluate_parsing")
_STATE = {}  # args, opts and the prediction index, handed to human_parsing.evaluation.offline


def _options(a) -> ParsingEvalOptions:
    if a.metrics:
        metrics = tuple(a.metrics)
    elif "semantic" in (a.gt_format, a.pred_format):
        metrics = ("semantic",)
    else:
        metrics = ("semantic", "app", "apr")
    names = None
    if a.label_space:
        from human_parsing.data.label_spaces import get_label_space

        names = tuple(get_label_space(a.label_space).classes)
        if len(names) != a.num_classes:
            raise ValueError(
                f"--label-space {a.label_space}: has {len(names)} classes, not --num-classes "
                f"{a.num_classes}"
            )
    thresh = a.semseg_score_thresh
    if thresh is None:
        thresh = 0.05 if a.gt_format == "mhp_v2" else 0.3
    return ParsingEvalOptions(
        num_classes=a.num_classes,
        class_names=names,
        metrics=metrics,
        score_thresh=a.score_thresh,
        semseg_score_thresh=thresh,
        region_score_thresh=a.region_score_thresh,
        empty_images=a.empty_images,
        averaging=a.averaging,
        apr_matching=a.apr_matching,
        count_empty_gt=not a.mhp_drop_empty_gt,
        atr_include_background=not a.atr_no_background,
    )


def evaluate(a) -> dict:
    """Run the evaluation described by parsed arguments ``a``; return the results dict."""
    opts = _options(a)
    ids = formats.list_gt_images(a.gt, a.gt_format)
    _STATE.update(args=a, opts=opts, index=None)
    if a.pred_format == "instances" and os.path.isfile(os.path.join(a.pred, "instances.json")):
        _STATE["index"] = formats.load_instances_json(a.pred)
    # the rule shared by every format: none predicted is an error, some missing a warning (below)
    _, extra = formats.match_predictions(a.pred, a.pred_format, ids, _STATE["index"])
    if extra:
        logger.warning(
            "%d predicted images are not in the GT and are ignored: %s", len(extra), extra[:20]
        )
    hist = np.zeros((a.num_classes, a.num_classes), np.int64)
    records, missing = [], []
    from tqdm import tqdm

    if a.workers > 1:
        # spawn, not fork: forking after torch/OpenCV started their thread pools can hang
        ctx = mp.get_context("spawn")
        pool = ctx.Pool(a.workers, initializer=offline.init_worker, initargs=(dict(_STATE),))
        it = pool.imap(offline.evaluate_one, ids, chunksize=8)
    else:
        offline.init_worker(dict(_STATE))
        pool, it = None, map(offline.evaluate_one, ids)
    try:
        for image_id, rec, absent in tqdm(it, total=len(ids), desc="evaluating", disable=a.quiet):
            h = rec.pop("hist")
            if h is not None:
                hist += h
            records.append((image_id, rec))
            if absent:
                missing.append(image_id)
    finally:
        if pool is not None:
            pool.terminate()
    if missing:
        logger.warning(
            "%d GT images have no prediction and count as having no detection: %s%s",
            len(missing),
            missing[:20],
            " ..." if len(missing) > 20 else "",
        )
    res = summarize(hist if hist.any() else None, records, opts)
    res["info"] = {"num_images": len(ids), "num_missing_predictions": len(missing)}
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gt", required=True)
    p.add_argument("--gt-format", required=True, choices=formats.GT_FORMATS)
    p.add_argument("--pred", required=True)
    p.add_argument("--pred-format", required=True, choices=formats.PRED_FORMATS)
    p.add_argument("--num-classes", required=True, type=int)
    p.add_argument("--metrics", nargs="+", choices=("semantic", "app", "apr", "atr"))
    p.add_argument(
        "--label-space", default="", help="class names for the per-class rows (e.g. cihp)"
    )
    p.add_argument("--out", help="write the results as json here")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument(
        "--averaging", default="official", choices=("official", "all_classes", "gt_present")
    )
    p.add_argument(
        "--empty-images",
        default="skip",
        choices=("skip", "background"),
        help="mIoU of images with no detection: skipped (official) or all background",
    )
    p.add_argument("--apr-matching", default="official", choices=("official", "one_to_one"))
    p.add_argument("--score-thresh", type=float, default=0.001)
    p.add_argument("--semseg-score-thresh", type=float, help="default 0.3 (0.05 for mhp_v2)")
    p.add_argument(
        "--region-score-thresh",
        type=float,
        help="APr part instances of people from this score; default: --score-thresh",
    )
    p.add_argument(
        "--mhp-drop-empty-gt",
        action="store_true",
        help="MHP v2 script rule: GT people with an empty map are not counted in APp",
    )
    p.add_argument("--atr-no-background", action="store_true")
    p.add_argument("--quiet", action="store_true")
    add_debug_argument(p)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if a.out and os.path.exists(a.out) and not a.overwrite:  # before the work, not after
        raise FileExistsError(f"{a.out}: already exists; pass --overwrite to replace it")
    res = evaluate(a)
    print(format_results({k: v for k, v in res.items() if k != "info"}))
    if a.out:
        write_text(a.out, json.dumps(res, indent=1))  # temporary file + rename
    return res


if __name__ == "__main__":
    sys.exit(run_tool(main, "evaluate_parsing"))
