#!/usr/bin/env python
"""Build the label-name similarity matrix (M_static) of two label spaces; see sst/similarity.py.

    projects/SST/tools/build_similarity.py mhp_v2 cihp --word-vectors glove.6B.300d.txt [--out-dir DIR]
"""
from sst.similarity import main

if __name__ == "__main__":
    main()
