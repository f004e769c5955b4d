#!/usr/bin/env python
"""Apply a human-parsing model to images, folders, globs or videos.

    tools/apply_net.py dump CONFIG WEIGHTS INPUT [--output DIR] [--format png|pickle] ...
    tools/apply_net.py show CONFIG WEIGHTS INPUT [--vis parsing,instances,bbox,edges] ...

See ``human_parsing/apply/cli.py`` for every option and ``human_parsing/apply/formats.py`` for
the dump formats. This entry point only adds the method packages' config keys.
"""
import corrpm
import grapy_ml
import parsing_rcnn
import pgn
import sst
from human_parsing.apply.cli import run_cli
from human_parsing.config import add_human_parsing_config

CONFIG_FNS = (
    add_human_parsing_config,
    parsing_rcnn.add_parsing_rcnn_config,
    pgn.add_pgn_config,
    corrpm.add_corrpm_config,
    sst.add_sst_config,
    grapy_ml.add_grapy_ml_config,
)

if __name__ == "__main__":
    run_cli(CONFIG_FNS)
