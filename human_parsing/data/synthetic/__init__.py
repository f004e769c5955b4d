"""Synthetic multi-person human-parsing data: procedurally drawn people in cluttered scenes,
written in every official dataset layout (CIHP, MHP v2, LIP, ATR, PASCAL-Person-Part, and the
COCO-style json layout). The embedded default dataset of the demo and the tests.

    from human_parsing.data.synthetic import ensure_synthetic_dataset, generate_scene
    root = ensure_synthetic_dataset("cihp", "datasets/synthetic/cihp", "train")
    scene = generate_scene(seed=0, index=3)          # in memory: image, fine/part maps, keypoints
    pascal = scene.labels("pascal_person_part")      # any label space, through the mapping LUTs

Importing this package registers the ``synthetic_fine`` label space and its mappings
(``label_mapping_lut("synthetic_fine", <dataset>)``).
"""

from .generate import (  # noqa: F401
    DEFAULT_NUM_IMAGES,
    DEFAULT_SEEDS,
    DEFAULT_SIZE,
    ensure_synthetic_dataset,
    format_summary,
    generate_split,
    read_summary,
)
from .labels import (
    FINE_LABEL_SPACE_NAME,
    fine_id,
    fine_label_space,
)  # noqa: F401  (registers labels)
from .layouts import LAYOUT_LABEL_SPACE, LAYOUTS  # noqa: F401
from .people import COCO_KEYPOINTS, MPII_KEYPOINTS  # noqa: F401
from .scene import MAX_PEOPLE, Scene, SyntheticPerson, generate_scene  # noqa: F401

__all__ = [
    "ensure_synthetic_dataset",
    "generate_split",
    "read_summary",
    "generate_scene",
    "format_summary",
    "Scene",
    "SyntheticPerson",
    "LAYOUTS",
    "LAYOUT_LABEL_SPACE",
    "FINE_LABEL_SPACE_NAME",
    "fine_id",
    "fine_label_space",
    "COCO_KEYPOINTS",
    "MPII_KEYPOINTS",
    "MAX_PEOPLE",
    "DEFAULT_SIZE",
    "DEFAULT_NUM_IMAGES",
    "DEFAULT_SEEDS",
]
