"""The GCE keypoint head of the COCO-keypoint pre-training (paper §4.2, Table 5 "COCO").

The paper pre-trains the whole model as a keypoint R-CNN on COCO keypoints with a GCE keypoint
head (the official code's ``KRCNN.GCE_HEAD``), then initialises the parsing branch from it. The
head below has the parsing head's GCE layers (``GCELayers``, architecture from
``MODEL.ROI_PARSING_HEAD.{CONV_DIM, NORM, GCE}``, so shapes and names match) and the same output
module with ``NUM_KEYPOINTS`` channels: heatmaps 4× the pooled size, like Detectron2's
``KRCNNConvDeconvUpsampleHead`` (deconv ×2, bilinear ×2). Its weights are loaded into a parsing
model with ``MODEL.WEIGHTS_PREFIX_MAP`` (``human_parsing.engine.checkpoint``).
"""
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling.roi_heads.keypoint_head import ROI_KEYPOINT_HEAD_REGISTRY, BaseKeypointRCNNHead

from .output import ParsingOutput
from .parsing_head import GCELayers

__all__ = ["KeypointGCEHead"]


@ROI_KEYPOINT_HEAD_REGISTRY.register()
class KeypointGCEHead(BaseKeypointRCNNHead, GCELayers):
    """ROI features (R, C, S, S) → ``GCELayers`` → (R, NUM_KEYPOINTS, 4S, 4S) heatmap logits;
    loss and inference are Detectron2's keypoint R-CNN ones."""

    @configurable
    def __init__(self, input_shape: ShapeSpec, *, num_keypoints: int, gce: dict, **kwargs):
        """
        Args:
            input_shape: shape of the pooled ROI features (height = pooled size S).
            num_keypoints: heatmap channels.
            gce: keyword arguments of ``GCELayers._init_gce``.
            kwargs: ``loss_weight``, ``loss_normalizer`` of ``BaseKeypointRCNNHead``.
        """
        super().__init__(num_keypoints=num_keypoints, **kwargs)
        self._init_gce(input_shape.channels, **gce)
        pooled = input_shape.height
        self.predictor = ParsingOutput(gce.get("conv_dim", 512), num_keypoints, pooled, 4 * pooled)

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = super().from_config(cfg, input_shape)
        ret.update(input_shape=input_shape, gce=cls.gce_args_from_config(cfg))
        return ret

    def layers(self, x):
        # contiguous: Detectron2's keypoint loss .view()s the heatmaps, and the CPU convolutions
        # may hand back a channels-last layout
        return self.predictor(self.gce_features(x)).contiguous()
