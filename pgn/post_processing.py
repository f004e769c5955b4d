"""Turn PGN's full-resolution logits into the project-wide output interface (methods.md §3.7–3.8).

Pure functions over tensors / arrays: the argmax part map, its max-logit score and the edge
probability go through :func:`pgn.partition.partition_instances`; each person of the resulting
human map becomes one instance with a tight box and a :class:`PersonParsing` crop.
"""

from typing import Dict, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from detectron2.structures import Boxes, Instances

from human_parsing.structures import PersonParsing

from .partition import partition_instances

__all__ = ["pgn_postprocess", "postprocess_at_output_size", "working_size", "instances_from_human_map"]


def instances_from_human_map(
    human_map: np.ndarray, human_scores: np.ndarray, parsing: np.ndarray, image_size: Tuple[int, int]
) -> Instances:
    """One instance per person id 1..N of ``human_map`` that has part pixels.

    The box and crop cover the person's *part* pixels (``parsing > 0`` inside its region): the
    faithful partition's border fill also paints background pixels into people, which would
    otherwise inflate the boxes. Scores are the partition's (the official tool: region area).

    Args:
        human_map: (H, W) int, 0 background, 1..N people.
        human_scores: (N,) score of person i+1.
        parsing: (H, W) part labels; each person's crop holds its own pixels' labels, 0 elsewhere.
    Returns:
        ``Instances`` with ``pred_boxes`` (tight XYXY boxes, x1/y1 = last pixel + 1), ``scores``,
        ``pred_classes`` (0 = person) and ``pred_parsing`` (:class:`PersonParsing`).
    """
    boxes, scores, crops, offsets = [], [], [], []
    for i, sl in enumerate(ndimage.find_objects(human_map.astype(np.int32, copy=False)), start=1):
        if sl is None:
            continue
        crop = np.where(human_map[sl] == i, parsing[sl], 0).astype(np.uint8)
        rows, cols = np.flatnonzero(crop.any(1)), np.flatnonzero(crop.any(0))
        if rows.size == 0:
            continue
        y0, y1 = sl[0].start + rows[0], sl[0].start + rows[-1] + 1
        x0, x1 = sl[1].start + cols[0], sl[1].start + cols[-1] + 1
        crops.append(crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
        offsets.append((x0, y0))
        boxes.append((x0, y0, x1, y1))
        scores.append(float(human_scores[i - 1]) if i - 1 < len(human_scores) else 0.0)
    inst = Instances(image_size)
    inst.pred_boxes = Boxes(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
    inst.scores = torch.tensor(scores, dtype=torch.float32)
    inst.pred_classes = torch.zeros(len(scores), dtype=torch.int64)
    inst.pred_parsing = PersonParsing(crops, np.array(offsets, dtype=np.int64).reshape(-1, 2), image_size)
    return inst


def pgn_postprocess(
    parsing_logits: torch.Tensor,
    edge_logits: Optional[torch.Tensor],
    *,
    partition_mode: str = "faithful",
    edge_thresh: float = 0.2,
    output_size: Optional[Tuple[int, int]] = None,
) -> Dict[str, object]:
    """Outputs of one image from its logits at output resolution.

    With ``output_size`` larger than the logits (a huge image the size policy downscaled), the
    partition runs at the logits' size and its maps are upscaled to ``output_size`` (nearest
    neighbour; edge probability bilinear); the area-based scores are multiplied by the area ratio
    so they stay in output pixels.

    Args:
        parsing_logits: (K, H, W) part logits (averaged over outputs / augmentations).
        edge_logits: (H, W) instance-edge logits, or None (no edge branch: all-zero edges, so
            people are the connected foreground regions).
        partition_mode: "faithful" or "clean".
        edge_thresh: the partition's edge-probability threshold (official 0.2).
    Returns:
        ``{"instances": Instances, "parsing": (H, W) int64, "edges": (H, W) float32 probability,
        "part_instances": {"ids": (H, W) int64, "classes": (M,) int64, "scores": (M,) float64}}``
        on the logits' device; the partition runs on CPU in numpy. ``part_instances`` are the
        partition's own part instances and scores (``cihp_instance_part_maps``; faithful scores
        may be NaN, as the official tool's), which the evaluators use for APr.
    """
    K, H, W = parsing_logits.shape
    score, parsing = parsing_logits.max(dim=0)
    if edge_logits is None:
        edge_prob = torch.zeros((H, W), dtype=torch.float32, device=parsing_logits.device)
    else:
        edge_prob = torch.sigmoid(edge_logits.float())
    parsing_np = parsing.cpu().numpy().astype(np.int32)
    result = partition_instances(
        parsing_np,
        edge_prob.cpu().numpy(),
        score.float().cpu().numpy(),
        mode=partition_mode,
        edge_thresh=edge_thresh,
        num_part_classes=K - 1,
    )
    human_map, part_map, ratio = result.human_map, result.part_instance_map, 1.0
    if output_size is not None and tuple(output_size) != (H, W):
        ratio = (output_size[0] * output_size[1]) / float(H * W)
        H, W = int(output_size[0]), int(output_size[1])
        human_map, part_map, parsing_np, parsing = (
            _upscale_labels(m, (H, W)) for m in (human_map, part_map, parsing_np, parsing.cpu().numpy())
        )
        parsing = torch.from_numpy(parsing).to(parsing_logits.device)
        edge_prob = _resize_bilinear(edge_prob[None], (H, W))[0]
    instances = instances_from_human_map(human_map, result.human_scores * ratio, parsing_np, (H, W))
    device = parsing_logits.device
    part_instances = {
        "ids": torch.from_numpy(part_map.astype(np.int64)).to(device),
        "classes": torch.from_numpy(result.part_classes.astype(np.int64)).to(device),
        "scores": torch.from_numpy(result.part_scores.astype(np.float64) * ratio).to(device),
    }
    return {
        "instances": instances.to(device),
        "parsing": parsing.to(torch.int64),
        "edges": edge_prob,
        "part_instances": part_instances,
    }


def _resize_bilinear(maps: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """(C, h, w) -> (C, H, W), bilinear without corner alignment (TF's resize_images)."""
    return F.interpolate(maps[None], size=size, mode="bilinear", align_corners=False)[0]


def _upscale_labels(labels: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an (h, w) integer map to ``size`` (H, W), dtype kept."""
    if labels.max(initial=0) <= np.iinfo(np.int16).max:  # cv2 resizes int16/int32, not int64
        out = cv2.resize(labels.astype(np.int32), (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
        return out.astype(labels.dtype, copy=False)
    rows = (np.arange(size[0]) * labels.shape[0] // size[0])[:, None]
    cols = (np.arange(size[1]) * labels.shape[1] // size[1])[None, :]
    return labels[rows, cols]


def working_size(input_size: Tuple[int, int], output_size: Tuple[int, int]) -> Tuple[int, int]:
    """Where PGN's logits are merged and partitioned: at the output size (the official test
    resizes logits to the image), unless the output is larger than the network input (a huge
    image the size policy downscaled), then at the input size: K logit maps at the original
    size of an 8000×6000 photo would take K × 192 MB."""
    if output_size[0] * output_size[1] > input_size[0] * input_size[1]:
        return tuple(input_size)
    return tuple(output_size)


def postprocess_at_output_size(
    parsing_logits: torch.Tensor,
    edge_logits: Optional[torch.Tensor],
    output_size: Tuple[int, int],
    **kwargs,
) -> Dict[str, object]:
    """:func:`pgn_postprocess` of logits of any size, outputs at ``output_size`` (H, W): the
    logits are resized bilinearly to :func:`working_size` first."""
    size = working_size(tuple(parsing_logits.shape[-2:]), tuple(output_size))
    if tuple(parsing_logits.shape[-2:]) != size:
        parsing_logits = _resize_bilinear(parsing_logits, size)
    if edge_logits is not None and tuple(edge_logits.shape[-2:]) != size:
        edge_logits = _resize_bilinear(edge_logits[None], size)[0]
    return pgn_postprocess(parsing_logits, edge_logits, output_size=tuple(output_size), **kwargs)
