"""Config keys of CorrPM (methods.md §5.8). Defaults are the official code's values (LIP, 384×384)."""

from detectron2.config import CfgNode as CN

__all__ = ["add_corrpm_config"]


def _add_if_absent(node: CN, key: str, value) -> None:
    # keys shared with Detectron2's DeepLab project / other packages: same names, no clobbering
    if key not in node:
        setattr(node, key, value)


def add_corrpm_config(cfg: CN) -> None:
    """Add ``MODEL.CORRPM`` and ``INPUT.AFFINE`` to ``cfg``, plus the DeepLab-project keys the
    ResNet-DeepLab backbone and the poly schedule read (``MODEL.RESNETS.{RES4_DILATION,
    RES5_MULTI_GRID, STEM_TYPE}``, ``SOLVER.POLY_LR_*``) when absent."""
    _C = cfg
    _add_if_absent(_C.MODEL.RESNETS, "RES4_DILATION", 1)
    _add_if_absent(_C.MODEL.RESNETS, "RES5_MULTI_GRID", [1, 1, 1])
    _add_if_absent(_C.MODEL.RESNETS, "STEM_TYPE", "deeplab")
    _add_if_absent(_C.SOLVER, "POLY_LR_POWER", 0.9)
    _add_if_absent(_C.SOLVER, "POLY_LR_CONSTANT_ENDING", 0.0)

    _C.MODEL.CORRPM = CN()
    _C.MODEL.CORRPM.NUM_CLASSES = 20
    # Joints of the pose encoder (16 MPII/LIP; 17 for COCO pseudo-pose on CIHP/ATR). Must match
    # the keypoints of the data (INPUT.PARSING.KEYPOINT_FORMAT).
    _C.MODEL.CORRPM.NUM_JOINTS = 16
    # Backbone features: res2 (decoder, edges), res3/res4 (edges), res5 (ASPP, pose).
    _C.MODEL.CORRPM.IN_FEATURES = ["res2", "res3", "res4", "res5"]
    # Widths (§5.2): f_p / f_b / f_h / HNL output, ASPP branches, edge laterals, pose deconvs, HNL inner.
    _C.MODEL.CORRPM.FEAT_DIM = 512
    _C.MODEL.CORRPM.ASPP_DIM = 256
    _C.MODEL.CORRPM.ASPP_DILATIONS = [12, 24, 36]
    _C.MODEL.CORRPM.ASPP_DROPOUT = 0.1  # Dropout2d after the ASPP projection
    _C.MODEL.CORRPM.EDGE_MID_DIM = 256
    _C.MODEL.CORRPM.POSE_DECONV_DIMS = [256, 512]
    _C.MODEL.CORRPM.HNL_INTER_DIM = 256
    # Sub-sample the HNL keys/values 2×2 (code); False = the paper's N×N attention.
    _C.MODEL.CORRPM.HNL_SUBSAMPLE = True
    # Norm and activation of the heads: the official InPlaceABNSync = BN + LeakyReLU(0.01).
    # NORM: "SyncBN" (faithful, multi-GPU), "BN", "GN", ... ACTIVATION: "leaky_relu" or "relu".
    # The pose deconvolutions keep BN + ReLU as SimpleBaseline (official).
    _C.MODEL.CORRPM.NORM = "SyncBN"
    _C.MODEL.CORRPM.ACTIVATION = "leaky_relu"
    _C.MODEL.CORRPM.NEGATIVE_SLOPE = 0.01
    # How the refined parsing feature is made (paper Tables 5-6):
    #   "hnl"     f_p2 = HNL(query = fuse(concat HYBRID_INPUTS), keys/values = f_p)  (CorrPM, PB, PK, PBB, PKK)
    #   "concat"  f_p2 = fuse(concat HYBRID_INPUTS)                                 (P+B, P+K, P+B+K)
    #   "self_nl" f_p2 = non-local(f_p) (same block, queries from f_p)              (PP)
    #   "none"    f_p2 = f_p                                                        (P)
    _C.MODEL.CORRPM.FUSION = "hnl"
    # Features concatenated into the hybrid, among "parsing", "edge", "pose"; repeats allowed (PBB, PKK).
    _C.MODEL.CORRPM.HYBRID_INPUTS = ["parsing", "edge", "pose"]
    # Build and supervise the edge / pose encoders (needed by HYBRID_INPUTS naming them; may be
    # on without fusion: multi-task only).
    _C.MODEL.CORRPM.USE_EDGE = True
    _C.MODEL.CORRPM.USE_POSE = True
    # Loss L = SEG1 * CE(seg1) + SEG2 * CE(seg2) + EDGE (α) * CE_w(edge) + POSE (β) * MSE(pose) (§5.4).
    # SEG1 = 0 is the "†" row of Table 6 (no L_p on the first parsing output).
    _C.MODEL.CORRPM.SEG1_LOSS_WEIGHT = 1.0
    _C.MODEL.CORRPM.SEG2_LOSS_WEIGHT = 1.0
    _C.MODEL.CORRPM.EDGE_LOSS_WEIGHT = 2.0
    _C.MODEL.CORRPM.POSE_LOSS_WEIGHT = 70.0
    _C.MODEL.CORRPM.IGNORE_LABEL = 255
    # Inference (§5.6): the image is warped to INPUT.CROP.SIZE around its centre (the test-time
    # affine crop), seg2 upsampled to the crop (align_corners True) and warped back (nearest).
    _C.MODEL.CORRPM.SIZE_DIVISIBILITY = 0
    # Also return "edges" (H, W) edge probability at the image size (apply_net --vis edges) and
    # "keypoint_heatmaps" (J, h/4, w/4) of the crop; the evaluator ignores them.
    _C.MODEL.CORRPM.RETURN_AUXILIARY = True

    # ---- data: CorrPM's affine crop (corrpm/data/affine.py); size from INPUT.CROP.SIZE (h, w)
    _C.INPUT.AFFINE = CN()
    _C.INPUT.AFFINE.SCALE_FACTOR = 0.25  # s * clip(N(1, f), 1 - f, 1 + f)
    _C.INPUT.AFFINE.ROT_FACTOR = 30.0  # degrees: clip(N(0, f), -2f, 2f)
    _C.INPUT.AFFINE.ROT_PROB = 0.6  # rotation applied with this probability, else 0
    # Pseudo-pose json (tools/pseudo_pose.py) for records without "keypoints" (ATR, CIHP crops):
    # looked up by image_id; images it lacks get zero heatmaps (counted in a warning).
    _C.INPUT.PSEUDO_POSE_FILE = ""
