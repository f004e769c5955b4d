"""Multi-dataset batch samplers and the multi-domain training loader (semantic_interface.md §2).

Both samplers are infinite and seeded like Detectron2's ``TrainingSampler``: every process uses
the same seed (``comm.shared_random_seed()``), draws the same *global* plan, and takes its own
slice of each global batch. So at every step all ranks agree on the domain(s) of the batch and
see different images. They yield lists of dataset indices (one list = one per-process batch),
used as a ``DataLoader`` ``batch_sampler`` (workers keep the batch order). Aspect-ratio grouping
is not applied: it would re-mix the domains. A mapper returning None makes Detectron2's
``MapDataset`` retry with a random record of any domain; the project's mappers raise instead.
"""
import itertools
import logging
from typing import Dict, Iterator, List, Optional, Sequence

import torch
from detectron2.data import DatasetFromList, MapDataset, get_detection_dataset_dicts
from detectron2.data.build import trivial_batch_collator, worker_init_reset_seed
from detectron2.utils import comm
from torch.utils.data import DataLoader, Sampler

from .domains import dataset_domain, resolve_domains, train_dataset_domains

__all__ = [
    "DomainHomogeneousBatchSampler",
    "MixedDomainBatchSampler",
    "DomainMapper",
    "TagDomain",
    "build_domain_mappers",
    "build_multi_domain_train_loader",
]

logger = logging.getLogger(__name__)


def _indices_by_domain(record_domains: Sequence[str], domains: Sequence[str]) -> Dict[str, List[int]]:
    by = {d: [] for d in domains}
    for i, d in enumerate(record_domains):
        if d not in by:
            raise ValueError(f"Record {i} has domain {d!r}, not one of the sampler's domains {list(domains)}")
        by[d].append(i)
    return by


class _SharedPlanSampler(Sampler):
    """Seed, rank and world size handling shared by the two samplers."""

    def __init__(self, record_domains: Sequence[str], batch_size: int, domains: Optional[Sequence[str]],
                 seed: Optional[int], rank: Optional[int], world_size: Optional[int]):
        if batch_size <= 0:
            raise ValueError(f"batch_size (per process) must be positive, got {batch_size}")
        self.domains = list(domains) if domains else list(dict.fromkeys(record_domains))
        self.indices = _indices_by_domain(record_domains, self.domains)
        self.batch_size = int(batch_size)
        self.seed = int(comm.shared_random_seed() if seed is None else seed)
        self.rank = comm.get_rank() if rank is None else rank
        self.world_size = comm.get_world_size() if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} is outside world size {self.world_size}")

    def _generator(self) -> torch.Generator:
        g = torch.Generator()
        g.manual_seed(self.seed)
        return g


class DomainHomogeneousBatchSampler(_SharedPlanSampler):
    """Every batch holds images of one domain (Grapy-ML's ``Sampler_uni``, methods.md §4.6).

    One epoch of the global plan, as the official ``shuffle_cus``: shuffle each domain's
    indices; cut them into whole global batches (``batch_size * world_size``), dropping each
    domain's remainder; shuffle the order of all batches. Balanced mode
    (``shuffle_cus_balance``): before cutting, every domain larger than ``balance_domain`` is
    truncated to its size (a fresh random subset each epoch); smaller domains are kept whole.
    Epochs repeat forever with a generator seeded once. Process ``rank`` yields the
    ``rank``-th slice of ``batch_size`` images of each global batch.
    """

    def __init__(self, record_domains: Sequence[str], batch_size: int, *,
                 domains: Optional[Sequence[str]] = None, balance_domain: Optional[str] = None,
                 seed: Optional[int] = None, rank: Optional[int] = None, world_size: Optional[int] = None):
        """
        Args:
            record_domains: the domain of each dataset index.
            batch_size: images per process and step.
            domains: domain order (default: order of first appearance).
            balance_domain: enables the balanced mode with this domain's size as the cap.
            seed: shared by all processes (default ``comm.shared_random_seed()``).
            rank, world_size: default from ``detectron2.utils.comm``.
        """
        super().__init__(record_domains, batch_size, domains, seed, rank, world_size)
        self.balance_domain = balance_domain
        if balance_domain is not None and balance_domain not in self.indices:
            raise ValueError(f"balance domain {balance_domain!r} is not one of {self.domains}")
        self.global_batch = self.batch_size * self.world_size
        sizes = self._epoch_sizes()
        empty = [d for d in self.domains if sizes[d] < self.global_batch]
        if len(empty) == len(self.domains):
            raise ValueError(
                f"No domain has a whole global batch of {self.global_batch} images "
                f"(per-domain sizes {sizes}): lower SOLVER.IMS_PER_BATCH or add data"
            )
        for d in empty:
            logger.warning(f"Domain {d!r} has {sizes[d]} images < one global batch of "
                           f"{self.global_batch}: it never appears in training")

    def _epoch_sizes(self) -> Dict[str, int]:
        sizes = {d: len(v) for d, v in self.indices.items()}
        if self.balance_domain is not None:
            cap = sizes[self.balance_domain]
            sizes = {d: min(n, cap) for d, n in sizes.items()}
        return sizes

    def epoch_plan(self, g: torch.Generator) -> List[List[int]]:
        """One epoch of global batches (lists of ``global_batch`` indices), drawn from ``g``."""
        sizes = self._epoch_sizes()
        batches = []
        for d in self.domains:
            idx = self.indices[d]
            perm = torch.randperm(len(idx), generator=g)[: sizes[d]].tolist()
            n = len(perm) // self.global_batch
            batches += [[idx[j] for j in perm[k * self.global_batch:(k + 1) * self.global_batch]]
                        for k in range(n)]
        order = torch.randperm(len(batches), generator=g).tolist()
        return [batches[k] for k in order]

    def __iter__(self) -> Iterator[List[int]]:
        g = self._generator()
        lo, hi = self.rank * self.batch_size, (self.rank + 1) * self.batch_size
        while True:
            for batch in self.epoch_plan(g):
                yield batch[lo:hi]


class MixedDomainBatchSampler(_SharedPlanSampler):
    """Every batch holds a fixed number of images of each domain (SST, methods.md §6.5).

    Each domain has its own endless stream of shuffled epochs (like ``TrainingSampler``); a
    step takes ``counts[d] * world_size`` indices from domain ``d``'s stream and process
    ``rank`` keeps its ``rank``-th slice of ``counts[d]``. Batches list the domains in order.
    """

    def __init__(self, record_domains: Sequence[str], counts: Dict[str, int], *,
                 domains: Optional[Sequence[str]] = None, seed: Optional[int] = None,
                 rank: Optional[int] = None, world_size: Optional[int] = None):
        """
        Args:
            record_domains: the domain of each dataset index.
            counts: images of each domain per process and step (the batch size is their sum).
            domains, seed, rank, world_size: as :class:`DomainHomogeneousBatchSampler`.
        """
        domains = list(domains) if domains else list(counts)
        super().__init__(record_domains, sum(counts.values()), domains, seed, rank, world_size)
        if set(counts) != set(self.domains):
            raise ValueError(f"counts has domains {sorted(counts)}, expected {self.domains}")
        for d in self.domains:
            if counts[d] < 0:
                raise ValueError(f"count of domain {d!r} is negative: {counts[d]}")
            if counts[d] > 0 and not self.indices[d]:
                raise ValueError(f"Domain {d!r} has no images but {counts[d]} per batch")
        self.counts = {d: int(counts[d]) for d in self.domains}

    def _stream(self, d: str, g: torch.Generator) -> Iterator[int]:
        idx = self.indices[d]
        while True:
            yield from (idx[j] for j in torch.randperm(len(idx), generator=g).tolist())

    def __iter__(self) -> Iterator[List[int]]:
        # one generator per domain, seeded from the shared seed, so the streams are independent
        streams = {}
        for k, d in enumerate(self.domains):
            g = torch.Generator()
            g.manual_seed(self.seed + 1_000_003 * k)
            streams[d] = self._stream(d, g)
        while True:
            batch = []
            for d in self.domains:
                c = self.counts[d]
                drawn = list(itertools.islice(streams[d], c * self.world_size))
                batch += drawn[self.rank * c:(self.rank + 1) * c]
            yield batch


class DomainMapper:
    """Calls the mapper of each record's ``"domain"`` (each built in its own label space, so
    flips swap the right channels and labels are checked against the right class count)."""

    def __init__(self, mappers: Dict[str, callable]):
        self.mappers = dict(mappers)

    def __call__(self, record: dict):
        try:
            mapper = self.mappers[record["domain"]]
        except KeyError:
            raise ValueError(
                f"{record.get('file_name')}: record domain {record.get('domain')!r} has no mapper "
                f"(mappers for {sorted(self.mappers)})"
            ) from None
        return mapper(record)


class TagDomain:
    """Adds ``"domain"`` to every record before calling ``mapper`` (single-domain loaders)."""

    def __init__(self, mapper, domain: str):
        self.mapper, self.domain = mapper, domain

    def __call__(self, record: dict):
        return self.mapper(dict(record, domain=self.domain))


def build_domain_mappers(cfg, domains: Sequence[str], is_train: bool) -> DomainMapper:
    """One ``INPUT.MAPPER_NAME`` mapper per domain, built with ``INPUT.LABEL_SPACE = domain`` and
    the config's datasets of that domain only (the mapper checks they share its label space)."""
    from .mappers import build_mapper

    mappers = {}
    for d in domains:
        c = cfg.clone()
        c.defrost()
        c.INPUT.LABEL_SPACE = d
        for key in ("TRAIN", "TEST"):
            c.DATASETS[key] = tuple(n for n in cfg.DATASETS[key] if dataset_domain(n) == d)
        mappers[d] = build_mapper(c, is_train)
    return DomainMapper(mappers)


def mixed_counts_from_cfg(cfg, domains: Sequence[str], world_size: int) -> Dict[str, int]:
    """Per-process counts from ``DATALOADER.MULTI_DOMAIN.MIXED_COUNTS`` (see config.py)."""
    total = cfg.SOLVER.IMS_PER_BATCH
    if total % world_size:
        raise ValueError(f"SOLVER.IMS_PER_BATCH={total} is not divisible by {world_size} processes")
    counts = list(cfg.DATALOADER.MULTI_DOMAIN.MIXED_COUNTS)
    if not counts:
        b = total // world_size
        return {d: b // len(domains) + (k < b % len(domains)) for k, d in enumerate(domains)}
    key = "DATALOADER.MULTI_DOMAIN.MIXED_COUNTS"
    if len(counts) != len(domains):
        raise ValueError(f"{key}={tuple(counts)} has {len(counts)} entries for domains {list(domains)}")
    if sum(counts) != total:
        raise ValueError(f"{key}={tuple(counts)} sums to {sum(counts)}, not SOLVER.IMS_PER_BATCH={total}")
    if any(c % world_size for c in counts):
        raise ValueError(f"{key}={tuple(counts)}: every count must be divisible by {world_size} processes")
    return {d: c // world_size for d, c in zip(domains, counts)}


def build_multi_domain_train_loader(cfg, mapper=None) -> DataLoader:
    """Training loader over ``DATASETS.TRAIN`` whose records carry ``"domain"``, batched by the
    sampler of ``DATALOADER.MULTI_DOMAIN.SAMPLER``.

    Args:
        mapper: a callable for every record; default a :class:`DomainMapper` of per-domain
            ``INPUT.MAPPER_NAME`` mappers.

    Returns:
        an infinite iterable of lists of mapped dicts (``SOLVER.IMS_PER_BATCH / world_size`` each).
    """
    by_dataset = train_dataset_domains(cfg)  # raises on unconfigured domains
    domains = [d for d in resolve_domains(cfg) if d in by_dataset.values()]
    records = []
    for name, d in by_dataset.items():
        dicts = get_detection_dataset_dicts(
            name,
            filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS,
            min_keypoints=0,
            proposal_files=None,
        )
        for r in dicts:
            r["domain"] = d
        records += dicts
        logger.info(f"Multi-domain training: {len(dicts)} records of {name!r} in domain {d!r}")
    world = comm.get_world_size()
    if cfg.SOLVER.IMS_PER_BATCH % world:
        raise ValueError(f"SOLVER.IMS_PER_BATCH={cfg.SOLVER.IMS_PER_BATCH} is not divisible by {world} processes")
    rec_domains = [r["domain"] for r in records]
    kind = cfg.DATALOADER.MULTI_DOMAIN.SAMPLER
    if kind in ("homogeneous", "homogeneous_balanced"):
        balance = None
        if kind == "homogeneous_balanced":
            balance = cfg.DATALOADER.MULTI_DOMAIN.BALANCE_DOMAIN or min(domains, key=rec_domains.count)
            if balance not in domains:
                raise ValueError(f"DATALOADER.MULTI_DOMAIN.BALANCE_DOMAIN={balance!r} is not a training domain {domains}")
        sampler = DomainHomogeneousBatchSampler(
            rec_domains, cfg.SOLVER.IMS_PER_BATCH // world, domains=domains, balance_domain=balance
        )
    elif kind == "mixed":
        sampler = MixedDomainBatchSampler(rec_domains, mixed_counts_from_cfg(cfg, domains, world), domains=domains)
    else:
        raise ValueError(
            f"DATALOADER.MULTI_DOMAIN.SAMPLER={kind!r}: expected 'homogeneous', 'homogeneous_balanced' or 'mixed'"
        )
    logger.info(f"Multi-domain sampler {type(sampler).__name__} ({kind}) over domains {domains}")
    if mapper is None:
        mapper = build_domain_mappers(cfg, domains, is_train=True)
    dataset = MapDataset(DatasetFromList(records, copy=False), mapper)
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=cfg.DATALOADER.NUM_WORKERS,
        collate_fn=trivial_batch_collator,
        worker_init_fn=worker_init_reset_seed,
    )
