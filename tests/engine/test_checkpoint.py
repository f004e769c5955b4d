"""Checkpoints are never seen half-written (issue 16 item 5): AtomicCheckpointer in-process,
and train_net end to end (stale temporaries of a killed run removed, nobody else's)."""
import os

import pytest
import torch
from torch import nn

from human_parsing.engine import AtomicCheckpointer
from tests.cli_helpers import REPO, error_lines, run_tool_cli

DEAD_PID = 4194305  # above Linux's largest pid_max: no process can have it


def test_a_failed_save_leaves_the_previous_checkpoint_and_tag(tmp_path, monkeypatch):
    model = nn.Linear(3, 2)
    ckpt = AtomicCheckpointer(model, str(tmp_path))
    ckpt.save("model_0000009", iteration=9)
    saved_weight = model.weight.detach().clone()
    good = (tmp_path / "model_0000009.pth").read_bytes()
    assert (tmp_path / "last_checkpoint").read_text() == "model_0000009.pth"

    real_save = torch.save

    def killed_mid_write(obj, f):  # half the bytes reach the disk, then the process "dies"
        real_save(obj, f)
        f.truncate(f.tell() // 2)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_mid_write)
    with torch.no_grad():
        model.weight.add_(1.0)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save("model_0000019", iteration=19)
    assert not (tmp_path / "model_0000019.pth").exists()
    assert (tmp_path / "last_checkpoint").read_text() == "model_0000009.pth"
    assert (tmp_path / "model_0000009.pth").read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["last_checkpoint", "model_0000009.pth"]
    monkeypatch.setattr(torch, "save", real_save)

    # resuming reads the tagged, complete checkpoint
    fresh = nn.Linear(3, 2)
    extra = AtomicCheckpointer(fresh, str(tmp_path)).resume_or_load("", resume=True)
    assert extra["iteration"] == 9
    assert torch.equal(fresh.weight, saved_weight) and not torch.equal(fresh.weight, model.weight)


def test_stale_checkpoint_temporaries_are_removed_on_the_next_run(tmp_path):
    stale = tmp_path / f".tmp-checkpoint-{DEAD_PID}-ab12.pth"
    keep = [tmp_path / f".tmp-checkpoint-{os.getpid()}-live.pth",  # a running process's
            tmp_path / f".tmp-apply_net-{DEAD_PID}-x.png",  # another tool's
            tmp_path / ".tmp-old.pth",  # untagged
            tmp_path / "inference" / f".tmp-checkpoint-{DEAD_PID}-deep.pth"]  # not in the folder itself
    for p in [stale] + keep:
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"partial")
    AtomicCheckpointer(nn.Linear(1, 1), str(tmp_path), save_to_disk=False)
    assert stale.exists()  # a non-main process never cleans up
    AtomicCheckpointer(nn.Linear(1, 1), str(tmp_path))
    assert not stale.exists() and all(p.exists() for p in keep)


def test_train_net_writes_checkpoints_atomically_and_reports_data_errors(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".tmp-checkpoint-{DEAD_PID}-zz.pth"
    stale.write_bytes(b"half a checkpoint")
    config = os.path.join(REPO, "configs", "quick_schedules", "pgn_R_18_synthetic.yaml")
    env = {"HUMAN_PARSING_DATASETS": str(tmp_path / "datasets")}
    common = ["--config-file", config, "SOLVER.IMS_PER_BATCH", "2", "DATALOADER.NUM_WORKERS", "0",
              "DATASETS.TEST", "()", "OUTPUT_DIR", str(out)]
    proc = run_tool_cli("train_net", *common, "SOLVER.MAX_ITER", "2", "SOLVER.CHECKPOINT_PERIOD", "1",
                        "SOLVER.STEPS", "()", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = sorted(os.listdir(out))
    assert not [n for n in names if n.startswith(".tmp-")], names
    assert "model_0000000.pth" in names and "model_final.pth" in names
    assert (out / "last_checkpoint").read_text() == "model_final.pth"
    assert "model" in torch.load(out / "model_final.pth", weights_only=False)

    # a dataset that is not there: one line naming the folder, status 2, the checkpoints kept
    before = {n: (out / n).read_bytes() for n in names if n.endswith(".pth")}
    proc = run_tool_cli("train_net", "--resume", *common, "DATASETS.TRAIN", "('cihp_train',)", env=env)
    (line,) = error_lines(proc, "train_net")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert str(tmp_path / "datasets" / "CIHP") in line and "not found" in line
    assert {n: (out / n).read_bytes() for n in before} == before
