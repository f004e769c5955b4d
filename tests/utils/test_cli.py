"""The tools' shared error policy (human_parsing/utils/cli.py): expected errors give one line
``tool: error: <file or key>: <problem>`` and status 2, tracebacks only with --debug or for bugs."""
import os

import numpy as np
import pytest
from detectron2.config import get_cfg

from human_parsing.data.io import DataFormatError
from human_parsing.utils.cli import ConfigError, format_user_error, is_user_error, merge_config, run_tool
from tests.cli_helpers import REPO, error_lines, run_tool_cli

QUICK_PGN = os.path.join(REPO, "configs", "quick_schedules", "pgn_R_18_synthetic.yaml")


def _raise(exc):
    def main(argv):
        raise exc
    return main


# ---------------------------------------------------------------- merge_config


@pytest.mark.parametrize("content, expected", [
    ("MODEL:\n  FOO: 1\n", r"c\.yaml: MODEL\.FOO: unknown config key$"),
    ("MODEL: [\n", r"c\.yaml: invalid yaml: line 2, column 1: expected the node content"),
    ("", r"c\.yaml: not a mapping of config keys"),
    ("SOLVER:\n  IMS_PER_BATCH: many\n", r"c\.yaml: SOLVER\.IMS_PER_BATCH: Type mismatch .*many\)$"),
    ("_BASE_: missing_base.yaml\n", r"c\.yaml: .*missing_base\.yaml"),
])
def test_merge_config_names_the_file_and_key(tmp_path, content, expected):
    path = tmp_path / "c.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=expected):
        merge_config(get_cfg(), str(path))


def test_merge_config_overrides():
    with pytest.raises(ConfigError, match=r"^MODEL\.FOO: unknown config key"):
        merge_config(get_cfg(), "", ["MODEL.FOO", "1"])
    with pytest.raises(ConfigError, match=r"^config overrides: need KEY VALUE pairs, got 1"):
        merge_config(get_cfg(), "", ["SOLVER.BASE_LR"])
    with pytest.raises(ConfigError, match=r"^SOLVER\.MAX_ITER: Type mismatch"):
        merge_config(get_cfg(), "", ["SOLVER.MAX_ITER", "lots"])
    with pytest.raises(ConfigError, match="nope.yaml: config file not found"):
        merge_config(get_cfg(), "nope.yaml", [])
    cfg = merge_config(get_cfg(), "", ["SOLVER.MAX_ITER", "7"])
    assert cfg.SOLVER.MAX_ITER == 7


# ---------------------------------------------------------------- classification


def test_expected_errors_and_bugs_are_told_apart():
    assert is_user_error(DataFormatError("x.png: truncated"))
    assert is_user_error(FileNotFoundError(2, "No such file or directory", "a.jpg"))
    assert format_user_error(FileNotFoundError(2, "No such file or directory", "a.jpg")) == \
        "a.jpg: No such file or directory"
    try:  # a ValueError raised inside numpy is a bug, not a message for the user
        np.zeros(3) + np.zeros(4)
    except ValueError as e:
        assert not is_user_error(e)
    try:
        {}["key"]
    except KeyError as e:
        assert not is_user_error(e)  # a bare key: a lookup gone wrong
    try:
        raise KeyError("Dataset 'foo' is not registered!")  # raised in project code, a sentence
    except KeyError as e:
        assert is_user_error(e) and format_user_error(e) == "Dataset 'foo' is not registered!"


def test_errors_from_dataloader_workers_are_judged_by_the_original():
    from torch._utils import ExceptionWrapper

    try:
        raise DataFormatError("/d/a.png: label values [25] outside [0, 20)")
    except DataFormatError:
        wrapped = ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(DataFormatError) as info:
        wrapped.reraise()
    assert is_user_error(info.value)
    assert format_user_error(info.value) == "/d/a.png: label values [25] outside [0, 20)"
    try:
        np.zeros(3) + np.zeros(4)
    except ValueError:
        wrapped = ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(ValueError) as info:
        wrapped.reraise()
    assert not is_user_error(info.value)


def test_run_tool_status_and_output(capsys):
    assert run_tool(lambda argv: 0, "t", []) == 0
    assert run_tool(lambda argv: None, "t", []) == 0
    assert run_tool(lambda argv: 3, "t", []) == 3
    seen = []
    assert run_tool(lambda argv: seen.append(argv), "t", ["--a", "--debug", "b"]) == 0
    assert seen == [["--a", "b"]]  # --debug is taken out wherever it is
    assert run_tool(_raise(DataFormatError("f.png: truncated")), "t", []) == 2
    err = capsys.readouterr().err
    assert err == "t: error: f.png: truncated\n"
    assert run_tool(_raise(DataFormatError("f.png: truncated")), "t", ["--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("t: error: f.png: truncated\n")
    with pytest.raises(ZeroDivisionError):  # a bug keeps Python's traceback and status
        run_tool(lambda argv: 1 / 0, "t", [])


# ---------------------------------------------------------------- every tool, as a subprocess


def _tools_cases(tmp):
    """(tool, argv, texts the error line must hold): one expected error per tool (the variants of
    config errors are checked in-process above; every subprocess costs seconds)."""
    bad_yaml = os.path.join(tmp, "bad.yaml")
    with open(bad_yaml, "w") as f:
        f.write("_BASE_: " + QUICK_PGN + "\nMODEL:\n  PGN:\n    NUM_CLASES: 20\n")
    missing = os.path.join(tmp, "missing")
    return [
        ("train_net", ["--config-file", bad_yaml], [bad_yaml, "MODEL.PGN.NUM_CLASES: unknown config key"]),
        ("apply_net", ["dump", QUICK_PGN, "w.pth", REPO, "--opts", "MODEL.PGN.NUM_CLASES", "20"],
         ["MODEL.PGN.NUM_CLASES: unknown config key"]),
        ("evaluate_parsing", ["--gt", missing, "--gt-format", "cihp", "--pred", missing, "--pred-format",
                              "instances", "--num-classes", "19", "--label-space", "cihp"],
         ["--label-space cihp: has 20 classes, not --num-classes 19"]),
        ("visualize_data", ["--dataset", "synthetic_cihp_train", "--output", os.path.join(tmp, "v"),
                            "--source", "dataloader", "--config-file", bad_yaml], [bad_yaml, "NUM_CLASES"]),
        ("convert_to_coco_parsing", ["--layout", "cihp", "--root", missing, "--split", "val", "--out",
                                     os.path.join(tmp, "o")], [missing, "folder not found"]),
        ("pgn_partition", ["--input", missing, "--output", os.path.join(tmp, "o")], [missing, "not found"]),
        ("make_synthetic_dataset", ["--out", bad_yaml, "--num-images", "1"], [bad_yaml]),
        ("pseudo_pose", ["--config-file", missing, "--dataset", "synthetic_lip_val", "--output",
                         os.path.join(tmp, "o")], [missing, "config file not found"]),
    ]


def test_every_tool_reports_expected_errors_in_one_line(tmp_path):
    for tool, argv, needles in _tools_cases(str(tmp_path)):
        proc = run_tool_cli(tool, *argv, env={"HUMAN_PARSING_DATASETS": str(tmp_path / "datasets")})
        lines = error_lines(proc, tool)
        assert proc.returncode == 2, (tool, argv, proc.stderr[-2000:])
        assert len(lines) == 1 and "Traceback" not in proc.stderr, (tool, proc.stderr[-2000:])
        for needle in needles:
            assert needle in lines[0], (tool, lines[0])
    assert not os.path.exists(tmp_path / "o") and not os.path.exists(tmp_path / "v")


def test_debug_shows_the_traceback(tmp_path):
    proc = run_tool_cli("apply_net", "dump", QUICK_PGN, "w.pth", REPO, "--opts", "MODEL.FOO", "1", "--debug")
    assert proc.returncode == 2 and "Traceback" in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1] == \
        "apply_net: error: MODEL.FOO: unknown config key (command-line override)"
