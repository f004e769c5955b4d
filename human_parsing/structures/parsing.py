"""Containers for per-person part maps: ground truth (:class:`ParsingMaps`) and predictions
(:class:`PersonParsing`). Both behave like ``Instances`` fields (``len``, indexing, ``cat``).
"""
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch

__all__ = ["ParsingMaps", "PersonParsing"]


class ParsingMaps:
    """Ground-truth part maps of N people on one image: a uint8 tensor (N, H, W).

    Each map holds that person's part labels and 0 elsewhere (other people are background);
    255 marks ignored pixels (e.g. padding).
    """

    def __init__(self, tensor: Union[torch.Tensor, np.ndarray]):
        t = torch.as_tensor(tensor)
        if t.ndim != 3:
            raise ValueError(f"ParsingMaps expects (N, H, W), got {tuple(t.shape)}")
        self.tensor = t.to(torch.uint8)

    @property
    def device(self) -> torch.device:
        return self.tensor.device

    @property
    def image_size(self) -> Tuple[int, int]:
        return tuple(self.tensor.shape[1:])

    def __len__(self) -> int:
        return self.tensor.shape[0]

    def __getitem__(self, item) -> "ParsingMaps":
        if isinstance(item, int):
            return ParsingMaps(self.tensor[item : item + 1])
        return ParsingMaps(self.tensor[item])

    def to(self, *args, **kwargs) -> "ParsingMaps":
        return ParsingMaps(self.tensor.to(*args, **kwargs))

    def __repr__(self) -> str:
        return f"ParsingMaps(num={len(self)}, image_size={self.image_size})"

    @classmethod
    def cat(cls, items: Sequence["ParsingMaps"]) -> "ParsingMaps":
        return cls(torch.cat([m.tensor for m in items], dim=0))

    def crop_and_resize(self, boxes: torch.Tensor, size: int) -> torch.Tensor:
        """Crop each map by its box and resize with nearest neighbour to (size, size).

        The official rule (methods.md §2.5): round the box to integers, slice rows
        ``max(0, y1):y2`` and columns ``max(0, x1):x2`` (end exclusive), resize. The sampling index
        is cv2's INTER_NEAREST one, ``floor(i * (1 / (size / len)))`` in float64 (the exact
        ``floor(i * len / size)`` differs from cv2 where ``i * len / size`` is an integer that the
        double reciprocal lands just below).

        Args:
            boxes: (N, 4) XYXY boxes in this image's coordinates, one per map.
        Returns:
            (N, size, size) int64 targets; empty crops become all-ignore (255).
        """
        n = len(self)
        assert boxes.shape == (n, 4), (boxes.shape, n)
        if n == 0:
            return torch.zeros((0, size, size), dtype=torch.int64, device=self.device)
        H, W = self.image_size
        b = boxes.detach().round().to(torch.int64).cpu()
        x1, y1 = b[:, 0].clamp(min=0, max=W), b[:, 1].clamp(min=0, max=H)
        x2, y2 = b[:, 2].clamp(max=W), b[:, 3].clamp(max=H)
        w, h = (x2 - x1).clamp(min=0), (y2 - y1).clamp(min=0)
        grid = np.arange(size, dtype=np.float64)

        def src(start, length):  # (N, size) source rows/cols in cv2's double arithmetic (numpy:
            # torch rounds a scalar / tensor division differently)
            inv = 1.0 / (size / length.clamp(min=1).numpy().astype(np.float64))
            return start[:, None] + torch.from_numpy(np.floor(grid[None] * inv[:, None]).astype(np.int64))

        rows = src(y1, h).clamp(max=H - 1).to(self.device)
        cols = src(x1, w).clamp(max=W - 1).to(self.device)
        idx = torch.arange(n, device=self.device)[:, None, None]
        out = self.tensor[idx, rows[:, :, None], cols[:, None, :]].to(torch.int64)
        empty = ((w == 0) | (h == 0)).to(self.device)
        out[empty] = 255
        return out


class PersonParsing:
    """Predicted part maps of N people, stored compactly as per-box crops.

    Attributes:
        crops: list of N (h_i, w_i) uint8 numpy arrays, the labels inside each person's box.
        offsets: (N, 2) int64 numpy array, the (x0, y0) of each crop in the image.
        image_size: (H, W) of the full image.
    """

    def __init__(self, crops: List[np.ndarray], offsets, image_size: Tuple[int, int]):
        self.crops = [np.asarray(c, dtype=np.uint8) for c in crops]
        self.offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        assert len(self.crops) == len(self.offsets), (len(self.crops), len(self.offsets))
        H, W = self.image_size
        for c, (x0, y0) in zip(self.crops, self.offsets):
            assert c.ndim == 2 and x0 >= 0 and y0 >= 0, (c.shape, x0, y0)
            assert y0 + c.shape[0] <= H and x0 + c.shape[1] <= W, (c.shape, x0, y0, H, W)

    @classmethod
    def from_full(cls, maps: np.ndarray) -> "PersonParsing":
        """Build from (N, H, W) full-image maps, cropping each to its non-zero extent."""
        maps = np.asarray(maps)
        crops, offsets = [], []
        for m in maps:
            ys, xs = np.nonzero(m)
            if len(ys) == 0:
                crops.append(np.zeros((0, 0), np.uint8))
                offsets.append((0, 0))
                continue
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            crops.append(m[y0:y1, x0:x1])
            offsets.append((x0, y0))
        return cls(crops, offsets, maps.shape[1:] if maps.ndim == 3 else (0, 0))

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, item) -> "PersonParsing":
        if isinstance(item, int):
            idx = [item]
        elif isinstance(item, slice):
            idx = list(range(len(self)))[item]
        else:
            t = torch.as_tensor(item)
            idx = torch.nonzero(t).flatten().tolist() if t.dtype == torch.bool else t.flatten().tolist()
        return PersonParsing([self.crops[i] for i in idx], self.offsets[idx], self.image_size)

    def to(self, *args, **kwargs) -> "PersonParsing":
        return self

    @classmethod
    def cat(cls, items: Sequence["PersonParsing"]) -> "PersonParsing":
        assert len({p.image_size for p in items}) == 1, "cannot cat parsing of different images"
        crops = [c for p in items for c in p.crops]
        offsets = np.concatenate([p.offsets for p in items]) if items else np.zeros((0, 2))
        return cls(crops, offsets, items[0].image_size)

    def full(self, i: int) -> np.ndarray:
        """(H, W) uint8 full-image map of person ``i``."""
        out = np.zeros(self.image_size, dtype=np.uint8)
        c, (x0, y0) = self.crops[i], self.offsets[i]
        out[y0 : y0 + c.shape[0], x0 : x0 + c.shape[1]] = c
        return out

    def to_full(self) -> np.ndarray:
        """(N, H, W) uint8 full-image maps (memory-heavy: for small N or tests)."""
        return np.stack([self.full(i) for i in range(len(self))]) if len(self) else np.zeros(
            (0,) + self.image_size, np.uint8
        )

    def paint(self, order: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Paint people in ``order`` (later wins) into a global part map and a person-id map.

        Returns (parts (H, W) uint8, ids (H, W) int32 with 1-based positions in ``order``).
        """
        parts = np.zeros(self.image_size, dtype=np.uint8)
        ids = np.zeros(self.image_size, dtype=np.int32)
        for rank, i in enumerate(order, start=1):
            c, (x0, y0) = self.crops[i], self.offsets[i]
            fg = c > 0
            sl = (slice(y0, y0 + c.shape[0]), slice(x0, x0 + c.shape[1]))
            parts[sl][fg] = c[fg]
            ids[sl][fg] = rank
        return parts, ids

    def __repr__(self) -> str:
        return f"PersonParsing(num={len(self)}, image_size={self.image_size})"
