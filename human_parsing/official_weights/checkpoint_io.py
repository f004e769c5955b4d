"""Reading official checkpoints (PyTorch, npz, TensorFlow) and writing Detectron2 checkpoints."""
import os
import pickle
from typing import Dict, Mapping

import numpy as np
import torch

from human_parsing.data.io import atomic_path

from .tf_checkpoint import is_tf_checkpoint, read_tf_checkpoint

__all__ = ["read_torch_state_dict", "read_npz", "read_any", "write_detectron2_checkpoint"]


def _to_numpy(state: Mapping, path: str) -> Dict[str, np.ndarray]:
    out = {}
    for k, v in state.items():
        if isinstance(v, torch.Tensor):
            out[k] = v.detach().cpu().numpy()
        elif isinstance(v, np.ndarray):
            out[k] = v
        else:
            raise ValueError(f"{path}: entry {k!r} is a {type(v).__name__}, not a tensor")
    return out


def read_torch_state_dict(path: str, strip_prefix: str = "module.") -> Dict[str, np.ndarray]:
    """A ``torch.save``d state dict, bare or under ``"model"`` (also ``"state_dict"``), with the
    DistributedDataParallel prefix ``module.`` removed."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - reported with the file name
        raise ValueError(f"{path}: not a PyTorch checkpoint of tensors ({type(e).__name__}: {e})") from e
    if isinstance(data, Mapping):
        for key in ("model", "state_dict"):
            if isinstance(data.get(key), Mapping):
                data = data[key]
                break
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a state dict, found a {type(data).__name__}")
    if strip_prefix and data and all(k.startswith(strip_prefix) for k in data):
        data = {k[len(strip_prefix):]: v for k, v in data.items()}
    return _to_numpy(data, path)


def read_npz(path: str) -> Dict[str, np.ndarray]:
    """Variables saved with ``np.savez`` (names as keys)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def read_any(path: str) -> Dict[str, np.ndarray]:
    """By form: ``.npz``; a TensorFlow checkpoint (prefix, ``.index`` or folder); else PyTorch."""
    if path.endswith(".npz"):
        return read_npz(path)
    if is_tf_checkpoint(path):
        return read_tf_checkpoint(path)
    return read_torch_state_dict(path)


def write_detectron2_checkpoint(path: str, state: Mapping[str, np.ndarray], *, overwrite: bool = False,
                                author: str = "") -> str:
    """Write ``{"model": state, "__author__": author}`` to ``path`` (``.pth``: torch tensors,
    ``.pkl``: numpy arrays, the two forms Detectron2's checkpointer reads) through a temporary
    file and a rename; refuses to replace a file unless ``overwrite``."""
    ext = os.path.splitext(path)[1]
    if ext not in (".pth", ".pkl"):
        raise ValueError(f"{path}: the output must end in .pth or .pkl")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    arrays = {k: (np.asarray(v, np.float32) if np.issubdtype(np.asarray(v).dtype, np.floating) else np.asarray(v))
              for k, v in state.items()}
    with atomic_path(path) as tmp:
        if ext == ".pth":
            # np.array copies keep 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)
            torch.save({"model": {k: torch.from_numpy(np.array(v, order="C")) for k, v in arrays.items()},
                        "__author__": author}, tmp)
        else:
            with open(tmp, "wb") as f:
                # Detectron2 reads a .pkl with "__author__" as names of its own, as they are
                pickle.dump({"model": arrays, "__author__": author, "matching_heuristics": False}, f)
    return path
