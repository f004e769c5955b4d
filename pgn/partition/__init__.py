"""PGN instance partition: part map + instance-edge map -> people and part instances.

A port of the official MATLAB ``instance_tool`` of CIHP_PGN (``search.m``, ``bfs.m``,
``region_merge.m``, ``generate_instance_human.m``, ``generate_instance_part.m``); see
methods.md §3.8. Pure numpy/scipy/OpenCV, no torch or Detectron2.

Two modes:
  - ``"faithful"`` reproduces the official output, quirks included (MATLAB semantics where
    Octave or OpenCV differ: the edge closing clears the 1-pixel image frame, ``imgradient``
    replicates borders).
  - ``"clean"`` fixes the quirks: the edge closing keeps edge pixels on the image frame (an edge
    that reaches the top or left border still separates the people on either side, where MATLAB
    cuts it one pixel short and joins them through the frame row), labels are compacted in the
    fixed-point loop (every region is revisited), background pixels painted by the border fill
    are cleared, the unlabelled one-pixel gaps along thinned edges (and other unreached
    foreground) are given to a person, human ids are not saturated at 255, scores use float64
    and parts without any edge pixel get ``empty_edge_score`` instead of NaN.

How faithful "faithful" is (and the choices where MATLAB's behaviour had to be pinned down):
  - Human and part-instance maps and the part order are meant to be identical to MATLAB's. They
    were checked against a literal, loop-by-loop Python transcription of the ``.m`` files on
    several hundred random maps (12-512 px); the vectorised code only relies on equivalences
    stated in each module's docstring (run ids are arbitrary, BFS regions are connected
    components, ``bwmorph 'remove'`` is stable after one pass, the closing is idempotent).
  - ``bwmorph 'close', inf``: a 3×3 look-up-table dilation then erosion with pixels outside the
    image taken as 0, so the 1-pixel image frame is always cleared (Octave's ``bwmorph`` and
    OpenCV's ``MORPH_CLOSE`` pad the erosion with 1 and keep it). ``bwmorph 'thin', inf``:
    Lam-Lee-Suen two-subiteration thinning with zero padding, identical to
    ``skimage.morphology.thin``. ``bwmorph 'remove'``: a pixel stays when one of its
    4-neighbours, outside pixels included, is 0. ``imgradient``: Sobel with replicated borders
    (MATLAB's documented behaviour; Octave's differs at the border).
  - Checked pixel for pixel against the official tool itself (run under Octave with MATLAB's
    ``bwmorph 'close'`` and ``imgradient`` semantics): identical on 400 of 400 random inputs of
    30-512 px with edges and parts on the frame (``tools/dev/pgn_partition_oracle.py``;
    ``tests/equivalence/test_pgn_partition_official.py`` runs 20 of them).
  - Part scores follow MATLAB's types: the ``.mat`` score map is ``single``, and
    ``single * double`` is ``single``, so the score is rounded to float32 as MATLAB does. The mean
    of the scores is summed in float64 here; MATLAB's ``single`` summation order cannot be
    reproduced, so scores agree to float32 precision (~1e-7 relative), not always to the last of
    the six decimals written in the txt.
  - MATLAB's ``uint8(...)`` before ``imwrite`` saturates ids above 255; the part stage reads the
    human PNG back, so it sees saturated ids too. Faithful mode does the same.
  - Images at most ``border_pad + 2`` pixels along an axis make MATLAB's border fill index
    out of range (an error); here the fill is clipped to the image.
"""

import logging
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from ._edges import edge_skeleton, extend_to_border
from ._gaps import fill_gaps
from ._grouping import group_segments
from ._merge import merge_to_fixed_point
from ._parts import part_instances

__all__ = ["MODES", "PartitionResult", "partition_instances", "partition_humans", "person_part_maps"]

logger = logging.getLogger(__name__)

MODES = ("faithful", "clean")


@dataclass
class PartitionResult:
    """Output of :func:`partition_instances` (what the official tool writes, as arrays).

    Attributes:
        human_map: (H, W) int32, 0 = background, 1..N person ids (``cihp_human_maps/<id>.png``).
        human_scores: (N,) float64, the score of person i+1: its area in pixels, which is what the
            official tool writes as ``1, <area>`` (class 1 = person).
        part_instance_map: (H, W) int32, 0 = none, 1..M part-instance ids
            (``cihp_instance_part_maps/<id>.png``).
        part_classes: (M,) int64, the parsing class of part instance i+1.
        part_scores: (M,) float64, ``area * mean(parsing_score) * edge_score`` of part instance
            i+1 (may be NaN in faithful mode, see :func:`partition_instances`).
    """

    human_map: np.ndarray
    human_scores: np.ndarray
    part_instance_map: np.ndarray
    part_classes: np.ndarray
    part_scores: np.ndarray

    @property
    def num_humans(self) -> int:
        return int(self.human_scores.shape[0])

    @property
    def num_parts(self) -> int:
        return int(self.part_scores.shape[0])


def _as_probability(edge_prob: np.ndarray) -> np.ndarray:
    """Edge probability as float64; integer maps are PNG values and are divided by 255 (as MATLAB)."""
    edge = np.asarray(edge_prob)
    if np.issubdtype(edge.dtype, np.integer):
        return edge.astype(np.float64) / 255.0
    return edge.astype(np.float64)


def _check_inputs(parsing, edge, parsing_score, mode):
    if mode not in MODES:
        raise ValueError(f"Unknown partition mode {mode!r}; expected one of {MODES}")
    if parsing.ndim != 2:
        raise ValueError(f"parsing must be (H, W), got shape {parsing.shape}")
    if not np.issubdtype(parsing.dtype, np.integer):
        raise ValueError(f"parsing must hold integer class ids, got dtype {parsing.dtype}")
    if parsing.size and parsing.min() < 0:
        raise ValueError("parsing has negative class ids")
    if edge.shape != parsing.shape:
        raise ValueError(f"edge_prob has shape {edge.shape}, parsing has {parsing.shape}")
    if parsing_score is not None and np.shape(parsing_score) != parsing.shape:
        raise ValueError(f"parsing_score has shape {np.shape(parsing_score)}, parsing has {parsing.shape}")


def partition_humans(
    parsing: np.ndarray,
    edge_prob: np.ndarray,
    *,
    mode: str = "faithful",
    edge_thresh: float = 0.2,
    border_pad: int = 10,
    min_human_area: int = 30,
    min_human_labels: int = 2,
    probe_dist: int = 2,
    close_size: int = 3,
) -> np.ndarray:
    """Stage A (``search.m`` + ``generate_instance_human.m``): (H, W) int32 person map, ids 1..N.

    Ids are the surviving regions renumbered 1..N in increasing region label order.
    ``edge_prob`` is a float probability map (or uint8 PNG values, divided by 255).
    """
    parsing = np.asarray(parsing)
    edge = _as_probability(edge_prob)
    _check_inputs(parsing, edge, None, mode)
    if parsing.size == 0 or not parsing.any():
        return np.zeros(parsing.shape, dtype=np.int32)
    faithful = mode == "faithful"
    skeleton = edge_skeleton(edge, edge_thresh, close_size, clear_frame=faithful)
    b1, b2 = extend_to_border(skeleton, border_pad)
    regions, n = group_segments(parsing != 0, b1, b2)
    regions = merge_to_fixed_point(
        regions,
        n,
        parsing,
        faithful=faithful,
        border_pad=border_pad,
        min_human_area=min_human_area,
        min_human_labels=min_human_labels,
        probe_dist=probe_dist,
    )
    present = np.bincount(regions.ravel()) > 0
    present[0] = False
    lut = np.zeros(present.size, dtype=np.int32)
    lut[present] = np.arange(1, int(present.sum()) + 1, dtype=np.int32)
    human = lut[regions]
    if not faithful:
        human = fill_gaps(human, parsing)
    return human


def partition_instances(
    parsing: np.ndarray,
    edge_prob: np.ndarray,
    parsing_score: Optional[np.ndarray] = None,
    *,
    mode: str = "faithful",
    edge_thresh: float = 0.2,
    border_pad: int = 10,
    min_human_area: int = 30,
    min_human_labels: int = 2,
    probe_dist: int = 2,
    close_size: int = 3,
    num_part_classes: int = 19,
    empty_edge_score: float = 0.0,
) -> PartitionResult:
    """Split a parsing map into people and part instances with the PGN instance-edge map.

    Args:
        parsing: (H, W) integer class ids, 0 = background (``cihp_parsing_maps/<id>.png``).
        edge_prob: (H, W) instance-edge probability in [0, 1]; an integer array is taken as the
            PNG values of ``cihp_edge_maps/<id>.png`` and divided by 255, as the MATLAB tool does.
        parsing_score: (H, W) max-logit map (the ``data`` of ``cihp_parsing_maps/<id>.mat``);
            None scores every pixel 1.
        mode: "faithful" (official output, quirks included) or "clean" (see the module doc).
        edge_thresh: edges are ``edge_prob >= edge_thresh`` before closing and thinning.
        border_pad: width of the bottom/right edge extension and of the border fill.
        min_human_area: a region is a human if it has more pixels than this...
        min_human_labels: ...and at least this many distinct parsing values (0 counts, as in MATLAB).
        probe_dist: distance of the four probes of the region merge.
        close_size: side of the square structuring element of the edge closing.
        num_part_classes: part classes 1..num_part_classes get part instances (19 for CIHP).
        empty_edge_score: clean mode only, the edge score of a part without edge pixels
            (faithful mode gives NaN, as MATLAB's 0/0).
    """
    parsing = np.asarray(parsing)
    edge = _as_probability(edge_prob)
    _check_inputs(parsing, edge, parsing_score, mode)
    human = partition_humans(
        parsing,
        edge,
        mode=mode,
        edge_thresh=edge_thresh,
        border_pad=border_pad,
        min_human_area=min_human_area,
        min_human_labels=min_human_labels,
        probe_dist=probe_dist,
        close_size=close_size,
    )
    areas = np.bincount(human.ravel())[1:].astype(np.float64)
    score = None if parsing_score is None else np.asarray(parsing_score)
    inst, classes, scores = part_instances(
        parsing,
        human,
        edge,
        score,
        faithful=mode == "faithful",
        num_part_classes=num_part_classes,
        empty_edge_score=empty_edge_score,
    )
    logger.debug("partition (%s): %d people, %d part instances", mode, areas.size, classes.size)
    return PartitionResult(human, areas, inst, classes, scores)


def person_part_maps(parsing: np.ndarray, human_map: np.ndarray) -> List[np.ndarray]:
    """Per-person part maps: for each id 1..N of ``human_map``, (H, W) uint8 ``parsing`` inside it.

    Ids without pixels give an all-zero map, so list index i always belongs to person i+1.
    """
    parsing = np.asarray(parsing)
    human_map = np.asarray(human_map)
    if parsing.shape != human_map.shape:
        raise ValueError(f"parsing has shape {parsing.shape}, human_map has {human_map.shape}")
    n = int(human_map.max(initial=0))
    labels = parsing.astype(np.uint8)
    return [np.where(human_map == i, labels, 0).astype(np.uint8) for i in range(1, n + 1)]
