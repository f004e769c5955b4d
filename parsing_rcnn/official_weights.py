"""The official Parsing R-CNN checkpoints (soeaver/Parsing-R-CNN, PyTorch ``.pth``) -> ours.

Released: R-50-FPN 3x for CIHP (K = 20) and for MHP v2 (K = 59). The official trainer replaces
every BatchNorm by an ``AffineChannel2d`` holding the folded scale and shift before training, so a
released state dict has only ``weight``/``bias`` per norm layer; its test script loads them into
BatchNorms with the default statistics (mean 0, variance 1, eps 1e-5) and folds again. We fill the
same statistics into Detectron2's ``FrozenBatchNorm2d`` (eps 1e-5), which computes the same thing.
A state dict that still has running statistics is converted with them.

Other choices of the table (official -> ours):
- the box classifier's rows (background, person) become (person, background): Detectron2 puts
  background last; the class-specific box regression keeps the person's 4 rows;
- ``RPN.anchor_generator.cell_anchors.*`` (anchors, recomputed from the config), the test model's
  input normalisation ``Norm.*`` (our PIXEL_MEAN/PIXEL_STD) and ``num_batches_tracked`` are dropped.
"""
import os
from typing import Dict, List, Tuple

import numpy as np

from human_parsing.official_weights import (
    OFFICIAL_WEIGHTS_REGISTRY,
    NameTable,
    OfficialWeightsConverter,
    take_rows,
)

__all__ = ["ParsingRCNNOfficialWeights", "parsing_rcnn_name_table"]

_RESNET_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
_BN_STATS = (("running_mean", 0.0), ("running_var", 1.0))


def _norm(t: NameTable, official: Dict, off: str, ours: str) -> None:
    """A BatchNorm / AffineChannel2d ``off`` onto our FrozenBatchNorm2d ``ours``."""
    t.add(f"{off}.weight", f"{ours}.weight")
    t.add(f"{off}.bias", f"{ours}.bias")
    if f"{off}.running_mean" in official:  # an un-folded BatchNorm: keep its statistics
        for s, _ in _BN_STATS:
            t.add(f"{off}.{s}", f"{ours}.{s}")
    else:  # folded affine (the released form): the official test's default statistics
        for s, v in _BN_STATS:
            t.fill(f"{ours}.{s}", v, "AffineChannel2d checkpoint: the official test folds mean 0, var 1")


def _backbone(t: NameTable, official: Dict, depth: int) -> None:
    if depth not in _RESNET_BLOCKS:
        raise ValueError(f"official Parsing R-CNN ResNet depth {depth} is not in the table "
                         f"(have {sorted(_RESNET_BLOCKS)})")
    b = "backbone.bottom_up"
    t.add("Conv_Body.conv1.weight", f"{b}.stem.conv1.weight")
    _norm(t, official, "Conv_Body.bn1", f"{b}.stem.conv1.norm")
    for stage, n in enumerate(_RESNET_BLOCKS[depth]):
        for j in range(n):
            off, ours = f"Conv_Body.layer{stage + 1}.{j}", f"{b}.res{stage + 2}.{j}"
            for k in (1, 2, 3):
                t.add(f"{off}.conv{k}.weight", f"{ours}.conv{k}.weight")
                _norm(t, official, f"{off}.bn{k}", f"{ours}.conv{k}.norm")
            if j == 0:
                t.add(f"{off}.downsample.0.weight", f"{ours}.shortcut.weight")
                _norm(t, official, f"{off}.downsample.1", f"{ours}.shortcut.norm")


def _fpn(t: NameTable) -> None:
    # the official lateral/output lists run from C4 down to C2; P5 has its own convs
    for off, level in (("p5_in", 5), ("fpn_in.0", 4), ("fpn_in.1", 3), ("fpn_in.2", 2)):
        for p in ("weight", "bias"):
            t.add(f"Conv_Body_FPN.{off}.{p}", f"backbone.fpn_lateral{level}.{p}")
    for off, level in (("p5_out", 5), ("fpn_out.0", 4), ("fpn_out.1", 3), ("fpn_out.2", 2)):
        for p in ("weight", "bias"):
            t.add(f"Conv_Body_FPN.{off}.{p}", f"backbone.fpn_output{level}.{p}")


def _rpn_and_box_head(t: NameTable) -> None:
    for off, ours in (("conv", "conv"), ("cls_logits", "objectness_logits"), ("bbox_pred", "anchor_deltas")):
        for p in ("weight", "bias"):
            t.add(f"RPN.head.{off}.{p}", f"proposal_generator.rpn_head.{ours}.{p}")
    for off, ours in (("fc6", "fc1"), ("fc7", "fc2")):
        for p in ("weight", "bias"):
            t.add(f"Fast_RCNN.Head.{off}.{p}", f"roi_heads.box_head.{ours}.{p}")
    for p in ("weight", "bias"):
        # official classes (background, person); Detectron2's (person, background)
        t.add(f"Fast_RCNN.Output.cls_score.{p}", f"roi_heads.box_predictor.cls_score.{p}", take_rows([1, 0], 2))
        # class-specific regression, 4 rows per class: keep the person's
        t.add(f"Fast_RCNN.Output.bbox_pred.{p}", f"roi_heads.box_predictor.bbox_pred.{p}",
              take_rows([4, 5, 6, 7], 8))


def _parsing_head(t: NameTable, num_before: int, num_after: int) -> None:
    h, o = "Parsing_RCNN.Head", "roi_heads.parsing_head"
    pairs: List[Tuple[str, str]] = [
        ("im_pool.1.0", "context.pool_conv"),
        ("asppv3.0.0", "context.conv1x1"),
        ("asppv3.1.0", "context.atrous.0"),
        ("asppv3.2.0", "context.atrous.1"),
        ("asppv3.3.0", "context.atrous.2"),
        ("feat.0.0", "context.project"),
        ("feat.1.theta", "nonlocal_block.theta"),
        ("feat.1.phi", "nonlocal_block.phi"),
        ("feat.1.g", "nonlocal_block.g"),
        ("feat.1.out", "nonlocal_block.out"),
        ("feat.1.gn", "nonlocal_block.out.norm"),
    ]
    pairs += [(f"conv_before_asppv3.{i}.0", f"before.{i}") for i in range(num_before)]
    pairs += [(f"conv_after_asppv3.{i}.0", f"after.{i}") for i in range(num_after)]
    for off, ours in pairs:
        for p in ("weight", "bias"):
            t.add(f"{h}.{off}.{p}", f"{o}.{ours}.{p}")
    for p in ("weight", "bias"):
        t.add(f"Parsing_RCNN.Output.parsing_score_lowres.{p}", f"{o}.predictor.deconv.{p}")


def parsing_rcnn_name_table(cfg, official: Dict) -> NameTable:
    """The table for the released model family: Caffe ResNet-FPN, RPN, 2fc box head, GCE parsing
    head with ASPP + non-local (``cfg``'s before/after convs) and the deconv output."""
    head = cfg.MODEL.ROI_PARSING_HEAD
    if head.NAME != "ParsingGCEHead" or not (head.GCE.USE_ASPP and head.GCE.USE_NL):
        raise ValueError("the released Parsing R-CNN models use the GCE head with ASPP and non-local; "
                         f"config has {head.NAME} (USE_ASPP={head.GCE.USE_ASPP}, USE_NL={head.GCE.USE_NL})")
    t = NameTable()
    _backbone(t, official, cfg.MODEL.RESNETS.DEPTH)
    _fpn(t)
    _rpn_and_box_head(t)
    _parsing_head(t, head.GCE.NUM_CONVS_BEFORE, head.GCE.NUM_CONVS_AFTER)
    t.ignore(r"RPN\.anchor_generator\.cell_anchors\.\d+", "anchors are recomputed from the config")
    t.ignore(r"Norm\.(weight|bias)", "the test model's input normalisation = PIXEL_MEAN / PIXEL_STD")
    t.ignore(r".*\.num_batches_tracked", "BatchNorm counter, unused by frozen norms")
    return t


@OFFICIAL_WEIGHTS_REGISTRY.register()
class ParsingRCNNOfficialWeights(OfficialWeightsConverter):
    method = "parsing_rcnn"
    default_config = "configs/CIHP/parsing_rcnn_R_50_FPN_3x_official_weights.yaml"
    description = "soeaver/Parsing-R-CNN .pth (CIHP / MHP v2 R-50-FPN)"

    def table(self, cfg, official: Dict[str, np.ndarray]) -> NameTable:
        return parsing_rcnn_name_table(cfg, official)

    def official_names(self, source_dir: str, cfg) -> Dict[str, Tuple[int, ...]]:
        """Builds the official test model from ``source_dir`` for our config's dataset; its
        BatchNorms are folded as the official trainer does before saving."""
        from .official_source import build_official_model, official_modules

        k = cfg.MODEL.ROI_PARSING_HEAD.NUM_PARSING
        name = {20: "CIHP", 59: "MHP-v2"}.get(k)
        if name is None:
            raise ValueError(f"no released official config with {k} parsing classes")
        with official_modules(source_dir):
            from utils.net import convert_bn2affine_model

            model, _ = build_official_model(
                os.path.join(source_dir, "cfgs", name, "e2e_parsing_rcnn_R-50-FPN_3x_ms.yaml"), is_train=True)
            model = convert_bn2affine_model(model, merge=True)
            return {k: tuple(v.shape) for k, v in model.state_dict().items()}
