"""Config keys of SST (methods.md §6.8). Paper values are the defaults; every point the paper
leaves open is a key whose comment says so (see also the project README, "Where the paper is
silent")."""

from detectron2.config import CfgNode as CN

__all__ = ["add_sst_config"]


def add_sst_config(cfg: CN) -> None:
    """Add ``MODEL.SST`` (base network, auxiliary modules, objective, dedicated mode). The
    domains, test domain and padding are the shared ``MODEL.SEMANTIC`` keys, the mixed-domain
    batches ``DATALOADER.MULTI_DOMAIN`` (``human_parsing.config``)."""
    _C = cfg
    _C.MODEL.SST = CN()
    _C.MODEL.SST.IGNORE_LABEL = 255
    # Padding: MODEL.SEMANTIC.SIZE_DIVISIBILITY, 0 = the encoder's coarsest stride (32).

    # ---- base network (§6.2): backbone features -> deformable-attention encoder -> decoder.
    # Backbone features read by the encoder (strides 8, 16, 32) and by the last decoder stage (4).
    _C.MODEL.SST.ENCODER_IN_FEATURES = ["res3", "res4", "res5"]
    _C.MODEL.SST.DECODER_LATERAL_FEATURE = "res2"
    # D, the width of the encoder, decoder, H_1..H_3 and F [paper silent; Mask2Former's 256].
    _C.MODEL.SST.EMBED_DIM = 256
    # Multi-scale deformable-attention encoder [paper silent; Mask2Former's pixel decoder values].
    _C.MODEL.SST.ENCODER_LAYERS = 6
    _C.MODEL.SST.ENCODER_HEADS = 8
    _C.MODEL.SST.ENCODER_POINTS = 4
    _C.MODEL.SST.ENCODER_FFN_DIM = 1024
    _C.MODEL.SST.DROPOUT = 0.0
    # Norm of the input projections and the lateral conv: "GN" (Mask2Former) or "BN", "".
    _C.MODEL.SST.NORM = "GN"
    # Decoder stages [paper: "three successive transformers with up-sampling"; the attention kind
    # is silent]: each stage = 2x upsampling + skip + window self-attention blocks.
    _C.MODEL.SST.DECODER_BLOCKS = 1  # transformer blocks per stage
    _C.MODEL.SST.DECODER_HEADS = 8
    _C.MODEL.SST.DECODER_WINDOW = 8  # local attention window (pixels of that stage)
    _C.MODEL.SST.DECODER_FFN_DIM = 1024
    # How F reaches the input resolution [paper silent]: "bilinear" = bilinear upsampling of H_3.
    # The 1x1 heads and A_aux = F X^T are linear, so they are computed on H_3 and their logits
    # upsampled, which is the same result without an H x W x D tensor.
    _C.MODEL.SST.FULL_RES_MODE = "bilinear"

    # ---- auxiliary modules, training only (§6.3). Not built when AUX_ON is False (inference).
    _C.MODEL.SST.AUX_ON = True
    _C.MODEL.SST.USE_MSE = True  # MSE + L_aux
    _C.MODEL.SST.USE_INTRA_MASK = True  # M_intra in the SP layers (False = "L_aux (None)")
    _C.MODEL.SST.USE_DATASET_SCR = True
    _C.MODEL.SST.USE_IMAGE_SCR = True
    # Masks delta of MSA: "gt" (resized labels) or "pred" (argmax of the main head, as Grapy-ML)
    # [paper silent].
    _C.MODEL.SST.MSA_MASK_SOURCE = "gt"
    # Domain pairs of MST with more than two domains: "full" (every pair) or "progressive"
    # (chain coarse -> fine, ordered by number of classes) [Table 4].
    _C.MODEL.SST.PAIR_STRATEGY = "full"
    # SCR over several pairs: "sum" or "mean" [paper silent].
    _C.MODEL.SST.SCR_PAIR_REDUCTION = "sum"
    # Priors (§6.6): similarity matrices "<a>__<b>_similarity.json" (either order, transposed as
    # needed) in this directory; intra adjacencies "<domain>_adjacency.json" from it when present,
    # else the shared label graphs in human_parsing/data/priors/ (also Grapy-ML's).
    _C.MODEL.SST.PRIORS_DIR = ""  # "" = the package's sst/priors

    # ---- objective (Eq. 12-13)
    _C.MODEL.SST.LOSS_SEG_WEIGHT = 10.0  # alpha
    _C.MODEL.SST.LOSS_AUX_WEIGHT = 1.0  # beta
    _C.MODEL.SST.LOSS_SCR_WEIGHT = 5.0  # lambda

    # ---- scenario (§6.1): "universal" or "dedicated" (step 2, with a frozen teacher)
    _C.MODEL.SST.MODE = "universal"
    _C.MODEL.SST.DEDICATED = CN()
    # Step-1 checkpoint (base network + MSA/MSE of the source domains), loaded frozen as teacher.
    _C.MODEL.SST.DEDICATED.TEACHER_WEIGHTS = ""
    # Source domains of the teacher (label-space names; the step-1 model's domains).
    _C.MODEL.SST.DEDICATED.SOURCE_DOMAINS = []
    # How the teacher gets source-domain representations of target images [paper silent]:
    # "teacher_pred" = the teacher's source head predicts delta for its own MSA, then its MSE.
    _C.MODEL.SST.DEDICATED.SOURCE_MASKS = "teacher_pred"
