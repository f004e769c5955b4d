"""End-user inference: :class:`ParsingPredictor` (one image in, one :class:`ParsingResult` out).

Like Detectron2's ``DefaultPredictor``: build the model from a config, load ``MODEL.WEIGHTS``
(refusing checkpoints that do not fit the model), resize like the test mapper
(:func:`~human_parsing.data.transforms.build_test_resize`: shortest edge to ``INPUT.MIN_SIZE_TEST``
with the longer one at most ``INPUT.MAX_SIZE_TEST``, or, with ``MIN_SIZE_TEST`` 0, only a limit of
``MAX_SIZE_TEST`` on the longer side), feed channels in ``INPUT.FORMAT`` order, and wrap the model in its
test-time augmentation when ``TEST.AUG.ENABLED``. Works for every method of the project
(Parsing R-CNN, PGN, ...) because all of them return the shared output format: per image
``{"instances": Instances(pred_boxes, scores, pred_classes, pred_parsing), "parsing": (H, W),
["edges": (H, W)], ["part_instances": {"ids", "classes", "scores"}]}`` at the original image
size (edges and part instances: PGN; the result keeps parsing, people and edges).

Example::

    cfg = ...  # get_cfg() + add_human_parsing_config + the method's add_*_config + merge file
    predictor = ParsingPredictor(cfg)
    result = predictor(cv2.imread("people.jpg"))  # BGR, like cv2
    for person in result.filter(0.5).people:
        print(person.score, person.box, person.mask("face").sum())
"""
import logging
import os
import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import MetadataCatalog
from detectron2.data import transforms as T
from detectron2.modeling import build_model

from human_parsing.data.label_spaces import LabelSpace, get_label_space
from human_parsing.data.transforms import build_test_resize
from human_parsing.apply.result import ParsingResult

__all__ = ["ParsingPredictor", "ParsingResult", "WeightsMismatchError", "load_checked_weights",
           "resolve_label_space"]

logger = logging.getLogger(__name__)


class WeightsMismatchError(ValueError):
    """A checkpoint does not fit the model built from the config (missing, unexpected or
    differently shaped parameters): usually the wrong config for these weights."""


class _RecordingCheckpointer(DetectionCheckpointer):
    """A ``DetectionCheckpointer`` that keeps the incompatible keys instead of only logging them."""

    incompatible = None

    def _log_incompatible_keys(self, incompatible) -> None:
        self.incompatible = incompatible


def load_checked_weights(model: torch.nn.Module, weights: str, strict: bool = True) -> None:
    """Load ``weights`` into ``model``; with ``strict``, raise :class:`WeightsMismatchError`
    naming the offending keys when the checkpoint does not match the model exactly."""
    if not weights:
        raise ValueError("MODEL.WEIGHTS is empty: give the path of a trained checkpoint (.pth/.pkl)")
    if "://" not in weights and not os.path.isfile(weights):
        raise FileNotFoundError(f"{weights}: weights file not found")
    ckpt = _RecordingCheckpointer(model)
    try:
        ckpt.load(weights)
    except (RuntimeError, KeyError, EOFError, ValueError, AssertionError) as e:
        raise WeightsMismatchError(f"{weights}: cannot load checkpoint ({e})") from e
    inc = ckpt.incompatible
    if inc is None:
        return
    problems = []
    if inc.incorrect_shapes:
        problems.append("shape mismatch " + ", ".join(
            f"{k} (checkpoint {tuple(a)} vs model {tuple(b)})" for k, a, b in inc.incorrect_shapes[:5]))
    reshaped = {k for k, _, _ in inc.incorrect_shapes}
    missing = [k for k in inc.missing_keys if k not in reshaped]
    if missing:
        problems.append(f"{len(missing)} missing keys, e.g. {missing[:5]}")
    if inc.unexpected_keys:
        problems.append(f"{len(inc.unexpected_keys)} unexpected keys, e.g. {inc.unexpected_keys[:5]}")
    if problems:
        msg = (f"{weights}: checkpoint does not match the model built from the config "
               f"(wrong config for these weights?): " + "; ".join(problems))
        if strict:
            raise WeightsMismatchError(msg)
        logger.warning(msg)


def resolve_label_space(cfg) -> LabelSpace:
    """The label space of the model's outputs: ``MODEL.SEMANTIC.TEST_DOMAIN`` (the head a
    multi-domain semantic model uses), else ``INPUT.LABEL_SPACE``, else the metadata of the first
    test/train dataset of the config that has one, else the first ``MODEL.SEMANTIC.DOMAINS``."""
    semantic = cfg.MODEL.get("SEMANTIC")
    name = (semantic.get("TEST_DOMAIN", "") if semantic is not None else "") or cfg.INPUT.get("LABEL_SPACE", "")
    if not name:
        try:
            import human_parsing.data  # noqa: F401  (registers the datasets and their metadata)
        except ImportError:  # pragma: no cover - datasets package missing: rely on the config only
            pass
        for ds in list(cfg.DATASETS.TEST) + list(cfg.DATASETS.TRAIN):
            name = getattr(MetadataCatalog.get(ds), "label_space", "")
            if name:
                break
    if not name and semantic is not None and semantic.get("DOMAINS"):
        name = semantic.DOMAINS[0]  # a semantic model's default head
    if not name:
        raise ValueError(
            "Cannot tell the model's label space: set INPUT.LABEL_SPACE (e.g. 'cihp') or "
            "DATASETS.TEST/TRAIN to a registered dataset"
        )
    return get_label_space(name)


class ParsingPredictor:
    """Single-image inference for any human-parsing model of the project.

    Attributes:
        cfg: a frozen copy of the config.
        model: the model in eval mode (wrapped in its TTA if ``TEST.AUG.ENABLED``).
        label_space: the :class:`LabelSpace` of the predicted part labels.
    """

    def __init__(self, cfg, strict: bool = True):
        self.cfg = cfg.clone()
        self.cfg.freeze()
        self.label_space = resolve_label_space(self.cfg)
        model = build_model(self.cfg)
        model.eval()
        load_checked_weights(model, self.cfg.MODEL.WEIGHTS, strict=strict)
        if self.cfg.TEST.AUG.ENABLED:
            from human_parsing.engine import build_tta_model

            model = build_tta_model(self.cfg, model)
            model.eval()
        self.model = model
        # the test mapper's size policy (INPUT.MIN_SIZE_TEST / MAX_SIZE_TEST, build_test_resize)
        self.aug = T.AugmentationList(build_test_resize(self.cfg))
        self.input_format = self.cfg.INPUT.FORMAT
        if self.input_format not in ("RGB", "BGR"):
            raise ValueError(f"INPUT.FORMAT must be 'RGB' or 'BGR', got {self.input_format!r}")

    @torch.no_grad()
    def predict_outputs(self, original_image: np.ndarray) -> dict:
        """Run the model on an (H, W, 3) uint8 BGR image; return its raw output dict."""
        if original_image.ndim != 3 or original_image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) BGR image, got shape {original_image.shape}")
        image = original_image[:, :, ::-1] if self.input_format == "RGB" else original_image
        height, width = original_image.shape[:2]
        aug_input = T.AugInput(np.ascontiguousarray(image))
        self.aug(aug_input)
        image = aug_input.image
        tensor = torch.as_tensor(np.ascontiguousarray(image).astype("float32").transpose(2, 0, 1))
        tensor = tensor.to(self.cfg.MODEL.DEVICE)
        # "domain" selects the head of multi-domain semantic models; other models ignore it
        inputs = {"image": tensor, "height": height, "width": width, "domain": self.label_space.name}
        return self.model([inputs])[0]

    def __call__(self, original_image: np.ndarray) -> ParsingResult:
        """(H, W, 3) uint8 BGR image (as read by cv2) → :class:`ParsingResult` (all detections;
        use ``result.filter(min_score)`` to keep the confident ones)."""
        return ParsingResult.from_outputs(self.predict_outputs(original_image), self.label_space)

    def __repr__(self) -> str:
        return (f"ParsingPredictor(arch={self.cfg.MODEL.META_ARCHITECTURE}, "
                f"label_space={self.label_space.name}, device={self.cfg.MODEL.DEVICE})")
