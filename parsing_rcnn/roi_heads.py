"""``ParsingROIHeads``: Detectron2's ``StandardROIHeads`` plus the Parsing R-CNN branch.

The box branch is unchanged. The parsing branch has its own pooler (PSS: P2 only by default,
paper §3.1), its own ROI batch (at most ``ROI_BATCH_SIZE_PER_IMG`` foreground proposals per
image, paper §3.2) and a head from ``ROI_PARSING_HEAD_REGISTRY``.
"""
import logging
from typing import Dict, List, Optional

import torch

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import ROI_HEADS_REGISTRY, StandardROIHeads
from detectron2.modeling.matcher import Matcher
from detectron2.modeling.poolers import ROIPooler
from detectron2.modeling.roi_heads import select_foreground_proposals
from detectron2.structures import BitMasks, Instances, pairwise_iou
from human_parsing.structures import ParsingMaps

from .parsing_head import build_parsing_head

__all__ = ["ParsingROIHeads", "sample_parsing_proposals"]

logger = logging.getLogger(__name__)

# per-person full-image fields; kept out of the box-branch sampling, which would copy them
# once per sampled proposal (512 per image), and indexed only for the few parsing ROIs
_HEAVY_TYPES = (ParsingMaps, BitMasks)


def sample_parsing_proposals(fg_proposals: List[Instances], gt_boxes: List, fg_iou: float,
                             per_image: int, across_sample: bool) -> List[Instances]:
    """Re-match foreground proposals to GT boxes and draw the parsing ROI batch.

    Each proposal is matched to its highest-IoU GT box (IoU ≥ ``fg_iou``, no low-quality
    matches, methods.md §2.5 item 2); the others are dropped. Then at most ``per_image`` are kept
    at random per image, or with ``across_sample`` at most ``per_image × N`` from all images.

    Returns per-image ``Instances`` with a new field ``parsing_gt_idx`` (index of the GT person).
    """
    matcher = Matcher([fg_iou], [0, 1], allow_low_quality_matches=False)
    kept = []
    for props, gts in zip(fg_proposals, gt_boxes):
        if len(props) == 0 or len(gts) == 0:
            props = props[:0]
            props.parsing_gt_idx = torch.zeros(0, dtype=torch.int64, device=props.proposal_boxes.device)
            kept.append(props)
            continue
        idx, labels = matcher(pairwise_iou(gts, props.proposal_boxes))
        fg = labels == 1
        props = props[fg]
        props.parsing_gt_idx = idx[fg]
        kept.append(props)
    if across_sample:
        counts = [len(p) for p in kept]
        total, budget = sum(counts), per_image * len(kept)
        if total > budget:
            chosen = torch.zeros(total, dtype=torch.bool)
            chosen[torch.randperm(total)[:budget]] = True
            kept = [p[m.to(p.proposal_boxes.device)] for p, m in zip(kept, chosen.split(counts))]
        return kept
    out = []
    for p in kept:
        if len(p) > per_image:
            p = p[torch.randperm(len(p), device=p.proposal_boxes.device)[:per_image]]
        out.append(p)
    return out


@ROI_HEADS_REGISTRY.register()
class ParsingROIHeads(StandardROIHeads):
    """``StandardROIHeads`` with a parsing branch (``MODEL.PARSING_ON``)."""

    @configurable
    def __init__(self, *, parsing_in_features: Optional[List[str]] = None,
                 parsing_pooler: Optional[ROIPooler] = None, parsing_head=None,
                 parsing_batch_size_per_image: int = 16, parsing_across_sample: bool = False,
                 parsing_fg_iou_threshold: float = 0.5, **kwargs):
        """
        Args:
            parsing_in_features: feature maps the parsing pooler reads; None = no parsing branch.
            parsing_pooler, parsing_head: the branch's ROI pooler and head.
            parsing_batch_size_per_image: parsing ROIs per image in training.
            parsing_across_sample: draw the parsing ROIs from all images of the batch jointly.
            parsing_fg_iou_threshold: IoU of the re-matching of foreground proposals to GT.
            kwargs: arguments of ``StandardROIHeads``.
        """
        super().__init__(**kwargs)
        self.parsing_on = parsing_in_features is not None
        if self.parsing_on:
            self.parsing_in_features = parsing_in_features
            self.parsing_pooler = parsing_pooler
            self.parsing_head = parsing_head
            self.parsing_batch_size_per_image = parsing_batch_size_per_image
            self.parsing_across_sample = parsing_across_sample
            self.parsing_fg_iou_threshold = parsing_fg_iou_threshold

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = super().from_config(cfg, input_shape)
        ret.update(cls._init_parsing_head(cfg, input_shape))
        return ret

    @classmethod
    def _init_parsing_head(cls, cfg, input_shape: Dict[str, ShapeSpec]):
        if not cfg.MODEL.PARSING_ON:
            return {}
        h = cfg.MODEL.ROI_PARSING_HEAD
        in_features = list(h.IN_FEATURES)
        missing = [f for f in in_features if f not in input_shape]
        if missing:
            raise ValueError(f"ROI_PARSING_HEAD.IN_FEATURES {missing} not among the backbone outputs "
                             f"{sorted(input_shape)}")
        channels = {input_shape[f].channels for f in in_features}
        if len(channels) != 1:
            raise ValueError(f"ROI_PARSING_HEAD.IN_FEATURES must have equal channels, got {channels}")
        res = h.POOLER_RESOLUTION
        # one level: every ROI is pooled from it (PSS); several: FPN level assignment
        pooler = ROIPooler(
            output_size=res,
            scales=tuple(1.0 / input_shape[f].stride for f in in_features),
            sampling_ratio=h.POOLER_SAMPLING_RATIO,
            pooler_type=h.POOLER_TYPE,
        )
        shape = ShapeSpec(channels=channels.pop(), height=res, width=res)
        return {
            "parsing_in_features": in_features,
            "parsing_pooler": pooler,
            "parsing_head": build_parsing_head(cfg, shape),
            "parsing_batch_size_per_image": h.ROI_BATCH_SIZE_PER_IMG,
            "parsing_across_sample": h.ACROSS_SAMPLE,
            "parsing_fg_iou_threshold": h.FG_IOU_THRESHOLD,
        }

    def forward(self, images, features, proposals, targets=None):
        """See ``StandardROIHeads.forward``; adds ``loss_parsing`` in training and
        ``pred_parsing_probs`` at inference."""
        if not self.training:
            return super().forward(images, features, proposals, targets)
        assert targets, "'targets' argument is required during training"
        light = [self._without_heavy_fields(t) for t in targets]
        proposals, losses = super().forward(images, features, proposals, light)
        losses.update(self._forward_parsing(features, proposals, targets))
        return proposals, losses

    @staticmethod
    def _without_heavy_fields(t: Instances) -> Instances:
        fields = {k: v for k, v in t.get_fields().items() if not isinstance(v, _HEAVY_TYPES)}
        return Instances(t.image_size, **fields)

    def forward_with_given_boxes(self, features, instances):
        instances = super().forward_with_given_boxes(features, instances)
        return self._forward_parsing(features, instances)

    def _forward_parsing(self, features: Dict[str, torch.Tensor], instances: List[Instances],
                         targets: Optional[List[Instances]] = None):
        """
        Args:
            features: backbone features by name.
            instances: in training the sampled proposals (with ``gt_classes``); at inference
                the detections (with ``pred_boxes``).
            targets: training GT with ``gt_boxes`` and ``gt_parsing`` (``ParsingMaps``).
        Returns:
            In training ``{"loss_parsing": ...}``; at inference ``instances`` with
            ``pred_parsing_probs`` (r, K, M, M).
        """
        if not self.parsing_on:
            return {} if self.training else instances
        if self.training:
            fg, _ = select_foreground_proposals(instances, self.num_classes)
            instances = sample_parsing_proposals(
                fg, [t.gt_boxes for t in targets], self.parsing_fg_iou_threshold,
                self.parsing_batch_size_per_image, self.parsing_across_sample,
            )
            for inst, t in zip(instances, targets):
                if not t.has("gt_parsing"):
                    raise ValueError("Parsing R-CNN training needs 'gt_parsing' in the targets; check "
                                     "INPUT.MAPPER_NAME (InstanceParsingDatasetMapper)")
                inst.gt_parsing = t.gt_parsing[inst.parsing_gt_idx.to(t.gt_parsing.device)]
            boxes = [x.proposal_boxes for x in instances]
        else:
            boxes = [x.pred_boxes for x in instances]
        x = self.parsing_pooler([features[f] for f in self.parsing_in_features], boxes)
        return self.parsing_head(x, instances)
