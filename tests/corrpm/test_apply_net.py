"""apply_net with a randomly initialised quick CorrPM model: dump writes the part map at the
image size (palette PNG, lip label space) and show draws parsing and predicted edges."""
import os

import cv2
import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model

import corrpm
from human_parsing.apply.cli import main, setup_config
from human_parsing.config import add_human_parsing_config
from human_parsing.data.io import read_label_map

from .common import QUICK

CONFIG_FNS = (add_human_parsing_config, corrpm.add_corrpm_config)


def test_dump_and_show(tmp_path):
    opts = ["INPUT.CROP.SIZE", "[64, 64]"]
    cfg = setup_config(QUICK, "", opts, CONFIG_FNS)
    torch.manual_seed(0)
    DetectionCheckpointer(build_model(cfg), save_dir=str(tmp_path)).save("corrpm")
    weights = str(tmp_path / "corrpm.pth")
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    cv2.imwrite(str(images / "a.jpg"), rng.integers(0, 255, (50, 70, 3)).astype(np.uint8))
    main(["dump", QUICK, weights, str(images), "--output", str(tmp_path / "d"), "--opts", *opts], CONFIG_FNS)
    parsing = read_label_map(str(tmp_path / "d" / "a_parsing.png"))
    assert parsing.shape == (50, 70) and parsing.max() < 20
    assert os.path.isfile(tmp_path / "d" / "a_edges.png")
    main(["show", QUICK, weights, str(images), "--vis", "parsing,edges", "--output", str(tmp_path / "s"),
          "--opts", *opts], CONFIG_FNS)
    # readable pictures: upscaled by an integer factor to >= 512 px on the long side, legend beside
    h, w, _ = cv2.imread(str(tmp_path / "s" / "a_show.png")).shape
    assert h == 50 * 8 and w > 70 * 8
