"""Multi-domain batch samplers: homogeneity, balance, determinism, rank agreement, and the
config errors of the multi-domain loader (semantic_interface.md §1-2)."""
import itertools
from collections import Counter

import pytest

from human_parsing.data.samplers import DomainHomogeneousBatchSampler, MixedDomainBatchSampler

# 23 "cihp", 7 "pascal", 12 "atr" records, interleaved the way a concatenated list is not
DOMAINS = ["cihp"] * 23 + ["pascal_person_part"] * 7 + ["atr"] * 12
DOMAINS = DOMAINS[::2] + DOMAINS[1::2]


def _take(sampler, n):
    return list(itertools.islice(iter(sampler), n))


def test_homogeneous_batches_one_domain_and_epoch_is_sampler_uni():
    s = DomainHomogeneousBatchSampler(DOMAINS, 3, seed=0, rank=0, world_size=1)
    # one epoch = floor(23/3) + floor(7/3) + floor(12/3) = 7 + 2 + 4 = 13 batches, no repeats
    epoch = _take(s, 13)
    for b in epoch:
        assert len(b) == 3 and len({DOMAINS[i] for i in b}) == 1
    flat = [i for b in epoch for i in b]
    assert len(flat) == len(set(flat)) == 39
    assert Counter(DOMAINS[b[0]] for b in epoch) == {"cihp": 7, "pascal_person_part": 2, "atr": 4}
    # the next epoch reshuffles: same per-domain batch counts, a different order
    nxt = _take(s, 26)[13:]
    assert Counter(DOMAINS[b[0]] for b in nxt) == {"cihp": 7, "pascal_person_part": 2, "atr": 4}
    assert nxt != epoch


def test_balanced_mode_truncates_larger_domains_to_the_balance_domain():
    s = DomainHomogeneousBatchSampler(DOMAINS, 2, seed=1, rank=0, world_size=1, balance_domain="pascal_person_part")
    # every domain capped at 7 images -> 3 batches each per epoch (official shuffle_cus_balance)
    epochs = [_take(s, 9 * (k + 1))[9 * k:] for k in range(1)]
    counts = Counter(DOMAINS[b[0]] for b in epochs[0])
    assert counts == {"cihp": 3, "pascal_person_part": 3, "atr": 3}
    # over many epochs every cihp image is eventually used (a fresh random subset each epoch)
    seen = {i for b in _take(s, 9 * 40) for i in b if DOMAINS[i] == "cihp"}
    assert len(seen) == 23
    # a domain smaller than the cap is kept whole
    s2 = DomainHomogeneousBatchSampler(DOMAINS, 2, seed=1, rank=0, world_size=1, balance_domain="atr")
    assert Counter(DOMAINS[b[0]] for b in _take(s2, 6 + 3 + 6)) == {"cihp": 6, "pascal_person_part": 3, "atr": 6}


def test_homogeneous_deterministic_and_seed_dependent():
    a = _take(DomainHomogeneousBatchSampler(DOMAINS, 2, seed=5, rank=0, world_size=1), 30)
    b = _take(DomainHomogeneousBatchSampler(DOMAINS, 2, seed=5, rank=0, world_size=1), 30)
    c = _take(DomainHomogeneousBatchSampler(DOMAINS, 2, seed=6, rank=0, world_size=1), 30)
    assert a == b and a != c


def test_two_ranks_agree_on_domain_and_see_different_images():
    r0 = _take(DomainHomogeneousBatchSampler(DOMAINS, 2, seed=3, rank=0, world_size=2), 40)
    r1 = _take(DomainHomogeneousBatchSampler(DOMAINS, 2, seed=3, rank=1, world_size=2), 40)
    for b0, b1 in zip(r0, r1):
        assert {DOMAINS[i] for i in b0 + b1} == {DOMAINS[b0[0]]}
    # within one epoch (global batch 4: 5 + 1 + 3 = 9 batches) no image is used twice
    flat = [i for b in r0[:9] + r1[:9] for i in b]
    assert len(flat) == len(set(flat)) == 36
    # the two ranks together see exactly what one process with the global batch would
    single = _take(DomainHomogeneousBatchSampler(DOMAINS, 4, seed=3, rank=0, world_size=1), 9)
    assert [b0 + b1 for b0, b1 in zip(r0, r1)][:9] == single


def test_homogeneous_errors():
    with pytest.raises(ValueError, match="whole global batch"):
        DomainHomogeneousBatchSampler(["a"] * 3 + ["b"] * 2, 4, seed=0, rank=0, world_size=1)
    with pytest.raises(ValueError, match="balance domain 'x'"):
        DomainHomogeneousBatchSampler(DOMAINS, 2, seed=0, rank=0, world_size=1, balance_domain="x")
    with pytest.raises(ValueError, match="domain 'atr', not one of"):
        DomainHomogeneousBatchSampler(DOMAINS, 2, domains=["cihp", "pascal_person_part"], seed=0)


def test_mixed_counts_per_batch_and_uniform_coverage():
    counts = {"cihp": 2, "pascal_person_part": 1, "atr": 1}
    s = MixedDomainBatchSampler(DOMAINS, counts, seed=0, rank=0, world_size=1)
    batches = _take(s, 70)
    for b in batches:
        assert [DOMAINS[i] for i in b] == ["cihp", "cihp", "pascal_person_part", "atr"]
    # each domain is walked in shuffled epochs: 70 pascal draws = 10 full epochs of 7 images
    pascal = [b[2] for b in batches]
    assert Counter(pascal) == {i: 10 for i, d in enumerate(DOMAINS) if d == "pascal_person_part"}
    for k in range(10):
        assert len(set(pascal[7 * k:7 * (k + 1)])) == 7


def test_mixed_two_ranks_split_each_domain_draw():
    counts = {"cihp": 1, "atr": 1}
    doms = [d for d in DOMAINS if d != "pascal_person_part"]
    r = [_take(MixedDomainBatchSampler(doms, counts, seed=9, rank=k, world_size=2), 20) for k in (0, 1)]
    one = _take(MixedDomainBatchSampler(doms, {"cihp": 2, "atr": 2}, seed=9, rank=0, world_size=1), 20)
    for b0, b1, b in zip(r[0], r[1], one):
        assert [doms[i] for i in b0] == [doms[i] for i in b1] == ["cihp", "atr"]
        assert sorted(b0 + b1) == sorted(b)
        assert not set(b0) & set(b1)


def test_mixed_errors():
    with pytest.raises(ValueError, match="counts has domains"):
        MixedDomainBatchSampler(DOMAINS, {"cihp": 1, "atr": 1}, domains=["cihp", "atr", "pascal_person_part"], seed=0)
    with pytest.raises(ValueError, match="no images"):
        MixedDomainBatchSampler(["a"] * 3, {"a": 1, "b": 1}, domains=["a", "b"], seed=0)
