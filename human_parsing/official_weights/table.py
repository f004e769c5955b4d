"""Name tables from an official checkpoint's tensors to ours, and their strict application.

A :class:`NameTable` lists, name by name, where every official tensor goes (:class:`Entry`, with a
:class:`Transform` for layout changes such as TF's HWIO kernels), which of our tensors have no
official counterpart and get a constant (:class:`Fill`), and which official tensors are left out on
purpose (``ignored``: a regular expression and the reason). Nothing is matched by shape: a tensor
whose name is not in the table is an error, and so is a tensor of the wrong shape.
"""
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import numpy as np

__all__ = ["ConversionError", "Transform", "COPY", "TF_CONV", "take_rows", "Entry", "Fill", "NameTable",
           "apply_table"]

Shape = Tuple[int, ...]


class ConversionError(ValueError):
    """An official checkpoint does not match the name table; the message lists every problem."""


@dataclass(frozen=True)
class Transform:
    """How an official tensor becomes ours: ``fn(official) -> ours`` and the official shape
    expected for a given shape of ours (the check that the official tensor is the right one)."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    official_shape: Callable[[Shape], Shape]


COPY = Transform("copy", lambda a: a, lambda s: tuple(s))
# TF conv kernels are (kh, kw, in, out); PyTorch's are (out, in, kh, kw)
TF_CONV = Transform(
    "tf_conv", lambda a: np.ascontiguousarray(a.transpose(3, 2, 0, 1)), lambda s: (s[2], s[3], s[1], s[0])
)


def take_rows(rows: Sequence[int], official_rows: int) -> Transform:
    """Our tensor is rows ``rows`` (in that order) of an official tensor with ``official_rows`` rows,
    e.g. a classifier whose background row moves from first to last."""
    rows = list(rows)
    return Transform(f"rows{rows}/{official_rows}", lambda a: np.ascontiguousarray(a[rows]),
                     lambda s: (official_rows,) + tuple(s[1:]))


@dataclass(frozen=True)
class Entry:
    official: str
    ours: str
    transform: Transform = COPY


@dataclass(frozen=True)
class Fill:
    """One of our tensors with no official counterpart, set to ``value`` everywhere (``why`` says why
    that reproduces the official computation)."""

    ours: str
    value: float
    why: str


@dataclass
class NameTable:
    entries: List[Entry] = field(default_factory=list)
    fills: List[Fill] = field(default_factory=list)
    ignored: List[Tuple[str, str]] = field(default_factory=list)  # (regex on official names, reason)

    def add(self, official: str, ours: str, transform: Transform = COPY) -> None:
        self.entries.append(Entry(official, ours, transform))

    def fill(self, ours: str, value: float, why: str) -> None:
        self.fills.append(Fill(ours, value, why))

    def ignore(self, pattern: str, reason: str) -> None:
        self.ignored.append((pattern, reason))

    def is_ignored(self, name: str) -> bool:
        return any(re.fullmatch(p, name) for p, _ in self.ignored)


def _fmt(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def apply_table(
    official: Mapping[str, np.ndarray], table: NameTable, our_shapes: Mapping[str, Shape], *, source: str = ""
) -> Dict[str, np.ndarray]:
    """Our state dict from ``official`` through ``table``; ``our_shapes`` is our model's state dict
    (name -> shape). Raises :class:`ConversionError` listing every unmatched, missing or mis-shaped
    tensor, in both directions, before anything is returned."""
    errors: List[str] = []
    out: Dict[str, np.ndarray] = {}
    mapped = {e.official for e in table.entries}
    for name in sorted(official):
        if name not in mapped and not table.is_ignored(name):
            errors.append(f"unmatched official tensor {name} {_fmt(np.shape(official[name]))}: not in the name table")
    for e in table.entries:
        if e.ours in out:
            errors.append(f"the table maps two official tensors onto {e.ours}")
            continue
        if e.ours not in our_shapes:
            errors.append(f"the table maps {e.official} onto {e.ours}, which the model does not have")
            continue
        want = e.transform.official_shape(tuple(our_shapes[e.ours]))
        if e.official not in official:
            errors.append(f"missing official tensor {e.official} {_fmt(want)} (for {e.ours})")
            continue
        arr = np.asarray(official[e.official])
        if tuple(arr.shape) != tuple(want):
            errors.append(f"mis-shaped official tensor {e.official}: {_fmt(arr.shape)}, expected {_fmt(want)} "
                          f"for {e.ours} {_fmt(our_shapes[e.ours])}")
            continue
        out[e.ours] = e.transform.fn(arr)
    for f in table.fills:
        if f.ours in out:
            errors.append(f"{f.ours} is both mapped and filled")
        elif f.ours not in our_shapes:
            errors.append(f"the table fills {f.ours}, which the model does not have")
        else:
            dtype = np.int64 if f.ours.endswith("num_batches_tracked") else np.float32
            out[f.ours] = np.full(tuple(our_shapes[f.ours]), f.value, dtype=dtype)
    tabled = {e.ours for e in table.entries}
    for name in sorted(set(our_shapes) - set(out)):
        if name not in tabled:  # tabled but failed: reported above
            errors.append(f"our {name} {_fmt(our_shapes[name])} gets no value from the table")
    if errors:
        where = f" {source}" if source else ""
        raise ConversionError(f"{len(errors)} problem(s) converting{where}:\n  " + "\n  ".join(errors))
    return out
