"""Print the demo's results: the headline metrics of one or more ``eval_results.json`` files as a
markdown table, the left/right limb IoUs, how often the right number of people is found, and the
paths of the learning-curve plots and prediction overlays.

Usage: python scripts/summarize_results.py OUT/<model>/eval_results.json ... [--overlays DIR]
       [--dataset synthetic_cihp_val]
"""
import argparse
import glob
import json
import os
import sys
from typing import Dict, List, Optional

KEYS = [("parsing", "mIoU"), ("parsing", "pixAcc"), ("parsing", "APp50"), ("parsing", "APp_vol"),
        ("parsing", "PCP50"), ("region", "APr50"), ("region", "APr_vol"), ("bbox", "AP")]
LABELS = {("bbox", "AP"): "box AP"}
LIMBS = ["left-arm", "right-arm", "left-leg", "right-leg"]  # matched case-insensitively
CURVES = "training_curves.png"


def _cell(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def model_name(path: str) -> str:
    return os.path.basename(os.path.dirname(os.path.abspath(path)))


def results_table(paths: List[str], counts: Optional[Dict[str, str]] = None) -> str:
    """Markdown table: headline metrics, the four limb IoUs and the people-count column."""
    counts = counts or {}
    head = [LABELS.get((g, k), k) for g, k in KEYS] + [f"IoU {n}" for n in LIMBS] + ["people count right"]
    lines = ["| model | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for path in paths:
        with open(path) as f:
            res = json.load(f)
        vals = [res.get(g, {}).get(k) for g, k in KEYS]
        per_class = {k.lower(): v for k, v in res.get("parsing", {}).items()}
        vals += [per_class.get(f"iou-{n}") for n in LIMBS]
        name = model_name(path)
        lines.append(f"| {name} | " + " | ".join(_cell(v) for v in vals) + f" | {counts.get(name, '-')} |")
    return "\n".join(lines)


def people_count_accuracy(instances: Dict[str, list], gt_counts: Dict[str, int], min_score: float):
    """(images whose number of predicted people with score >= ``min_score`` equals the number of
    annotated people, images). ``instances``: the evaluator's ``instances.json`` (image id ->
    list of ``{"score": ...}``); images without an entry have no prediction."""
    right = sum(
        sum(e["score"] >= min_score for e in instances.get(str(i), [])) == n for i, n in gt_counts.items()
    )
    return right, len(gt_counts)


def gt_people_counts(dataset: str) -> Dict[str, int]:
    """Image id -> number of annotated people of a registered dataset."""
    from detectron2.data import DatasetCatalog

    import human_parsing.data  # noqa: F401  (registers the datasets)

    return {str(r["image_id"]): len(r.get("annotations", [])) for r in DatasetCatalog.get(dataset)}


def count_cells(paths: List[str], dataset: str, gt_counts: Optional[Dict[str, int]] = None):
    """Per model: "a/n (all), b/n (score >= 0.5)" from ``<model>/inference/<dataset>/instances.json``."""
    cells = {}
    for path in paths:
        inst = os.path.join(os.path.dirname(os.path.abspath(path)), "inference", dataset, "instances.json")
        if not dataset or not os.path.isfile(inst):
            continue
        if gt_counts is None:
            gt_counts = gt_people_counts(dataset)
        with open(inst) as f:
            instances = json.load(f)
        a, n = people_count_accuracy(instances, gt_counts, 0.0)
        b, _ = people_count_accuracy(instances, gt_counts, 0.5)
        cells[model_name(path)] = f"{a}/{n} (all), {b}/{n} (score ≥ 0.5)"
    return cells


def pictures(paths: List[str], overlays: str = "") -> List[str]:
    """Lines naming each model's learning-curve plot and overlay files that exist."""
    lines = []
    for path in paths:
        name = model_name(path)
        plot = os.path.join(os.path.dirname(path), CURVES)
        if os.path.isfile(plot):
            lines.append(f"{name} learning curves: {plot}")
        shown = sorted(glob.glob(os.path.join(overlays, name, "*.png"))) if overlays else []
        if shown:
            lines.append(f"{name} overlays ({len(shown)}): " + ", ".join(shown))
    return lines


def main(argv=None, gt_counts: Optional[Dict[str, int]] = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="+", help="eval_results.json of each model (in OUT/<model>/)")
    p.add_argument("--overlays", default="", help="folder with one sub-folder of overlays per model")
    p.add_argument("--dataset", default="synthetic_cihp_val",
                   help="evaluated dataset (people counts; '' to skip)")
    args = p.parse_args(argv)
    missing = [r for r in args.results if not os.path.isfile(r)]
    if missing:
        raise FileNotFoundError(f"no results file {missing[0]}")
    text = "\n".join([results_table(args.results, count_cells(args.results, args.dataset, gt_counts))]
                     + pictures(args.results, args.overlays))
    print(text)
    return text


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    main()
