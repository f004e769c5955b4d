"""PGN meta-architecture: dilated backbone + PGN head; losses in training, the project-wide output
interface (people, global part map, edge probability) at inference."""

import logging
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, build_backbone
from detectron2.structures import ImageList

from .heads import build_pgn_head
from .loss import pgn_losses
from .post_processing import postprocess_at_output_size

__all__ = ["PGN"]

logger = logging.getLogger(__name__)


@META_ARCH_REGISTRY.register()
class PGN(nn.Module):
    """Part Grouping Network (Gong et al., ECCV 2018), methods.md §3.

    Input: Detectron2 list of dicts with ``"image"`` (C, H, W) BGR uint8, ``"height"``/``"width"``
    (output size) and, for training, ``"sem_seg"`` (H, W) int64 part labels (255 ignored) and
    ``"edges"`` (H, W) int64 instance edges (0/1, 255 padding; derived from ``"human_ids"`` when
    absent).
    Output (training): a dict of weighted losses (:func:`pgn.loss.pgn_losses`). Output
    (inference): per image ``{"instances", "parsing", "edges", "part_instances"}``
    (:func:`pgn_postprocess`).
    """

    @configurable
    def __init__(
        self,
        *,
        backbone: nn.Module,
        head: nn.Module,
        pixel_mean: Tuple[float, ...],
        pixel_std: Tuple[float, ...],
        size_divisibility: int = 8,
        loss_kwargs: Optional[dict] = None,
        ignore_label: int = 255,
        partition_mode: str = "faithful",
        partition_edge_thresh: float = 0.2,
    ):
        """
        Args:
            backbone: returns the features the head reads (res3, res4, res5 at stride 8).
            head: :class:`pgn.heads.PGNHead`-like module returning a dict of logit maps.
            pixel_mean, pixel_std: per-channel normalization of the BGR input.
            size_divisibility: the padded batch size is a multiple of this.
            loss_kwargs: keyword arguments of :func:`pgn.loss.pgn_losses` (weights, switches).
            partition_mode: "faithful" or "clean" (:func:`pgn.partition.partition_instances`).
            partition_edge_thresh: edge-probability threshold of the partition (official 0.2).
        """
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.size_divisibility = size_divisibility
        self.loss_kwargs = dict(loss_kwargs or {})
        self.ignore_label = ignore_label
        self.partition_mode = partition_mode
        self.partition_edge_thresh = partition_edge_thresh
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)

    @classmethod
    def from_config(cls, cfg):
        backbone = build_backbone(cfg)
        p = cfg.MODEL.PGN
        return {
            "backbone": backbone,
            "head": build_pgn_head(cfg, backbone.output_shape()),
            "pixel_mean": cfg.MODEL.PIXEL_MEAN,
            "pixel_std": cfg.MODEL.PIXEL_STD,
            "size_divisibility": p.SIZE_DIVISIBILITY,
            "loss_kwargs": {
                "parsing_weight": p.PARSING_LOSS_WEIGHT,
                "local_parsing_weight": p.LOCAL_PARSING_LOSS_WEIGHT,
                "edge_weight": p.EDGE_LOSS_WEIGHT,
                "side_edge_weight": p.SIDE_EDGE_LOSS_WEIGHT,
                "edge_pos_weight": p.EDGE_POS_WEIGHT,
                "edge_fg_weight": p.EDGE_FG_WEIGHT,
                "use_local": p.USE_LOCAL_PARSING_LOSS,
                "local_thresh": p.LOCAL_EDGE_THRESH,
                "ignore_label": p.IGNORE_LABEL,
                "class_balance_power": p.CLASS_BALANCE_POWER,
            },
            "ignore_label": p.IGNORE_LABEL,
            "partition_mode": p.PARTITION_MODE,
            "partition_edge_thresh": p.PARTITION_EDGE_THRESH,
        }

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def preprocess_image(self, images: List[torch.Tensor]) -> ImageList:
        """Normalize (C, H, W) images and pad them (with 0 = the mean, as the official code)."""
        images = [(x.to(self.device).float() - self.pixel_mean) / self.pixel_std for x in images]
        return ImageList.from_tensors(images, self.size_divisibility)

    def predict(self, images: List[torch.Tensor]) -> Tuple[List[torch.Tensor], List[Optional[torch.Tensor]]]:
        """Run the network on (C, H_i, W_i) images (already resized as wanted).

        Returns per image the parsing logits (K, H_i, W_i) — the mean of P1 and P2 (P1 alone
        without refinement) — and the edge logits (H_i, W_i) of E2 (E1; None without edges),
        upsampled bilinearly from stride 8 to the padded input and cropped to the image.
        """
        batch = self.preprocess_image(images)
        out = self.head(self.backbone(batch.tensor))
        parsing = out["parsing"]
        if "parsing_refine" in out:
            parsing = (parsing + out["parsing_refine"]) / 2
        edge = out.get("edge_refine", out.get("edge"))
        size = batch.tensor.shape[-2:]
        parsing = F.interpolate(parsing, size=size, mode="bilinear", align_corners=False)
        if edge is not None:
            edge = F.interpolate(edge, size=size, mode="bilinear", align_corners=False)[:, 0]
        parsing_list, edge_list = [], []
        for i, (h, w) in enumerate(batch.image_sizes):
            parsing_list.append(parsing[i, :, :h, :w])
            edge_list.append(edge[i, :h, :w] if edge is not None else None)
        return parsing_list, edge_list

    def forward(self, batched_inputs: List[Dict]):
        if not self.training:
            return self.inference(batched_inputs)
        batch = self.preprocess_image([x["image"] for x in batched_inputs])
        outputs = self.head(self.backbone(batch.tensor))
        sem_seg = self._pad_targets([x["sem_seg"] for x in batched_inputs], batch)
        edges = None
        if any(k.startswith("edge") for k in outputs):
            edges = self._pad_targets([self._edge_target(x) for x in batched_inputs], batch)
        return pgn_losses(outputs, sem_seg, edges, **self.loss_kwargs)

    def _pad_targets(self, targets: List[torch.Tensor], batch: ImageList) -> torch.Tensor:
        """Stack (H_i, W_i) targets into (N, H, W) int64, padding with the ignore label (255)."""
        H, W = batch.tensor.shape[-2:]
        out = torch.full((len(targets), H, W), self.ignore_label, dtype=torch.int64, device=self.device)
        for i, t in enumerate(targets):
            out[i, : t.shape[0], : t.shape[1]] = t.to(self.device)
        return out

    def _edge_target(self, record: Dict) -> torch.Tensor:
        if "edges" in record:
            return record["edges"]
        if "human_ids" not in record:
            raise ValueError(
                f"PGN training needs 'edges' or 'human_ids' in the mapped inputs (image "
                f"{record.get('file_name', '?')}); enable them in the mapper config"
            )
        from human_parsing.data.targets import instance_edges

        ids = record["human_ids"].cpu().numpy()
        pad = ids == self.ignore_label
        edges = instance_edges(np.where(pad, 0, ids)).astype(np.int64)
        edges[pad] = self.ignore_label
        return torch.from_numpy(edges)

    def inference(self, batched_inputs: List[Dict]) -> List[Dict]:
        """Outputs at each input's ``height``/``width`` (the original image size): logits are
        resized to it, or, for a huge image the size policy downscaled, the outputs are
        (:func:`pgn.post_processing.working_size`)."""
        parsing, edges = self.predict([x["image"] for x in batched_inputs])
        results = []
        for x, p, e in zip(batched_inputs, parsing, edges):
            h, w = x.get("height", p.shape[-2]), x.get("width", p.shape[-1])
            results.append(
                postprocess_at_output_size(
                    p, e, (h, w), partition_mode=self.partition_mode, edge_thresh=self.partition_edge_thresh
                )
            )
        return results
