#!/usr/bin/env python
"""Convert an official CorrPM checkpoint, or CE2P's ImageNet ``resnet101-imagenet.pth`` (the
deep-stem ResNet-101 CorrPM starts from), to this project's ``CorrPM`` parameter names.

    tools/convert_corrpm_weights.py IN.pth OUT.pth

OUT.pth holds ``{"model": state_dict}`` for ``MODEL.WEIGHTS``. The official model's unused
parameters and ImageNet's ``fc`` are dropped (``corrpm.checkpoint``).
"""
import argparse
import os
import sys

import torch

from corrpm.checkpoint import convert_official_state_dict
from human_parsing.data.io import DataFormatError
from human_parsing.utils.cli import add_debug_argument, run_tool


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    if os.path.exists(args.output) and not args.overwrite:
        raise FileExistsError(f"{args.output}: exists; pass --overwrite to replace it")
    if not os.path.isfile(args.input):
        raise FileNotFoundError(f"{args.input}: no such checkpoint")
    try:
        state = torch.load(args.input, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as e:
        raise DataFormatError(f"{args.input}: cannot read a torch checkpoint ({e})") from e
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    try:
        converted = convert_official_state_dict(state)
    except KeyError as e:
        raise DataFormatError(f"{args.input}: {e.args[0]}") from e
    tmp = args.output + ".tmp"  # never leave a half-written checkpoint under the output name
    torch.save({"model": converted, "__author__": "converted from " + os.path.basename(args.input)}, tmp)
    os.replace(tmp, args.output)
    print(f"{len(converted)} tensors ({len(state) - len(converted)} dropped) -> {args.output}")


if __name__ == "__main__":
    sys.exit(run_tool(main, "convert_corrpm_weights"))
