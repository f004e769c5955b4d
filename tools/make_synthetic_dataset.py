#!/usr/bin/env python
"""Write a synthetic multi-person human-parsing dataset in an official layout.

    tools/make_synthetic_dataset.py --layout {cihp,mhp_v2,lip,atr,pascal_person_part,coco} \
        --num-images N --out DIR --seed S [--split train|val] [--size WxH] [--overwrite]

Prints a one-line summary (images, people, classes present). See human_parsing.data.synthetic.
"""

from human_parsing.data.synthetic.cli import main

if __name__ == "__main__":
    main()
