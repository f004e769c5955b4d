"""ParsingEvaluator: streaming == offline CLI, 2-process (gloo) == 1 process, bad input errors."""

import importlib.util
import json
import os
import pickle
import sys

import numpy as np
import pytest
import torch

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import Instances
from human_parsing.data.io import DataFormatError, write_label_png
from human_parsing.data.label_spaces import get_label_space
from human_parsing.evaluation.formats import write_id_map
from human_parsing.structures import PersonParsing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # the CLI's worker processes find their function by module name
    spec.loader.exec_module(mod)
    return mod


bench = _load("benchmarks/bench_evaluation.py", "bench_evaluation")
cli = _load("tools/evaluate_parsing.py", "evaluate_parsing")


def make_dataset(root, n=8, H=64, W=48):
    """A CIHP-layout GT folder and matching Detectron2 records + model outputs."""
    for d in ("Category_ids", "Human_ids"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    records, outputs = [], []
    for i in range(n):
        gt, pred = bench.make_scene(1000 + i, H, W)
        iid = f"{i:07d}"
        cat, hum = (os.path.join(root, d, iid + ".png") for d in ("Category_ids", "Human_ids"))
        humans = np.zeros((H, W), np.uint8)
        for k, p in enumerate(gt["persons"], start=1):
            humans[p > 0] = k
        write_label_png(cat, gt["sem"])
        write_id_map(hum, humans)
        anns = [
            {
                "bbox": [0, 0, W, H],
                "bbox_mode": 0,
                "category_id": 0,
                "parsing": {"file_name": cat, "human_ids_file_name": hum, "human_id": int(k)},
            }
            for k in np.unique(humans)
            if k > 0
        ]
        records.append(
            {
                "file_name": iid + ".jpg",
                "image_id": iid,
                "height": H,
                "width": W,
                "sem_seg_file_name": cat,
                "annotations": anns,
            }
        )
        inst = Instances((H, W))
        inst.scores = torch.tensor(pred["scores"], dtype=torch.float32)  # as a model returns them
        inst.pred_parsing = PersonParsing(pred["crops"], pred["offsets"], (H, W))
        outputs.append({"instances": inst})
    return records, outputs


def register(name, records, etype="parsing"):
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    DatasetCatalog.register(name, lambda: records)
    MetadataCatalog.get(name).set(evaluator_type=etype, **get_label_space("cihp").metadata())


def run_evaluator(name, records, outputs, output_dir=None, shard=(0, 1)):
    from human_parsing.evaluation import build_parsing_evaluator

    ev = build_parsing_evaluator(None, name, output_dir)
    ev.reset()
    rank, world = shard
    for inp, out in list(zip(records, outputs))[rank::world]:
        ev.process([inp], [out])
    return ev.evaluate()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("cihp"))
    records, outputs = make_dataset(os.path.join(root, "gt"))
    register("hp_eval_test_cihp", records)
    res = run_evaluator("hp_eval_test_cihp", records, outputs, os.path.join(root, "pred"))
    return root, records, outputs, res


def test_results_layout(data):
    res = data[3]
    for k in (
        "mIoU",
        "pixAcc",
        "meanAcc",
        "fwIoU",
        "IoU-hat",
        "APp50",
        "APp_vol",
        "PCP50",
        "APp@0.1",
    ):
        assert k in res["parsing"], k
    assert set(res["region"]) >= {"APr50", "APr_vol", "APr@0.9"}
    assert 0 < res["parsing"]["mIoU"] <= 100 and 0 < res["parsing"]["APp50"] <= 100


def _cli(root, fmt="instances", extra=()):
    args = [
        "--gt",
        os.path.join(root, "gt"),
        "--gt-format",
        "cihp",
        "--pred",
        os.path.join(root, "pred"),
        "--pred-format",
        fmt,
        "--num-classes",
        "20",
        "--label-space",
        "cihp",
        "--workers",
        "2",
        "--quiet",
        "--out",
        os.path.join(root, f"res_{fmt}.json"),
        *extra,
    ]
    return cli.main(args)


def test_streaming_equals_offline_cli(data):
    root, _, _, res = data
    off = _cli(root)
    for task in ("parsing", "region"):
        assert off[task].keys() == res[task].keys()
        for k, v in res[task].items():
            assert off[task][k] == pytest.approx(v, abs=1e-9, nan_ok=True), (task, k)
    with open(os.path.join(root, "res_instances.json")) as f:
        assert json.load(f)["parsing"]["APp50"] == pytest.approx(res["parsing"]["APp50"])


def test_cihp_submission_written_and_read_back(data):
    root, _, _, res = data
    sub = _cli(root, "cihp_submission")
    for k in ("mIoU", "pixAcc", "IoU-face"):  # same painted global map
        assert sub["parsing"][k] == pytest.approx(res["parsing"][k], abs=1e-9)
    for k in ("APr50", "APr_vol"):  # same part instances
        assert sub["region"][k] == pytest.approx(res["region"][k], abs=1e-9)


def test_missing_prediction_counts_as_no_detection(data, tmp_path, caplog):
    root, records, outputs, res = data
    idx = json.load(open(os.path.join(root, "pred", "instances.json")))
    dropped = sorted(idx)[0]
    del idx[dropped]
    pred = tmp_path / "pred"
    pred.mkdir()
    os.symlink(os.path.join(root, "pred", "instances"), pred / "instances")
    (pred / "instances.json").write_text(json.dumps(idx))
    args = [
        "--gt",
        os.path.join(root, "gt"),
        "--gt-format",
        "cihp",
        "--pred",
        str(pred),
        "--pred-format",
        "instances",
        "--num-classes",
        "20",
        "--workers",
        "1",
        "--quiet",
    ]
    with caplog.at_level("WARNING"):
        off = cli.main(args)
    assert "1 GT images have no prediction" in caplog.text and dropped in caplog.text
    # Same as streaming with an empty Instances for that image.
    outs = [dict(o) for o in outputs]
    k = [r["image_id"] for r in records].index(dropped)
    empty = Instances(outs[k]["instances"].image_size)
    empty.scores = torch.zeros(0)
    empty.pred_parsing = PersonParsing([], np.zeros((0, 2)), outs[k]["instances"].image_size)
    outs[k] = {"instances": empty}
    ref = run_evaluator("hp_eval_test_cihp", records, outs)
    assert off["parsing"]["APp_vol"] == pytest.approx(ref["parsing"]["APp_vol"], abs=1e-9)
    assert off["parsing"]["mIoU"] == pytest.approx(ref["parsing"]["mIoU"], abs=1e-9)


def test_bad_prediction_files(data, tmp_path):
    root = data[0]
    pred = tmp_path / "bad"
    (pred / "instances").mkdir(parents=True)
    (pred / "instances" / "broken.png").write_bytes(b"not a png")
    (pred / "instances.json").write_text(
        json.dumps({"0000000": [{"parsing": "instances/broken.png", "score": 1}]})
    )
    args = [
        "--gt",
        os.path.join(root, "gt"),
        "--gt-format",
        "cihp",
        "--pred",
        str(pred),
        "--pred-format",
        "instances",
        "--num-classes",
        "20",
        "--workers",
        "1",
        "--quiet",
    ]
    with pytest.raises(DataFormatError, match="broken.png"):
        cli.main(args)
    write_label_png(str(pred / "instances" / "broken.png"), np.full((64, 48), 25, np.uint8))
    with pytest.raises(DataFormatError, match=r"broken.png.*\[25\]"):
        cli.main(args)
    write_label_png(str(pred / "instances" / "broken.png"), np.ones((10, 10), np.uint8))
    with pytest.raises(ValueError, match="0000000.*size"):
        cli.main(args)


def test_evaluator_rejects_size_mismatch(data):
    _, records, outputs, _ = data
    inst = Instances((10, 10))
    inst.scores = torch.ones(1)
    inst.pred_parsing = PersonParsing([np.ones((2, 2), np.uint8)], np.zeros((1, 2)), (10, 10))
    with pytest.raises(ValueError, match="0000000.*size"):
        run_evaluator("hp_eval_test_cihp", records[:1], [{"instances": inst}])


def test_semantic_only_dataset(data):
    _, records, outputs, res = data
    register("hp_eval_test_sem", records, "sem_seg_parsing")
    from human_parsing.evaluation.global_map import paint_instances

    outs = []
    for r, o in zip(records, outputs):
        i = o["instances"]
        parts = paint_instances(
            i.pred_parsing.crops,
            i.pred_parsing.offsets,
            i.scores.numpy(),
            (r["height"], r["width"]),
            0.3,
        )[0]
        outs.append({"parsing": torch.as_tensor(parts, dtype=torch.long)})
    sem = run_evaluator("hp_eval_test_sem", records, outs)
    assert "region" not in sem and "APp50" not in sem["parsing"]
    assert sem["parsing"]["mIoU"] == pytest.approx(res["parsing"]["mIoU"], abs=1e-9)


def _dist_worker(rank, world, root, out):
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{root}/dist_init", world_size=world, rank=rank
    )
    records, outputs = make_dataset(os.path.join(root, "gt"))
    register("hp_eval_test_dist", records)
    res = run_evaluator("hp_eval_test_dist", records, outputs, shard=(rank, world))
    if rank == 0:
        with open(out, "wb") as f:
            pickle.dump(res, f)
    else:
        assert res == {}
    dist.barrier()  # no rank closes its connections while the other still uses them
    dist.destroy_process_group()


def test_two_process_gloo_equals_single(tmp_path):
    import torch.multiprocessing as tmp_mp

    root = str(tmp_path)
    out = os.path.join(root, "dist.pkl")
    # spawn, not fork: a fork after torch has started its OpenMP threads can deadlock the child
    tmp_mp.start_processes(
        _dist_worker, args=(2, root, out), nprocs=2, join=True, start_method="spawn"
    )
    records, outputs = make_dataset(os.path.join(root, "gt1"))
    register("hp_eval_test_single", records)
    single = run_evaluator("hp_eval_test_single", records, outputs)
    with open(out, "rb") as f:
        dist_res = pickle.load(f)
    for task in single:
        for k, v in single[task].items():
            assert dist_res[task][k] == pytest.approx(v, abs=1e-12, nan_ok=True), (task, k)


def test_build_from_config_overrides(data):
    from detectron2.config import CfgNode as CN, get_cfg

    from human_parsing.evaluation import build_parsing_evaluator

    cfg = get_cfg()
    cfg.TEST.PARSING_EVAL = CN(
        {"AVERAGING": "gt_present", "EMPTY_IMAGES": "background", "WRITE_PREDICTIONS": False}
    )
    ev = build_parsing_evaluator(cfg, "hp_eval_test_cihp")
    assert ev._opts.averaging == "gt_present" and ev._opts.empty_images == "background"
    assert not ev._write_predictions
    assert ev._opts.semseg_score_thresh == 0.3 and ev._opts.metrics == ("semantic", "app", "apr")
    with pytest.raises(ValueError, match="evaluator_type"):
        register("hp_eval_test_bad", [], "coco")
        build_parsing_evaluator(None, "hp_eval_test_bad")


def test_part_instances_output_and_semantic_writing(data, tmp_path):
    from human_parsing.evaluation.global_map import paint_instances, part_instances

    _, records, outputs, res = data
    outs = []
    for r, o in zip(records, outputs):
        i = o["instances"]
        hw, s = (r["height"], r["width"]), i.scores.numpy().astype(np.float64)
        parts, ids, order = paint_instances(
            i.pred_parsing.crops, i.pred_parsing.offsets, s, hw, 0.001
        )
        pids, cls, sc = part_instances(parts, ids, s[order], 20)
        outs.append(
            dict(o, part_instances={"ids": torch.as_tensor(pids), "classes": cls, "scores": sc})
        )
    # the same part instances as the evaluator paints itself -> the same APr
    got = run_evaluator("hp_eval_test_cihp", records, outs, str(tmp_path / "p"))
    assert got["region"] == pytest.approx(res["region"], nan_ok=True)
    assert os.path.isfile(tmp_path / "p" / "cihp_instance_part_maps" / "0000000.txt")
    # a semantic-only model's maps are written in the submission layout
    sem_outs = [
        {"parsing": torch.zeros(r["height"], r["width"], dtype=torch.long)} for r in records
    ]
    register("hp_eval_test_sem2", records, "sem_seg_parsing")
    run_evaluator("hp_eval_test_sem2", records, sem_outs, str(tmp_path / "s"))
    assert os.path.isfile(tmp_path / "s" / "cihp_parsing_maps" / "0000003.png")


def test_gt_from_catalog_when_mapper_dropped_it(data):
    # Test-time mappers drop "annotations" (and Detectron2's drop "sem_seg_file_name").
    _, records, outputs, res = data
    stripped = [
        {k: v for k, v in r.items() if k not in ("annotations", "sem_seg_file_name")}
        for r in records
    ]
    got = run_evaluator("hp_eval_test_cihp", stripped, outputs)
    assert got["parsing"] == pytest.approx(res["parsing"], nan_ok=True)
    assert got["region"] == pytest.approx(res["region"], nan_ok=True)
