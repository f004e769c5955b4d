"""The structured result of parsing one image: :class:`ParsingResult` and its :class:`Person` s.

Plain numpy, no torch: what users of :class:`~human_parsing.predictor.ParsingPredictor` get,
what ``apply_net.py dump`` writes and what its readers load back.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from human_parsing.data.label_spaces import LabelSpace, get_label_space
from human_parsing.structures.parsing import PersonParsing

__all__ = ["ParsingResult", "Person"]


def _class_id(label_space: LabelSpace, class_name: str) -> int:
    try:
        return label_space.classes.index(class_name)
    except ValueError:
        raise ValueError(
            f"Unknown class {class_name!r} in label space {label_space.name!r}; "
            f"known classes: {list(label_space.classes)}"
        ) from None


class Person:
    """One detected person: ``box`` (4,) XYXY float32 in image pixels, ``score``, and the part
    map, kept as a crop and expanded to the full image only on demand (:attr:`part_map`)."""

    def __init__(self, index: int, box: np.ndarray, score: float, parsing: PersonParsing,
                 label_space: LabelSpace):
        assert len(parsing) == 1, len(parsing)
        self.index = index  # position in ``ParsingResult.people`` (person id ``index + 1``)
        self.box = box
        self.score = float(score)
        self.label_space = label_space
        self._parsing = parsing

    @property
    def crop(self) -> np.ndarray:
        """(h, w) uint8 part labels inside this person's crop, placed at :attr:`offset`."""
        return self._parsing.crops[0]

    @property
    def offset(self) -> Tuple[int, int]:
        """(x0, y0) of :attr:`crop` in the image."""
        return tuple(int(v) for v in self._parsing.offsets[0])

    @property
    def part_map(self) -> np.ndarray:
        """(H, W) uint8 part labels of this person over the full image (0 elsewhere)."""
        return self._parsing.full(0)

    def mask(self, class_name: Optional[str] = None) -> np.ndarray:
        """(H, W) bool: the person's pixels (any part) or only those of ``class_name``."""
        if class_name is None:
            return self.part_map > 0
        return self.part_map == _class_id(self.label_space, class_name)

    def __repr__(self) -> str:
        box = ", ".join(f"{v:.1f}" for v in self.box)
        return f"Person(index={self.index}, score={self.score:.3f}, box=[{box}])"


class ParsingResult:
    """Parsing of one image.

    Attributes:
        parsing: (H, W) uint8 global part map (class ids of ``label_space``).
        boxes: (N, 4) float32 XYXY person boxes; ``scores``: (N,) float32.
        person_parsing: :class:`PersonParsing` with the N per-person part maps.
        edges: optional (H, W) float32 instance-edge probability (PGN).
        label_space: the :class:`LabelSpace` of the part labels.
        file_name, frame: where the image came from (``frame`` for video frames), if known.
    """

    def __init__(self, parsing: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                 person_parsing: PersonParsing, label_space: LabelSpace,
                 edges: Optional[np.ndarray] = None, file_name: Optional[str] = None,
                 frame: Optional[int] = None):
        parsing = np.asarray(parsing)
        if parsing.ndim != 2:
            raise ValueError(f"parsing must be (H, W), got {parsing.shape}")
        if parsing.size and (parsing.min() < 0 or parsing.max() > 255):
            raise ValueError(f"parsing values outside [0, 255]: {parsing.min()}..{parsing.max()}")
        self.parsing = parsing.astype(np.uint8)
        self.boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        self.scores = np.asarray(scores, dtype=np.float32).reshape(-1)
        self.person_parsing = person_parsing
        self.label_space = label_space
        self.edges = None if edges is None else np.asarray(edges, dtype=np.float32)
        self.file_name = file_name
        self.frame = frame
        n = len(self.boxes)
        assert len(self.scores) == n and len(person_parsing) == n, (n, len(self.scores), len(person_parsing))
        if n == 0 and tuple(person_parsing.image_size) != self.image_size:
            # an empty PersonParsing may carry a dummy size; give it the image's
            self.person_parsing = PersonParsing([], np.zeros((0, 2)), self.image_size)
        assert tuple(self.person_parsing.image_size) == self.image_size, (
            self.person_parsing.image_size, self.image_size)

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def from_outputs(cls, outputs: dict, label_space: LabelSpace, **kwargs) -> "ParsingResult":
        """From one image's model outputs (the project-wide format, see module docstring of
        :mod:`human_parsing.predictor`). Semantic-only models (``"sem_seg"`` logits (K, H, W),
        no ``"instances"``) give a result with no people."""
        if "parsing" in outputs:
            parsing = outputs["parsing"].to("cpu").numpy()
        elif "sem_seg" in outputs:
            parsing = outputs["sem_seg"].argmax(dim=0).to("cpu").numpy()
        else:
            raise KeyError(f"model outputs have neither 'parsing' nor 'sem_seg': {sorted(outputs)}")
        hw = parsing.shape
        if "instances" in outputs:
            inst = outputs["instances"].to("cpu")
            boxes = inst.pred_boxes.tensor.numpy()
            scores = inst.scores.numpy()
            pp = inst.pred_parsing if inst.has("pred_parsing") else PersonParsing(
                [np.zeros((0, 0), np.uint8)] * len(inst), np.zeros((len(inst), 2)), hw)
        else:
            boxes, scores = np.zeros((0, 4)), np.zeros((0,))
            pp = PersonParsing([], np.zeros((0, 2)), hw)
        edges = outputs["edges"].to("cpu").numpy() if "edges" in outputs else None
        return cls(parsing, boxes, scores, pp, label_space, edges=edges, **kwargs)

    # ---- queries ------------------------------------------------------------------------------
    @property
    def image_size(self) -> Tuple[int, int]:
        return tuple(self.parsing.shape)

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def people(self) -> List[Person]:
        """The detected people, in the model's order (usually by decreasing score)."""
        return [Person(i, self.boxes[i], self.scores[i], self.person_parsing[i], self.label_space)
                for i in range(len(self))]

    def mask(self, class_name: str) -> np.ndarray:
        """(H, W) bool mask of ``class_name`` in the global part map."""
        return self.parsing == _class_id(self.label_space, class_name)

    def classes_present(self) -> List[str]:
        """Names of the classes in the global part map, background excluded."""
        ids = np.unique(self.parsing)
        return [self.label_space.classes[i] for i in ids if 0 < i < self.label_space.num_classes]

    def person_ids(self) -> np.ndarray:
        """(H, W) int32 map: ``i`` where person ``people[i - 1]`` has a part, 0 elsewhere.
        People are painted by increasing score, so the more confident one wins an overlap."""
        order = np.argsort(self.scores, kind="stable")
        _, ranks = self.person_parsing.paint(order.tolist())
        lut = np.concatenate([[0], order + 1]).astype(np.int32)
        return lut[ranks]

    def filter(self, min_score: float) -> "ParsingResult":
        """The people with ``score >= min_score`` (the global part map is kept as predicted)."""
        keep = np.nonzero(self.scores >= min_score)[0]
        return self.select(keep)

    def select(self, indices: Sequence[int]) -> "ParsingResult":
        """A result with only the people at ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        pp = self.person_parsing[idx.tolist()] if len(idx) else PersonParsing([], np.zeros((0, 2)), self.image_size)
        return ParsingResult(self.parsing, self.boxes[idx], self.scores[idx], pp, self.label_space,
                             edges=self.edges, file_name=self.file_name, frame=self.frame)

    # ---- conversion ---------------------------------------------------------------------------
    def to_outputs(self) -> dict:
        """Back to the model output format (torch ``Instances``), e.g. for the visualizers."""
        import torch
        from detectron2.structures import Boxes, Instances

        inst = Instances(self.image_size)
        inst.pred_boxes = Boxes(torch.as_tensor(self.boxes))
        inst.scores = torch.as_tensor(self.scores)
        inst.pred_classes = torch.zeros(len(self), dtype=torch.int64)
        inst.pred_parsing = self.person_parsing
        out = {"instances": inst, "parsing": torch.as_tensor(self.parsing.astype(np.int64))}
        if self.edges is not None:
            out["edges"] = torch.as_tensor(self.edges)
        return out

    def to_dict(self) -> dict:
        """Plain dict of numpy arrays and Python values (what ``--format pickle`` stores)."""
        return {
            "file_name": self.file_name, "frame": self.frame, "image_size": self.image_size,
            "label_space": self.label_space.name, "parsing": self.parsing, "boxes": self.boxes,
            "scores": self.scores, "crops": list(self.person_parsing.crops),
            "offsets": self.person_parsing.offsets, "edges": self.edges,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ParsingResult":
        """Inverse of :meth:`to_dict`."""
        pp = PersonParsing(d["crops"], d["offsets"], d["image_size"])
        return cls(d["parsing"], d["boxes"], d["scores"], pp, get_label_space(d["label_space"]),
                   edges=d.get("edges"), file_name=d.get("file_name"), frame=d.get("frame"))

    def __repr__(self) -> str:
        src = f", file_name={self.file_name!r}" if self.file_name else ""
        fr = f", frame={self.frame}" if self.frame is not None else ""
        return (f"ParsingResult(people={len(self)}, image_size={self.image_size}, "
                f"label_space={self.label_space.name!r}{src}{fr})")
