"""The inference checkpoint of SST: the base network only (no auxiliary modules, no teacher).

    python -m sst.export output/sst/model_final.pth output/sst/model_inference.pth
"""
import argparse
from typing import Dict, Union

import torch
from torch import nn

__all__ = ["TRAINING_ONLY_PREFIXES", "inference_state_dict", "main"]

# Sub-modules of SSTParser that exist only in training.
TRAINING_ONLY_PREFIXES = ("aux.", "teacher.")


def inference_state_dict(model_or_state: Union[nn.Module, Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """The state dict without the training-only sub-modules."""
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    return {k: v for k, v in state.items() if not k.startswith(TRAINING_ONLY_PREFIXES)}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the inference-only checkpoint of an SST model.")
    parser.add_argument("input", help="a Detectron2 checkpoint (model_final.pth) of SSTParser")
    parser.add_argument("output", help="where to write {'model': base-network state dict}")
    args = parser.parse_args(argv)
    ckpt = torch.load(args.input, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise SystemExit(f"{args.input}: not a Detectron2 checkpoint (no 'model' entry)")
    state = inference_state_dict(ckpt["model"])
    torch.save({"model": state}, args.output)
    dropped = len(ckpt["model"]) - len(state)
    print(f"{args.output}: {len(state)} tensors of the base network ({dropped} training-only tensors dropped)")


if __name__ == "__main__":
    main()
