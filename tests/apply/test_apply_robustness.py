"""apply_net against what a new user feeds it (issue 16): non-image files in the input folder,
runs that process nothing, interrupted runs continued with --skip-existing, stale temporaries,
images larger than the inference size limit. CLI runs are subprocesses with random-init
quick-schedule models, as a user runs them."""
import io
import json
import os

import cv2
import numpy as np
import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model

from human_parsing.apply.actions import _SlowImageProgress
from human_parsing.apply.cli import main, setup_config
from human_parsing.data.io import read_label_map, read_png_array
from human_parsing.predictor import ParsingPredictor
from tests.apply.test_apply_net import CONFIG_FNS, MODELS, _scene
from tests.cli_helpers import error_lines, run_tool_cli

DEAD_PID = 4194305  # above Linux's largest pid_max: no process can have it


@pytest.fixture(scope="module")
def pgn_weights(tmp_path_factory):
    config, _ = MODELS["pgn"]
    d = str(tmp_path_factory.mktemp("pgn_weights"))
    cfg = setup_config(config, "", ["MODEL.DEVICE", "cpu"], CONFIG_FNS)
    torch.manual_seed(0)
    DetectionCheckpointer(build_model(cfg), save_dir=d).save("pgn")
    return config, os.path.join(d, "pgn.pth")


def _images(folder, sizes=((48, 64), (40, 56), (56, 48))):
    os.makedirs(folder, exist_ok=True)
    for i, (h, w) in enumerate(sizes):
        cv2.imwrite(os.path.join(folder, f"im{i}.png"), _scene(i, h, w))
    return folder


def _snapshot(folder):
    out = {}
    for d, _, names in os.walk(folder):
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                out[os.path.relpath(os.path.join(d, n), folder)] = f.read()
    return out


def test_non_image_files_are_named_and_an_empty_run_fails(pgn_weights, tmp_path):
    config, weights = pgn_weights
    inp = _images(str(tmp_path / "in"), sizes=((48, 64),))
    for junk in ("notes.txt", ".DS_Store", "Thumbs.db"):
        (tmp_path / "in" / junk).write_bytes(b"\x00junk")
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    out = str(tmp_path / "out")
    proc = run_tool_cli("apply_net", "dump", config, weights, inp, "--output", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "Processed" in ln]
    assert len(summary) == 1, proc.stderr[-3000:]
    assert "Processed 1 images, 1 unreadable skipped (broken.jpg)" in summary[0]
    assert "3 non-image files skipped (.DS_Store, Thumbs.db, notes.txt)" in summary[0]
    assert sorted(os.listdir(out)) == ["im0.json", "im0_edges.png", "im0_parsing.png", "im0_persons.png"]

    # nothing processable: status 2, one line naming the input and why, no output folder
    os.remove(os.path.join(inp, "im0.png"))
    proc = run_tool_cli("apply_net", "dump", config, weights, inp, "--output", str(tmp_path / "o2"))
    (line,) = error_lines(proc, "apply_net")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert line.startswith(f"apply_net: error: {inp}: no input could be processed (1 unreadable: broken.jpg")
    assert "3 non-image files" in line
    assert not os.path.exists(tmp_path / "o2" / "broken.json")


def test_skip_existing_continues_an_interrupted_run(pgn_weights, tmp_path):
    config, weights = pgn_weights
    inp = _images(str(tmp_path / "in"))
    out = str(tmp_path / "out")
    summary = main(["dump", config, weights, inp, "--output", out, "--no-progress"], CONFIG_FNS)
    assert summary.processed == 3
    # simulate a kill while im1 was written: its PNGs are there, its json (written last) is not,
    # and a half-written temporary of the json lies next to them
    os.remove(os.path.join(out, "im1.json"))
    stale = os.path.join(out, f".tmp-apply_net-{DEAD_PID}-x1y2.json")
    with open(stale, "w") as f:
        f.write('{"format": "human_parsing.apply_net.dump/1", "fi')
    others = [os.path.join(out, ".tmp-keepme.png"),  # untagged: not ours to delete
              os.path.join(out, f".tmp-convert_to_coco_parsing-{DEAD_PID}-a.png"),  # another tool's
              os.path.join(out, f".tmp-apply_net-{os.getpid()}-live.png")]  # a live process's
    for p in others:
        open(p, "wb").close()
    before = _snapshot(out)

    # a plain rerun refuses and changes nothing
    proc = run_tool_cli("apply_net", "dump", config, weights, inp, "--output", out)
    (line,) = error_lines(proc, "apply_net")
    assert proc.returncode == 2 and "already exist" in line and "--skip-existing" in line
    assert _snapshot(out) == before

    proc = run_tool_cli("apply_net", "dump", config, weights, inp, "--output", out, "--skip-existing",
                        "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Processed 1 images, 2 already complete (--skip-existing)" in proc.stdout + proc.stderr
    after = _snapshot(out)
    for name in ("im0.json", "im0_parsing.png", "im2.json", "im2_persons.png"):
        assert after[name] == before[name]  # complete outputs are kept as they were
    doc = json.loads(after["im1.json"])  # the interrupted image is redone, complete
    assert doc["file_name"].endswith("im1.png") and (doc["height"], doc["width"]) == (40, 56)
    assert read_label_map(os.path.join(out, "im1_parsing.png")).shape == (40, 56)
    assert not os.path.exists(stale)  # our own stale temporary is removed ...
    assert all(os.path.exists(p) for p in others)  # ... nobody else's

    # everything complete: nothing to do is a success, and --overwrite excludes --skip-existing
    again = main(["dump", config, weights, inp, "--output", out, "--skip-existing", "--no-progress"],
                 CONFIG_FNS)
    assert again.processed == 0 and again.existing == 3
    with pytest.raises(ValueError, match="choose one"):
        main(["dump", config, weights, inp, "--output", out, "--skip-existing", "--overwrite"], CONFIG_FNS)
    with pytest.raises(ValueError, match="--skip-existing.*pickle"):
        main(["dump", config, weights, inp, "--output", str(tmp_path / "r.pkl"), "--skip-existing"],
             CONFIG_FNS)
    assert not os.path.exists(tmp_path / "r.pkl")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_images_above_the_size_limit_run_small_and_come_back_full_size(name, tmp_path):
    """The size policy (build_test_resize): Parsing R-CNN's ResizeShortestEdge caps the longer
    side at INPUT.MAX_SIZE_TEST, PGN (MIN_SIZE_TEST 0, full image) only limits it; outputs come
    back at the original size."""
    config, extra = MODELS[name]
    limit = ["MODEL.DEVICE", "cpu", "INPUT.MAX_SIZE_TEST", "64"] + extra
    if name == "parsing_rcnn":
        limit += ["INPUT.MIN_SIZE_TEST", "64"]
    cfg = setup_config(config, "", limit, CONFIG_FNS)
    torch.manual_seed(0)
    DetectionCheckpointer(build_model(cfg), save_dir=str(tmp_path)).save(name)
    predictor = ParsingPredictor(setup_config(config, str(tmp_path / f"{name}.pth"), limit, CONFIG_FNS))
    seen = []
    backbone = predictor.model.backbone
    backbone.register_forward_pre_hook(lambda mod, args: seen.append(tuple(args[0].shape[-2:])))
    image = _scene(5, 150, 200)
    result = predictor(image)
    (hw,) = seen
    assert max(hw) == 64  # 200×150 -> 64×48 (padded to 64×64 by Parsing R-CNN's FPN divisibility 32)
    assert result.parsing.shape == (150, 200) and result.person_ids().shape == (150, 200)
    if result.edges is not None:
        assert result.edges.shape == (150, 200)
    for p in result.people:
        x0, y0, x1, y1 = p.box
        assert 0 <= x0 <= x1 <= 200 and 0 <= y0 <= y1 <= 150
    # an image below the limit runs at its own size (PGN) / the short-edge size (Parsing R-CNN)
    seen.clear()
    predictor(_scene(6, 40, 48))
    assert seen[0] == ((40, 48) if name == "pgn" else (64, 64))


def test_dump_of_a_huge_image_has_the_original_size(pgn_weights, tmp_path):
    config, weights = pgn_weights
    cv2.imwrite(str(tmp_path / "big.png"), _scene(3, 300, 400))
    out = str(tmp_path / "out")
    proc = run_tool_cli("apply_net", "dump", config, weights, str(tmp_path / "big.png"), "--output", out,
                        "--no-progress", "--opts", "INPUT.MAX_SIZE_TEST", "96")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_label_map(os.path.join(out, "big_parsing.png")).shape == (300, 400)
    assert read_png_array(os.path.join(out, "big_persons.png")).shape == (300, 400)
    assert read_png_array(os.path.join(out, "big_edges.png")).shape == (300, 400)
    with open(os.path.join(out, "big.json")) as f:
        doc = json.load(f)
    assert (doc["height"], doc["width"]) == (300, 400)
    assert all(p["parts"][0]["segmentation"]["size"] == [300, 400] for p in doc["people"] if p["parts"])


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_slow_image_progress_appears_on_a_terminal_only():
    import time

    tty, pipe = _Tty(), io.StringIO()
    for stream in (tty, pipe):
        with _SlowImageProgress("big_photo", delay=0.05, file=stream) as progress:
            time.sleep(0.3)
            progress.stage = "writing"
            time.sleep(0.6)
    assert "big_photo" in tty.getvalue() and "model" in tty.getvalue() and "writing" in tty.getvalue()
    assert pipe.getvalue() == ""
    quick = _Tty()
    with _SlowImageProgress("small", delay=5.0, file=quick):
        pass
    assert quick.getvalue() == ""  # fast images show nothing
