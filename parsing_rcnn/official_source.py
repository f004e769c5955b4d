"""Import the official Parsing R-CNN code (soeaver/Parsing-R-CNN) on CPU, from a user's checkout.

Nothing of the official code is copied: :func:`official_modules` puts the checkout on ``sys.path``
for the duration of a ``with`` block, with stand-ins for what a CPU-only Python 3.11 lacks: its
compiled CUDA extension ``models.ops._C`` (ROIAlign and NMS through torchvision, without the
"+1" box areas of its own NMS kernel; every other op an error), its Cython box helpers (errors if called), ``apex.amp``, ``six``, the numpy aliases removed
in numpy 1.24 and ``yaml.load``'s now-required ``Loader``. Everything is restored afterwards.
Used by ``convert_official_weights.py --check`` and the equivalence tests.
"""
import contextlib
import os
import pickle
import sys
import types

import numpy as np
import torchvision

__all__ = ["official_modules", "build_official_model"]

_TOP_LEVEL = ("models", "rcnn", "utils", "apex", "six")


class _Unavailable(types.ModuleType):
    """A compiled module of the official code: any attribute is an op that fails if called."""

    def __getattr__(self, name):
        def op(*args, **kwargs):
            raise NotImplementedError(f"{self.__name__}.{name} (compiled op of the official code) is not available")

        return op


def _cpu_ops():
    c = _Unavailable("models.ops._C")
    c.roi_align_forward = lambda x, rois, scale, oh, ow, ratio, aligned: torchvision.ops.roi_align(
        x, rois, (oh, ow), scale, ratio, aligned)
    c.nms = lambda boxes, scores, thresh: torchvision.ops.nms(boxes, scores, thresh)
    c.ml_nms = lambda boxes, scores, labels, thresh: torchvision.ops.batched_nms(boxes, scores, labels, thresh)
    return c


@contextlib.contextmanager
def official_modules(repo: str):
    """Yield with ``repo`` (a Parsing-R-CNN checkout) importable; restore ``sys.modules``/``sys.path``."""
    if not os.path.isdir(os.path.join(repo, "rcnn")):
        raise FileNotFoundError(f"{repo}: not a checkout of soeaver/Parsing-R-CNN (no rcnn/ folder)")
    import yaml

    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in _TOP_LEVEL}
    for k in saved:
        del sys.modules[k]
    six = types.ModuleType("six")
    six.moves = types.ModuleType("six.moves")
    six.moves.cPickle = pickle
    apex = types.ModuleType("apex")
    apex.amp = types.SimpleNamespace(float_function=lambda f: f)
    sys.modules.update({"models.ops._C": _cpu_ops(), "models.ops.cython_bbox": _Unavailable("cython_bbox"),
                        "models.ops.cython_nms": _Unavailable("cython_nms"), "apex": apex, "six": six,
                        "six.moves": six.moves})
    aliases = {k: np.__dict__.get(k) for k in ("float", "int", "bool")}
    np.float, np.int, np.bool = float, int, bool
    yaml_load = yaml.load
    yaml.load = lambda stream, Loader=yaml.FullLoader: yaml_load(stream, Loader=Loader)
    sys.path.insert(0, repo)
    try:
        yield
    finally:
        sys.path.remove(repo)
        yaml.load = yaml_load
        for k, v in aliases.items():
            if v is None:
                delattr(np, k)
            else:
                setattr(np, k, v)
        for k in [k for k in sys.modules if k.split(".")[0] in _TOP_LEVEL]:
            del sys.modules[k]
        sys.modules.update(saved)


def build_official_model(cfg_file: str, is_train: bool = False, opts=()):
    """The official ``Generalized_RCNN`` for the official yaml ``cfg_file`` (inside
    :func:`official_modules`); returns (model, official cfg)."""
    from rcnn.core.config import cfg, merge_cfg_from_file, merge_cfg_from_list

    merge_cfg_from_file(cfg_file)
    if opts:
        merge_cfg_from_list(list(opts))
    from rcnn.modeling.model_builder import Generalized_RCNN

    return Generalized_RCNN(is_train=is_train), cfg
