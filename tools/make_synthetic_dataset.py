#!/usr/bin/env python
"""Write a synthetic multi-person human-parsing dataset in an official layout.

    tools/make_synthetic_dataset.py --layout {cihp,mhp_v2,lip,atr,pascal_person_part,coco} \
        --num-images N --out DIR --seed S [--split train|val] [--size WxH] [--overwrite]

Prints a one-line summary (images, people, classes present). See human_parsing.data.synthetic.
"""

import sys

from human_parsing.data.synthetic.cli import main
from human_parsing.utils.cli import run_tool

if __name__ == "__main__":
    sys.exit(run_tool(main, "make_synthetic_dataset"))
