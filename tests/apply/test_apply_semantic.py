"""apply_net and the predictor with a tiny multi-domain semantic model: --domain picks the head,
dumps are palette PNGs in that domain's label space, show draws them."""
import os

import cv2
import numpy as np
import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model
from PIL import Image

from human_parsing.apply import load_dump
from human_parsing.apply.cli import main, setup_config
from human_parsing.config import add_human_parsing_config
from human_parsing.data.label_spaces import get_label_space
from human_parsing.predictor import ParsingPredictor
from human_parsing.vis.display import legend_width
from tests.modeling.tiny_semantic import tiny_cfg

CONFIG_FNS = (add_human_parsing_config,)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny_semantic")
    cfg = tiny_cfg(domains=("cihp", "atr"), **{"INPUT.MIN_SIZE_TEST": "0"})
    config = str(d / "tiny.yaml")
    with open(config, "w") as f:
        f.write(cfg.dump())
    torch.manual_seed(0)
    DetectionCheckpointer(build_model(cfg), save_dir=str(d)).save("tiny")
    image = str(d / "img.png")
    rng = np.random.default_rng(0)
    cv2.imwrite(image, rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    return config, str(d / "tiny.pth"), image


@pytest.mark.parametrize("domain", ["", "atr"])
def test_dump_palette_png_in_the_chosen_domain(tiny, tmp_path, domain):
    config, weights, image = tiny
    out = str(tmp_path / "dump")
    args = ["dump", config, weights, image, "--output", out, "--no-progress"] + (["--domain", domain] if domain else [])
    assert main(args, CONFIG_FNS).processed == 1
    name = domain or "cihp"  # default: the first of MODEL.SEMANTIC.DOMAINS
    ls = get_label_space(name)
    png = Image.open(os.path.join(out, "img_parsing.png"))
    assert png.mode == "P" and png.size == (16, 12)
    assert png.getpalette()[: 3 * ls.num_classes] == [c for rgb in ls.palette.tolist() for c in rgb][: 3 * ls.num_classes]
    (res,) = load_dump(out)
    assert res.label_space.name == name
    # same map as the predictor with the same domain, and from that head (argmax of its K scores)
    cfg = setup_config(config, weights, ["MODEL.SEMANTIC.TEST_DOMAIN", domain], CONFIG_FNS)
    pred = ParsingPredictor(cfg)
    assert pred.label_space.name == name
    outputs = pred.predict_outputs(cv2.imread(image))
    assert outputs["sem_seg"].shape == (ls.num_classes, 12, 16)
    np.testing.assert_array_equal(res.parsing, outputs["sem_seg"].argmax(0).numpy())


def test_show_and_bad_domain(tiny, tmp_path):
    config, weights, image = tiny
    out = str(tmp_path / "show.png")
    main(["show", config, weights, image, "--output", out, "--vis", "parsing", "--domain", "atr", "--no-progress"],
         CONFIG_FNS)
    # upscaled 32x to 512 px, with the legend column of the chosen head's label space
    assert cv2.imread(out).shape == (12 * 32, 16 * 32 + legend_width(get_label_space("atr")), 3)
    with pytest.raises(ValueError, match="--domain 'nope' is not a label space"):
        main(["dump", config, weights, image, "--output", str(tmp_path / "x"), "--domain", "nope"], CONFIG_FNS)
    with pytest.raises(ValueError, match="TEST_DOMAIN='lip' is not one of the model's domains"):
        main(["dump", config, weights, image, "--output", str(tmp_path / "y"), "--domain", "lip"], CONFIG_FNS)
