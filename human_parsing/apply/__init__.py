"""Inference for users: the machinery behind ``tools/apply_net.py`` (input walking, video I/O,
dump formats and their readers, rendering, the registered ``dump``/``show`` actions) and the
structured :class:`ParsingResult` returned by :class:`~human_parsing.predictor.ParsingPredictor`.
"""
from .result import ParsingResult, Person

__all__ = ["ParsingResult", "Person", "load_dump"]


def __getattr__(name):
    # the readers pull in pycocotools/PIL; load them only when asked for
    if name == "load_dump":
        from .formats import load_dump

        return load_dump
    raise AttributeError(name)
