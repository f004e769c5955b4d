"""Label spaces of the human-parsing datasets, declared once as data.

Each :class:`LabelSpace` holds class names, a palette, name-based left/right flip pairs
(methods.md §1.2) and the coarse hierarchy levels of Grapy-ML (methods.md §4.3). From the pairs
it derives a 256-entry lookup table for label maps and a channel permutation for logits, so the
training-time flip, test-time augmentation, evaluation and visualization share one symmetry.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

IGNORE_LABEL = 255

__all__ = [
    "IGNORE_LABEL",
    "LabelSpace",
    "LABEL_SPACES",
    "get_label_space",
    "label_mapping_lut",
    "register_label_mapping",
]


def _pascal_voc_palette(n: int) -> List[Tuple[int, int, int]]:
    """The bit-interleaved PASCAL VOC palette, which the parsing datasets' colour PNGs use."""
    colors = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colors.append((r, g, b))
    return colors


@dataclass(frozen=True)
class LabelSpace:
    """One dataset's part labels. Index 0 is background; 255 is "ignore" and maps to itself."""

    name: str
    classes: Tuple[str, ...]
    # Left/right pairs given by class *names*, checked and turned into ids in __post_init__.
    flip_pairs_by_name: Tuple[Tuple[str, str], ...] = ()
    # Coarse levels (coarsest first) as tuples of groups of fine class ids; the fine level is implicit.
    hierarchy: Tuple[Tuple[Tuple[int, ...], ...], ...] = ()
    colors: Optional[Tuple[Tuple[int, int, int], ...]] = None
    _cache: Dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        names = set(self.classes)
        if len(names) != len(self.classes):
            raise ValueError(f"Label space {self.name}: duplicate class names")
        seen = set()
        for a, b in self.flip_pairs_by_name:
            for n in (a, b):
                if n not in names:
                    raise ValueError(f"Label space {self.name}: flip pair names unknown class {n!r}")
                if n in seen:
                    raise ValueError(f"Label space {self.name}: class {n!r} is in two flip pairs")
                seen.add(n)
        for level in self.hierarchy:
            ids = sorted(i for group in level for i in group)
            if ids != list(range(self.num_classes)):
                raise ValueError(f"Label space {self.name}: a hierarchy level does not partition the classes")
        if self.colors is None:
            object.__setattr__(self, "colors", tuple(_pascal_voc_palette(self.num_classes)))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def flip_pairs(self) -> List[Tuple[int, int]]:
        """Left/right pairs as class ids."""
        return [(self.classes.index(a), self.classes.index(b)) for a, b in self.flip_pairs_by_name]

    @property
    def flip_perm(self) -> np.ndarray:
        """(K,) permutation: channel ``c`` of flipped logits comes from channel ``flip_perm[c]``."""
        if "perm" not in self._cache:
            perm = np.arange(self.num_classes)
            for a, b in self.flip_pairs:
                perm[a], perm[b] = b, a
            self._cache["perm"] = perm
        return self._cache["perm"]

    @property
    def flip_lut(self) -> np.ndarray:
        """(256,) uint8 lookup table that swaps left/right labels; identity elsewhere (incl. 255)."""
        if "lut" not in self._cache:
            lut = np.arange(256, dtype=np.uint8)
            lut[: self.num_classes] = self.flip_perm
            self._cache["lut"] = lut
        return self._cache["lut"]

    @property
    def palette(self) -> np.ndarray:
        """(256, 3) uint8 RGB palette for index PNGs; 255 (ignore) is white."""
        if "palette" not in self._cache:
            pal = np.zeros((256, 3), dtype=np.uint8)
            pal[: self.num_classes] = np.asarray(self.colors, dtype=np.uint8)
            pal[IGNORE_LABEL] = 255
            self._cache["palette"] = pal
        return self._cache["palette"]

    def hierarchy_lut(self, level: int) -> np.ndarray:
        """(256,) uint8 table mapping fine ids to group ids of ``hierarchy[level]``; 255 kept."""
        lut = np.full(256, IGNORE_LABEL, dtype=np.uint8)
        for gid, group in enumerate(self.hierarchy[level]):
            lut[list(group)] = gid
        return lut

    def flip_label_map(self, label: np.ndarray) -> np.ndarray:
        """Mirror a (..., H, W) label map horizontally and swap left/right labels."""
        return self.flip_lut[np.ascontiguousarray(label[..., ::-1])]

    def metadata(self) -> dict:
        """Fields put into ``MetadataCatalog`` for a dataset in this label space."""
        return {
            "label_space": self.name,
            "stuff_classes": list(self.classes),
            "stuff_colors": [list(c) for c in self.colors],
            "ignore_label": IGNORE_LABEL,
            "parsing_flip_map": [list(p) for p in self.flip_pairs_by_name],
            "num_parsing": self.num_classes,
            "thing_classes": ["person"],
        }


# fmt: off
_LIP_LIKE = ("background", "hat", "hair", "glove", "sunglasses", "upper-clothes", "dress", "coat",
             "socks", "pants", None, "scarf", "skirt", "face", "left-arm", "right-arm", "left-leg",
             "right-leg", "left-shoe", "right-shoe")
_LR_LIP = (("left-arm", "right-arm"), ("left-leg", "right-leg"), ("left-shoe", "right-shoe"))
_CIHP_L2 = ((0,), (1, 2, 4, 13), (5, 6, 7, 10, 11, 12), (3, 14, 15), (8, 9, 16, 17, 18, 19))

CIHP = LabelSpace(
    "cihp", tuple("torso-skin" if n is None else n for n in _LIP_LIKE), _LR_LIP,
    hierarchy=(((0,), tuple(range(1, 20))), _CIHP_L2),
)
LIP = LabelSpace(
    "lip", tuple("jumpsuits" if n is None else n for n in _LIP_LIKE), _LR_LIP,
    hierarchy=(((0,), tuple(range(1, 20))), _CIHP_L2),
)
ATR = LabelSpace(
    "atr",
    ("background", "hat", "hair", "sunglasses", "upper-clothes", "skirt", "pants", "dress", "belt",
     "left-shoe", "right-shoe", "face", "left-leg", "right-leg", "left-arm", "right-arm", "bag", "scarf"),
    (("left-shoe", "right-shoe"), ("left-leg", "right-leg"), ("left-arm", "right-arm")),
    hierarchy=(((0,), tuple(range(1, 18))),
               ((0,), (1, 2, 3, 11), (4, 5, 7, 8, 16, 17), (14, 15), (6, 9, 10, 12, 13))),
)
PASCAL_PERSON_PART = LabelSpace(
    "pascal_person_part",
    ("background", "head", "torso", "upper-arm", "lower-arm", "upper-leg", "lower-leg"),
    (),
    hierarchy=(((0,), tuple(range(1, 7))), ((0,), (1,), (2,), (3, 4), (5, 6))),
)
MHP_V2 = LabelSpace(
    "mhp_v2",
    ("background", "cap/hat", "helmet", "face", "hair", "left-arm", "right-arm", "left-hand",
     "right-hand", "protector", "bikini/bra", "jacket/windbreaker/hoodie", "t-shirt", "polo-shirt",
     "sweater", "singlet", "torso-skin", "pants", "shorts/swim-shorts", "skirt", "stockings", "socks",
     "left-boot", "right-boot", "left-shoe", "right-shoe", "left-highheel", "right-highheel",
     "left-sandal", "right-sandal", "left-leg", "right-leg", "left-foot", "right-foot", "coat",
     "dress", "robe", "jumpsuit", "other-full-body-clothes", "headwear", "backpack", "ball", "bats",
     "belt", "bottle", "carrybag", "cases", "sunglasses", "eyewear", "glove", "scarf", "umbrella",
     "wallet/purse", "watch", "wristband", "tie", "other-accessary", "other-upper-body-clothes",
     "other-lower-body-clothes"),
    (("left-arm", "right-arm"), ("left-hand", "right-hand"), ("left-boot", "right-boot"),
     ("left-shoe", "right-shoe"), ("left-highheel", "right-highheel"),
     ("left-sandal", "right-sandal"), ("left-leg", "right-leg"), ("left-foot", "right-foot")),
)
DENSEPOSE_PARTS = LabelSpace(
    "densepose_parts",
    ("background", "torso", "right-hand", "left-hand", "left-foot", "right-foot", "right-upper-leg",
     "left-upper-leg", "right-lower-leg", "left-lower-leg", "left-upper-arm", "right-upper-arm",
     "left-lower-arm", "right-lower-arm", "head"),
    (("right-hand", "left-hand"), ("left-foot", "right-foot"), ("right-upper-leg", "left-upper-leg"),
     ("right-lower-leg", "left-lower-leg"), ("left-upper-arm", "right-upper-arm"),
     ("left-lower-arm", "right-lower-arm")),
)
DENSEPOSE_PATCHES = LabelSpace(
    "densepose_patches",
    ("background", "torso-back", "torso-front", "right-hand", "left-hand", "left-foot", "right-foot",
     "right-upper-leg-back", "left-upper-leg-back", "right-upper-leg-front", "left-upper-leg-front",
     "right-lower-leg-back", "left-lower-leg-back", "right-lower-leg-front", "left-lower-leg-front",
     "left-upper-arm-inside", "right-upper-arm-inside", "left-upper-arm-outside",
     "right-upper-arm-outside", "left-lower-arm-inside", "right-lower-arm-inside",
     "left-lower-arm-outside", "right-lower-arm-outside", "head-right", "head-left"),
    tuple(zip(
        ("right-hand", "left-foot", "right-upper-leg-back", "right-upper-leg-front",
         "right-lower-leg-back", "right-lower-leg-front", "left-upper-arm-inside",
         "left-upper-arm-outside", "left-lower-arm-inside", "left-lower-arm-outside", "head-right"),
        ("left-hand", "right-foot", "left-upper-leg-back", "left-upper-leg-front",
         "left-lower-leg-back", "left-lower-leg-front", "right-upper-arm-inside",
         "right-upper-arm-outside", "right-lower-arm-inside", "right-lower-arm-outside", "head-left"),
    )),
)
# fmt: on

LABEL_SPACES: Dict[str, LabelSpace] = {
    ls.name: ls
    for ls in (CIHP, LIP, ATR, PASCAL_PERSON_PART, MHP_V2, DENSEPOSE_PARTS, DENSEPOSE_PATCHES)
}


def get_label_space(name: str) -> LabelSpace:
    """Look up a label space by name (``cihp``, ``lip``, ``atr``, ``pascal_person_part``, ``mhp_v2``, ...)."""
    try:
        return LABEL_SPACES[name]
    except KeyError:
        raise KeyError(f"Unknown label space {name!r}; known: {sorted(LABEL_SPACES)}") from None


# ---------------------------------------------------------------------------------------------
# Mappings between label spaces where one coarsens the other (for cross-dataset training and
# for writing one synthetic scene in every label space). Keys are target names, values lists of
# source names; unnamed source classes map to background.
_MAPPINGS: Dict[Tuple[str, str], Dict[str, Sequence[str]]] = {}


def register_label_mapping(src: str, dst: str, groups: Dict[str, Sequence[str]]) -> None:
    """Declare how ``src`` classes map onto ``dst`` classes (by name)."""
    s, d = get_label_space(src), get_label_space(dst)
    for dname, snames in groups.items():
        if dname not in d.classes:
            raise ValueError(f"Mapping {src}->{dst}: unknown target class {dname!r}")
        for n in snames:
            if n not in s.classes:
                raise ValueError(f"Mapping {src}->{dst}: unknown source class {n!r}")
    _MAPPINGS[(src, dst)] = dict(groups)


def label_mapping_lut(src: str, dst: str) -> np.ndarray:
    """(256,) uint8 lookup table from ``src`` ids to ``dst`` ids; 255 stays 255, unmapped -> 0."""
    if src == dst:
        return np.arange(256, dtype=np.uint8)
    if (src, dst) not in _MAPPINGS:
        raise KeyError(f"No label mapping from {src!r} to {dst!r}; known: {sorted(_MAPPINGS)}")
    s, d = get_label_space(src), get_label_space(dst)
    lut = np.zeros(256, dtype=np.uint8)
    lut[IGNORE_LABEL] = IGNORE_LABEL
    for dname, snames in _MAPPINGS[(src, dst)].items():
        for n in snames:
            lut[s.classes.index(n)] = d.classes.index(dname)
    return lut


# The synthetic generator draws people in the CIHP space; these map CIHP onto the others.
_CIHP_TO_LIP = {n: [n] for n in CIHP.classes[1:] if n in LIP.classes}
_CIHP_TO_LIP["upper-clothes"] = ["upper-clothes", "torso-skin"]  # LIP has no torso-skin class
register_label_mapping("cihp", "lip", _CIHP_TO_LIP)
register_label_mapping("lip", "cihp", {n: [n] for n in LIP.classes[1:] if n in CIHP.classes})
register_label_mapping(
    "cihp",
    "atr",
    {
        "hat": ["hat"], "hair": ["hair"], "sunglasses": ["sunglasses"],
        "upper-clothes": ["upper-clothes", "coat", "torso-skin"], "skirt": ["skirt"],
        "pants": ["pants"], "dress": ["dress"], "left-shoe": ["left-shoe"],
        "right-shoe": ["right-shoe"], "face": ["face"], "left-leg": ["left-leg"],
        "right-leg": ["right-leg"], "left-arm": ["left-arm"], "right-arm": ["right-arm"],
        "scarf": ["scarf"],  # ATR has no glove or socks class, and they have no side: background
    },
)
register_label_mapping(
    "cihp",
    "pascal_person_part",
    {
        "head": ["hat", "hair", "sunglasses", "face"],
        "torso": ["upper-clothes", "dress", "coat", "torso-skin", "scarf"],
        # PASCAL splits arms and legs into upper/lower, which CIHP cannot express: whole limbs
        # go to the lower segment only where clothes do not cover them (an approximation).
        "upper-arm": [], "lower-arm": ["left-arm", "right-arm", "glove"],
        "upper-leg": ["pants", "skirt"], "lower-leg": ["left-leg", "right-leg", "socks", "left-shoe", "right-shoe"],
    },
)
register_label_mapping(
    "cihp",
    "mhp_v2",
    {
        "cap/hat": ["hat"], "hair": ["hair"], "glove": ["glove"], "sunglasses": ["sunglasses"],
        "t-shirt": ["upper-clothes"], "dress": ["dress"], "coat": ["coat"], "socks": ["socks"],
        "pants": ["pants"], "torso-skin": ["torso-skin"], "scarf": ["scarf"], "skirt": ["skirt"],
        "face": ["face"], "left-arm": ["left-arm"], "right-arm": ["right-arm"],
        "left-leg": ["left-leg"], "right-leg": ["right-leg"], "left-shoe": ["left-shoe"],
        "right-shoe": ["right-shoe"],
    },
)
