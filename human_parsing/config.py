"""Config keys shared by every method (data, mapper, evaluation). Methods add their own with
``add_<method>_config``. Each block below belongs to one part of ``human_parsing``."""
from detectron2.config import CfgNode as CN

__all__ = ["add_human_parsing_config"]


def add_human_parsing_config(cfg: CN) -> None:
    """Add the shared human-parsing keys to a Detectron2 config (idempotent)."""
    _C = cfg
    # ---- data: which dataset mapper builds the model inputs (a name in MAPPER_REGISTRY)
    _C.INPUT.MAPPER_NAME = "InstanceParsingDatasetMapper"
    # Label space of the training data (a name in human_parsing.data.label_spaces.LABEL_SPACES);
    # empty = taken from the first training dataset's metadata.
    _C.INPUT.LABEL_SPACE = ""

    # ---- data/mappers + transforms (human_parsing/data/mappers.py, transforms.py, targets.py)
    _C.INPUT.PARSING = CN()
    # Probability of the left/right-swapping horizontal flip when INPUT.RANDOM_FLIP="horizontal"
    # (0.5 in Parsing R-CNN, PGN and CorrPM).
    _C.INPUT.PARSING.FLIP_PROB = 0.5
    # Training resize: "ResizeShortestEdge" (INPUT.MIN_SIZE_TRAIN/MAX_SIZE_TRAIN/
    # MIN_SIZE_TRAIN_SAMPLING, Parsing R-CNN), "RandomScale" (one factor ~ U(SCALE_RANGE) of the
    # image's own size, PGN), "RandomScaleXY" (independent width and height factors ~ U(SCALE_RANGE),
    # Grapy-ML) or "none".
    _C.INPUT.PARSING.RESIZE_TYPE = "ResizeShortestEdge"
    _C.INPUT.PARSING.SCALE_RANGE = (0.5, 2.0)
    # Image padding value of INPUT.CROP.TYPE "absolute_pad" (labels and human ids pad with 255).
    # PGN pads with 0 after mean subtraction, i.e. the pixel mean here.
    _C.INPUT.PARSING.IMAGE_PAD_VALUE = 0.0
    # Add "human_ids" (H, W) int64 to the instance mapper output: 0 background, i+1 for
    # instances[i], 255 padding.
    _C.INPUT.PARSING.HUMAN_IDS_ON = False
    # Add "edges" (H, W) int64 instance-boundary targets (PGN, methods.md §1.3), computed on the
    # original-resolution human-id map and then transformed like the labels.
    _C.INPUT.PARSING.EDGES_ON = False
    # Extra square dilation radius of the edges (0 = PGN's 2-px Sobel edges).
    _C.INPUT.PARSING.EDGE_DILATION = 0
    # Edge value in padded areas: 255 (ignored) or 0 (PGN's original padding).
    _C.INPUT.PARSING.EDGE_PAD_VALUE = 255
    # Keypoint order of the dataset dicts, for flip swapping: "coco", "mpii" or "mpii_corrpm"
    # (CorrPM's original, inconsistent swap). Keypoints are kept when MODEL.KEYPOINT_ON or
    # INPUT.PARSING.HEATMAPS_ON.
    _C.INPUT.PARSING.KEYPOINT_FORMAT = "coco"
    # At test time also build the ground-truth fields (instances, sem_seg, ...).
    _C.INPUT.PARSING.TEST_KEEP_ANNOTATIONS = False
    # Semantic mapper: CorrPM-style semantic "edges" (methods.md §5.3) dilated by a square of
    # SEMANTIC_EDGE_KERNEL pixels, and keypoint "heatmaps" (J, H/STRIDE, W/STRIDE) with SIGMA in cells.
    _C.INPUT.PARSING.SEMANTIC_EDGES_ON = False
    _C.INPUT.PARSING.SEMANTIC_EDGE_KERNEL = 3
    _C.INPUT.PARSING.HEATMAPS_ON = False
    _C.INPUT.PARSING.HEATMAP_STRIDE = 4
    _C.INPUT.PARSING.HEATMAP_SIGMA = 7.0

    # ---- semantic parsing models (human_parsing/modeling/semantic.py, data/domains.py)
    _C.MODEL.SEMANTIC = CN()
    # Label-space names the model has heads for ("cihp", "pascal_person_part", "atr", "lip", ...);
    # a record's "domain" is its dataset's label space and must be one of them. Empty = the label
    # spaces of DATASETS.TRAIN, in order of first appearance.
    _C.MODEL.SEMANTIC.DOMAINS = ()
    # Domain (head) used at inference: "" = the input's "domain" (the test dataset's label space),
    # else the first domain. apply_net --domain NAME sets it.
    _C.MODEL.SEMANTIC.TEST_DOMAIN = ""
    # Pad the batch to a multiple of this (0 = no padding; subclasses may use their backbone's).
    _C.MODEL.SEMANTIC.SIZE_DIVISIBILITY = 0
    # Upsampling of logits to the input size: Grapy-ML and CorrPM use align_corners=True,
    # Detectron2 False (methods.md §7.3).
    _C.MODEL.SEMANTIC.ALIGN_CORNERS = False

    # ---- multi-dataset training (human_parsing/data/samplers.py)
    _C.DATALOADER.MULTI_DOMAIN = CN()
    # Use build_multi_domain_train_loader: one pool of records per domain, each record tagged
    # with its "domain", a per-domain mapper (flip swap and label check in its label space).
    _C.DATALOADER.MULTI_DOMAIN.ENABLED = False
    # "homogeneous": every batch holds one domain (Grapy-ML's Sampler_uni, methods.md §4.6);
    # "homogeneous_balanced": the same, with the larger domains truncated each epoch to the size
    # of BALANCE_DOMAIN (Sampler_uni's balance_id); "mixed": every batch holds MIXED_COUNTS images
    # of each domain (SST, methods.md §6.5).
    _C.DATALOADER.MULTI_DOMAIN.SAMPLER = "homogeneous"
    # Domain whose size the others are truncated to in "homogeneous_balanced" ("" = the smallest;
    # the official Grapy-ML balance_id=1 is PASCAL-Person-Part, the smallest of its three).
    _C.DATALOADER.MULTI_DOMAIN.BALANCE_DOMAIN = ""
    # "mixed": images of each domain (in MODEL.SEMANTIC.DOMAINS order) in one total batch; they
    # sum to SOLVER.IMS_PER_BATCH and each is divisible by the number of processes. Empty = the
    # per-process batch split evenly, the remainder going to the first domains.
    _C.DATALOADER.MULTI_DOMAIN.MIXED_COUNTS = ()

    # ---- semantic test-time augmentation (human_parsing/modeling/semantic_tta.py)
    _C.TEST.SEMANTIC_AUG = CN()
    # Relative scales of the input image (Grapy-ML, SST: 0.5, 0.75, 1, 1.25, 1.5, 1.75).
    _C.TEST.SEMANTIC_AUG.SCALES = (1.0,)
    # Also run the mirrored image; its scores are mirrored back with left/right channels swapped.
    _C.TEST.SEMANTIC_AUG.FLIP = True
    # "sum" (Grapy-ML) or "mean" of the logits, or "prob_mean" (mean of softmax probabilities).
    _C.TEST.SEMANTIC_AUG.COMBINE = "sum"

    # ---- checkpoint loading (human_parsing/engine/checkpoint.py): [old_prefix, new_prefix] pairs
    # renaming MODEL.WEIGHTS' weights before loading ("" drops them; the first match wins), e.g.
    # a COCO keypoint R-CNN's GCE keypoint head into the parsing head (Parsing R-CNN Table 5).
    _C.MODEL.WEIGHTS_PREFIX_MAP = []

    # ---- solver (human_parsing/engine/optimizer.py)
    # "SGD" (Detectron2's, every paper config) or "AdamW" (the from-scratch CPU quick schedules;
    # measured in their config headers: slightly ahead of SGD within the demo's ~1000 iterations).
    _C.SOLVER.OPTIMIZER = "SGD"
    _C.SOLVER.BETAS = (0.9, 0.999)  # AdamW only
    # Autocast precision of SOLVER.AMP.ENABLED (human_parsing/engine/trainer.py): "auto" = float16
    # with loss scaling on CUDA (Detectron2's AMPTrainer), bfloat16 without scaling elsewhere (CPU);
    # or "float16" / "bfloat16".
    _C.SOLVER.AMP.PRECISION = "auto"

    # ---- evaluation (human_parsing/evaluation/parsing_evaluator.py, metrics.md)
    _C.TEST.PARSING_EVAL = CN()
    # Semantic class averaging: "official" (nanmean), "all_classes" (CorrPM/LIP), "gt_present".
    _C.TEST.PARSING_EVAL.AVERAGING = "official"
    # Images with no detection in mIoU: "skip" (official scripts) or "background".
    _C.TEST.PARSING_EVAL.EMPTY_IMAGES = "skip"
    # APr matching: "official" (PGN's many-to-one) or "one_to_one".
    _C.TEST.PARSING_EVAL.APR_MATCHING = "official"
    # APp/PCP: detections scored below this are ignored (Parsing R-CNN's 0.001).
    _C.TEST.PARSING_EVAL.SCORE_THRESH = 0.001
    # Global map from instances: people below this are not painted; < 0 = the dataset's default
    # (metadata semseg_score_thresh: 0.3 CIHP-like, 0.05 MHP v2).
    _C.TEST.PARSING_EVAL.SEMSEG_SCORE_THRESH = -1.0
    # APr part instances of top-down models are painted from this score; < 0 = SCORE_THRESH.
    _C.TEST.PARSING_EVAL.REGION_SCORE_THRESH = -1.0
    # APp recall denominator counts GT people whose part map is empty (Parsing R-CNN: True).
    _C.TEST.PARSING_EVAL.COUNT_EMPTY_GT = True
    # Person box AP of instance datasets next to the parsing metrics (official Parsing R-CNN):
    # Detectron2's COCOEvaluator, official COCO API, GT boxes converted from the records
    # (human_parsing/evaluation/box.py). BOX_AREA: GT area for APs/APm/APl, "pixels" (person
    # pixels, COCO's rule) or "box".
    _C.TEST.PARSING_EVAL.BOX_AP = False
    _C.TEST.PARSING_EVAL.BOX_AREA = "pixels"
    # Also write every prediction in the open formats under the evaluator's output folder.
    _C.TEST.PARSING_EVAL.WRITE_PREDICTIONS = False

    # ---- dense pose (human_parsing/data/densepose.py, human_parsing/evaluation/densepose*.py)
    _C.INPUT.DENSEPOSE = CN()
    # U/V flip symmetry: "" = the dataset metadata's densepose_uv_symmetry ("synthetic" for the
    # synthetic charts), else the path of DensePose's UV_symmetry_transforms.mat. With neither,
    # DensePose-COCO data cannot be flipped: horizontal-flip augmentation must be off for it.
    _C.INPUT.DENSEPOSE.UV_SYMMETRY_FILE = ""
    _C.TEST.DENSEPOSE_EVAL = CN()
    # Geodesic distances of the GPS: "" = the dataset metadata's densepose_geodesics
    # ("synthetic"), else the folder of SMPL_subdiv.mat, SMPL_SUBDIV_TRANSFORM.mat, Pdist_matrix.pkl.
    _C.TEST.DENSEPOSE_EVAL.GEODESICS = ""
    # Matching score: "GPSm" (Parsing R-CNN's UVRCNN.GPSM_ON, official default), "GPS" or "IOU".
    _C.TEST.DENSEPOSE_EVAL.MODE = "GPSm"
