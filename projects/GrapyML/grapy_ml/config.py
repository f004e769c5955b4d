"""Config keys of Grapy-ML (methods.md §4.9). Defaults are the official code's values."""
from detectron2.config import CfgNode as CN

__all__ = ["add_grapy_ml_config"]


def _add_deeplab_keys(_C: CN) -> None:
    """Keys of Detectron2's DeepLab project this package reads (poly schedule, ResNet-DeepLab
    backbone); added only when absent, with the same names and meaning."""
    if "POLY_LR_POWER" not in _C.SOLVER:
        _C.SOLVER.POLY_LR_POWER = 0.9
    if "POLY_LR_CONSTANT_ENDING" not in _C.SOLVER:
        _C.SOLVER.POLY_LR_CONSTANT_ENDING = 0.0
    if "RES4_DILATION" not in _C.MODEL.RESNETS:
        _C.MODEL.RESNETS.RES4_DILATION = 1
    if "RES5_MULTI_GRID" not in _C.MODEL.RESNETS:
        _C.MODEL.RESNETS.RES5_MULTI_GRID = [1, 2, 4]
    if "STEM_TYPE" not in _C.MODEL.RESNETS:
        _C.MODEL.RESNETS.STEM_TYPE = "deeplab"


def add_grapy_ml_config(cfg: CN) -> None:
    """Add ``MODEL.XCEPTION``, ``MODEL.DEEPLAB_V3PLUS``, ``MODEL.GPM`` and ``MODEL.GRAPY_ML``.
    Call after ``add_human_parsing_config`` (the shared ``MODEL.SEMANTIC`` keys: domains, test
    domain, size divisibility, ``ALIGN_CORNERS`` of the decoder and logit upsampling)."""
    _C = cfg
    if "SEMANTIC" not in _C.MODEL:
        raise KeyError("add_grapy_ml_config needs the shared keys: call add_human_parsing_config first")
    _add_deeplab_keys(_C)

    # ---- backbone: aligned Xception-65 of DeepLab v3+ (grapy_ml/xception.py, methods.md §4.2)
    _C.MODEL.XCEPTION = CN()
    _C.MODEL.XCEPTION.OUTPUT_STRIDE = 16  # 16 or 8 (block3 stride 1, middle dilation 2, exit (2, 4))
    # "SyncBN" in the official code; "BN" on CPU / one process; any detectron2 get_norm name.
    _C.MODEL.XCEPTION.NORM = "SyncBN"
    _C.MODEL.XCEPTION.STEM_CHANNELS = [32, 64]  # conv1 (stride 2), conv2
    _C.MODEL.XCEPTION.ENTRY_CHANNELS = [128, 256, 728]  # block1-3, each stride 2 (block3: 1 at OS8)
    _C.MODEL.XCEPTION.NUM_MIDDLE_BLOCKS = 16  # block4-19, 3 separable convs each
    _C.MODEL.XCEPTION.EXIT_CHANNELS = [1024, 1536, 1536, 2048]  # block20, conv3, conv4, conv5
    # The residual of blocks that start with a ReLU adds relu(input): the official nn.ReLU(inplace)
    # at the start of `rep` rewrites the input the skip path then reads. False = the plain input.
    _C.MODEL.XCEPTION.RELU_BEFORE_SKIP = True
    _C.MODEL.XCEPTION.OUT_FEATURES = ["low", "out"]  # stride-4 low-level (before block2's
    # last stride-2 conv, no ReLU) and the stride-16 (8) output

    # ---- DeepLab v3+ ASPP + decoder (grapy_ml/deeplab.py, methods.md §4.2)
    _C.MODEL.DEEPLAB_V3PLUS = CN()
    # Backbone features: [low-level (stride 4), ASPP input]; ["res2", "res5"] for ResNet-DeepLab.
    _C.MODEL.DEEPLAB_V3PLUS.IN_FEATURES = ["low", "out"]
    _C.MODEL.DEEPLAB_V3PLUS.ASPP_CHANNELS = 256
    _C.MODEL.DEEPLAB_V3PLUS.ASPP_DILATIONS = [6, 12, 18]  # the official code doubles them at OS8
    _C.MODEL.DEEPLAB_V3PLUS.ASPP_SEPARABLE = True  # depthwise-separable atrous branches
    # Image-pooling branch: conv (no bias) + NORM + ReLU as the official code; "" = Detectron2's
    # ASPP (conv with bias, no norm).
    _C.MODEL.DEEPLAB_V3PLUS.POOL_NORM = "SyncBN"
    _C.MODEL.DEEPLAB_V3PLUS.ASPP_DROPOUT = 0.0
    _C.MODEL.DEEPLAB_V3PLUS.PROJECT_CHANNELS = 48  # 1×1 projection of the low-level feature
    _C.MODEL.DEEPLAB_V3PLUS.DECODER_CHANNELS = 256  # two separable 3×3 convs; = feature f of the GPM
    _C.MODEL.DEEPLAB_V3PLUS.NUM_DECODER_CONVS = 2
    _C.MODEL.DEEPLAB_V3PLUS.NORM = "SyncBN"

    # ---- Graph Pyramid Module (grapy_ml/gpm.py, methods.md §4.4)
    _C.MODEL.GPM = CN()
    _C.MODEL.GPM.ENABLED = True  # False = the DeepLab v3+ baseline (main classifier only)
    # Levels in the pyramid, coarse to fine: 1 (bg/person), 2 (bg/head/torso/arms/legs), 3 (the
    # dataset's labels). Table 4: [3] or [1, 2, 3].
    _C.MODEL.GPM.LEVELS = [1, 2, 3]
    _C.MODEL.GPM.POOLING = "ave+max"  # GSA: "ave", "max" or "ave+max" (concatenated)
    _C.MODEL.GPM.REASONING = "gcr"  # "gcr" (self-attention) or "gcn" (Graphonomy-style GCN)
    _C.MODEL.GPM.NODE_DIM = 512  # node width inside the reasoning block
    _C.MODEL.GPM.HIDDEN_DIM = 256  # node width written back by GSD (then a 1×1 conv to the feature width)
    _C.MODEL.GPM.ATTN_REDUCTION = 8  # query/key width = NODE_DIM / this
    _C.MODEL.GPM.NUM_GCR_ITERS = 3  # attention (or GCN) steps per level
    _C.MODEL.GPM.FUSION_CHANNELS = 512  # width between the two 1×1 fusion convs
    _C.MODEL.GPM.LOSS_WEIGHT_MAIN = 1.0  # CE of the GPM output ŷ (the scripts' beta_main)
    _C.MODEL.GPM.LOSS_WEIGHT_AUX = 1.0  # CE of the DeepLab output y (beta_aux)

    # ---- meta-architecture and mutual learning (grapy_ml/meta_arch.py, methods.md §4.4-4.6)
    _C.MODEL.GRAPY_ML = CN()
    # Head in SEM_SEG_HEADS_REGISTRY, built as obj(cfg, backbone output shapes).
    _C.MODEL.GRAPY_ML.HEAD_NAME = "GrapyMLHead"
    # GPM levels whose reasoning blocks are shared by all domains; the others are per domain.
    _C.MODEL.GRAPY_ML.SHARED_LEVELS = [1, 2]
    _C.MODEL.GRAPY_ML.IGNORE_VALUE = 255
    # Classes per domain (in MODEL.SEMANTIC.DOMAINS order), checked against the label spaces;
    # empty = taken from them.
    _C.MODEL.GRAPY_ML.NUM_CLASSES = ()
    # Checkpoints in the official code's parameter names are renamed on load (checkpoint.py):
    # "auto" = when they have `xception_features.*` keys, "official" = always, "none" = never.
    _C.MODEL.GRAPY_ML.WEIGHTS_FORMAT = "auto"
    # Official checkpoints name their heads by dataset id: which label space each id means.
    _C.MODEL.GRAPY_ML.OFFICIAL_DOMAINS = ["cihp", "pascal_person_part", "atr"]
