"""``ParsingRCNN``: ``GeneralizedRCNN`` whose post-processing pastes the parsing maps and paints
the global part map, so ``model(inputs)`` returns the project-wide output format."""
from typing import Dict, List, Optional

import torch

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, GeneralizedRCNN
from detectron2.modeling.postprocessing import detector_postprocess
from detectron2.structures import Instances

from .inference import parsing_rcnn_postprocess
from .uv_head import uv_charts

__all__ = ["ParsingRCNN"]


@META_ARCH_REGISTRY.register()
class ParsingRCNN(GeneralizedRCNN):
    """Inference returns, per image at its original size, ``{"instances": Instances(pred_boxes,
    scores, pred_classes, pred_parsing: PersonParsing), "parsing": (H, W) int64}``; the UV
    variant (``MODEL.UV_ON``, parsing off) ``{"instances": Instances(pred_boxes, scores,
    pred_classes, pred_densepose: DensePoseCharts)}``."""

    @configurable
    def __init__(self, *, semseg_score_thresh: float = 0.3, paste_pad: int = 1,
                 score_type: str = "box", parsing_score_thresh: float = 0.0, **kwargs):
        """
        Args:
            semseg_score_thresh: people below this score stay out of the global map.
            paste_pad: zero border of the paste-back (official 1).
            score_type: instance score, see ``parsing_instance_scores``.
            parsing_score_thresh: people below this (re-scored) score are dropped.
            kwargs: arguments of ``GeneralizedRCNN``.
        """
        super().__init__(**kwargs)
        self.postprocess_args = dict(
            semseg_score_thresh=semseg_score_thresh, paste_pad=paste_pad,
            score_type=score_type, score_thresh=parsing_score_thresh,
        )

    @classmethod
    def from_config(cls, cfg):
        ret = super().from_config(cfg)
        t = cfg.MODEL.ROI_PARSING_HEAD.TEST
        ret.update(
            semseg_score_thresh=t.SEMSEG_SCORE_THRESH,
            paste_pad=t.PASTE_PAD,
            score_type=t.SCORE_TYPE,
            parsing_score_thresh=t.SCORE_THRESH,
        )
        return ret

    def inference(self, batched_inputs: List[Dict[str, torch.Tensor]],
                  detected_instances: Optional[List[Instances]] = None, do_postprocess: bool = True):
        results = super().inference(batched_inputs, detected_instances, do_postprocess=False)
        if not do_postprocess:
            return results
        return self.postprocess(results, batched_inputs)

    def postprocess(self, results: List[Instances], batched_inputs: List[Dict]) -> List[Dict]:
        """Raw per-image detections (image-input size) → outputs at each input's height/width."""
        out = []
        for r, inp in zip(results, batched_inputs):
            height = inp.get("height", r.image_size[0])
            width = inp.get("width", r.image_size[1])
            if not r.has("pred_parsing_probs"):  # parsing branch off: a detector (+ UV charts)
                r = detector_postprocess(r, height, width)
                if r.has("pred_uv_index"):
                    r.pred_densepose = uv_charts(r)
                    for name in ("pred_uv_coarse", "pred_uv_index", "pred_uv_u", "pred_uv_v"):
                        r.remove(name)
                out.append({"instances": r})
                continue
            out.append(parsing_rcnn_postprocess(r, height, width, **self.postprocess_args))
        return out
