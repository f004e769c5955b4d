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
from human_parsing.structures import DensePoseList, ParsingMaps

from .parsing_head import build_parsing_head
from .uv_head import build_uv_head

__all__ = ["ParsingROIHeads", "sample_parsing_proposals"]

logger = logging.getLogger(__name__)

# per-person full-image fields; kept out of the box-branch sampling, which would copy them
# once per sampled proposal (512 per image), and indexed only for the few parsing ROIs
_HEAVY_TYPES = (ParsingMaps, BitMasks, DensePoseList)


def sample_parsing_proposals(fg_proposals: List[Instances], gt_boxes: List, fg_iou: float,
                             per_image: int, across_sample: bool,
                             valid_gt: Optional[List[torch.Tensor]] = None) -> List[Instances]:
    """Re-match foreground proposals to GT boxes and draw the parsing ROI batch.

    Each proposal is matched to its highest-IoU GT box (IoU ≥ ``fg_iou``, no low-quality
    matches, methods.md §2.5 item 2); the others are dropped, and so are those whose GT is not
    ``valid_gt`` (per image, (G,) bool; the UV branch: GT with dense pose). Then at most
    ``per_image`` are kept at random per image, or with ``across_sample`` at most
    ``per_image × N`` from all images.

    Returns per-image ``Instances`` with a new field ``parsing_gt_idx`` (index of the GT person).
    """
    matcher = Matcher([fg_iou], [0, 1], allow_low_quality_matches=False)
    kept = []
    valid_gt = valid_gt if valid_gt is not None else [None] * len(gt_boxes)
    for props, gts, valid in zip(fg_proposals, gt_boxes, valid_gt):
        if len(props) == 0 or len(gts) == 0:
            props = props[:0]
            props.parsing_gt_idx = torch.zeros(0, dtype=torch.int64, device=props.proposal_boxes.device)
            kept.append(props)
            continue
        idx, labels = matcher(pairwise_iou(gts, props.proposal_boxes))
        fg = labels == 1
        if valid is not None:
            fg &= valid.to(idx.device)[idx]
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
                 parsing_fg_iou_threshold: float = 0.5, uv_in_features: Optional[List[str]] = None,
                 uv_pooler: Optional[ROIPooler] = None,
                 uv_head=None, uv_batch_size_per_image: int = 32, uv_across_sample: bool = False,
                 uv_fg_iou_threshold: float = 0.7, **kwargs):
        """
        Args:
            parsing_in_features: feature maps the parsing pooler reads; None = no parsing branch.
            parsing_pooler, parsing_head: the branch's ROI pooler and head.
            parsing_batch_size_per_image: parsing ROIs per image in training.
            parsing_across_sample: draw the parsing ROIs from all images of the batch jointly.
            parsing_fg_iou_threshold: IoU of the re-matching of foreground proposals to GT.
            uv_in_features, uv_pooler, uv_head: the dense-pose (UV) branch (None = off).
            uv_batch_size_per_image, uv_across_sample, uv_fg_iou_threshold: its ROI batch
                (positives: IoU ≥ 0.7 with a GT that has dense pose, ≤ 32 per image).
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
        self.uv_on = uv_head is not None
        if self.uv_on:
            self.uv_in_features = uv_in_features
            self.uv_pooler, self.uv_head = uv_pooler, uv_head
            self.uv_batch_size_per_image = uv_batch_size_per_image
            self.uv_across_sample = uv_across_sample
            self.uv_fg_iou_threshold = uv_fg_iou_threshold

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = super().from_config(cfg, input_shape)
        ret.update(cls._init_parsing_head(cfg, input_shape))
        ret.update(cls._init_uv_head(cfg, input_shape))
        return ret

    @classmethod
    def _init_uv_head(cls, cfg, input_shape: Dict[str, ShapeSpec]):
        """The UV branch: the parsing branch's pooler settings and trunk, ``MODEL.ROI_UV_HEAD``."""
        if not cfg.MODEL.UV_ON:
            return {}
        pooler, shape = cls._branch_pooler(cfg, input_shape)
        u = cfg.MODEL.ROI_UV_HEAD
        return {
            "uv_in_features": list(cfg.MODEL.ROI_PARSING_HEAD.IN_FEATURES),
            "uv_pooler": pooler,
            "uv_head": build_uv_head(cfg, shape),
            "uv_batch_size_per_image": u.ROI_BATCH_SIZE_PER_IMG,
            "uv_across_sample": u.ACROSS_SAMPLE,
            "uv_fg_iou_threshold": u.FG_IOU_THRESHOLD,
        }

    @staticmethod
    def _branch_pooler(cfg, input_shape: Dict[str, ShapeSpec]):
        """The ROI pooler of ``MODEL.ROI_PARSING_HEAD`` (PSS: one level = every ROI from it) and
        the shape of its output."""
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
        return pooler, ShapeSpec(channels=channels.pop(), height=res, width=res)

    @classmethod
    def _init_parsing_head(cls, cfg, input_shape: Dict[str, ShapeSpec]):
        if not cfg.MODEL.PARSING_ON:
            return {}
        h = cfg.MODEL.ROI_PARSING_HEAD
        pooler, shape = cls._branch_pooler(cfg, input_shape)
        return {
            "parsing_in_features": list(h.IN_FEATURES),
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
        losses.update(self._forward_uv(features, proposals, targets))
        return proposals, losses

    @staticmethod
    def _without_heavy_fields(t: Instances) -> Instances:
        fields = {k: v for k, v in t.get_fields().items() if not isinstance(v, _HEAVY_TYPES)}
        return Instances(t.image_size, **fields)

    def forward_with_given_boxes(self, features, instances):
        instances = super().forward_with_given_boxes(features, instances)
        return self._forward_uv(features, self._forward_parsing(features, instances))

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

    def _forward_uv(self, features: Dict[str, torch.Tensor], instances: List[Instances],
                    targets: Optional[List[Instances]] = None):
        """The UV branch. Training: positives re-matched at ``uv_fg_iou_threshold`` to GT with
        ``gt_densepose`` annotations, at most ``uv_batch_size_per_image`` per image; returns the
        four ``loss_uv_*``. Inference: fills ``pred_uv_*`` of the detections."""
        if not self.uv_on:
            return {} if self.training else instances
        if self.training:
            for t in targets:
                if not t.has("gt_densepose"):
                    raise ValueError("UV training needs 'gt_densepose' in the targets; check "
                                     "INPUT.MAPPER_NAME (DensePoseDatasetMapper)")
            fg, _ = select_foreground_proposals(instances, self.num_classes)
            instances = sample_parsing_proposals(
                fg, [t.gt_boxes for t in targets], self.uv_fg_iou_threshold,
                self.uv_batch_size_per_image, self.uv_across_sample,
                valid_gt=[t.gt_densepose.has_annotation for t in targets],
            )
            for inst, t in zip(instances, targets):
                idx = inst.parsing_gt_idx.cpu()
                inst.gt_densepose = t.gt_densepose[idx]
                inst.uv_gt_boxes = t.gt_boxes[idx.to(t.gt_boxes.device)]
            boxes = [x.proposal_boxes for x in instances]
        else:
            boxes = [x.pred_boxes for x in instances]
        x = self.uv_pooler([features[f] for f in self.uv_in_features], boxes)
        return self.uv_head(x, instances)
