"""apply_net end to end with real, randomly initialised quick-schedule models (Parsing R-CNN
and PGN): the CLI path builds the model from the config and loads a saved checkpoint."""
import os
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model

import parsing_rcnn
import pgn
from human_parsing.apply import load_dump
from human_parsing.apply.cli import main, setup_config
from human_parsing.apply.video import VideoDecodeError, VideoReader, VideoWriter
from human_parsing.config import add_human_parsing_config
from human_parsing.data.io import read_image
from human_parsing.data.label_spaces import get_label_space
from human_parsing.predictor import ParsingPredictor, WeightsMismatchError
from human_parsing.vis.display import legend_width

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG_FNS = (add_human_parsing_config, parsing_rcnn.add_parsing_rcnn_config, pgn.add_pgn_config)
QUICK = os.path.join(REPO, "configs", "quick_schedules")
MODELS = {
    "parsing_rcnn": (os.path.join(QUICK, "parsing_rcnn_R_18_FPN_synthetic.yaml"),
                     ["MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0"]),
    "pgn": (os.path.join(QUICK, "pgn_R_18_synthetic.yaml"), []),
}
# cheap test-time augmentation per model (two scales)
TTA = {
    "parsing_rcnn": ["TEST.AUG.MIN_SIZES", "(48, 64)", "TEST.AUG.MAX_SIZE", "128"],
    "pgn": ["TEST.PGN.PARSING_SCALES", "[0.75, 1.0]", "TEST.PGN.EDGE_SCALES", "[1.0]"],
}
SMALL = ["MODEL.DEVICE", "cpu", "INPUT.MIN_SIZE_TEST", "64", "INPUT.MAX_SIZE_TEST", "128"]


def _scene(seed, h, w):
    """Grey noise with two boxy 'people' (head, torso, legs) in distinct colours."""
    rng = np.random.default_rng(seed)
    img = (rng.integers(0, 256, (h, w, 3)) * 0.3 + 80).astype(np.uint8)
    for k, x0 in enumerate((w // 8, w // 2 + 2)):
        pw = w // 4
        img[h // 8 : h // 4, x0 + pw // 4 : x0 + 3 * pw // 4] = (90, 140, 220)
        img[h // 4 : 3 * h // 5, x0 : x0 + pw] = (200, 60, 40) if k == 0 else (40, 60, 200)
        img[3 * h // 5 : 7 * h // 8, x0 : x0 + pw] = (40, 160, 60)
    return img


class _Model:
    def __init__(self, name, tmpdir):
        self.name = name
        self.config, extra = MODELS[name]
        self.opts = SMALL + extra
        cfg = setup_config(self.config, "", self.opts, CONFIG_FNS)
        torch.manual_seed(0)
        self.weights = os.path.join(tmpdir, f"{name}.pth")
        DetectionCheckpointer(build_model(cfg), save_dir=tmpdir).save(name)
        self.cfg = setup_config(self.config, self.weights, self.opts, CONFIG_FNS)
        self.predictor = ParsingPredictor(self.cfg)

    def run(self, command, inp, out, *args, predictor=True):
        argv = [command, self.config, self.weights, inp, "--output", out, "--no-progress", *args,
                "--opts", *self.opts]
        return main(argv, CONFIG_FNS, predictor=self.predictor if predictor else None)


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request, tmp_path_factory):
    return _Model(request.param, str(tmp_path_factory.mktemp("weights")))


@pytest.fixture
def images(tmp_path):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    cv2.imwrite(str(d / "b.png"), _scene(1, 72, 96))
    cv2.imwrite(str(d / "a.png"), _scene(2, 64, 80))
    cv2.imwrite(str(d / "sub" / "c.png"), _scene(3, 80, 64))
    return d


def _assert_same(a, b, edges_atol=0.0):
    assert np.array_equal(a.parsing, b.parsing)
    assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.scores, b.scores)
    assert np.array_equal(a.person_parsing.to_full(), b.person_parsing.to_full())
    assert [c.shape for c in a.person_parsing.crops] == [c.shape for c in b.person_parsing.crops]
    assert a.label_space.name == b.label_space.name
    assert (a.edges is None) == (b.edges is None)
    if a.edges is not None:
        np.testing.assert_allclose(a.edges, b.edges, atol=edges_atol)


def test_dump_then_reload_reproduces_the_predictor(model, images, tmp_path):
    paths = [str(images / n) for n in ("a.png", "b.png", os.path.join("sub", "c.png"))]
    expected_all = [model.predictor(read_image(p)) for p in paths]
    scores = np.concatenate([r.scores for r in expected_all])
    uniq = np.unique(scores)
    assert len(uniq) >= 2, "the random model should find people with different scores"
    # halfway between two distinct scores, so the filter keeps some people and drops others
    min_score = float((uniq[len(uniq) // 2 - 1] + uniq[len(uniq) // 2]) / 2)
    expected = [r.filter(min_score) for r in expected_all]
    assert 0 < sum(len(r) for r in expected) < len(scores)

    out = str(tmp_path / "dump")
    summary = model.run("dump", str(images), out, "--min_score", str(min_score), predictor=False)
    assert summary.processed == 3 and summary.skipped == []
    files = ["a.json", "a_parsing.png", "a_persons.png", "b.json", "b_parsing.png", "b_persons.png"]
    if model.name == "pgn":  # the only model with instance edges
        files += ["a_edges.png", "b_edges.png"]
    assert sorted(os.listdir(out)) == sorted(files + ["sub"])
    reloaded = load_dump(out)
    assert [r.file_name for r in reloaded] == paths  # sorted walking order
    for exp, got in zip(expected, reloaded):
        _assert_same(exp, got, edges_atol=0.5 / 255 + 1e-6)

    pkl = str(tmp_path / "res.pkl")
    model.run("dump", str(images), pkl, "--min_score", str(min_score))
    for exp, got in zip(expected, load_dump(pkl)):
        _assert_same(exp, got)


def test_show_writes_readable_images(model, images, tmp_path):
    out = tmp_path / "show"
    model.run("show", str(images), str(out), "--vis", "instances,bbox,edges", "--min_score", "0",
              "--display-size", "0")
    for name in ("a", "b", os.path.join("sub", "c")):
        src = cv2.imread(str(images / f"{name}.png"))
        vis = cv2.imread(str(out / f"{name}_show.png"))
        assert vis.shape == src.shape  # --display-size 0 and no legend: the input size
    single = tmp_path / "one.jpg"
    model.run("show", str(images / "a.png"), str(single), "--vis", "parsing")
    # 80 px wide -> 7x (>= 512 px on the long side), legend column beside the image
    assert cv2.imread(str(single)).shape == (64 * 7, 80 * 7 + legend_width(get_label_space("cihp")), 3)
    panel = tmp_path / "panel.png"
    model.run("show", str(images / "a.png"), str(panel), "--vis", "panel")
    assert cv2.imread(str(panel)).shape[0] == 64 * 7 + 22


def test_video_round_trip(model, tmp_path):
    clip = str(tmp_path / "clip.avi")
    with VideoWriter(clip, 6.0) as w:
        for i in range(4):
            w.write(np.roll(_scene(4, 64, 80), 6 * i, axis=1))
    frames = list(VideoReader(clip))
    assert len(frames) == 4

    out = tmp_path / "dump"
    summary = model.run("dump", clip, str(out), "--min_score", "0")
    assert summary.processed == 4
    names = os.listdir(out / "clip")
    assert sorted(n for n in names if n.endswith(".json")) == [f"clip_00000{i}.json" for i in range(4)]
    assert {"clip_000003_parsing.png", "clip_000003_persons.png"} <= set(names)
    reloaded = load_dump(str(out))
    assert [r.frame for r in reloaded] == [0, 1, 2, 3]
    for frame, got in zip(frames, reloaded):
        _assert_same(model.predictor(frame), got, edges_atol=0.5 / 255 + 1e-6)

    shown = tmp_path / "show"
    model.run("show", clip, str(shown), "--vis", "parsing,bbox")  # upscaled 7x, legend beside
    r = VideoReader(str(shown / "clip_show.avi"))
    assert r.fps == pytest.approx(6.0) and len(list(r)) == 4
    assert r.size == (80 * 7 + legend_width(get_label_space("cihp")), 64 * 7)  # one size for every frame


def test_predictor_api(model):
    img = _scene(5, 64, 80)
    result = model.predictor(img)
    raw = model.predictor.predict_outputs(img)
    assert result.image_size == (64, 80) and tuple(raw["parsing"].shape) == (64, 80)
    assert np.array_equal(result.parsing, raw["parsing"].numpy())
    assert result.label_space.name == "cihp"
    assert np.array_equal(result.mask("face"), raw["parsing"].numpy() == 13)
    pp = raw["instances"].pred_parsing
    for i, person in enumerate(result.people):
        assert person.score == pytest.approx(float(raw["instances"].scores[i]))
        assert np.array_equal(person.part_map, pp.full(i))
        assert np.array_equal(person.mask("upper-clothes"), pp.full(i) == 5)
    assert ("edges" in raw) == (result.edges is not None) == (model.name == "pgn")


def test_rgb_input_format_reverses_channels(model):
    img = _scene(6, 64, 80)
    rgb_cfg = setup_config(model.config, model.weights, model.opts + ["INPUT.FORMAT", "RGB"], CONFIG_FNS)
    a = ParsingPredictor(rgb_cfg)(img)
    b = model.predictor(np.ascontiguousarray(img[:, :, ::-1]))
    _assert_same(a, b)


def test_tta_is_used_when_enabled(model):
    cfg = setup_config(model.config, model.weights,
                       model.opts + ["TEST.AUG.ENABLED", "True"] + TTA[model.name], CONFIG_FNS)
    predictor = ParsingPredictor(cfg)
    wrapper = {"parsing_rcnn": "ParsingRCNNWithTTA", "pgn": "PGNWithTTA"}[model.name]
    assert type(predictor.model).__name__ == wrapper
    result = predictor(_scene(7, 64, 80))
    assert result.parsing.shape == (64, 80)
    assert all(p.part_map.shape == (64, 80) for p in result.people)


def test_bad_inputs(model, images, tmp_path):
    if model.name != "parsing_rcnn":
        pytest.skip("model-independent checks run once")
    (images / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    out = str(tmp_path / "dump")
    summary = model.run("dump", str(images), out)
    assert summary.processed == 3 and summary.skipped == [str(images / "broken.jpg")]
    assert "1 unreadable skipped" in str(summary) and out in str(summary)
    assert not os.path.exists(os.path.join(out, "broken.json"))
    with pytest.raises(FileExistsError, match="--overwrite"):
        model.run("dump", str(images), out)
    assert model.run("dump", str(images), out, "--overwrite").processed == 3
    with pytest.raises(FileNotFoundError, match="missing.png"):
        model.run("show", str(images / "missing.png"), str(tmp_path / "s"))
    # the visualizer list is checked before any model is built (these weights do not exist)
    with pytest.raises(ValueError, match="Unknown visualizer.*'mesh'"):
        main(["show", model.config, str(tmp_path / "nope.pth"), str(images), "--vis", "parsing,mesh",
              "--output", str(tmp_path / "s"), "--opts", *model.opts], CONFIG_FNS)
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        main(["show", model.config, str(tmp_path / "nope.pth"), str(images),
              "--output", str(tmp_path / "s"), "--opts", *model.opts], CONFIG_FNS)
    with pytest.raises(WeightsMismatchError, match="shape mismatch.*parsing_head"):
        main(["show", model.config, model.weights, str(images), "--output", str(tmp_path / "s"),
              "--opts", *model.opts, "MODEL.ROI_PARSING_HEAD.NUM_PARSING", "15"], CONFIG_FNS)
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 64)
    with pytest.raises(VideoDecodeError, match="bad.mp4"):
        model.run("dump", str(tmp_path / "bad.mp4"), str(tmp_path / "v"))
    assert not os.path.exists(tmp_path / "s") and not os.path.exists(tmp_path / "v")


def test_command_line_reports_user_errors_in_one_line(tmp_path, monkeypatch, capsys):
    argv = ["apply_net.py", "dump", MODELS["parsing_rcnn"][0], "w.pth", str(tmp_path / "missing_dir")]
    monkeypatch.setattr(sys, "argv", argv)
    # keep the session's loggers as they are (the CLI stops propagation, which caplog needs)
    monkeypatch.setattr("human_parsing.apply.cli._setup_logging", lambda verbosity: None)
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(os.path.join(REPO, "tools", "apply_net.py"), run_name="__main__")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "apply_net: error:" in err and "missing_dir" in err and "Traceback" not in err
