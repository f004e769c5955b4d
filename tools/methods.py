"""The toolkit's method packages and their config keys: the one list every entry point uses.

Importing a method package registers its components (models, mappers, TTA, official-weights
converters) in Detectron2's and the project's registries.
"""
import corrpm
import grapy_ml
import parsing_rcnn
import pgn
import sst
from human_parsing.config import add_human_parsing_config

CONFIG_FNS = (
    add_human_parsing_config,
    parsing_rcnn.add_parsing_rcnn_config,
    pgn.add_pgn_config,
    sst.add_sst_config,
    corrpm.add_corrpm_config,
    grapy_ml.add_grapy_ml_config,
)
