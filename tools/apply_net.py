#!/usr/bin/env python
"""Apply a human-parsing model to images, folders, globs or videos.

    tools/apply_net.py dump CONFIG WEIGHTS INPUT [--output DIR] [--format png|pickle] ...
    tools/apply_net.py show CONFIG WEIGHTS INPUT [--vis parsing,instances,bbox,edges] ...

See ``human_parsing/apply/cli.py`` for every option and ``human_parsing/apply/formats.py`` for
the dump formats. This entry point only adds the method packages' config keys.
"""
from human_parsing.apply.cli import run_cli
from methods import CONFIG_FNS

if __name__ == "__main__":
    run_cli(CONFIG_FNS)
