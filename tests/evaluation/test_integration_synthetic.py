"""End to end on the project's synthetic CIHP / MHP v2 folders and dataset readers:
perfect predictions score 100 where they must, and the streaming evaluator equals the CLI."""

import os

import numpy as np
import pytest
import torch

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import Instances

synthetic = pytest.importorskip("human_parsing.data.synthetic")
from human_parsing.data.datasets.builtin import (  # noqa: E402
    register_cihp_instances,
    register_mhp_v2_instances,
)
from human_parsing.data.io import load_person_parsing  # noqa: E402
from human_parsing.evaluation import build_parsing_evaluator  # noqa: E402
from human_parsing.structures import PersonParsing  # noqa: E402

from .test_evaluator import cli  # noqa: E402  (loads tools/evaluate_parsing.py)

LAYOUTS = {  # layout -> (register, GT folder under the root, --gt-format, classes, label space)
    "cihp": (register_cihp_instances, "Validation", "cihp", 20, "cihp"),
    "mhp_v2": (register_mhp_v2_instances, "val", "mhp_v2", 59, "mhp_v2"),
}


def _predict(records, C, perfect, seed=0):
    rng = np.random.default_rng(seed)
    outs = []
    for r in records:
        maps = load_person_parsing(r, C)
        if not perfect:
            maps = np.where(rng.random(maps.shape) < 0.1, 0, maps).astype(np.uint8)
        inst = Instances((r["height"], r["width"]))
        inst.scores = torch.tensor(rng.uniform(0.5, 1, len(maps)), dtype=torch.float32)
        inst.pred_parsing = PersonParsing.from_full(maps)
        outs.append({"instances": inst})
    return outs


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_synthetic_end_to_end(layout, tmp_path):
    register, sub, fmt, C, space = LAYOUTS[layout]
    root = str(tmp_path / layout)
    synthetic.generate_split(layout, root, "val", num_images=6, size=(96, 128))
    name = f"hp_eval_integration_{layout}"
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    register(name, root, "val")
    records = DatasetCatalog.get(name)
    for perfect in (True, False):
        out_dir = str(tmp_path / f"pred_{perfect}")
        ev = build_parsing_evaluator(None, name, out_dir)
        ev.reset()
        for r, o in zip(records, _predict(records, C, perfect)):
            ev.process([r], [o])
        res = ev.evaluate()
        args = ["--gt", os.path.join(root, sub), "--gt-format", fmt, "--pred", out_dir,
                "--pred-format", "instances", "--num-classes", str(C), "--label-space", space,
                "--workers", "2", "--quiet"]  # fmt: skip
        off = cli.main(args)
        for task in ("parsing", "region"):
            for k, v in res[task].items():
                assert off[task][k] == pytest.approx(v, abs=1e-9, nan_ok=True), (layout, task, k)
        if perfect:
            assert res["parsing"]["APp_vol"] == 100.0 and res["parsing"]["PCP50"] == 100.0
            # APr averages over all C-1 classes; a class without GT (and no prediction) is 0.
            present = set()
            for r in records:
                present |= set(np.unique(load_person_parsing(r, C)).tolist())
            n = len(present - {0})
            assert res["region"]["APr_vol"] == pytest.approx(100.0 * n / (C - 1))
            if layout == "cihp":  # people do not overlap: the painted map is the GT
                assert res["parsing"]["mIoU"] == 100.0
