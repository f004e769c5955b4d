"""The training-only part of SST: MSA and MSE per domain, MST per domain pair, and the losses
L_aux, L_SCR^dataset and L_SCR^img (Eq. 7, 10, 11). Built by :class:`sst.SSTParser` only when
``MODEL.SST.AUX_ON``; never used at inference."""
import logging
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from .modules import SemanticAggregation, SemanticEnhancement, SemanticTransfer, cosine_consistency

__all__ = ["DomainRepresentation", "SSTAuxiliary", "domain_pairs", "pair_key"]

logger = logging.getLogger(__name__)


def pair_key(a: str, b: str) -> str:
    return f"{a}__{b}"


def domain_pairs(domains: Sequence[str], num_classes: Dict[str, int], strategy: str) -> List[Tuple[str, str]]:
    """MST pairs (1, 2). "full": every pair in config order; "progressive": the chain from the
    coarsest to the finest domain (fewest classes first; ties keep the config order)."""
    domains = list(domains)
    if strategy == "full":
        return [(a, b) for i, a in enumerate(domains) for b in domains[i + 1 :]]
    if strategy == "progressive":
        chain = sorted(domains, key=lambda d: (num_classes[d], domains.index(d)))
        return list(zip(chain[:-1], chain[1:]))
    raise ValueError(f"MODEL.SST.PAIR_STRATEGY must be 'full' or 'progressive', got {strategy!r}")


class DomainRepresentation(NamedTuple):
    """What MSA/MSE produce for the images of one domain: S_1..S_L and X_1..X_L (n, Z, D) and the
    dataset-level X_0 (Z, D)."""

    s: List[torch.Tensor]
    x: List[torch.Tensor]
    x0: torch.Tensor


class SSTAuxiliary(nn.Module):
    """MSA/MSE per domain (``msa[d]``, ``mse[d]``) and MST per pair (``mst["a__b"]``)."""

    def __init__(
        self,
        dim: int,
        num_classes: Dict[str, int],
        pairs: Sequence[Tuple[str, str]] = (),
        intra_adjacency: Optional[Dict[str, torch.Tensor]] = None,
        static_similarity: Optional[Dict[Tuple[str, str], torch.Tensor]] = None,
        num_layers: int = 3,
        ignore_label: int = 255,
    ):
        """
        Args:
            num_classes: domain -> Z of the domains with MSA/MSE.
            pairs: MST pairs (1, 2); ``static_similarity[(1, 2)]`` is its (Z2, Z1) M_static.
            intra_adjacency: domain -> (Z, Z) M_intra; a missing domain gets all ones.
        """
        super().__init__()
        intra_adjacency = intra_adjacency or {}
        self.ignore_label = ignore_label
        self.msa = nn.ModuleDict({d: SemanticAggregation(dim, z, ignore_label) for d, z in num_classes.items()})
        self.mse = nn.ModuleDict(
            {d: SemanticEnhancement(dim, z, num_layers, intra_adjacency.get(d)) for d, z in num_classes.items()}
        )
        self.pairs = [tuple(p) for p in pairs]
        self.mst = nn.ModuleDict()
        for a, b in self.pairs:
            m = (static_similarity or {}).get((a, b))
            if m is None:
                raise ValueError(f"SSTAuxiliary: no M_static for the domain pair ({a!r}, {b!r})")
            self.mst[pair_key(a, b)] = SemanticTransfer(dim, m, num_layers)

    def represent(self, domain: str, feats: List[torch.Tensor], masks: torch.Tensor) -> DomainRepresentation:
        """MSA then MSE of ``domain`` on (n, D, h_l, w_l) maps with (n, H, W) masks delta."""
        s = self.msa[domain](feats, masks)
        xs = self.mse[domain](s)
        return DomainRepresentation(s, xs[1:], xs[0])

    @staticmethod
    def aux_logits(rep: DomainRepresentation, fine: torch.Tensor) -> torch.Tensor:
        """A_aux = F X_L^T (Eq. 7) on the finest map: (n, D, h, w) -> (n, Z, h, w)."""
        return torch.einsum("bdhw,bzd->bzhw", fine, rep.x[-1])

    def scr_dataset(self, a: str, b: str, x0_a: torch.Tensor, x0_b: torch.Tensor) -> torch.Tensor:
        """L_SCR^dataset of pair (a, b) (Eq. 10)."""
        to_b, to_a = self.mst[pair_key(a, b)].map_static(x0_a, x0_b)
        return cosine_consistency(x0_a, to_a) + cosine_consistency(x0_b, to_b)

    def scr_image(self, a: str, b: str, rep_a: DomainRepresentation, rep_b: DomainRepresentation,
                  ia: torch.Tensor, ib: torch.Tensor) -> torch.Tensor:
        """L_SCR^img of pair (a, b) (Eq. 11), summed over the scales and averaged over the image
        pairs (rep_a[ia[k]], rep_b[ib[k]])."""
        mst = self.mst[pair_key(a, b)]
        total = 0.0
        for lvl in range(len(rep_a.x)):
            xa, xb = rep_a.x[lvl][ia], rep_b.x[lvl][ib]
            to_b, to_a = mst.map_dynamic(lvl, xa, xb, rep_a.s[lvl][ia], rep_b.s[lvl][ib])
            total = total + (cosine_consistency(xa, to_a) + cosine_consistency(xb, to_b)).mean()
        return total
