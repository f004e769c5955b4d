"""Parsing loss: per-pixel softmax cross-entropy on the ROI maps (methods.md §2.5)."""
import torch
import torch.nn.functional as F

from detectron2.utils.events import get_event_storage

from human_parsing.modeling.class_balance import class_balanced_pixel_weights

__all__ = ["parsing_rcnn_loss", "parsing_targets"]


def parsing_targets(instances: list, resolution: int) -> torch.Tensor:
    """(R, M, M) int64 targets: each ROI's matched GT part map cropped by its proposal box.

    Reads ``proposal_boxes`` and ``gt_parsing`` (a ``ParsingMaps`` with one map per ROI) of each
    image's ``Instances`` and follows the official rounding + nearest-neighbour rule
    (``ParsingMaps.crop_and_resize``). Other people inside the box are background in the map.
    """
    targets = [
        x.gt_parsing.crop_and_resize(x.proposal_boxes.tensor, resolution) for x in instances if len(x)
    ]
    if not targets:
        return torch.zeros((0, resolution, resolution), dtype=torch.int64)
    return torch.cat(targets, dim=0)


def parsing_rcnn_loss(
    pred_logits: torch.Tensor, instances: list, ignore_label: int = 255, class_balance_power: float = 0.0
) -> torch.Tensor:
    """Mean cross-entropy over all non-ignored pixels of all ROIs.

    Args:
        pred_logits: (R, K, M, M) logits, R the total number of ROIs of all images in the batch.
        instances: per-image ``Instances`` with ``proposal_boxes`` and ``gt_parsing``, in the
            order of ``pred_logits``.
        ignore_label: target value left out of the loss.
        class_balance_power: > 0 weights pixels by inverse class frequency in the batch
            (:func:`human_parsing.modeling.class_balance.class_balanced_pixel_weights`; a
            quick-schedule option, 0 = the paper's loss).
    Returns:
        A scalar. With no ROI (or only ignored pixels) it is ``pred_logits.sum() * 0``, so every
        parameter still joins the graph and DDP graphs stay identical across workers.
    """
    targets = parsing_targets(instances, pred_logits.shape[-1]).to(pred_logits.device)
    assert targets.shape[0] == pred_logits.shape[0], (targets.shape, pred_logits.shape)
    valid = targets != ignore_label
    if pred_logits.numel() == 0 or not bool(valid.any()):
        return pred_logits.sum() * 0
    if class_balance_power > 0:
        w = class_balanced_pixel_weights(targets, pred_logits.shape[1], class_balance_power, ignore_label)
        ce = F.cross_entropy(pred_logits, targets, ignore_index=ignore_label, reduction="none")
        loss = (ce * w).sum() / valid.sum()
    else:
        loss = F.cross_entropy(pred_logits, targets, ignore_index=ignore_label, reduction="mean")
    with torch.no_grad():
        pred = pred_logits.argmax(dim=1)
        correct = (pred == targets) & valid
        fg = valid & (targets > 0)
        storage = get_event_storage()
        storage.put_scalar("parsing_rcnn/accuracy", correct.sum().item() / max(valid.sum().item(), 1))
        storage.put_scalar("parsing_rcnn/fg_accuracy", (correct & fg).sum().item() / max(fg.sum().item(), 1))
        storage.put_scalar("parsing_rcnn/num_rois", float(pred_logits.shape[0]))
    return loss
