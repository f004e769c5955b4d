"""``python -m human_parsing.data.synthetic --out DIR [--layout cihp] [--split train] ...``"""

import sys

from human_parsing.utils.cli import run_tool

from .cli import main

if __name__ == "__main__":
    sys.exit(run_tool(main, "make_synthetic_dataset"))
