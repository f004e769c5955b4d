"""CorrPM's loss (methods.md §5.4, paper Eq. 4): ``w1·CE(seg1) + w2·CE(seg2) + α·CE_w(edge) +
β·MSE(pose)``, returned as separate weighted terms so each is logged."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F

__all__ = ["balanced_edge_loss", "corrpm_losses"]


def _upsample(x: torch.Tensor, size) -> torch.Tensor:
    if x.shape[-2:] == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


def balanced_edge_loss(logits: torch.Tensor, edges: torch.Tensor, ignore_label: int = 255) -> torch.Tensor:
    """2-class CE with class weights ``[N_pos / N, N_neg / N]`` counted over the whole batch
    (N = N_pos + N_neg; ignored pixels counted in neither). logits (B, 2, H, W), edges (B, H, W)."""
    pos = (edges == 1).sum().float()
    neg = (edges == 0).sum().float()
    total = (pos + neg).clamp(min=1)
    weight = torch.stack([pos / total, neg / total]).to(logits.dtype)
    if pos == 0 or neg == 0:  # a one-class batch: plain CE (the weighted one would be 0/0)
        weight = None
    return F.cross_entropy(logits, edges, weight=weight, ignore_index=ignore_label)


def corrpm_losses(
    outputs: Dict[str, torch.Tensor],
    sem_seg: torch.Tensor,
    edges: Optional[torch.Tensor] = None,
    heatmaps: Optional[torch.Tensor] = None,
    *,
    seg1_weight: float = 1.0,
    seg2_weight: float = 1.0,
    edge_weight: float = 2.0,
    pose_weight: float = 70.0,
    ignore_label: int = 255,
) -> Dict[str, torch.Tensor]:
    """
    Args:
        outputs: :class:`CorrPMHead` logits ``seg1``, ``seg2`` (B, K, h, w), ``edge`` (B, 2, h, w),
            ``pose`` (B, J, h, w).
        sem_seg: (B, H, W) int64 labels, 255 ignored; logits are upsampled bilinearly
            (align_corners True) to (H, W), as the edge logits.
        edges: (B, H, W) int64 0/1 (255 ignored); needed when ``outputs`` has "edge".
        heatmaps: (B, J, Hk, Wk) float targets; the pose logits are resized to (Hk, Wk) if needed.
        *_weight: the loss weights; a term with weight 0 is not computed (e.g. Table 6's "no L_p").
    Returns:
        ``{"loss_seg1", "loss_seg2", "loss_edge", "loss_pose"}``, each already weighted.
    """
    size = sem_seg.shape[-2:]
    losses = {}
    for key, w in (("seg1", seg1_weight), ("seg2", seg2_weight)):
        if w > 0 and key in outputs:
            losses[f"loss_{key}"] = w * F.cross_entropy(_upsample(outputs[key], size), sem_seg,
                                                        ignore_index=ignore_label)
    if "edge" in outputs and edge_weight > 0:
        if edges is None:
            raise ValueError("CorrPM edge loss: the batch has no 'edges' (INPUT.PARSING.SEMANTIC_EDGES_ON)")
        losses["loss_edge"] = edge_weight * balanced_edge_loss(_upsample(outputs["edge"], size), edges,
                                                               ignore_label)
    if "pose" in outputs and pose_weight > 0:
        if heatmaps is None:
            raise ValueError("CorrPM pose loss: the batch has no 'heatmaps' (INPUT.PARSING.HEATMAPS_ON)")
        pred = _upsample(outputs["pose"], heatmaps.shape[-2:])
        losses["loss_pose"] = pose_weight * F.mse_loss(pred, heatmaps)
    return losses
