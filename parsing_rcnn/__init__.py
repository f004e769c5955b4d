"""Parsing R-CNN."""
