"""Shared layer for human parsing on Detectron2."""
