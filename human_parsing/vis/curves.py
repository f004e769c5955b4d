"""Learning curves from Detectron2's ``metrics.json`` (one JSON dict per line, written by
``JSONWriter``): training losses over iterations and the periodic validation metrics
(``<task>/<metric>`` keys put by ``EvalHook``, e.g. ``parsing/mIoU``)."""
import json
import os
from typing import Dict, List, Sequence, Tuple

__all__ = ["read_metrics", "plot_training_curves"]

Series = Dict[str, List[Tuple[int, float]]]

DEFAULT_EVAL_KEYS = ("parsing/mIoU", "parsing/APp50", "parsing/PCP50", "region/APr50")


def read_metrics(path: str) -> Series:
    """``{key: [(iteration, value), ...]}`` for every numeric key of ``metrics.json``.

    Lines that are not JSON (a run killed while writing) are skipped; a missing file or one
    without any iteration raises ``FileNotFoundError`` / ``ValueError`` naming it."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no metrics.json (was the model trained with a JSONWriter?)")
    series: Series = {}
    with open(path) as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(row, dict) or "iteration" not in row:
                continue
            it = int(row["iteration"])
            for k, v in row.items():
                if k != "iteration" and isinstance(v, (int, float)) and v == v:
                    series.setdefault(k, []).append((it, float(v)))
    if not series:
        raise ValueError(f"{path}: no iteration records")
    return series


def plot_training_curves(metrics_path: str, out_png: str, title: str = "",
                         eval_keys: Sequence[str] = DEFAULT_EVAL_KEYS) -> str:
    """Two panels: every ``loss*`` series (log scale) and the validation metrics over iterations.
    Writes ``out_png`` (Agg backend, no display needed) and returns its path."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    series = read_metrics(metrics_path)
    losses = sorted(k for k in series if k.startswith("loss") or k == "total_loss")
    if not losses:
        raise ValueError(f"{metrics_path}: no loss series to plot")
    evals = [k for k in eval_keys if k in series]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    ax = axes[0]
    for k in losses:
        its, vals = zip(*series[k])
        ax.plot(its, vals, label=k, linewidth=2.2 if k == "total_loss" else 1.2)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_title("training losses")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    ax = axes[1]
    for k in evals:
        its, vals = zip(*series[k])
        ax.plot(its, vals, marker="o", label=k)
        ax.annotate(f"{vals[-1]:.1f}", (its[-1], vals[-1]), textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel("iteration")
    ax.set_title("validation" if evals else "validation (no periodic evaluation in metrics.json)")
    if evals:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_png)), exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
