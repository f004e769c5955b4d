"""The faithful Grapy-ML training mapper (methods.md §4.6) on a synthetic CIHP record: independent
width/height scale factors in [0.5, 2], a 512×512 crop with images pasted top-left on black and
labels padded with 255, the left/right-swapping flip, and the record's domain."""
import numpy as np
from detectron2.data import DatasetCatalog

from human_parsing.data.samplers import build_domain_mappers

from .common import cpu_norms, load_cfg


def test_faithful_mapper_scales_x_and_y_independently_and_pads():
    cfg = cpu_norms(load_cfg("CIHP/gpm_X65_os16.yaml", ["DATASETS.TRAIN", ("synthetic_cihp_train",)]))
    cfg.INPUT.PARSING.FLIP_PROB = 0.0
    mapper = build_domain_mappers(cfg, ["cihp"], is_train=True).mappers["cihp"]
    record = DatasetCatalog.get("synthetic_cihp_train")[0]
    h0, w0 = record["height"], record["width"]
    ratios = []
    for seed in range(6):
        np.random.seed(seed)
        out = mapper(record)
        image, sem = out["image"].numpy(), out["sem_seg"].numpy()
        assert image.shape == (3, 512, 512) and sem.shape == (512, 512)
        rows = np.flatnonzero((sem != 255).any(1))
        cols = np.flatnonzero((sem != 255).any(0))
        h, w = rows[-1] + 1, cols[-1] + 1  # pasted top-left: labels start at (0, 0)
        assert rows[0] == 0 and cols[0] == 0
        if h < 512:
            assert (image[:, h:] == 0).all() and (sem[h:] == 255).all()
        if w < 512:
            assert (image[:, :, w:] == 0).all()
        assert 0.5 * h0 - 1 <= h <= 2 * h0 and 0.5 * w0 - 1 <= w <= 2 * w0
        ratios.append((h / h0) / (w / w0))
    assert max(ratios) / min(ratios) > 1.2  # the aspect ratio changes: x and y drawn independently
