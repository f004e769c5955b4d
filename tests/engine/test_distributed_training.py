"""Two CPU processes (gloo) train the same model for a few iterations and end bit-identical."""
import os

import torch
from detectron2.engine import launch

CONFIG = "configs/quick_schedules/parsing_rcnn_R_18_FPN_instant_test.yaml"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _train_and_dump(out_dir, datasets_root):
    import sys

    os.environ["HUMAN_PARSING_DATASETS"] = datasets_root
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from detectron2.utils import comm
    from train_net import setup

    from human_parsing.engine import ParsingTrainer, shutdown_distributed

    class Args:
        config_file = os.path.join(ROOT, CONFIG)
        opts = ["SOLVER.MAX_ITER", "3", "SOLVER.IMS_PER_BATCH", "2", "OUTPUT_DIR", out_dir,
                "DATALOADER.NUM_WORKERS", "0", "TEST.EVAL_PERIOD", "0", "SEED", "7",
                "DATASETS.TEST", "()"]
        eval_only = resume = False

    cfg = setup(Args)
    trainer = ParsingTrainer(cfg)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.resume_or_load(resume=False)
    trainer.train()
    model = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    changed = any(not torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())
    torch.save({"state": state, "changed": changed, "world": comm.get_world_size()},
               os.path.join(out_dir, f"rank{comm.get_rank()}.pth"))
    shutdown_distributed()


def test_two_cpu_processes_end_with_identical_weights(tmp_path):
    out = str(tmp_path / "out")
    os.makedirs(out)
    launch(_train_and_dump, 2, dist_url="auto", args=(out, str(tmp_path / "datasets")))
    r0 = torch.load(os.path.join(out, "rank0.pth"))
    r1 = torch.load(os.path.join(out, "rank1.pth"))
    assert r0["world"] == r1["world"] == 2
    assert r0["changed"] and r1["changed"], "training did not update the weights"
    assert r0["state"].keys() == r1["state"].keys()
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
