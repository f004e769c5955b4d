#!/usr/bin/env python
"""Convert an official released checkpoint into a Detectron2 checkpoint of this toolkit.

    python tools/convert_official_weights.py METHOD SRC OUT [--config CFG] [--check OFFICIAL_SRC_DIR] [--overwrite]

METHOD is one of parsing_rcnn, parsing_rcnn_uv, pgn, corrpm, grapy_ml (a method is available once
its package registers a converter in ``human_parsing.official_weights.OFFICIAL_WEIGHTS_REGISTRY``).
SRC is the official file (PyTorch .pth, a TensorFlow checkpoint prefix / .index / folder, or an
.npz of variables); OUT ends in .pth or .pkl and is used as ``MODEL.WEIGHTS`` with CFG (default:
the method's ``*_official_weights.yaml``). Every official tensor is mapped by an explicit name
table; any unmatched, missing or mis-shaped tensor stops the conversion with the full list, before
anything is written. ``--check`` also compares the checkpoint with the official model built from
its source tree.
"""
import argparse
import logging
import os
import sys

from detectron2.config import get_cfg
from detectron2.utils.logger import setup_logger

from human_parsing.official_weights import (
    KNOWN_METHODS,
    REPO_ROOT,
    ConversionError,
    TFCheckpointError,
    convert_checkpoint,
    get_converter,
)
from methods import CONFIG_FNS


def build_config(config_file: str, opts=()):
    cfg = get_cfg()
    for add_config in CONFIG_FNS:  # importing tools/methods.py registered every converter
        add_config(cfg)
    if not os.path.isfile(config_file):
        raise FileNotFoundError(f"{config_file}: config file not found")
    cfg.merge_from_file(config_file)
    cfg.merge_from_list(list(opts))
    cfg.MODEL.WEIGHTS = ""
    return cfg


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("method", choices=KNOWN_METHODS)
    parser.add_argument("src", help="the official checkpoint")
    parser.add_argument("out", help="the converted checkpoint (.pth or .pkl)")
    parser.add_argument("--config", default="", help="our config the weights are for (default: the method's)")
    parser.add_argument("--check", default="", metavar="OFFICIAL_SRC_DIR",
                        help="compare the checkpoint with the official model built from this source tree")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[], help="config overrides KEY VALUE ...")
    args = parser.parse_args(argv)
    setup_logger(name="human_parsing", abbrev_name="hp")
    try:
        converter = get_converter(args.method)
        config = args.config or os.path.join(REPO_ROOT, converter.default_config)
        cfg = build_config(config, args.opts)
        if os.path.exists(args.out) and not args.overwrite:
            raise FileExistsError(f"{args.out} exists; pass --overwrite to replace it")
        convert_checkpoint(converter, args.src, args.out, cfg, overwrite=args.overwrite,
                           check_source=args.check)
    except (ConversionError, TFCheckpointError, FileExistsError, FileNotFoundError, KeyError, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 1
    print(args.out)
    logging.getLogger("human_parsing").info(f"run it with: --config-file {config} MODEL.WEIGHTS {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
