"""convert_to_coco_parsing writes through tagged temporaries and removes the ones a killed run
left under --out (issue 16 item 5), and nothing else."""
import json
import os
import sys

from human_parsing.utils.cli import run_tool
from tests.data.fixtures import write_cihp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import convert_to_coco_parsing  # noqa: E402

DEAD_PID = 4194305  # above Linux's largest pid_max: no process can have it


def test_stale_converter_temporaries_are_removed(tmp_path, monkeypatch):
    root = write_cihp(tmp_path / "cihp")
    out = tmp_path / "coco"
    (out / "val_parsing").mkdir(parents=True)
    stale = [out / "val_parsing" / f".tmp-convert_to_coco_parsing-{DEAD_PID}-a1.png",
             out / f".tmp-convert_to_coco_parsing-{DEAD_PID}-b2.json"]
    keep = [out / "val_parsing" / ".tmp-untagged.png", out / f".tmp-apply_net-{DEAD_PID}-c.png",
            tmp_path / f".tmp-convert_to_coco_parsing-{DEAD_PID}-outside.png"]  # not under --out
    for p in stale + keep:
        p.write_bytes(b"half")
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (seen.append(os.path.basename(a)), real_replace(a, b)))
    argv = ["--layout", "cihp", "--root", root, "--split", "val", "--out", str(out)]
    assert run_tool(convert_to_coco_parsing.main, "convert_to_coco_parsing", argv) == 0
    assert not any(p.exists() for p in stale) and all(p.exists() for p in keep)
    # every output went through a temporary of this tool, renamed into place
    assert seen and all(n.startswith(f".tmp-convert_to_coco_parsing-{os.getpid()}-") for n in seen)
    with open(out / "annotations" / "CIHP_val.json") as f:
        assert len(json.load(f)["images"]) == 1
    left = [n for d, _, names in os.walk(out) for n in names if n.startswith(".tmp-convert")]
    assert left == []
