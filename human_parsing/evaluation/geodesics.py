"""Geodesic-distance providers of the GPS metric (metrics.md §6).

The official evaluation snaps every (I, U, V) to the closest vertex of patch I (Euclidean distance
in UV among the vertices of that patch) and reads the geodesic distance between two vertices from
a precomputed table. :class:`VertexGeodesics` does exactly that for any vertex set:

- ``SMPL`` (:meth:`VertexGeodesics.from_smpl_files`): DensePose's evaluation files
  ``SMPL_subdiv.mat`` (``U_subdiv``, ``V_subdiv``, ``Part_ID_subdiv``), ``SMPL_SUBDIV_TRANSFORM.mat``
  (``index``: vertex -> row of the distance table, 1-based) and ``Pdist_matrix.pkl`` (or the
  MATLAB v7.3 ``Pdist_matrix.mat``, read with h5py when installed);
- ``synthetic`` (:func:`synthetic_geodesics`): the charts of the synthetic people
  (``human_parsing.data.synthetic.densepose``) placed on a canonical body 1.7 units tall (limbs
  as cylinders, torso as a slab, head as a half-ellipsoid), a ``GRID × GRID`` vertex grid per
  patch, and the straight-line distance between the canonical points as the "geodesic". It is
  a metric on the synthetic body, which is all the tests and the quick schedule need.

Distance tables are stored as the official one: the distance between vertices ``lo < hi``
(0-based rows) is entry ``hi·(hi − 1)/2 + lo`` (row-major lower triangle; this is what the
official index arithmetic with its hard-coded ``n = 27554`` reduces to).
"""
import os
import pickle
from typing import List, Optional, Sequence

import numpy as np
import scipy.spatial.distance as ssd

from ..data.io import DataFormatError

__all__ = ["VertexGeodesics", "synthetic_geodesics", "build_geodesics", "MEAN_DISTANCES", "GPS_COARSE_PARTS"]

# Per-"coarse part" normalisers of the GPS (metres; metrics.md §6) and the patch -> group table.
MEAN_DISTANCES = np.array([0, 0.351, 0.107, 0.126, 0.237, 0.173, 0.142, 0.128, 0.150])
GPS_COARSE_PARTS = np.array([0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 8])


class VertexGeodesics:
    """Closest-vertex snapping and table lookup, as the official ``findAllClosestVerts`` and
    ``getDistances``.

    Args:
        part_uvs: 24 arrays (2, n_p): the UV of the vertices of patch p (1-based p = index + 1).
        part_vertex_ids: 24 arrays (n_p,): their vertex ids (1-based).
        part_ids: (V,) the patch of each vertex id (index = id − 1).
        transform: (V,) the table row of each vertex id (1-based; 0 = no row).
        table: the distance table in lower-triangle order (see module doc).
    """

    def __init__(self, part_uvs, part_vertex_ids, part_ids, transform, table):
        if len(part_uvs) != 24 or len(part_vertex_ids) != 24:
            raise ValueError("VertexGeodesics needs the vertices of 24 patches")
        self.part_uvs = [np.asarray(p, np.float64).reshape(2, -1) for p in part_uvs]
        self.part_vertex_ids = [np.asarray(p, np.int64).reshape(-1) for p in part_vertex_ids]
        self.part_ids = np.asarray(part_ids, np.int64).reshape(-1)
        self.transform = np.asarray(transform, np.int64).reshape(-1)
        self.table = np.asarray(table, np.float64).reshape(-1)

    def closest_vertices(self, I: np.ndarray, U: np.ndarray, V: np.ndarray) -> np.ndarray:
        """(N,) vertex ids (1-based) of points (I, U, V); −1 where I is not a patch 1..24."""
        I = np.asarray(I).astype(np.int64)
        out = -np.ones(len(I), np.int64)
        uv = np.stack([np.asarray(U, np.float64), np.asarray(V, np.float64)], axis=1)
        for p in range(1, 25):
            sel = I == p
            if sel.any():
                d = ssd.cdist(self.part_uvs[p - 1].T, uv[sel])  # (n_p, N_p)
                out[sel] = self.part_vertex_ids[p - 1][np.argmin(d, axis=0)]
        return out

    def distances(self, v_gt: np.ndarray, v_dt: np.ndarray) -> np.ndarray:
        """Distances for the GT points with a vertex (v_gt > 0 after the row transform), in
        order: 0 for the same row, ∞ where the prediction has no vertex."""
        t_gt = np.where(v_gt > 0, self.transform[np.maximum(v_gt, 1) - 1], 0)
        t_dt = np.where(v_dt > 0, self.transform[np.maximum(v_dt, 1) - 1], 0)
        t_gt, t_dt = t_gt[t_gt > 0], t_dt[t_gt > 0]
        lo, hi = np.minimum(t_gt, t_dt) - 1, np.maximum(t_gt, t_dt) - 1
        k = hi * (hi - 1) // 2 + lo
        d = np.where(hi == lo, 0.0, self.table[np.clip(k, 0, len(self.table) - 1)])
        return np.where(t_dt > 0, d, np.inf)

    def normalisers(self, v_gt: np.ndarray) -> np.ndarray:
        """κ of each GT point with a vertex: ``MEAN_DISTANCES[GPS_COARSE_PARTS[patch]]``."""
        v = v_gt[v_gt > 0]
        return MEAN_DISTANCES[GPS_COARSE_PARTS[self.part_ids[v - 1]]]

    @classmethod
    def from_vertices(cls, part_id: np.ndarray, uv: np.ndarray, table: np.ndarray, transform=None):
        """From per-vertex patch ids (V,), UVs (2, V), the table and the optional transform."""
        part_id = np.asarray(part_id, np.int64).reshape(-1)
        ids = np.arange(len(part_id)) + 1
        uvs = [uv[:, part_id == p] for p in range(1, 25)]
        vids = [ids[part_id == p] for p in range(1, 25)]
        transform = ids if transform is None else transform
        return cls(uvs, vids, part_id, transform, table)

    @classmethod
    def from_smpl_files(cls, folder: str) -> "VertexGeodesics":
        """DensePose's evaluation data in ``folder`` (``DensePoseData/eval_data``)."""
        import scipy.io

        paths = [os.path.join(folder, f) for f in ("SMPL_subdiv.mat", "SMPL_SUBDIV_TRANSFORM.mat")]
        for p in paths:
            if not os.path.isfile(p):
                raise DataFormatError(f"{p}: DensePose evaluation file not found")
        subdiv = scipy.io.loadmat(paths[0])
        transform = scipy.io.loadmat(paths[1])["index"].squeeze()
        uv = np.array([subdiv["U_subdiv"], subdiv["V_subdiv"]]).squeeze()
        return cls.from_vertices(subdiv["Part_ID_subdiv"].squeeze(), uv, _load_pdist(folder), transform)


def _load_pdist(folder: str) -> np.ndarray:
    pkl, mat = os.path.join(folder, "Pdist_matrix.pkl"), os.path.join(folder, "Pdist_matrix.mat")
    if os.path.isfile(pkl):
        with open(pkl, "rb") as f:
            return np.asarray(pickle.load(f, encoding="latin1")["Pdist_matrix"]).reshape(-1)
    if os.path.isfile(mat):
        try:
            import h5py
        except ImportError:
            raise DataFormatError(f"{mat}: reading MATLAB v7.3 files needs h5py; or use Pdist_matrix.pkl") from None
        with h5py.File(mat, "r") as f:
            return np.asarray(f["Pdist_matrix"]).reshape(-1)
    raise DataFormatError(f"{pkl}: DensePose evaluation file not found (nor Pdist_matrix.mat)")


# ---- the synthetic body -----------------------------------------------------------------------
GRID = 9  # vertices per patch side
_H = 1.7  # canonical height; body-frame lengths of the drawing (units of the height) times this


def _canonical_point(patch: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(N, 3) canonical points (x = person's left, y = down, z = forward) of chart points."""
    from ..data.label_spaces import get_label_space

    name = get_label_space("densepose_patches").classes[patch]
    ez = np.array([0.0, 0.0, 1.0])
    if name.startswith("torso"):
        z = 0.06 if name.endswith("front") else -0.06
        return np.stack([(2 * u - 1) * 0.11, -0.345 + v * 0.395, np.full_like(u, z)], 1) * _H
    if name.startswith("head"):
        x = u * 0.05 * (1 if name.endswith("left") else -1)
        z = 0.05 * np.sqrt(np.clip(1 - u**2, 0, 1))
        return np.stack([x, -0.505 + v * 0.13, z], 1) * _H
    side = 1.0 if name.startswith("left") else -1.0
    limb = name.split("-", 1)[1]
    seg = next(s for s in ("upper-arm", "lower-arm", "hand", "upper-leg", "lower-leg", "foot") if limb.startswith(s))
    arm = seg in ("upper-arm", "lower-arm", "hand")
    ang = np.radians(30.0 if arm else 5.0)
    d = np.array([side * np.sin(ang), np.cos(ang), 0.0])  # axis direction (outwards, down)
    medial = np.array([-side * np.cos(ang), np.sin(ang), 0.0])
    start = {
        "upper-arm": (0.105, -0.315, 0.0, 0.16, 0.028), "lower-arm": (0.105, -0.315, 0.16, 0.14, 0.023),
        "hand": (0.105, -0.315, 0.30, 0.045, 0.018), "upper-leg": (0.06, 0.0, 0.0, 0.24, 0.045),
        "lower-leg": (0.06, 0.0, 0.24, 0.22, 0.034), "foot": (0.06, 0.0, 0.46, 0.05, 0.024),
    }[seg]
    x0, y0, offset, length, r = start
    axis = np.array([side * x0, y0, 0.0]) + d * offset
    if name.endswith(("inside", "outside")):
        theta = v * np.pi / 2
        lateral = medial if name.endswith("inside") else -medial
        normal = np.cos(theta)[:, None] * ez + np.sin(theta)[:, None] * lateral
    else:
        theta = (v - 0.5) * np.pi
        front = -ez if name.endswith("back") else ez
        normal = np.cos(theta)[:, None] * front + np.sin(theta)[:, None] * medial
    return (axis + u[:, None] * length * d + r * normal) * _H


def synthetic_geodesics(grid: int = GRID) -> VertexGeodesics:
    """The vertex provider of the synthetic charts (``grid × grid`` vertices per patch)."""
    g = (np.arange(grid) + 0.5) / grid
    uu, vv = [a.reshape(-1) for a in np.meshgrid(g, g)]
    part_id = np.repeat(np.arange(1, 25), grid * grid)
    uv = np.tile(np.stack([uu, vv]), (1, 24))
    pts = np.concatenate([_canonical_point(p, uu, vv) for p in range(1, 25)])
    square = ssd.squareform(ssd.pdist(pts))
    table = square[np.tril_indices(len(pts), -1)]  # row-major lower triangle: hi*(hi-1)/2 + lo
    return VertexGeodesics.from_vertices(part_id, uv, table)


def build_geodesics(spec: str) -> Optional[VertexGeodesics]:
    """``"synthetic"`` -> :func:`synthetic_geodesics`; a folder -> the SMPL files; ``""`` -> None."""
    if not spec:
        return None
    if spec == "synthetic":
        return synthetic_geodesics()
    return VertexGeodesics.from_smpl_files(spec)
