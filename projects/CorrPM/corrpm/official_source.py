"""Import the official CorrPM code (ziwei-zh/CorrPM) on CPU, from a user's checkout.

Nothing of the official code is copied: :func:`official_modules` puts the checkout on ``sys.path``
for the duration of a ``with`` block, with its CUDA-only InPlace-ABN library (``libs``) replaced by
BatchNorm + activation (what ``InPlaceABNSync`` computes on one device) and ``ipdb`` by a no-op.
Everything is restored afterwards. Used by ``convert_official_weights.py corrpm --check`` and the
equivalence tests.
"""
import contextlib
import os
import sys
import types

import torch.nn.functional as F
from torch import nn

__all__ = ["official_modules", "ABNStub"]

_TOP_LEVEL = ("networks", "dataset", "utils", "libs", "ipdb")


class ABNStub(nn.BatchNorm2d):
    """InPlaceABN(Sync) on one device: BatchNorm2d followed by its activation."""

    def __init__(self, num_features, devices=None, eps=1e-5, momentum=0.1, affine=True,
                 activation="leaky_relu", slope=0.01):
        super().__init__(num_features, eps=eps, momentum=momentum, affine=affine)
        self.activation, self.slope = activation, slope

    def forward(self, x):
        x = super().forward(x)
        if self.activation == "leaky_relu":
            return F.leaky_relu(x, self.slope)
        if self.activation == "elu":
            return F.elu(x)
        return x


def _drop_official_modules():
    for name in [m for m in sys.modules if m.split(".")[0] in _TOP_LEVEL]:
        del sys.modules[name]


@contextlib.contextmanager
def official_modules(repo: str):
    """Yield a namespace with the official ``model`` (``networks.model``), ``targets``
    (``dataset.target_generation``) and ``transforms`` (``utils.transforms``) modules; restore
    ``sys.modules`` and ``sys.path`` after."""
    if not os.path.isfile(os.path.join(repo, "networks", "model.py")):
        raise FileNotFoundError(f"{repo}: not a checkout of ziwei-zh/CorrPM (no networks/model.py)")
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in _TOP_LEVEL}
    _drop_official_modules()
    libs, ipdb = types.ModuleType("libs"), types.ModuleType("ipdb")
    libs.InPlaceABN = libs.InPlaceABNSync = ABNStub
    ipdb.set_trace = lambda *a, **k: None
    sys.modules.update({"libs": libs, "ipdb": ipdb})
    sys.path.insert(0, repo)
    try:
        from dataset import target_generation
        from networks import model
        from utils import transforms

        yield types.SimpleNamespace(model=model, targets=target_generation, transforms=transforms)
    finally:
        sys.path.remove(repo)
        _drop_official_modules()
        sys.modules.update(saved)
