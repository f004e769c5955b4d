"""ATR / Co-CNN pixel metrics (Acc, F.g. Acc, Precision, Recall, F-1) as CorrPM reports them.

No official code exists (metrics.md §5); these are our definitions, all from one (C, C) confusion
matrix accumulated over the test set (rows GT, columns prediction, GT 255 ignored):

* ``acc``     = sum_c TP_c / sum_c G_c                       (pixel accuracy)
* ``fg_acc``  = sum_{c>=1} TP_c / sum_{c>=1} G_c             (accuracy on GT-foreground pixels)
* ``precision`` = mean_c TP_c / P_c,  ``recall`` = mean_c TP_c / G_c
* ``f1``      = mean_c of the per-class F-1 ``2 TP_c / (G_c + P_c)`` — the convention that fits
  CorrPM's published number (the harmonic mean of the averaged P and R does not);
  ``f1_of_means`` = 2 P R / (P + R) of the averaged values is reported as well.

Class averages run over classes 0..C-1 when ``include_background`` (default) else 1..C-1, and skip
classes whose denominator is 0 (nanmean, as the official mIoU/mean-accuracy code).
"""

from typing import Dict

import numpy as np

__all__ = ["atr_metrics"]


def atr_metrics(hist: np.ndarray, include_background: bool = True) -> Dict[str, float]:
    """ATR metrics of an accumulated confusion matrix, as fractions (see the module doc)."""
    h = np.asarray(hist, dtype=np.float64)
    tp, g, p = np.diag(h), h.sum(1), h.sum(0)
    first = 0 if include_background else 1
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = tp.sum() / g.sum()
        fg_acc = tp[1:].sum() / g[1:].sum()
        prec_c = (tp / p)[first:]
        rec_c = (tp / g)[first:]
        f1_c = (2 * tp / (g + p))[first:]
        prec = _nanmean(prec_c)
        rec = _nanmean(rec_c)
        f1_of_means = 2 * prec * rec / (prec + rec)
    return {
        "acc": float(acc),
        "fg_acc": float(fg_acc),
        "precision": float(prec),
        "recall": float(rec),
        "f1": float(_nanmean(f1_c)),
        "f1_of_means": float(f1_of_means),
    }


def _nanmean(a: np.ndarray) -> float:
    return float(np.nanmean(a)) if np.any(~np.isnan(a)) else float("nan")
