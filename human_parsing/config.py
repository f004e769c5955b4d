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

    # ---- solver (human_parsing/engine/optimizer.py)
    # "SGD" (Detectron2's, every paper config) or "AdamW" (the from-scratch CPU quick schedules;
    # measured in their config headers: slightly ahead of SGD within the demo's ~1000 iterations).
    _C.SOLVER.OPTIMIZER = "SGD"
    _C.SOLVER.BETAS = (0.9, 0.999)  # AdamW only

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
    # Also write every prediction in the open formats under the evaluator's output folder.
    _C.TEST.PARSING_EVAL.WRITE_PREDICTIONS = False
