"""Two gloo processes build the multi-domain loader: at every step both see the same domain and
different images; the tiny two-head model trains under DDP with domain-homogeneous batches."""
import os

import torch
from detectron2.engine import launch

from tests.data.fixtures import write_semantic

NAMES = {"atr": "mddist_atr_train", "pascal_person_part": "mddist_pascal_train"}


def _worker(roots, out_dir):
    from detectron2.data import DatasetCatalog
    from detectron2.utils import comm

    from human_parsing.data import register_semantic_parsing
    from human_parsing.data.samplers import build_multi_domain_train_loader
    from human_parsing.engine.trainer import create_ddp_model, shutdown_distributed
    from tests.data.test_multi_domain_loader import _cfg
    from tests.modeling.tiny_semantic import TinySemanticParsing, tiny_cfg

    for layout, name in NAMES.items():
        if name not in DatasetCatalog.list():
            register_semantic_parsing(name, layout, roots[layout], "train")
    cfg = _cfg(NAMES.values())
    steps = [[(x["domain"], x["file_name"]) for x in b] for b, _ in zip(build_multi_domain_train_loader(cfg), range(6))]
    torch.manual_seed(0)
    model = TinySemanticParsing(tiny_cfg(domains=("atr", "pascal_person_part")))
    ddp = create_ddp_model(model, broadcast_buffers=False, find_unused_parameters=True)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    for batch, _ in zip(build_multi_domain_train_loader(cfg), range(4)):
        loss = sum(ddp(batch).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.save({"steps": steps, "state": model.state_dict()}, os.path.join(out_dir, f"rank{comm.get_rank()}.pth"))
    shutdown_distributed()


def test_two_ranks_share_the_domain_of_every_step(tmp_path):
    roots = {layout: write_semantic(tmp_path / layout, layout) for layout in NAMES}
    launch(_worker, 2, dist_url="auto", args=(roots, str(tmp_path)))
    r0, r1 = (torch.load(os.path.join(tmp_path, f"rank{k}.pth")) for k in (0, 1))
    assert len(r0["steps"]) == 6
    for a, b in zip(r0["steps"], r1["steps"]):
        assert len(a) == len(b) == 1  # IMS_PER_BATCH 2 over 2 processes
        assert a[0][0] == b[0][0] and a[0][1] != b[0][1]
    assert {s[0][0] for s in r0["steps"]} == set(NAMES)
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
