"""``DensePoseEvaluator``: the official GPS/GPSm AP (``densepose.py``) as a Detectron2
``DatasetEvaluator`` for datasets whose metadata ``evaluator_type`` is ``"densepose"``.

It reads the model outputs ``instances`` with ``pred_boxes`` (XYXY, input-image pixels),
``scores`` and ``pred_densepose``: one chart result per box, in the layout of Detectron2
DensePose's ``DensePoseChartResult`` (``labels`` (H, W) patch ids, ``uv`` (2, H, W) in [0, 1];
attributes or dict keys), at the box size ``int(y2 − y1) × int(x2 − x1)`` (resized to it
otherwise: nearest for labels, bilinear for U/V). Each box becomes an official detection
(``bbox`` [x1, y1, int(w), int(h)], ``uv`` = (I, U·255, V·255) as uint8) and the GT comes from the
dataset's json (metadata ``json_file``), so the numbers are the official ones. Per image only the
(D, G) matrices are kept (no maps), gathered to rank 0 under distributed inference.

Besides ``AP, AP50, AP75, APm, APl`` (percent) it reports per-point diagnostics over the annotated
GT points, using for each annotated GT the detection of highest box IoU (≥ 0.5): ``patch_acc`` (%
of points whose predicted patch is right; points of unmatched GT count as wrong) and ``uv_err``
(mean of (|ΔU| + |ΔV|) / 2 over the points with the right patch).
"""
import itertools
import json
import logging
from collections import defaultdict
from typing import Optional

import cv2
import numpy as np
from detectron2.data import MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm

from ..data.io import DataFormatError
from .densepose import _box_iou, prepare_image, summarize_prepared
from .geodesics import VertexGeodesics, build_geodesics

logger = logging.getLogger(__name__)

__all__ = ["DensePoseEvaluator", "build_densepose_evaluator", "detections_from_instances", "point_stats"]


def _field(obj, name):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def detections_from_instances(instances) -> list:
    """Official detection dicts (``id`` 1.., ``bbox``, ``score``, ``uv``, ``area``) of one image."""
    boxes = instances.pred_boxes.tensor.numpy() if len(instances) else np.zeros((0, 4))
    scores = instances.scores.numpy() if len(instances) else np.zeros(0)
    charts = instances.pred_densepose if len(instances) else []
    out = []
    for k, (box, score, chart) in enumerate(zip(boxes, scores, charts)):
        x1, y1, x2, y2 = (float(v) for v in box)
        w, h = int(x2 - x1), int(y2 - y1)
        labels = np.asarray(_field(chart, "labels"))
        uv = np.clip(np.asarray(_field(chart, "uv"), np.float32), 0, 1)
        hw = (max(h, 1), max(w, 1))
        if labels.shape != hw:
            labels = cv2.resize(labels.astype(np.uint8), hw[::-1], interpolation=cv2.INTER_NEAREST)
            uv = np.stack([cv2.resize(c, hw[::-1], interpolation=cv2.INTER_LINEAR) for c in uv])
        iuv = np.stack([labels.astype(np.float32), uv[0] * 255, uv[1] * 255]).astype(np.uint8)
        out.append({"id": k + 1, "bbox": [x1, y1, w, h], "score": float(score), "uv": iuv, "area": w * h})
    return out


def point_stats(gts, dts) -> np.ndarray:
    """(points, points with the right patch, sum of (|ΔU| + |ΔV|) / 2 on those) of one image."""
    stats = np.zeros(3)
    biou = _box_iou(list(gts), list(dts))
    for j, g in enumerate(gts):
        if "dp_x" not in g:
            continue
        n = len(g["dp_x"])
        stats[0] += n
        if not len(dts) or biou[:, j].max() < 0.5:
            continue
        d = dts[int(np.argmax(biou[:, j]))]
        gx, gy, gw, gh = g["bbox"]
        dx, dy, dw, dh = d["bbox"]
        col = (np.asarray(g["dp_x"]) * gw / 255.0 + gx - dx).astype(np.int64)
        row = (np.asarray(g["dp_y"]) * gh / 255.0 + gy - dy).astype(np.int64)
        inside = (row >= 0) & (col >= 0) & (row < d["uv"].shape[1]) & (col < d["uv"].shape[2])
        row, col = row[inside], col[inside]
        ok = d["uv"][0, row, col] == np.asarray(g["dp_I"])[inside]
        du = np.abs(d["uv"][1, row, col] / 255.0 - np.asarray(g["dp_U"])[inside])
        dv = np.abs(d["uv"][2, row, col] / 255.0 - np.asarray(g["dp_V"])[inside])
        stats[1] += ok.sum()
        stats[2] += ((du + dv) / 2)[ok].sum()
    return stats


class DensePoseEvaluator(DatasetEvaluator):
    """Streaming GPS/GPSm AP evaluator (see the module doc)."""

    def __init__(
        self,
        dataset_name: str,
        geodesics,
        mode: str = "GPSm",
        distributed: bool = True,
        json_file: Optional[str] = None,
    ):
        """
        Args:
            geodesics: a :class:`VertexGeodesics`, or its spec (``"synthetic"``, the folder of the
                SMPL evaluation files, or ``""`` = the dataset metadata's ``densepose_geodesics``).
            mode: ``"GPSm"`` (official default), ``"GPS"`` or ``"IOU"``.
            json_file: the GT json (default: metadata ``json_file``).
        """
        meta = MetadataCatalog.get(dataset_name)
        if mode not in ("GPSm", "GPS", "IOU"):
            raise ValueError(f"DensePose evaluation mode must be GPSm, GPS or IOU, got {mode!r}")
        if not isinstance(geodesics, VertexGeodesics):
            spec = geodesics or meta.get("densepose_geodesics", "")
            geodesics = build_geodesics(spec)
            if geodesics is None:
                raise ValueError(
                    f"{dataset_name}: dense-pose evaluation needs geodesic distances: set "
                    "TEST.DENSEPOSE_EVAL.GEODESICS to the folder holding SMPL_subdiv.mat, "
                    "SMPL_SUBDIV_TRANSFORM.mat and Pdist_matrix.pkl (DensePose's eval_data)"
                )
        self._geo, self._mode, self._distributed = geodesics, mode, distributed
        self._json_file = json_file or meta.get("json_file", None)
        if not self._json_file:
            raise ValueError(f"{dataset_name}: no 'json_file' in the metadata for the dense-pose GT")
        self._dataset_name = dataset_name
        self._gt = None

    def _gt_index(self) -> dict:
        if self._gt is None:
            try:
                with open(self._json_file) as f:
                    data = json.load(f)
            except (OSError, ValueError) as e:
                raise DataFormatError(f"{self._json_file}: cannot read the dense-pose GT ({e})") from e
            person = {c["id"] for c in data.get("categories", []) if c.get("name") == "person"} or {1}
            index = defaultdict(list)
            for a in data.get("annotations", []):
                if a.get("category_id", 1) in person:
                    index[a["image_id"]].append(a)
            sizes = {im["id"]: (im["height"], im["width"]) for im in data["images"]}
            self._gt = (index, sizes)
        return self._gt

    def reset(self):
        self._prepared = {}
        self._points = np.zeros(3)

    def process(self, inputs, outputs):
        index, sizes = self._gt_index()
        for inp, out in zip(inputs, outputs):
            iid = inp["image_id"]
            gts = index.get(iid, [])
            dts = detections_from_instances(out["instances"].to("cpu")) if "instances" in out else []
            hw = sizes.get(iid, (inp["height"], inp["width"]))
            self._prepared[iid] = prepare_image(gts, dts, hw, self._geo)
            self._points += point_stats(gts, dts)

    def evaluate(self):
        prepared, points = self._prepared, self._points
        if self._distributed:
            comm.synchronize()
            parts = comm.gather((prepared, points), dst=0)
            if not comm.is_main_process():
                return {}
            prepared = dict(itertools.chain.from_iterable(p.items() for p, _ in parts))
            points = sum(pt for _, pt in parts)
        if not prepared:
            logger.warning(f"[DensePoseEvaluator] {self._dataset_name}: no predictions received")
            return {}
        res = {k: 100 * v if v >= 0 else v for k, v in summarize_prepared(prepared, self._mode).items()}
        res["patch_acc"] = 100.0 * points[1] / max(points[0], 1)
        res["uv_err"] = float(points[2] / points[1]) if points[1] else float("nan")
        logger.info(f"Dense-pose evaluation ({self._mode}) of {self._dataset_name}: {res}")
        return {"densepose": res}


def build_densepose_evaluator(cfg, dataset_name: str, output_dir: Optional[str] = None) -> DensePoseEvaluator:
    """The evaluator of a dataset with ``evaluator_type == "densepose"``, configured by
    ``TEST.DENSEPOSE_EVAL.{GEODESICS, MODE}``."""
    node = cfg.TEST.get("DENSEPOSE_EVAL", None) if cfg is not None else None
    geodesics = node.GEODESICS if node is not None else ""
    mode = node.MODE if node is not None else "GPSm"
    return DensePoseEvaluator(dataset_name, geodesics, mode)
