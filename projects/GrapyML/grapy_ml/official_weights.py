"""The official Grapy-ML checkpoints (``Charleshhy/Grapy-ML``, PyTorch ``.pth``) -> ours, registered
in ``OFFICIAL_WEIGHTS_REGISTRY`` as ``grapy_ml`` for ``tools/convert_official_weights.py``.

Released: the DeepLab v3+ CIHP model and the GPM CIHP model, the multi-dataset DeepLab
(``semantic_aux_{cihp,pascal,atr}``) and Grapy-ML models, the Grapy-ML model fine-tuned on
PASCAL-Person-Part, and the pre-training ``deeplab_v3plus_v3.pth`` (a DeepLab v3+ checkpoint whose
classifier the official ``load_state_dict_new`` skips when its class count differs; converted
with a DeepLab config, see the README). The table is :func:`grapy_ml.checkpoint.official_name_map`
(the package's one mapping, also behind its ``load_state_dict`` hook) applied to the checkpoint's
names: which official tensors exist depends on the released variant (DeepLab / GPM, one or three
datasets), which the names themselves tell. Entries the mapping drops (the never-used
``transform``, heads of datasets the config does not have, the stale ``semantic`` of a GPM
checkpoint) are ignored with that reason; an official tensor it does not know is unmatched, and
a tensor of ours that nothing fills is reported, so a checkpoint of another variant than the
config's fails naming every difference.
"""
from typing import Dict

import numpy as np

from human_parsing.data.domains import resolve_domains
from human_parsing.official_weights import (
    OFFICIAL_WEIGHTS_REGISTRY,
    NameTable,
    OfficialWeightsConverter,
    read_torch_state_dict,
)

from .checkpoint import official_name_map

__all__ = ["GrapyMLOfficialWeights", "grapy_ml_name_table"]


def grapy_ml_name_table(cfg, official: Dict) -> NameTable:
    """The table from the official names of ``official`` to our model of ``cfg`` (its domains as the
    model resolves them,
    ``MODEL.GRAPY_ML.OFFICIAL_DOMAINS`` and ``SHARED_LEVELS``)."""
    g = cfg.MODEL.GRAPY_ML
    mapping, _ = official_name_map(list(official), resolve_domains(cfg), list(g.OFFICIAL_DOMAINS),
                                   list(g.SHARED_LEVELS))
    t = NameTable()
    for name, ours in mapping.items():
        if ours is None:
            t.ignore(name.replace(".", r"\."), "dropped by grapy_ml.checkpoint: never used by the official "
                     "model, a dataset the config does not have, or the stale DeepLab classifier of a GPM model")
        else:
            t.add(name, ours)
    return t


@OFFICIAL_WEIGHTS_REGISTRY.register()
class GrapyMLOfficialWeights(OfficialWeightsConverter):
    method = "grapy_ml"
    default_config = "projects/GrapyML/configs/CIHP/gpm_X65_os16_official_weights.yaml"
    description = "Charleshhy/Grapy-ML .pth (DeepLab v3+ / GPM / Grapy-ML; CIHP, 3 datasets, PASCAL)"

    def read(self, path: str) -> Dict[str, np.ndarray]:
        return read_torch_state_dict(path)

    def table(self, cfg, official: Dict[str, np.ndarray]) -> NameTable:
        return grapy_ml_name_table(cfg, official)
