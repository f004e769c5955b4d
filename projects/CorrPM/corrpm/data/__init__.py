"""CorrPM data: the affine crop transform and the dataset mapper (registered on import)."""
from .affine import AffineTransform, RandomAffineCrop, affine_matrix, center_scale, warp_affine_torch
from .mapper import CorrPMDatasetMapper, build_corrpm_augmentation

__all__ = [
    "AffineTransform",
    "RandomAffineCrop",
    "affine_matrix",
    "center_scale",
    "warp_affine_torch",
    "CorrPMDatasetMapper",
    "build_corrpm_augmentation",
]
