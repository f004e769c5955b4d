"""PGN losses (methods.md §3.5), as pure functions of the head outputs and the targets.

Shapes: N images, K part classes, (h, w) logit size (stride 8), (H, W) padded input size.
"""

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from human_parsing.modeling.class_balance import class_balanced_pixel_weights

__all__ = ["resize_labels_nearest", "pgn_parsing_loss", "pgn_edge_loss", "pgn_losses"]


def resize_labels_nearest(labels: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """(N, H, W) integer labels → (N, h, w), picking source index ``floor(i * H / h)`` (TF's
    ``resize_nearest_neighbor`` without corner alignment, as the official code)."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(labels[:, None].float(), size=size, mode="nearest")[:, 0].to(labels.dtype)


def pgn_parsing_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    edge_logits: Optional[torch.Tensor] = None,
    *,
    local_thresh: float = 0.1,
    ignore_label: int = 255,
    class_balance_power: float = 0.0,
) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Global and local softmax cross-entropy of one parsing output.

    Args:
        logits: (N, K, h, w) part logits (P1 or P2).
        labels: (N, h, w) int64 labels at logit resolution; values ≥ K (255) are ignored.
        edge_logits: (N, 1, h, w) refined edge logits E2 selecting the local pixels
            (sigmoid > ``local_thresh``); detached — the selection carries no gradient. None: no
            local term.
        class_balance_power: > 0 weights pixels by inverse class frequency in the batch
            (:func:`human_parsing.modeling.class_balance.class_balanced_pixel_weights`; a
            quick-schedule option, 0 = the official loss).
    Returns:
        (global mean CE over valid pixels, local mean CE over valid edge pixels or None).
        An empty selection gives a zero loss that keeps the graph (the TF code would give NaN).
    """
    K = logits.shape[1]
    valid = (labels >= 0) & (labels < K)
    ce = F.cross_entropy(logits, torch.where(valid, labels, torch.zeros_like(labels)), reduction="none")
    if class_balance_power > 0:
        ce = ce * class_balanced_pixel_weights(labels, K, class_balance_power, ignore_label)
    else:
        ce = ce * valid
    loss_global = ce.sum() / valid.sum().clamp(min=1)
    if edge_logits is None:
        return loss_global, None
    near_edge = valid & (torch.sigmoid(edge_logits.detach()[:, 0]) > local_thresh)
    loss_local = (ce * near_edge).sum() / near_edge.sum().clamp(min=1)
    return loss_global, loss_local


def pgn_edge_loss(
    edge_logits: torch.Tensor,
    edge_targets: torch.Tensor,
    labels: torch.Tensor,
    *,
    pos_weight: float = 2.0,
    fg_weight: float = 1.0,
) -> torch.Tensor:
    """Class-balanced sigmoid cross-entropy of one edge output, summed over pixels.

    The logits are upsampled bilinearly to the target size (H, W). Per image, with ℓ the per-pixel
    BCE, y the edge target, fg = 1[label > 0] and N = H·W::

        pos_w = N_neg / N,  neg_w = N_pos / N
        S_pos = Σ ℓ·y·(1 + fg_weight·fg),  S_neg = Σ ℓ·(1 − y)·(1 + fg_weight·fg)
        loss  = pos_weight · pos_w · S_pos + neg_w · S_neg

    and the result is the mean over images. As in the official code, pixels with edge target 255
    (padding) count as negatives and pixels with label 255 count as foreground. Positives are
    counted per image (the code counts them over the batch, identical at its batch size of 1).

    Args:
        edge_logits: (N, 1, h, w).
        edge_targets: (N, H, W) with 1 on instance edges, 0 elsewhere, 255 padding.
        labels: (N, H, W) part labels (0 background, 255 ignore/padding).
    """
    H, W = edge_targets.shape[-2:]
    logits = F.interpolate(edge_logits, size=(H, W), mode="bilinear", align_corners=False)[:, 0]
    y = (edge_targets == 1).to(logits.dtype)
    fg = (labels > 0).to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none") * (1.0 + fg_weight * fg)
    n_total = float(H * W)
    n_pos = y.flatten(1).sum(1)
    pos_w = (n_total - n_pos) / n_total
    neg_w = n_pos / n_total
    s_pos = (bce * y).flatten(1).sum(1)
    s_neg = (bce * (1.0 - y)).flatten(1).sum(1)
    return (pos_weight * pos_w * s_pos + neg_w * s_neg).mean()


def pgn_losses(
    outputs: Dict[str, torch.Tensor],
    sem_seg: torch.Tensor,
    edges: Optional[torch.Tensor],
    *,
    parsing_weight: float = 50.0,
    local_parsing_weight: float = 50.0,
    edge_weight: float = 0.005,
    side_edge_weight: float = 0.005,
    edge_pos_weight: float = 2.0,
    edge_fg_weight: float = 1.0,
    use_local: bool = True,
    local_thresh: float = 0.1,
    ignore_label: int = 255,
    class_balance_power: float = 0.0,
) -> Dict[str, torch.Tensor]:
    """All PGN losses, each already multiplied by its weight.

    Args:
        outputs: the head's dict (``parsing``, ``edge``, ``parsing_refine``, ``edge_refine``,
            ``edge_side_<f>``; missing keys are skipped).
        sem_seg: (N, H, W) int64 global part labels of the padded batch, 255 ignored.
        edges: (N, H, W) int64 instance-edge targets (required when the head predicts edges).
    Returns:
        ``loss_parsing`` [+ ``_local``] (P1), ``loss_parsing_refine`` [+ ``_local``] (P2),
        ``loss_edge`` (E1), ``loss_edge_refine`` (E2), ``loss_edge_side_<f>``.
    """
    size = outputs["parsing"].shape[-2:]
    labels_small = resize_labels_nearest(sem_seg, size)
    # the refined edge selects the local pixels for both parsing outputs; E1 without refinement
    selector = outputs.get("edge_refine", outputs.get("edge")) if use_local else None
    losses = {}
    for key, name in (("parsing", "loss_parsing"), ("parsing_refine", "loss_parsing_refine")):
        if key not in outputs:
            continue
        g, loc = pgn_parsing_loss(
            outputs[key], labels_small, selector, local_thresh=local_thresh, ignore_label=ignore_label,
            class_balance_power=class_balance_power,
        )
        losses[name] = parsing_weight * g
        if loc is not None:
            losses[name + "_local"] = local_parsing_weight * loc
    edge_keys = [k for k in outputs if k == "edge" or k.startswith("edge_")]
    if edge_keys and edges is None:
        raise ValueError("PGN predicts edges but the batch has no 'edges' targets")
    for key in edge_keys:
        weight = side_edge_weight if key.startswith("edge_side_") else edge_weight
        losses["loss_" + key] = weight * pgn_edge_loss(
            outputs[key], edges, sem_seg, pos_weight=edge_pos_weight, fg_weight=edge_fg_weight
        )
    return losses
