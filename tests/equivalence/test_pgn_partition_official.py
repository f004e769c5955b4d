"""PGN partition, faithful mode, against the official MATLAB ``instance_tool`` run under GNU Octave.

Needs ``$CIHP_PGN_REPO`` (a git clone or bare git dir of Engineering-Course/CIHP_PGN),
``octave-cli`` with the ``image`` package, and the harness ``run_official.py`` /
``compare_outputs.py`` in ``$PGN_OFFICIAL_TOOL_DIR`` (default ``../shared/tools/pgn_official_partition``
next to the repository); skipped otherwise. Runs ``tools/dev/pgn_partition_oracle.py`` on 20 random
inputs of at most 160 px a side (the dev script runs hundreds, up to 512 px).
"""

import importlib.util
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NUM_INPUTS = 20
SEED = 1


def _load_oracle():
    spec = importlib.util.spec_from_file_location(
        "pgn_partition_oracle", os.path.join(REPO, "tools", "dev", "pgn_partition_oracle.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _octave_with_image_package() -> bool:
    if shutil.which("octave-cli") is None:
        return False
    proc = subprocess.run(
        ["octave-cli", "--quiet", "--norc", "--no-window-system", "--eval", "pkg load image"],
        capture_output=True,
        timeout=120,
    )
    return proc.returncode == 0


def test_faithful_partition_equals_official_tool(tmp_path):
    mirror = os.environ.get("CIHP_PGN_REPO", "")
    if not mirror or not os.path.exists(mirror):
        pytest.skip("set CIHP_PGN_REPO to a clone of Engineering-Course/CIHP_PGN")
    oracle = _load_oracle()
    tool_dir = oracle.official_tool_dir()
    if not os.path.isfile(os.path.join(tool_dir, "run_official.py")):
        pytest.skip(f"no run_official.py in {tool_dir} (set PGN_OFFICIAL_TOOL_DIR)")
    if not _octave_with_image_package():
        pytest.skip("octave-cli with the image package is not installed")
    res = oracle.run(
        str(tmp_path), seed=SEED, num=NUM_INPUTS, jobs=2, tool_dir=tool_dir, mirror=mirror, max_size=160
    )
    assert res["total"] == NUM_INPUTS
    assert res["differ"] == [], res["summary"]
