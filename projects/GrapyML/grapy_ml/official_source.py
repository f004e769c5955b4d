"""Import the official Grapy-ML code (Charleshhy/Grapy-ML) on CPU, from a user's checkout.

Nothing of the official code is copied: :func:`official_modules` puts the checkout on ``sys.path``
for the duration of a ``with`` block, with its ``sync_batchnorm`` package replaced by plain
BatchNorm (what it computes on one device) and ``Tensor.cuda`` a no-op. Everything is restored
afterwards. Used by ``convert_official_weights.py grapy_ml --check`` and the equivalence tests.
"""
import contextlib
import os
import sys
import types

import torch
from torch import nn

__all__ = ["official_modules", "build_official_model"]

_TOP_LEVEL = ("networks", "sync_batchnorm")


def _drop_official_modules():
    for name in [m for m in sys.modules if m.split(".")[0] in _TOP_LEVEL]:
        del sys.modules[name]


@contextlib.contextmanager
def official_modules(repo: str):
    """Yield a namespace with the official ``deeplab`` (``networks.deeplab_xception_synBN``) and
    ``grapy`` (``networks.grapy_net``) modules; restore ``sys.modules``, ``sys.path`` and
    ``Tensor.cuda`` after."""
    if not os.path.isfile(os.path.join(repo, "networks", "grapy_net.py")):
        raise FileNotFoundError(f"{repo}: not a checkout of Charleshhy/Grapy-ML (no networks/grapy_net.py)")
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in _TOP_LEVEL}
    _drop_official_modules()
    stub = types.ModuleType("sync_batchnorm")
    stub.SynchronizedBatchNorm1d, stub.SynchronizedBatchNorm2d = nn.BatchNorm1d, nn.BatchNorm2d
    stub.DataParallelWithCallback = nn.DataParallel
    sys.modules["sync_batchnorm"] = stub
    cuda = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *a, **k: self
    sys.path.insert(0, repo)
    try:
        from networks import deeplab_xception_synBN, grapy_net

        yield types.SimpleNamespace(deeplab=deeplab_xception_synBN, grapy=grapy_net)
    finally:
        sys.path.remove(repo)
        torch.Tensor.cuda = cuda
        _drop_official_modules()
        sys.modules.update(saved)


def build_official_model(ns, variant: str, num_classes: int = 20, output_stride: int = 16) -> nn.Module:
    """The official model class of ``variant`` (see ``official_weights.VARIANTS``), as the official
    training scripts build it (hidden_layers 256)."""
    if variant == "deeplab":
        return ns.deeplab.DeepLabv3_plus(n_classes=num_classes, os=output_stride, _print=False)
    if variant == "deeplab_multi":
        return ns.deeplab.DeepLabv3_plus_multi_set(os=output_stride, _print=False)
    if variant == "gpm":
        return ns.grapy.GrapyNet(n_classes=num_classes, os=output_stride, hidden_layers=256)
    if variant == "grapy_ml":
        return ns.grapy.GrapyMutualLearning(os=output_stride, hidden_layers=256)
    raise ValueError(f"unknown official Grapy-ML variant {variant!r}")
