"""Layers shared by several human-parsing methods."""
from .aspp import ASPP
from .nonlocal_block import NonLocalBlock2d

__all__ = ["ASPP", "NonLocalBlock2d"]
