"""SST at inference through the shared layers: semantic TTA, apply_net --domain with the
auxiliary modules left out."""
import os

import cv2
import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model
from PIL import Image

from human_parsing.apply import load_dump
from human_parsing.apply.cli import main
from human_parsing.config import add_human_parsing_config
from human_parsing.engine.trainer import build_tta_model
from sst import add_sst_config

from .common import domain_input, tiny_sst_cfg


def test_semantic_tta_wraps_sst():
    cfg = tiny_sst_cfg(domains=("cihp", "atr"))
    cfg.TEST.SEMANTIC_AUG.SCALES = (0.5, 1.0)
    cfg.TEST.SEMANTIC_AUG.FLIP = True
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    tta = build_tta_model(cfg, model)
    x = domain_input("atr", size=(64, 48))
    with torch.no_grad():
        out = tta([x])[0]["sem_seg"]
        single = model([x])[0]["sem_seg"]
    assert out.shape == single.shape == (18, 64, 48)
    assert not torch.allclose(out, single)  # the flips and the 0.5 scale contribute


def test_apply_net_dump_with_domain_and_no_aux(tmp_path):
    cfg = tiny_sst_cfg(domains=("pascal_person_part", "atr"))
    cfg.INPUT.MIN_SIZE_TEST = 0
    torch.manual_seed(0)
    DetectionCheckpointer(build_model(cfg), save_dir=str(tmp_path)).save("trained")  # with aux.*
    config = str(tmp_path / "sst.yaml")
    with open(config, "w") as f:
        f.write(cfg.dump())
    image = str(tmp_path / "img.png")
    cv2.imwrite(image, np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8))
    out = str(tmp_path / "dump")
    args = ["dump", config, str(tmp_path / "trained.pth"), image, "--output", out, "--no-progress",
            "--domain", "atr", "--opts", "MODEL.SST.AUX_ON", "False"]
    assert main(args, (add_human_parsing_config, add_sst_config)).processed == 1
    (res,) = load_dump(out)
    assert res.label_space.name == "atr" and res.parsing.shape == (40, 56)
    assert res.parsing.max() < 18
    png = Image.open(os.path.join(out, "img_parsing.png"))
    assert png.mode == "P" and png.size == (56, 40)
