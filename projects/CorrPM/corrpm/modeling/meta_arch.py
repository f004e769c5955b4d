"""CorrPM meta-architecture: ResNet-DeepLab backbone + a head from ``SEM_SEG_HEADS_REGISTRY``
(``CorrPMHead``); losses in training, ``{"sem_seg"}`` at the record's size at inference."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, build_backbone, build_sem_seg_head
from detectron2.structures import ImageList
from torch import nn

from ..data.affine import affine_matrix, center_scale, invert_affine, warp_affine_torch
from .loss import corrpm_losses

__all__ = ["CorrPM"]


def _stack(tensors: List[torch.Tensor], size: Tuple[int, int], pad: float) -> torch.Tensor:
    """Pad (…, h, w) tensors bottom/right to ``size`` and stack them."""
    return torch.stack([F.pad(t, (0, size[1] - t.shape[-1], 0, size[0] - t.shape[-2]), value=pad)
                        for t in tensors])


@META_ARCH_REGISTRY.register()
class CorrPM(nn.Module):
    """Zhang et al., "Correlating Edge, Pose with Parsing", CVPR 2020 (methods.md §5).

    Training input (from :class:`corrpm.data.CorrPMDatasetMapper`): ``"image"`` (C, h, w) crop,
    ``"sem_seg"`` (h, w) int64, ``"edges"`` (h, w) int64 0/1, ``"heatmaps"`` (J, h/4, w/4).
    Inference input: ``"image"`` (C, H, W), the whole image (no test resize), and optionally
    ``"height"``/``"width"``. The image is warped to the centred crop (``crop_size``, the
    training scale without jitter, §5.6), ``seg2`` is upsampled to the crop and warped back to
    the image (nearest; outside the crop = background); outputs ``[{"sem_seg": (K, H, W)}]`` and,
    with ``return_auxiliary``, ``"edges"`` (H, W) edge probability warped back the same way
    (drawn by ``apply_net show --vis edges``) and ``"keypoint_heatmaps"`` (J, h/4, w/4) of the crop.
    """

    @configurable
    def __init__(
        self,
        *,
        backbone: nn.Module,
        head: nn.Module,
        pixel_mean: Sequence[float],
        pixel_std: Sequence[float],
        crop_size: Tuple[int, int] = (384, 384),
        size_divisibility: int = 0,
        loss_weights: Optional[Dict[str, float]] = None,
        ignore_label: int = 255,
        return_auxiliary: bool = False,
    ):
        """
        Args:
            backbone: ResNet-DeepLab returning res2..res5.
            head: ``CorrPMHead``-like module returning a dict with "seg1", "seg2" and optionally
                "edge", "pose" logits.
            pixel_mean, pixel_std: normalisation of the input image channels (INPUT.FORMAT order).
            crop_size: (h, w) of the test-time crop (INPUT.CROP.SIZE).
            loss_weights: ``seg1_weight``, ``seg2_weight``, ``edge_weight``, ``pose_weight``.
        """
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.size_divisibility = size_divisibility
        self.loss_weights = dict(loss_weights or {})
        self.ignore_label = ignore_label
        self.return_auxiliary = return_auxiliary
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)

    @classmethod
    def from_config(cls, cfg) -> dict:
        backbone = build_backbone(cfg)
        c = cfg.MODEL.CORRPM
        return {
            "backbone": backbone,
            "head": build_sem_seg_head(cfg, backbone.output_shape()),
            "pixel_mean": cfg.MODEL.PIXEL_MEAN,
            "pixel_std": cfg.MODEL.PIXEL_STD,
            "crop_size": tuple(cfg.INPUT.CROP.SIZE),
            "size_divisibility": c.SIZE_DIVISIBILITY,
            "loss_weights": {
                "seg1_weight": c.SEG1_LOSS_WEIGHT,
                "seg2_weight": c.SEG2_LOSS_WEIGHT,
                "edge_weight": c.EDGE_LOSS_WEIGHT,
                "pose_weight": c.POSE_LOSS_WEIGHT,
            },
            "ignore_label": c.IGNORE_LABEL,
            "return_auxiliary": c.RETURN_AUXILIARY,
        }

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def network(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Normalised (N, C, H, W) images → the head's stride-4 logits."""
        return self.head(self.backbone(images))

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x.to(self.device).float() - self.pixel_mean) / self.pixel_std

    def forward(self, batched_inputs: List[dict]):
        if not self.training:
            return self.inference(batched_inputs)
        images = ImageList.from_tensors([self._normalize(x["image"]) for x in batched_inputs],
                                        self.size_divisibility)
        size = tuple(images.tensor.shape[-2:])
        outputs = self.network(images.tensor)
        sem_seg = _stack([x["sem_seg"].to(self.device) for x in batched_inputs], size, self.ignore_label)
        edges = heatmaps = None
        if "edges" in batched_inputs[0]:
            edges = _stack([x["edges"].to(self.device) for x in batched_inputs], size, self.ignore_label)
        if "heatmaps" in batched_inputs[0]:
            hs = [x["heatmaps"].to(self.device) for x in batched_inputs]
            grid = (max(h.shape[-2] for h in hs), max(h.shape[-1] for h in hs))
            heatmaps = _stack(hs, grid, 0.0)
        return corrpm_losses(outputs, sem_seg.long(), edges.long() if edges is not None else None,
                             heatmaps, ignore_label=self.ignore_label, **self.loss_weights)

    def inference(self, batched_inputs: List[dict]) -> List[dict]:
        crops, matrices = [], []
        for x in batched_inputs:
            img = x["image"].to(self.device).float()[None]
            h, w = img.shape[-2:]
            center, scale = center_scale(h, w, self.crop_size[1] / self.crop_size[0])
            m = affine_matrix(center, scale[0], 0.0, self.crop_size)
            crops.append(warp_affine_torch(img, m, self.crop_size, "bilinear")[0])
            matrices.append(m)
        outputs = self.network(self._normalize(torch.stack(crops)))
        seg = F.interpolate(outputs["seg2"], size=self.crop_size, mode="bilinear", align_corners=True)
        results = []
        for i, x in enumerate(batched_inputs):
            h, w = x["image"].shape[-2:]
            inv = invert_affine(matrices[i])
            res = {"sem_seg": _warp_back(seg[i], inv, (h, w), background=0)}
            if self.return_auxiliary and "edge" in outputs:
                edge = F.interpolate(outputs["edge"][i:i + 1], size=self.crop_size, mode="bilinear",
                                     align_corners=True).softmax(1)[0, 1:]
                res["edges"] = warp_affine_torch(edge[None], inv, (h, w), "bilinear")[0, 0]
            if self.return_auxiliary and "pose" in outputs:
                res["keypoint_heatmaps"] = outputs["pose"][i]
            out_h, out_w = x.get("height", h), x.get("width", w)
            if (out_h, out_w) != (h, w):  # the image was resized before the model
                res["sem_seg"] = F.interpolate(res["sem_seg"][None], size=(out_h, out_w), mode="bilinear",
                                               align_corners=False)[0]
                if "edges" in res:
                    res["edges"] = F.interpolate(res["edges"][None, None], size=(out_h, out_w),
                                                mode="bilinear", align_corners=False)[0, 0]
            results.append(res)
        return results


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
