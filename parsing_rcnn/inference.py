"""Parsing R-CNN inference: ROI probabilities, official paste-back into the image, instance
scores and the global (instance-agnostic) part map (methods.md §2.6)."""
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from detectron2.modeling.postprocessing import detector_postprocess
from detectron2.structures import Instances
from human_parsing.structures import PersonParsing

__all__ = [
    "parsing_rcnn_inference",
    "paste_parsing",
    "parsing_instance_scores",
    "global_parsing_map",
    "parsing_rcnn_postprocess",
]

SCORE_TYPES = ("box", "box_x_parsing")


def parsing_rcnn_inference(pred_logits: torch.Tensor, pred_instances: List[Instances]) -> None:
    """Softmax the logits and store them per image.

    Args:
        pred_logits: (R, K, M, M) logits of all detections of the batch, in image order.
        pred_instances: per-image ``Instances``; each gets ``pred_parsing_probs`` (r_i, K, M, M).
    """
    probs = F.softmax(pred_logits, dim=1)
    for probs_i, inst in zip(probs.split([len(x) for x in pred_instances]), pred_instances):
        inst.pred_parsing_probs = probs_i


@torch.no_grad()
def paste_parsing(probs: torch.Tensor, boxes: torch.Tensor, image_size: Tuple[int, int],
                  pad: int = 1) -> PersonParsing:
    """Paste per-ROI probabilities into the image the official way and take the argmax.

    For each box: pad the (K, M, M) probabilities with a ``pad``-pixel zero border; enlarge the
    box about its centre by (M + 2·pad)/M; truncate its corners to int; resize the padded map
    bilinearly (align_corners=False) to (y2 − y1 + 1, x2 − x1 + 1); argmax over K (pixels fed
    only by the zero border become background); keep the part inside the image.

    Args:
        probs: (R, K, M, M) probabilities.
        boxes: (R, 4) XYXY boxes in the output image's coordinates.
        image_size: (H, W) of the output image.
    Returns:
        ``PersonParsing`` of R uint8 crops (the pasted labels inside the image) with offsets.
    """
    H, W = int(image_size[0]), int(image_size[1])
    R, K, M = probs.shape[0], probs.shape[1], probs.shape[-1]
    if R == 0:
        return PersonParsing([], np.zeros((0, 2), np.int64), (H, W))
    assert probs.shape[2] == M and boxes.shape == (R, 4), (probs.shape, boxes.shape)
    padded = F.pad(probs.float(), (pad, pad, pad, pad)) if pad > 0 else probs.float()
    # box enlargement (vectorised), then int truncation toward zero like numpy's astype(int32)
    b = boxes.detach().float().cpu()
    scale = (M + 2.0 * pad) / M
    half = (b[:, 2:] - b[:, :2]) * 0.5 * scale
    center = (b[:, 2:] + b[:, :2]) * 0.5
    ib = torch.cat([center - half, center + half], dim=1).to(torch.int64)
    sizes = (ib[:, 2:] - ib[:, :2] + 1).clamp(min=1)  # (w, h)
    # visible part of each pasted box: [x0, x1) × [y0, y1) in the image, clamped to be non-negative
    x0 = ib[:, 0].clamp(0, W)
    y0 = ib[:, 1].clamp(0, H)
    x1 = torch.maximum(torch.minimum(ib[:, 2] + 1, torch.tensor(W)), x0)
    y1 = torch.maximum(torch.minimum(ib[:, 3] + 1, torch.tensor(H)), y0)
    crops = []
    for i, ((w, h), bx, by, cx0, cy0, cx1, cy1) in enumerate(
        zip(sizes.tolist(), ib[:, 0].tolist(), ib[:, 1].tolist(), x0.tolist(), y0.tolist(),
            x1.tolist(), y1.tolist())
    ):
        if cx1 <= cx0 or cy1 <= cy0:
            crops.append(np.zeros((cy1 - cy0, cx1 - cx0), np.uint8))
            continue
        resized = F.interpolate(padded[i : i + 1], size=(h, w), mode="bilinear", align_corners=False)[0]
        vis = resized[:, cy0 - by : cy1 - by, cx0 - bx : cx1 - bx]
        crops.append(_argmax_channels(vis).cpu().numpy())
    offsets = torch.stack([x0, y0], dim=1).numpy()
    return PersonParsing(crops, offsets, (H, W))


def _argmax_channels(x: torch.Tensor, loop: Optional[bool] = None) -> torch.Tensor:
    """(K, h, w) → (h, w) uint8 index of the first maximum over K, like ``argmax(0)``.

    ``loop`` (default: on CPU only) computes it as a chain of K element-wise maxima and K
    selections over contiguous planes, 3–4× faster on CPU than a strided ``argmax`` over the
    channel dimension, which dominated the paste cost; on other devices that is 2K small kernel
    launches per detection, so one ``argmax`` is used there. Both give the first maximum.
    """
    if loop is None:
        loop = x.device.type == "cpu"
    if not loop:
        return x.argmax(dim=0).to(torch.uint8)
    amax = x[0]
    for c in range(1, x.shape[0]):
        amax = torch.maximum(amax, x[c])
    idx = torch.full(x.shape[1:], x.shape[0] - 1, dtype=torch.uint8, device=x.device)
    for c in range(x.shape[0] - 2, -1, -1):  # descending, so the first maximum wins
        idx = torch.where(x[c] == amax, c, idx)
    return idx


def parsing_instance_scores(box_scores: torch.Tensor, probs: torch.Tensor, score_type: str) -> torch.Tensor:
    """(R,) instance scores. ``"box"``: the box score (this paper's release). ``"box_x_parsing"``:
    box score × mean top-class probability over the ROI pixels predicted as foreground."""
    if score_type == "box":
        return box_scores
    if score_type == "box_x_parsing":
        if len(probs) == 0:
            return box_scores
        top, labels = probs.max(dim=1)
        fg = (labels > 0).float()
        conf = (top * fg).flatten(1).sum(1) / fg.flatten(1).sum(1).clamp(min=1)
        return box_scores * conf
    raise ValueError(f"Unknown ROI_PARSING_HEAD.TEST.SCORE_TYPE {score_type!r}; choose from {SCORE_TYPES}")


def global_parsing_map(parsing: PersonParsing, scores: torch.Tensor, score_thresh: float) -> torch.Tensor:
    """(H, W) int64 part map: people with score ≥ ``score_thresh`` painted by ascending score,
    so higher scores win where people overlap."""
    s = scores.detach().float().cpu().numpy()  # float first: numpy has no bfloat16
    order = np.argsort(s, kind="stable")
    order = [int(i) for i in order if s[i] >= score_thresh]
    parts, _ = parsing.paint(order)
    return torch.from_numpy(parts.astype(np.int64))


def parsing_rcnn_postprocess(results: Instances, height: int, width: int, *,
                             semseg_score_thresh: float = 0.3, paste_pad: int = 1,
                             score_type: str = "box", score_thresh: float = 0.0) -> dict:
    """One image's raw detections (with ``pred_parsing_probs``) → the project-wide output.

    Rescales boxes to (height, width) like ``detector_postprocess``, re-scores (``score_type``),
    drops instances below ``score_thresh``, pastes the probabilities into ``pred_parsing``
    (``PersonParsing``) and paints the global map.

    Returns:
        ``{"instances": Instances(pred_boxes, scores, pred_classes, pred_parsing), "parsing":
        (height, width) int64}``.
    """
    probs = results.pred_parsing_probs
    fields = {k: v for k, v in results.get_fields().items() if k != "pred_parsing_probs"}
    # index the (large) probabilities once, after detector_postprocess drops empty boxes
    fields["_row"] = torch.arange(len(results), device=probs.device)
    r = detector_postprocess(Instances(results.image_size, **fields), height, width)
    rows = r._row
    r.remove("_row")
    r.scores = r.scores.float()  # bf16 under autocast: outputs stay numpy-convertible
    probs = probs[rows] if len(rows) != len(probs) else probs
    if score_type != "box":
        r.box_scores = r.scores
        r.scores = parsing_instance_scores(r.scores, probs, score_type)
    keep = r.scores >= score_thresh
    if not bool(keep.all()):
        r, probs = r[keep], probs[keep]
    r.pred_parsing = paste_parsing(probs, r.pred_boxes.tensor, (height, width), paste_pad)
    return {"instances": r, "parsing": global_parsing_map(r.pred_parsing, r.scores, semseg_score_thresh)}
