"""CorrPM modeling: encoders, the head (SEM_SEG_HEADS_REGISTRY), the loss and the meta-architecture."""
from .head import CorrPMHead
from .loss import balanced_edge_loss, corrpm_losses
from .meta_arch import CorrPM

__all__ = ["CorrPMHead", "CorrPM", "balanced_edge_loss", "corrpm_losses"]
