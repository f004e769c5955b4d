"""Modeling components shared by the human-parsing methods (common layers)."""
from .layers import ASPP, NonLocalBlock2d

__all__ = ["ASPP", "NonLocalBlock2d"]
