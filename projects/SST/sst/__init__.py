"""Placeholder package; the method is not implemented yet."""
