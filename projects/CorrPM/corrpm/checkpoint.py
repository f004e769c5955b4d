"""Parameter-name conversion from the official CorrPM checkpoints (``networks/model.py`` names,
also used by CE2P's ImageNet ``resnet101-imagenet.pth``) to this package's ``CorrPM`` model.

Only names change; tensors are kept. The official model defines parameters it never uses
(:data:`OFFICIAL_UNUSED_PREFIXES`); they are dropped, as are ImageNet's ``fc``.
"""
import re
from typing import Dict, List, Tuple

__all__ = ["OFFICIAL_UNUSED_PREFIXES", "official_to_ours", "convert_official_state_dict"]

# Defined in the official model but never reaching an output (methods.md §5.2 [!]):
# the decoder's conv1 (512→256 + ABN) and conv2 (256→48 + ABN), and the edge module's
# per-level 3×3 classifier conv4 (its edge1..3 logits are computed, then overwritten).
OFFICIAL_UNUSED_PREFIXES: Tuple[str, ...] = ("layer6.conv1.", "layer6.conv2.", "edge_layer.conv4.", "fc.")

_BN = r"(weight|bias|running_mean|running_var)"
# (official regex, replacement); the first match wins
_RULES: List[Tuple[str, str]] = [
    # deep stem
    (r"^conv([123])\.weight$", r"backbone.stem.conv\1.weight"),
    (rf"^bn([123])\.{_BN}$", r"backbone.stem.conv\1.norm.\2"),
    # residual stages: layerI -> res(I+1)
    (r"^layer([1-4])\.(\d+)\.conv([123])\.weight$", "RES.\\2.conv\\3.weight"),
    (rf"^layer([1-4])\.(\d+)\.bn([123])\.{_BN}$", "RES.\\2.conv\\3.norm.\\4"),
    (r"^layer([1-4])\.(\d+)\.downsample\.0\.weight$", "RES.\\2.shortcut.weight"),
    (rf"^layer([1-4])\.(\d+)\.downsample\.1\.{_BN}$", "RES.\\2.shortcut.norm.\\3"),
    # parsing encoder: ASPP (layer5) and decoder (layer6)
    (r"^layer5\.conv1\.1\.weight$", "head.parsing_encoder.aspp.pool_conv.weight"),
    (rf"^layer5\.conv1\.2\.{_BN}$", r"head.parsing_encoder.aspp.pool_conv.norm.\1"),
    (r"^layer5\.conv2\.0\.weight$", "head.parsing_encoder.aspp.conv1x1.weight"),
    (rf"^layer5\.conv2\.1\.{_BN}$", r"head.parsing_encoder.aspp.conv1x1.norm.\1"),
    (r"^layer5\.conv([345])\.0\.weight$", "ATROUS.weight"),
    (rf"^layer5\.conv([345])\.1\.{_BN}$", "ATROUS.norm.\\2"),
    (r"^layer5\.bottleneck\.0\.weight$", "head.parsing_encoder.aspp.project.weight"),
    (rf"^layer5\.bottleneck\.1\.{_BN}$", r"head.parsing_encoder.aspp.project.norm.\1"),
    (r"^layer6\.conv3\.0\.weight$", "head.parsing_encoder.decoder.weight"),
    (rf"^layer6\.conv3\.1\.{_BN}$", r"head.parsing_encoder.decoder.norm.\1"),
    (r"^layer6\.conv4\.(weight|bias)$", r"head.parsing_encoder.seg1.\1"),
    # edge encoder
    (r"^edge_layer\.conv([123])\.0\.weight$", "LATERAL.weight"),
    (rf"^edge_layer\.conv([123])\.1\.{_BN}$", "LATERAL.norm.\\2"),
    (r"^edge_layer\.conv6\.weight$", "head.edge_encoder.fuse.weight"),
    (r"^edge_layer\.conv5\.(weight|bias)$", r"head.edge_encoder.predictor.\1"),
    # pose encoder (deconv_layers: 0 deconv, 1 BN, 2 ReLU, 3 deconv, 4 BN, 5 ReLU)
    (r"^pose_layer\.deconv_layers\.([0134])\.(weight|bias|running_mean|running_var)$",
     r"head.pose_encoder.deconvs.\1.\2"),
    (r"^pose_layer\.final_layer\.(weight|bias)$", r"head.pose_encoder.predictor.\1"),
    # fusion, HNL, seg2
    (r"^conv_fuse\.0\.weight$", "head.fuse.weight"),
    (rf"^conv_fuse\.1\.{_BN}$", r"head.fuse.norm.\1"),
    (r"^nl_SEP\.theta\.(weight|bias)$", r"head.nonlocal_block.theta.\1"),
    (r"^nl_SEP\.(phi|g)\.0\.(weight|bias)$", r"head.nonlocal_block.\1.\2"),
    (r"^nl_SEP\.W\.0\.(weight|bias)$", r"head.nonlocal_block.out.\1"),
    (rf"^nl_SEP\.W\.1\.{_BN}$", r"head.nonlocal_block.out.norm.\1"),
    (r"^out_layer\.(weight|bias)$", r"head.seg2.\1"),
]


def official_to_ours(key: str) -> str:
    """Our name for the official (or ImageNet) parameter ``key``; the one CorrPM name mapping,
    used by :func:`convert_official_state_dict` and the converter's table (``official_weights.py``)."""
    for pattern, repl in _RULES:
        m = re.match(pattern, key)
        if not m:
            continue
        if repl.startswith("RES."):
            return re.sub(pattern, repl.replace("RES.", f"backbone.res{int(m.group(1)) + 1}."), key)
        if repl.startswith("ATROUS."):
            idx = int(m.group(1)) - 3
            return re.sub(pattern, repl.replace("ATROUS.", f"head.parsing_encoder.aspp.atrous.{idx}."), key)
        if repl.startswith("LATERAL."):
            idx = int(m.group(1)) - 1
            return re.sub(pattern, repl.replace("LATERAL.", f"head.edge_encoder.laterals.{idx}."), key)
        return re.sub(pattern, repl, key)
    raise KeyError(f"Unknown parameter name in an official CorrPM checkpoint: {key!r}")


def convert_official_state_dict(state_dict: Dict) -> Dict:
    """Official (or ImageNet ResNet-101 deep-stem) names → ``CorrPM`` names.

    A ``module.`` prefix (DataParallel) is stripped; unused official parameters and ImageNet's
    ``fc`` and BN batch counters are dropped; an unknown name raises ``KeyError`` naming it.
    """
    out = {}
    for key, value in state_dict.items():
        k = key[len("module."):] if key.startswith("module.") else key
        if k.startswith(OFFICIAL_UNUSED_PREFIXES) or k.endswith("num_batches_tracked"):
            continue
        out[official_to_ours(k)] = value
    return out
