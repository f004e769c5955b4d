"""Config keys of PGN (methods.md §3.11). Defaults are the official code's values."""

from detectron2.config import CfgNode as CN

__all__ = ["add_pgn_config"]


def add_pgn_config(cfg: CN) -> None:
    """Add ``MODEL.PGN`` and ``TEST.PGN`` to ``cfg``, plus ``MODEL.RESNETS.RES4_DILATION`` and
    ``SOLVER.POLY_LR_*`` when absent (same names and meaning as Detectron2's DeepLab project)."""
    _C = cfg
    # Dilation of res4's 3×3 convs (DeepLab project key; 2 with RES5_DILATION 4 gives output stride 8).
    if "RES4_DILATION" not in _C.MODEL.RESNETS:
        _C.MODEL.RESNETS.RES4_DILATION = 1

    # Poly learning-rate decay of the official schedule, under the DeepLab project's key names so
    # that detectron2.projects.deeplab.build_lr_scheduler ("WarmupPolyLR") reads them.
    if "POLY_LR_POWER" not in _C.SOLVER:
        _C.SOLVER.POLY_LR_POWER = 0.9
    if "POLY_LR_CONSTANT_ENDING" not in _C.SOLVER:
        _C.SOLVER.POLY_LR_CONSTANT_ENDING = 0.0

    _C.MODEL.PGN = CN()
    _C.MODEL.PGN.NUM_CLASSES = 20
    # Head, looked up in SEM_SEG_HEADS_REGISTRY.
    _C.MODEL.PGN.HEAD_NAME = "PGNHead"
    # Backbone features fed to the branches (the paper concatenates the last three blocks; ["res5"]
    # is the "no multi-block concat" ablation). Edge side outputs are taken on each of them.
    _C.MODEL.PGN.IN_FEATURES = ["res3", "res4", "res5"]
    # Channel widths (§3.3): per-feature 3×3 convs, fused convs, pyramid pooling paths, refinement.
    _C.MODEL.PGN.PARSING_BRANCH_DIM = 512  # one 3×3 conv per input feature
    _C.MODEL.PGN.PARSING_DIM = 512  # parsing_branch and parsing_pp_conv
    _C.MODEL.PGN.EDGE_BRANCH_DIM = 256  # edge_branch1/2/3
    _C.MODEL.PGN.EDGE_DIM = 256  # edge_branch
    _C.MODEL.PGN.EDGE_PP_DIM = 512  # edge_pp_conv
    _C.MODEL.PGN.PPM_DIM = 512  # each pyramid pooling path
    _C.MODEL.PGN.FEA_DIM = 256  # parsing_fea / edge_fea of the refinement branch
    _C.MODEL.PGN.REMAP_DIM = 128  # 1×1 remaps of the first-stage logits
    _C.MODEL.PGN.REFINE_DIM = 512  # the two 3×3 convs of each refinement stack
    # Pyramid pooling: "fixed_kernels" (code: windows PPM_KERNELS with TF SAME padding) or
    # "adaptive_bins" (paper: PPM_BINS × PPM_BINS grids).
    _C.MODEL.PGN.USE_PPM = True
    _C.MODEL.PGN.PPM_MODE = "fixed_kernels"
    _C.MODEL.PGN.PPM_KERNELS = [60, 30, 20, 10]
    _C.MODEL.PGN.PPM_BINS = [1, 2, 3, 6]
    _C.MODEL.PGN.DROPOUT_KEEP = 0.9  # keep probability before each classifier (training only)
    # Dilations of the summed 3×3 convs (DeepLab-v2 ASPP) of each edge side output.
    _C.MODEL.PGN.SIDE_DILATIONS = [1, 2, 4, 8, 16]
    # Norm in the head convs: "" (the code: conv + bias + ReLU), "GN", "BN", ...
    _C.MODEL.PGN.HEAD_NORM = ""
    # Head weight init: "truncated_normal" with HEAD_INIT_STD (the code) or "msra" (Kaiming).
    _C.MODEL.PGN.HEAD_INIT = "truncated_normal"
    _C.MODEL.PGN.HEAD_INIT_STD = 0.01
    # Ablation switches (§3.10).
    _C.MODEL.PGN.USE_EDGE = True  # False: parsing branch only (no edges, refinement, partition)
    _C.MODEL.PGN.USE_REFINE = True  # the refinement branch (P2, E2)
    _C.MODEL.PGN.USE_SIDE_OUTPUTS = True  # deep supervision of the edge branch
    _C.MODEL.PGN.USE_LOCAL_PARSING_LOSS = True  # parsing CE restricted to pixels near predicted edges
    # Losses (§3.5).
    _C.MODEL.PGN.LOCAL_EDGE_THRESH = 0.1  # sigmoid(E2) above this selects the local-loss pixels
    _C.MODEL.PGN.PARSING_LOSS_WEIGHT = 50.0  # global CE of P1 and P2 (p_Weight)
    _C.MODEL.PGN.LOCAL_PARSING_LOSS_WEIGHT = 50.0  # local CE of P1 and P2
    _C.MODEL.PGN.EDGE_LOSS_WEIGHT = 0.005  # E1 and E2 (e_Weight; the edge losses are pixel sums)
    _C.MODEL.PGN.SIDE_EDGE_LOSS_WEIGHT = 0.005  # each side output
    _C.MODEL.PGN.EDGE_POS_WEIGHT = 2.0  # extra factor on edge positives (Edge_Pos_W)
    _C.MODEL.PGN.EDGE_FG_WEIGHT = 1.0  # weight of the edge-loss sum repeated over foreground pixels
    _C.MODEL.PGN.IGNORE_LABEL = 255
    # Quick schedules only (not in the paper): weight each pixel's parsing CE by (class frequency
    # in the batch) ** -power (human_parsing.modeling.class_balance); 0 = the official loss.
    _C.MODEL.PGN.CLASS_BALANCE_POWER = 0.0
    # Images are padded to a multiple of this before the backbone.
    _C.MODEL.PGN.SIZE_DIVISIBILITY = 8
    # Instance partition (pgn.partition.partition_instances): "faithful" (MATLAB quirks) or "clean".
    _C.MODEL.PGN.PARTITION_MODE = "faithful"
    # Edge-probability threshold of the partition's edge map (edge_thresh of generate_instance_human.m).
    _C.MODEL.PGN.PARTITION_EDGE_THRESH = 0.2

    # Test-time augmentation (§3.7), used by PGNWithTTA (TEST.AUG.ENABLED → ParsingTrainer.test_with_TTA).
    _C.TEST.PGN = CN()
    _C.TEST.PGN.PARSING_SCALES = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]  # P1, P2 averaged over these
    _C.TEST.PGN.EDGE_SCALES = [1.0, 1.25, 1.5, 1.75]  # E2 averaged over these
    _C.TEST.PGN.FLIP = True  # also average the mirrored image (part channels swapped by flip_perm)
