"""Equivalence with the official Grapy-ML code (Charleshhy/Grapy-ML@664f59b).

Set ``GRAPY_ML_REPO`` to a checkout of that repository (e.g. ``git archive`` of the mirror
unpacked under /tmp); the tests are skipped otherwise. They build the official modules on CPU
(``grapy_ml.official_source``: ``sync_batchnorm`` replaced by plain BatchNorm, ``.cuda()`` made a
no-op), give them random weights and BN statistics, load the *same* state dict into this
package's model through its official-name renaming hook, and compare both outputs (ŷ and y) of
the DeepLab v3+, GPM, multi-task DeepLab and Grapy-ML models on random images, in eval mode.
No official code is copied here; it is imported from the checkout.
"""
import importlib.util
import os

import numpy as np
import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model
from torch import nn

from grapy_ml.head import level_tables
from human_parsing.data.label_graphs import label_graph, normalized_adjacency
from human_parsing.data.label_spaces import get_label_space
from tests.grapy_ml.common import cpu_norms, load_cfg

REPO = os.environ.get("GRAPY_ML_REPO", "")
pytestmark = pytest.mark.skipif(
    not os.path.isfile(os.path.join(REPO, "networks", "grapy_net.py")),
    reason="GRAPY_ML_REPO does not point at a Charleshhy/Grapy-ML checkout",
)

# the training scripts' category lists (train_gpm_ml.py)
C1, C2 = [[0], list(range(1, 20))], [[0], [1, 2, 4, 13], [5, 6, 7, 10, 11, 12], [3, 14, 15], [8, 9, 16, 17, 18, 19]]
P1, P2 = [[0], list(range(1, 7))], [[0], [1], [2], [3, 4], [5, 6]]
A1, A2 = [[0], list(range(1, 18))], [[0], [1, 2, 3, 11], [4, 5, 7, 8, 16, 17], [14, 15], [6, 9, 10, 12, 13]]
DOMAINS = ["cihp", "pascal_person_part", "atr"]


@pytest.fixture(scope="module")
def official():
    """The official ``networks`` modules, importable on CPU (``grapy_ml.official_source``)."""
    from grapy_ml.official_source import official_modules

    with official_modules(REPO) as ns:
        yield ns


def _randomize_bn(net: nn.Module, seed: int):
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.weight.data = 0.5 + torch.rand(n, generator=g)
            m.bias.data = 0.1 * torch.randn(n, generator=g)
            m.running_mean = 0.1 * torch.randn(n, generator=g)
            m.running_var = 0.5 + torch.rand(n, generator=g)
    # larger classifier weights, so that y's argmax (the GPM masks) varies over the image
    for name, m in net.named_modules():
        if isinstance(m, nn.Conv2d) and name.split(".")[-1].startswith("sem"):
            m.weight.data = torch.randn(m.weight.shape, generator=g)
    return net.eval()


def _balance(net: nn.Module, classifier: nn.Conv2d, run):
    """Centre and scale ``classifier`` on the features ``run()`` feeds it, so that its argmax (the
    GPM masks) takes many values over the image instead of the one class random weights favour."""
    seen = []
    handle = classifier.register_forward_pre_hook(lambda m, inp: seen.append(inp[0]))
    with torch.no_grad():
        run()
        handle.remove()
        logits = classifier(seen[0])
        std = logits.std(dim=(0, 2, 3))
        classifier.weight.data /= std[:, None, None, None]
        classifier.bias.data = (classifier.bias.data - logits.mean(dim=(0, 2, 3))) / std


def gpm_cihp_net(official, bn_seed: int, x):
    """The official CIHP ``GrapyNet``: random weights (global torch RNG), BN statistics from
    ``bn_seed``, classifier balanced on ``x``."""
    net = official.grapy.GrapyNet(n_classes=20, os=16, hidden_layers=256)
    net.set_category_list(C1, C2)
    _randomize_bn(net, bn_seed)
    _balance(net, net.gcn_network.sem, lambda: net(x))
    return net


def mutual_learning_net(official, bn_seed: int, x):
    """The official three-dataset ``GrapyMutualLearning``, prepared as :func:`gpm_cihp_net`."""
    ml = official.grapy.GrapyMutualLearning(os=16, hidden_layers=256)
    ml.set_category_list(C1, C2, P1, P2, A1, A2)
    _randomize_bn(ml, bn_seed)
    for i, d in enumerate(("cihp", "pascal", "atr")):
        _balance(ml, getattr(ml.gcn_network, f"sem_{d}"), lambda: ml((x, i)))
    return ml


def _ours(config: str, state_dict, tmp_path=None):
    model = build_model(cpu_norms(load_cfg(config))).eval()
    if tmp_path is None:
        incompatible = model.load_state_dict(state_dict, strict=False)
        assert not incompatible.missing_keys and not incompatible.unexpected_keys, incompatible
    else:  # through Detectron2's checkpointer, as MODEL.WEIGHTS would
        path = str(tmp_path / "official.pth")
        torch.save(state_dict, path)
        DetectionCheckpointer(model).load(path)
    return model


def _our_outputs(model, x, domain):
    with torch.no_grad():
        out = model.head(model.backbone(x), domain)
    up = {k: nn.functional.interpolate(v, size=x.shape[-2:], mode="bilinear", align_corners=True)
          for k, v in out.items()}
    return up.get("gpm"), up["main"]


def _inputs(seed=0):
    """Two 64×80 images of coloured blocks plus noise, in the official [-1, 1] range."""
    g = torch.Generator().manual_seed(seed)
    blocks = torch.rand(2, 3, 4, 5, generator=g) * 2 - 1
    x = torch.nn.functional.interpolate(blocks, scale_factor=16, mode="nearest")
    return (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(-1, 1)


def _close(a, b):
    assert a.shape == b.shape
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), (a - b).abs().max()


def test_deeplab_v3plus(official, tmp_path):
    torch.manual_seed(0)
    net = _randomize_bn(official.deeplab.DeepLabv3_plus(n_classes=20, os=16, _print=False), 1)
    ours = _ours("CIHP/deeplab_v3plus_X65_os16.yaml", net.state_dict(), tmp_path)
    x = _inputs()
    with torch.no_grad():
        ref = net(x)
    _, main = _our_outputs(ours, x, "cihp")
    _close(main, ref)


def test_gpm_cihp(official):
    torch.manual_seed(1)
    x = _inputs(1)
    net = gpm_cihp_net(official, 2, x)
    ours = _ours("CIHP/gpm_X65_os16.yaml", net.state_dict())
    with torch.no_grad():
        ref, ref_aux = net(x, training=False)
    gpm, main = _our_outputs(ours, x, "cihp")
    # the masks are not trivial: y predicts several classes, so every GPM level has several nodes
    assert main.argmax(1).unique().numel() >= 5
    _close(main, ref_aux)
    _close(gpm, ref)
    # and the comparison is sharp: the official in-place-ReLU residual matters
    for block in ours.backbone.middle:
        block.relu_before_skip = False
    assert not torch.allclose(_our_outputs(ours, x, "cihp")[1], ref_aux, atol=1e-3)


def test_multi_task_deeplab_and_grapy_ml(official):
    torch.manual_seed(2)
    dl = _randomize_bn(official.deeplab.DeepLabv3_plus_multi_set(os=16, _print=False), 3)
    ours_dl = _ours("CIHP+PASCAL+ATR/grapy_ml_stage1_deeplab_X65_os16.yaml", dl.state_dict())
    x = _inputs(2)
    ml = mutual_learning_net(official, 4, x)
    ours_ml = _ours("CIHP+PASCAL+ATR/grapy_ml_stage2_X65_os16.yaml", ml.state_dict())
    for i, domain in enumerate(DOMAINS):
        with torch.no_grad():
            ref_dl = dl((x, i))
            ref, ref_aux = ml((x, i), training=False)
        _close(_our_outputs(ours_dl, x, domain)[1], ref_dl)
        gpm, main = _our_outputs(ours_ml, x, domain)
        assert main.argmax(1).unique().numel() >= 3
        _close(main, ref_aux)
        _close(gpm, ref)


@pytest.mark.parametrize("domain,official_name", [("cihp", "cihp_graph"), ("pascal_person_part", "pascal_graph"),
                                                  ("atr", "atr_graph"), ("lip", "cihp_graph")])
def test_label_graphs_equal_official(domain, official_name):
    """The shared label-graph files, read by id, are ``networks/graph.py``'s dicts (listing order,
    one-sided pairs and self-loops included), and the GCN ablation's Â is its ``preprocess_adj``."""
    pytest.importorskip("networkx")
    spec = importlib.util.spec_from_file_location("official_graph", os.path.join(REPO, "networks", "graph.py"))
    graph = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(graph)
    official = getattr(graph, official_name)
    assert label_graph(domain) == official
    k = get_label_space(domain).num_classes
    ref = np.asarray(graph.preprocess_adj(official), dtype=np.float64)  # a dense np.matrix
    np.testing.assert_allclose(normalized_adjacency(label_graph(domain), k), ref, atol=1e-6)
    _, _, ours = level_tables([domain], [3], need_adjacency=True)
    np.testing.assert_array_equal(ours[domain][3], normalized_adjacency(label_graph(domain), k))
