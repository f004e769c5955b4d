"""The fine label space the synthetic generator draws in, and its mappings onto every dataset.

Each fine class is a *(body segment, surface)* pair, e.g. ``left-lower-arm:coat`` (a coat sleeve
over the left forearm) or ``hips:skirt``. Because segment and side are kept, every dataset label
space is an exact coarsening: CIHP/LIP/ATR/MHP v2 mostly read the surface (and the side for bare
limbs and shoes), PASCAL-Person-Part reads the segment (head/torso/upper-arm/lower-arm/...). So
one drawn scene is written in every label space through one lookup table per space, with no
approximation (compare the coarser CIHP→PASCAL mapping in ``label_spaces.py``).
"""

from typing import Dict, List, Optional, Tuple

from ..label_spaces import LABEL_SPACES, LabelSpace, register_label_mapping

__all__ = [
    "FINE_LABEL_SPACE_NAME",
    "SIDES",
    "fine_id",
    "fine_label_space",
    "register_synthetic_labels",
]

FINE_LABEL_SPACE_NAME = "synthetic_fine"
SIDES = ("left", "right")  # the person's own left/right (image right for a person facing us)

# Surfaces allowed on each segment. Sided segments are repeated for "left" and "right".
_UNSIDED: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("head", ("hat", "hair", "face", "sunglasses")),
    ("torso", ("skin", "scarf", "upper-clothes", "coat", "dress")),
    ("hips", ("pants", "skirt", "dress", "coat")),  # garment between/over the tops of the legs
)
_SIDED: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("upper-arm", ("skin", "upper-clothes", "coat", "dress")),
    ("lower-arm", ("skin", "upper-clothes", "coat")),
    ("hand", ("skin", "glove")),
    ("upper-leg", ("skin", "pants")),
    ("lower-leg", ("skin", "pants", "socks")),
    ("foot", ("skin", "socks", "shoe")),
)
_ARM_SEGMENTS = ("upper-arm", "lower-arm", "hand")


def _fine_classes() -> List[Tuple[str, Optional[str], str, str]]:
    """[(name, side, segment, surface)] in id order (background first)."""
    out = [("background", None, "", "")]
    for seg, surfaces in _UNSIDED:
        out += [(f"{seg}:{s}", None, seg, s) for s in surfaces]
    for side in SIDES:
        for seg, surfaces in _SIDED:
            out += [(f"{side}-{seg}:{s}", side, seg, s) for s in surfaces]
    return out


_FINE = _fine_classes()
_FINE_IDS: Dict[str, int] = {name: i for i, (name, _, _, _) in enumerate(_FINE)}


def fine_id(segment: str, surface: str, side: Optional[str] = None) -> int:
    """Id of a fine class, e.g. ``fine_id("lower-arm", "coat", "left")``."""
    name = f"{side}-{segment}:{surface}" if side else f"{segment}:{surface}"
    try:
        return _FINE_IDS[name]
    except KeyError:
        raise ValueError(f"Unknown synthetic fine class {name!r}") from None


# ---- target class of one fine class in each dataset label space --------------------------------
def _to_cihp_like(side, seg, surf, torso_skin: str) -> str:
    if seg == "head":
        return surf
    if surf == "skin":
        if seg == "torso":
            return torso_skin
        return f"{side}-arm" if seg in _ARM_SEGMENTS else f"{side}-leg"
    if surf == "shoe":
        return f"{side}-shoe"
    return surf  # garments and accessories keep their name (scarf, coat, glove, socks, ...)


def _to_atr(side, seg, surf) -> str:
    if seg == "head":
        return surf
    if surf in ("skin", "glove", "socks") and seg != "torso":
        # ATR has no glove/socks class: the covered limb keeps its side (arm/leg).
        return f"{side}-arm" if seg in _ARM_SEGMENTS else f"{side}-leg"
    if surf in ("skin", "coat", "upper-clothes"):
        return "upper-clothes"  # ATR has neither torso-skin nor coat
    if surf == "shoe":
        return f"{side}-shoe"
    return surf  # scarf, dress, pants, skirt


def _to_mhp(side, seg, surf) -> str:
    if seg == "head":
        return {"hat": "cap/hat"}.get(surf, surf)
    if surf == "skin":
        if seg == "torso":
            return "torso-skin"
        name = {"upper-arm": "arm", "lower-arm": "arm", "upper-leg": "leg", "lower-leg": "leg"}
        return f"{side}-{name.get(seg, seg)}"  # hand and foot exist in MHP v2
    if surf == "shoe":
        return f"{side}-shoe"
    return {"upper-clothes": "t-shirt"}.get(surf, surf)


def _to_pascal(side, seg, surf) -> str:
    return {
        "head": "head",
        "torso": "torso",
        "hips": "upper-leg",
        "upper-arm": "upper-arm",
        "lower-arm": "lower-arm",
        "hand": "lower-arm",
        "upper-leg": "upper-leg",
        "lower-leg": "lower-leg",
        "foot": "lower-leg",
    }[seg]


_TARGETS = {
    "cihp": lambda side, seg, surf: _to_cihp_like(side, seg, surf, "torso-skin"),
    # LIP has no torso-skin class; follow label_spaces.py's cihp->lip choice (upper-clothes).
    "lip": lambda side, seg, surf: _to_cihp_like(side, seg, surf, "upper-clothes"),
    "atr": _to_atr,
    "mhp_v2": _to_mhp,
    "pascal_person_part": _to_pascal,
}


def fine_label_space() -> LabelSpace:
    """The ``synthetic_fine`` label space (registered on import of this package)."""
    return LABEL_SPACES[FINE_LABEL_SPACE_NAME]


def register_synthetic_labels() -> None:
    """Add ``synthetic_fine`` to ``LABEL_SPACES`` and register its mappings (idempotent)."""
    if FINE_LABEL_SPACE_NAME not in LABEL_SPACES:
        names = tuple(n for n, _, _, _ in _FINE)
        pairs = tuple((n, "right" + n[len("left") :]) for n, side, _, _ in _FINE if side == "left")
        LABEL_SPACES[FINE_LABEL_SPACE_NAME] = LabelSpace(FINE_LABEL_SPACE_NAME, names, pairs)
    for dst, fn in _TARGETS.items():
        groups: Dict[str, List[str]] = {}
        for name, side, seg, surf in _FINE[1:]:
            groups.setdefault(fn(side, seg, surf), []).append(name)
        register_label_mapping(FINE_LABEL_SPACE_NAME, dst, groups)


register_synthetic_labels()
