"""CorrPM meta-architecture on the shared :class:`SemanticParsingModel`: ResNet-DeepLab backbone
+ a head from ``SEM_SEG_HEADS_REGISTRY`` (``CorrPMHead``); losses in training, ``{"sem_seg"}`` at
the record's size at inference, through CorrPM's centred affine crop and its inverse (§5.6)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, build_backbone, build_sem_seg_head
from torch import nn

from human_parsing.data.domains import check_num_classes
from human_parsing.data.label_spaces import IGNORE_LABEL
from human_parsing.modeling.semantic import SemanticParsingModel

from ..data.affine import affine_matrix, center_scale, invert_affine, warp_affine_torch
from .loss import corrpm_losses

__all__ = ["CorrPM"]


@META_ARCH_REGISTRY.register()
class CorrPM(SemanticParsingModel):
    """Zhang et al., "Correlating Edge, Pose with Parsing", CVPR 2020 (methods.md §5).

    Training input (from :class:`corrpm.data.CorrPMDatasetMapper`): ``"image"`` (C, h, w) crop,
    ``"sem_seg"`` (h, w) int64, ``"edges"`` (h, w) int64 0/1, ``"heatmaps"`` (J, h/4, w/4).
    Inference input: ``"image"`` (C, H, W), the whole image (no test resize), and optionally
    ``"height"``/``"width"``. The image is warped to the centred crop (``crop_size``, the
    training scale without jitter), ``seg2`` is upsampled to the crop (align_corners True) and
    warped back to the image (nearest; outside the crop = background), then resized to
    height x width if they differ. Outputs ``[{"sem_seg": (K, H, W)}]`` and, with
    ``return_auxiliary``, ``"edges"`` (H, W) edge probability warped back the same way (drawn by
    ``apply_net show --vis edges``) and ``"keypoint_heatmaps"`` (J, h/4, w/4) of the crop.
    """

    target_pad_values = {"sem_seg": IGNORE_LABEL, "edges": IGNORE_LABEL, "heatmaps": 0.0}

    @configurable
    def __init__(
        self,
        *,
        backbone: nn.Module,
        head: nn.Module,
        crop_size: Tuple[int, int] = (384, 384),
        loss_weights: Optional[Dict[str, float]] = None,
        ignore_label: int = IGNORE_LABEL,
        return_auxiliary: bool = True,
        **kwargs,
    ):
        """
        Args:
            backbone: ResNet-DeepLab returning res2..res5.
            head: ``CorrPMHead``-like module returning a dict with "seg1", "seg2" and optionally
                "edge", "pose" logits (stride 4).
            crop_size: (h, w) of the test-time crop (INPUT.CROP.SIZE).
            loss_weights: ``seg1_weight``, ``seg2_weight``, ``edge_weight``, ``pose_weight``.
            kwargs: :class:`SemanticParsingModel` arguments (domains, pixel mean/std, ...).
        """
        super().__init__(**kwargs)
        if len(self.domains) != 1:
            raise ValueError(f"CorrPM has one parsing head; got domains {self.domains} (MODEL.SEMANTIC.DOMAINS)")
        self.backbone = backbone
        self.head = head
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.loss_weights = dict(loss_weights or {})
        self.ignore_label = ignore_label
        self.return_auxiliary = return_auxiliary

    @classmethod
    def from_config(cls, cfg) -> dict:
        ret = super().from_config(cfg)
        c = cfg.MODEL.CORRPM
        check_num_classes(c.NUM_CLASSES, ret["domains"], "MODEL.CORRPM.NUM_CLASSES")
        backbone = build_backbone(cfg)
        ret.update(
            backbone=backbone,
            head=build_sem_seg_head(cfg, backbone.output_shape()),
            crop_size=tuple(cfg.INPUT.CROP.SIZE),
            loss_weights={
                "seg1_weight": c.SEG1_LOSS_WEIGHT,
                "seg2_weight": c.SEG2_LOSS_WEIGHT,
                "edge_weight": c.EDGE_LOSS_WEIGHT,
                "pose_weight": c.POSE_LOSS_WEIGHT,
            },
            ignore_label=c.IGNORE_LABEL,
            return_auxiliary=c.RETURN_AUXILIARY,
        )
        return ret

    def forward_features(self, images: torch.Tensor, domain: str) -> Dict[str, torch.Tensor]:
        """Normalised (N, C, H, W) images → the head's stride-4 logits, ``"sem_seg"`` = seg2."""
        out = self.head(self.backbone(images))
        out["sem_seg"] = out["seg2"]
        return out

    def losses(self, outputs, targets, domain) -> Dict[str, torch.Tensor]:
        edges = targets.get("edges")
        return corrpm_losses(outputs, targets["sem_seg"].long(), None if edges is None else edges.long(),
                             targets.get("heatmaps"), ignore_label=self.ignore_label, **self.loss_weights)

    def forward(self, batched_inputs: List[dict]):
        if self.training:
            return super().forward(batched_inputs)
        return self.inference(batched_inputs)

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x.to(self.device).float() - self.pixel_mean) / self.pixel_std

    def inference(self, batched_inputs: List[dict]) -> List[dict]:
        results: List[Optional[dict]] = [None] * len(batched_inputs)
        for domain, idx in self.group_by_domain(batched_inputs).items():
            crops, matrices = [], []
            for i in idx:
                img = batched_inputs[i]["image"].to(self.device).float()[None]
                h, w = img.shape[-2:]
                center, scale = center_scale(h, w, self.crop_size[1] / self.crop_size[0])
                m = affine_matrix(center, scale[0], 0.0, self.crop_size)
                crops.append(warp_affine_torch(img, m, self.crop_size, "bilinear")[0])  # border 0, as cv2
                matrices.append(m)
            outputs = self.forward_features(self._normalize(torch.stack(crops)), domain)
            seg = F.interpolate(outputs["seg2"], size=self.crop_size, mode="bilinear", align_corners=True)
            for j, i in enumerate(idx):
                results[i] = self._postprocess(batched_inputs[i], outputs, seg, j, invert_affine(matrices[j]))
        return results

    def _postprocess(self, x: dict, outputs: Dict[str, torch.Tensor], seg: torch.Tensor, j: int, inv) -> dict:
        h, w = x["image"].shape[-2:]
        res = {"sem_seg": _warp_back(seg[j], inv, (h, w), background=0)}
        if self.return_auxiliary and "edge" in outputs:
            edge = F.interpolate(outputs["edge"][j:j + 1], size=self.crop_size, mode="bilinear",
                                 align_corners=True).softmax(1)[0, 1:]
            res["edges"] = warp_affine_torch(edge[None], inv, (h, w), "bilinear")[0, 0]
        out_h, out_w = x.get("height", h), x.get("width", w)
        if (out_h, out_w) != (h, w):  # the image was resized before the model (e.g. by a TTA)
            for key in [k for k in ("sem_seg", "edges") if k in res]:
                v = res[key]
                v = F.interpolate(v.reshape((1, -1) + v.shape[-2:]), size=(out_h, out_w), mode="bilinear",
                                  align_corners=False)[0]
                res[key] = v if key == "sem_seg" else v[0]
        if self.return_auxiliary and "pose" in outputs:
            res["keypoint_heatmaps"] = outputs["pose"][j]
        return res


def _warp_back(scores: torch.Tensor, inv_matrix, size: Tuple[int, int], background: int) -> torch.Tensor:
    """(K, h, w) crop scores → (K, H, W) image scores by nearest sampling (the official argmax
    warped with INTER_NEAREST); pixels outside the crop get a one-hot ``background``."""
    k = scores.shape[0]
    ones = scores.new_ones((1, 1) + scores.shape[-2:])
    warped = warp_affine_torch(torch.cat([scores[None], ones], dim=1), inv_matrix, size, "nearest")[0]
    inside = warped[k:] > 0.5
    fill = torch.zeros_like(warped[:k])
    fill[background] = 1.0
    return torch.where(inside, warped[:k], fill)
