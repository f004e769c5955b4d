import numpy as np
import pytest

from human_parsing.data.label_spaces import (
    IGNORE_LABEL,
    LABEL_SPACES,
    LabelSpace,
    get_label_space,
    label_mapping_lut,
)


def test_sizes_match_the_datasets():
    sizes = {n: ls.num_classes for n, ls in LABEL_SPACES.items()}
    expected = {"cihp": 20, "lip": 20, "atr": 18, "pascal_person_part": 7, "mhp_v2": 59,
                "densepose_parts": 15, "densepose_patches": 25}
    assert {k: sizes[k] for k in expected} == expected


def test_cihp_and_lip_differ_only_at_index_10():
    cihp, lip = get_label_space("cihp"), get_label_space("lip")
    diff = [i for i, (a, b) in enumerate(zip(cihp.classes, lip.classes)) if a != b]
    assert diff == [10]
    assert cihp.classes[10] == "torso-skin" and lip.classes[10] == "jumpsuits"


@pytest.mark.parametrize(
    "name,pairs",
    [
        ("cihp", [(14, 15), (16, 17), (18, 19)]),
        ("lip", [(14, 15), (16, 17), (18, 19)]),
        ("atr", [(9, 10), (12, 13), (14, 15)]),
        ("mhp_v2", [(5, 6), (7, 8), (22, 23), (24, 25), (26, 27), (28, 29), (30, 31), (32, 33)]),
        ("pascal_person_part", []),
        ("densepose_parts", [(2, 3), (4, 5), (6, 7), (8, 9), (10, 11), (12, 13)]),
        ("densepose_patches", [(i, i + 1) for i in range(3, 25, 2)]),
    ],
)
def test_flip_pairs_are_the_official_ids(name, pairs):
    ls = get_label_space(name)
    assert sorted(tuple(sorted(p)) for p in ls.flip_pairs) == pairs
    lut = ls.flip_lut
    moved = [i for i in range(256) if lut[i] != i]
    assert moved == sorted(i for p in pairs for i in p)
    assert lut[IGNORE_LABEL] == IGNORE_LABEL
    assert (lut[lut] == np.arange(256)).all()


def test_flip_label_map_by_hand():
    # CIHP: 14 left-arm, 15 right-arm; a row [0, 14, 5, 15, 255] mirrors to
    # [255, 15, 5, 14, 0] and then swaps 15<->14 -> [255, 14, 5, 15, 0].
    row = np.array([[0, 14, 5, 15, 255]], dtype=np.uint8)
    out = get_label_space("cihp").flip_label_map(row)
    assert out.tolist() == [[255, 14, 5, 15, 0]]


def test_flip_perm_permutes_logit_channels():
    ls = get_label_space("atr")
    logits = np.arange(18)[:, None]  # channel c holds value c
    flipped = logits[ls.flip_perm]
    assert flipped[9, 0] == 10 and flipped[10, 0] == 9 and flipped[4, 0] == 4


def test_hierarchy_luts():
    cihp = get_label_space("cihp")
    lut1, lut2 = cihp.hierarchy_lut(0), cihp.hierarchy_lut(1)
    assert lut1[0] == 0 and (lut1[1:20] == 1).all() and lut1[255] == 255
    # level 2: 0 bg / 1 head / 2 torso / 3 arms / 4 legs (methods.md §4.3)
    assert [lut2[i] for i in (0, 1, 2, 4, 13)] == [0, 1, 1, 1, 1]
    assert [lut2[i] for i in (5, 6, 7, 10, 11, 12)] == [2] * 6
    assert [lut2[i] for i in (3, 14, 15)] == [3] * 3
    assert [lut2[i] for i in (8, 9, 16, 17, 18, 19)] == [4] * 6
    atr2 = get_label_space("atr").hierarchy_lut(1)
    assert [atr2[i] for i in (8, 16, 14, 6, 11)] == [2, 2, 3, 4, 1]


def test_cihp_to_pascal_mapping():
    lut = label_mapping_lut("cihp", "pascal_person_part")
    # hat(1)->head(1), coat(7)->torso(2), left-arm(14)->lower-arm(4), pants(9)->upper-leg(5),
    # right-shoe(19)->lower-leg(6), background and ignore kept.
    assert [lut[i] for i in (0, 1, 7, 14, 9, 19, 255)] == [0, 1, 2, 4, 5, 6, 255]
    assert label_mapping_lut("cihp", "cihp")[17] == 17


def test_unknown_names_raise():
    with pytest.raises(KeyError, match="Unknown label space"):
        get_label_space("coco")
    with pytest.raises(KeyError, match="No label mapping"):
        label_mapping_lut("atr", "mhp_v2")
    with pytest.raises(ValueError, match="unknown class"):
        LabelSpace("bad", ("background", "a"), (("a", "b"),))
    with pytest.raises(ValueError, match="two flip pairs"):
        LabelSpace("bad", ("background", "a", "b", "c"), (("a", "b"), ("a", "c")))


def test_palette_and_metadata():
    ls = get_label_space("cihp")
    assert ls.palette.shape == (256, 3) and ls.palette.dtype == np.uint8
    # PASCAL VOC palette: 1 -> (128, 0, 0), 2 -> (0, 128, 0), 3 -> (128, 128, 0)
    assert ls.palette[1].tolist() == [128, 0, 0] and ls.palette[3].tolist() == [128, 128, 0]
    assert len({tuple(c) for c in ls.palette[:20]}) == 20
    md = ls.metadata()
    assert md["ignore_label"] == 255 and md["thing_classes"] == ["person"]
    assert ["left-arm", "right-arm"] in md["parsing_flip_map"]
