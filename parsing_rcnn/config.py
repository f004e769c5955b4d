"""Config keys of Parsing R-CNN (methods.md §2.11). Defaults are the final CIHP model of the paper
(PSS + ERR + GCE + PBD); the yaml files under ``configs/`` only override what differs."""
from detectron2.config import CfgNode as CN

__all__ = ["add_parsing_rcnn_config"]


def add_parsing_rcnn_config(cfg: CN) -> None:
    """Add the ``MODEL.ROI_PARSING_HEAD`` node, ``MODEL.PARSING_ON`` and ``TEST.AUG.PARSING_HEUR``,
    ``TEST.AUG.BASE_SCALE_USES_TEST_MAX_SIZE``, and the UV variant's ``MODEL.UV_ON`` and
    ``MODEL.ROI_UV_HEAD``."""
    _C = cfg
    # Run the parsing branch in ParsingROIHeads (like MASK_ON for the mask branch).
    _C.MODEL.PARSING_ON = False

    _C.MODEL.ROI_PARSING_HEAD = CN()
    # Head class, a name in ROI_PARSING_HEAD_REGISTRY: "ParsingGCEHead" or "ParsingConvXHead".
    _C.MODEL.ROI_PARSING_HEAD.NAME = "ParsingGCEHead"
    # K, the number of part classes including background (20 CIHP, 59 MHP v2).
    _C.MODEL.ROI_PARSING_HEAD.NUM_PARSING = 20
    # Feature maps the parsing pooler reads. ["p2"] is PSS (paper §3.1): every ROI is pooled from
    # the finest level. All FPN levels (["p2","p3","p4","p5"]) use FPN level assignment (baseline).
    _C.MODEL.ROI_PARSING_HEAD.IN_FEATURES = ["p2"]
    # ROI feature extraction: "ROIAlign" (aligned=False, faithful) or "ROIAlignV2".
    _C.MODEL.ROI_PARSING_HEAD.POOLER_TYPE = "ROIAlign"
    # Pooled ROI size (ERR, paper §3.2): 14 baseline, 32 final, 64 large.
    _C.MODEL.ROI_PARSING_HEAD.POOLER_RESOLUTION = 32
    _C.MODEL.ROI_PARSING_HEAD.POOLER_SAMPLING_RATIO = 2
    # Side of the predicted (and target) per-ROI maps; a multiple of 2 × POOLER_RESOLUTION.
    # The output module is a ×2 deconv followed by bilinear ×(RESOLUTION / (2 × POOLER_RESOLUTION)).
    _C.MODEL.ROI_PARSING_HEAD.RESOLUTION = 128
    # Decoupled parsing batch: at most this many foreground proposals per image train the branch.
    _C.MODEL.ROI_PARSING_HEAD.ROI_BATCH_SIZE_PER_IMG = 16
    # Draw the (N_images × ROI_BATCH_SIZE_PER_IMG) parsing ROIs jointly from all images' positives.
    _C.MODEL.ROI_PARSING_HEAD.ACROSS_SAMPLE = False
    # Foreground proposals are re-matched to GT boxes with this IoU (no low-quality matches).
    _C.MODEL.ROI_PARSING_HEAD.FG_IOU_THRESHOLD = 0.5
    # Scale of the cross-entropy loss (2.0 in every released parsing config: "double loss weight").
    _C.MODEL.ROI_PARSING_HEAD.LOSS_WEIGHT = 2.0
    # Target value excluded from the loss (padding, void).
    _C.MODEL.ROI_PARSING_HEAD.IGNORE_LABEL = 255
    # Quick schedules only (not in the paper): weight each pixel's CE by (class frequency in the
    # batch) ** -power (human_parsing.modeling.class_balance); 0 = the paper's plain mean CE.
    _C.MODEL.ROI_PARSING_HEAD.CLASS_BALANCE_POWER = 0.0
    # Width of the head's 3×3 convs (convX stack, PBD convs) and of the non-local block.
    _C.MODEL.ROI_PARSING_HEAD.CONV_DIM = 512
    # Norm of the head's convs: "" (official), "GN", "BN", "SyncBN". Convs have a bias only without norm.
    _C.MODEL.ROI_PARSING_HEAD.NORM = ""

    # Baseline head: a stack of 3×3 convs (Table 3 "8 conv").
    _C.MODEL.ROI_PARSING_HEAD.CONVX = CN()
    _C.MODEL.ROI_PARSING_HEAD.CONVX.NUM_STACKED_CONVS = 8
    _C.MODEL.ROI_PARSING_HEAD.CONVX.DILATION = 1

    # Geometric and context encoding head (paper §3.3) with parsing branch decoupling (§3.4).
    _C.MODEL.ROI_PARSING_HEAD.GCE = CN()
    # ASPP on the ROI features (False = "non-local only" ablation: ROI features → 1×1 conv to
    # CONV_DIM → non-local).
    _C.MODEL.ROI_PARSING_HEAD.GCE.USE_ASPP = True
    # Channels of each ASPP branch.
    _C.MODEL.ROI_PARSING_HEAD.GCE.ASPP_DIM = 256
    # One 3×3 ASPP branch per dilation (in addition to the 1×1 branch).
    _C.MODEL.ROI_PARSING_HEAD.GCE.ASPP_DILATIONS = [6, 12, 18]
    # ASPP image-pooling branch (global average pool, 1×1 conv, broadcast).
    _C.MODEL.ROI_PARSING_HEAD.GCE.IMAGE_POOLING = True
    # Non-local block after the ASPP projection (False = "ASPP only" ablation).
    _C.MODEL.ROI_PARSING_HEAD.GCE.USE_NL = True
    # Non-local inner width = CONV_DIM × NL_RATIO.
    _C.MODEL.ROI_PARSING_HEAD.GCE.NL_RATIO = 1.0
    # Norm on the non-local output conv: "GN" (official code), "BN" (paper), "" (none).
    _C.MODEL.ROI_PARSING_HEAD.GCE.NL_NORM = "GN"
    # 2×2 max-pool of the non-local keys/values (4× fewer keys).
    _C.MODEL.ROI_PARSING_HEAD.GCE.NL_SUBSAMPLE = True
    # PBD (Table 4): 3×3 CONV_DIM convs before the ASPP and after the non-local block.
    _C.MODEL.ROI_PARSING_HEAD.GCE.NUM_CONVS_BEFORE = 0
    _C.MODEL.ROI_PARSING_HEAD.GCE.NUM_CONVS_AFTER = 4

    _C.MODEL.ROI_PARSING_HEAD.TEST = CN()
    # Instances whose (re-scored, see SCORE_TYPE) score is below this are dropped from the
    # output (official PRCNN.SCORE_THRESH, applied before APp).
    _C.MODEL.ROI_PARSING_HEAD.TEST.SCORE_THRESH = 0.001
    # Instances below this score are left out of the global part map (0.3 CIHP, 0.05 MHP v2).
    _C.MODEL.ROI_PARSING_HEAD.TEST.SEMSEG_SCORE_THRESH = 0.3
    # Zero border (pixels) added around the ROI probabilities before pasting (official: 1).
    _C.MODEL.ROI_PARSING_HEAD.TEST.PASTE_PAD = 1
    # Instance score: "box" (this paper's release) or "box_x_parsing" (box score × the mean
    # top-class probability over the ROI's foreground pixels).
    _C.MODEL.ROI_PARSING_HEAD.TEST.SCORE_TYPE = "box"

    # Test-time augmentation merge of per-ROI probabilities: "SOFT_AVG" (mean), "SOFT_MAX"
    # (element-wise max) or "LOGIT_AVG" (mean of logit(p), then sigmoid). Flip/scales: TEST.AUG.*.
    _C.TEST.AUG.PARSING_HEUR = "SOFT_AVG"
    # The TTA pass at INPUT.MIN_SIZE_TEST (and its flip) keeps INPUT.MAX_SIZE_TEST, the other
    # TEST.AUG.MIN_SIZES use TEST.AUG.MAX_SIZE (official: 800/1333 base, extra scales at 4000).
    # False: TEST.AUG.MAX_SIZE for every scale (Detectron2).
    _C.TEST.AUG.BASE_SCALE_USES_TEST_MAX_SIZE = False

    # ---- the dense-pose variant (UV R-CNN, methods.md §2.9): the parsing branch's pooler and
    # GCE + PBD trunk (MODEL.ROI_PARSING_HEAD: IN_FEATURES, POOLER_*, RESOLUTION, CONV_DIM, NORM,
    # GCE.*) with four outputs; data through INPUT.MAPPER_NAME "DensePoseDatasetMapper".
    _C.MODEL.UV_ON = False
    _C.MODEL.ROI_UV_HEAD = CN()
    # Head class, a name in ROI_UV_HEAD_REGISTRY.
    _C.MODEL.ROI_UV_HEAD.NAME = "UVGCEHead"
    # Output channels incl. background: 14 coarse parts + 1, 24 patches + 1.
    _C.MODEL.ROI_UV_HEAD.NUM_COARSE = 15
    _C.MODEL.ROI_UV_HEAD.NUM_PATCHES = 25
    # Positives: IoU >= this with their matched GT, which must carry dense pose (UVRCNN FG 0.7).
    _C.MODEL.ROI_UV_HEAD.FG_IOU_THRESHOLD = 0.7
    # At most this many positives per image (official ROI_SIZE_PER_IMG 32).
    _C.MODEL.ROI_UV_HEAD.ROI_BATCH_SIZE_PER_IMG = 32
    _C.MODEL.ROI_UV_HEAD.ACROSS_SAMPLE = False
    # Loss weights (official names): coarse segmentation, patch index at the points, U/V regression.
    _C.MODEL.ROI_UV_HEAD.INDEX_WEIGHT = 2.0
    _C.MODEL.ROI_UV_HEAD.PART_WEIGHT = 0.3
    _C.MODEL.ROI_UV_HEAD.POINT_REGRESSION_WEIGHT = 0.1
    # Official quirk: the patch loss also counts every ROI's empty point slots (196 per ROI) as
    # background points sampled at (0, 0) of ROI 0. False: valid points only (Detectron2 DensePose).
    _C.MODEL.ROI_UV_HEAD.PATCH_LOSS_PADDING = False
