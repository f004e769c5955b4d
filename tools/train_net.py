#!/usr/bin/env python
"""Train and evaluate any human-parsing model of this project (Parsing R-CNN, PGN, ...).

Same flags as Detectron2's ``tools/train_net.py``: ``--config-file``, ``--eval-only``,
``--resume``, ``--num-gpus``, ``--num-machines``, ``--machine-rank``, ``--dist-url`` and trailing
``KEY VALUE`` overrides. On a machine without GPUs, ``--num-gpus N`` starts N CPU processes (gloo).
The config is checked before any process starts; expected errors (bad config file/key/value,
missing or malformed data) print one line ``train_net: error: <file or key>: <problem>`` and
exit with status 2, with the traceback only under ``--debug`` (``human_parsing/utils/cli.py``).
Checkpoints are written to a temporary name and renamed (``human_parsing/engine/checkpoint.py``).
"""
import logging
import sys

from detectron2.config import get_cfg
from detectron2.engine import default_argument_parser, default_setup, hooks, launch
from detectron2.evaluation import verify_results
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

import human_parsing.data  # noqa: F401  (registers the datasets)
from human_parsing.engine import ParsingTrainer, build_checkpointer, shutdown_distributed
from human_parsing.utils.cli import add_debug_argument, merge_config, run_tool
from methods import CONFIG_FNS


def build_config(args):
    """The config from the defaults, every method's keys, the file and overrides (not frozen).
    Raises :class:`~human_parsing.utils.cli.ConfigError` naming the file or key."""
    cfg = get_cfg()
    for add_config in CONFIG_FNS:
        add_config(cfg)
    return merge_config(cfg, args.config_file, args.opts)


def setup(args):
    """Build the frozen config, write it to OUTPUT_DIR and set up logging (Detectron2's way)."""
    cfg = build_config(args)
    cfg.freeze()
    default_setup(cfg, args)
    setup_logger(output=cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="human_parsing")
    return cfg


def main(args):
    res = _run(args)
    shutdown_distributed()  # only after success: a barrier would wait forever for a failed rank
    return res


def _run(args):
    cfg = setup(args)
    if args.eval_only:
        model = ParsingTrainer.build_model(cfg)
        build_checkpointer(cfg, model, save_dir=cfg.OUTPUT_DIR).resume_or_load(
            cfg.MODEL.WEIGHTS, resume=args.resume
        )
        res = ParsingTrainer.test(cfg, model)
        if cfg.TEST.AUG.ENABLED:
            res.update(ParsingTrainer.test_with_TTA(cfg, model))
        if comm.is_main_process():
            verify_results(cfg, res)
        return res

    trainer = ParsingTrainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    if cfg.TEST.AUG.ENABLED:
        trainer.register_hooks(
            [hooks.EvalHook(0, lambda: trainer.test_with_TTA(cfg, trainer.model))]
        )
    return trainer.train()


def cli(argv):
    """Parse ``argv``, check the config in this process (one-line errors before any worker
    starts), then ``launch`` Detectron2's way."""
    parser = default_argument_parser()
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    if not args.config_file:
        raise ValueError("--config-file: required (a yaml config, e.g. configs/quick_schedules/...)")
    build_config(args)
    logging.getLogger(__name__).info("Command line arguments: %s", args)
    launch(
        main,
        args.num_gpus,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(args,),
    )


if __name__ == "__main__":
    sys.exit(run_tool(cli, "train_net"))
