"""Command line of ``tools/apply_net.py``::

    apply_net.py dump CONFIG WEIGHTS INPUT [--output DIR|FILE.pkl] [--format png|pickle]
                 [--min_score 0.5] [--overwrite | --skip-existing] [-v] [--debug] [--domain NAME]
                 [--opts KEY VALUE ...]
    apply_net.py show CONFIG WEIGHTS INPUT [--vis parsing,instances,bbox,edges] [--output DIR|FILE]
                 [--min_score 0.5] [--overwrite | --skip-existing] [-v] [--debug] [--domain NAME]
                 [--opts KEY VALUE ...]

``--domain NAME`` picks the head (label space) of a multi-domain semantic model; results, dumps
and overlays are in that label space.

The config is built like ``tools/train_net.py`` does: ``get_cfg()``, then the ``add_*_config``
functions the entry point passes in (the method packages' ones: ``human_parsing`` never imports
a method package), the yaml file and the ``--opts`` overrides. Without a GPU, ``MODEL.DEVICE``
becomes ``cpu`` unless ``--opts`` sets it.
"""
import argparse
import logging
import sys
from typing import Callable, List, Optional, Sequence

import torch
from detectron2.config import get_cfg
from detectron2.utils.logger import setup_logger

from human_parsing.data.label_spaces import LABEL_SPACES
from human_parsing.utils.cli import merge_config, run_tool

from .actions import ACTIONS, RunSummary

__all__ = ["create_argument_parser", "setup_config", "main", "run_cli"]

logger = logging.getLogger(__name__)


def create_argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Human-parsing inference: dump results in open formats or show overlays.",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=120),
    )
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(ACTIONS) + "}")
    sub.required = True
    for name, action in ACTIONS.items():
        p = sub.add_parser(name, help=(action.__doc__ or "").strip().splitlines()[0])
        action.add_arguments(p)
        p.set_defaults(action=action)
    return parser


def setup_config(config_file: str, weights: str, opts: Sequence[str],
                 config_fns: Sequence[Callable] = ()):
    """Frozen config: defaults + ``config_fns`` + file + ``opts``; ``MODEL.WEIGHTS = weights``.
    A bad file, yaml, key or value raises :class:`~human_parsing.utils.cli.ConfigError`."""
    cfg = get_cfg()
    for fn in config_fns:
        fn(cfg)
    merge_config(cfg, config_file, opts)
    cfg.MODEL.WEIGHTS = weights
    if "MODEL.DEVICE" not in list(opts)[::2] and not torch.cuda.is_available():
        cfg.MODEL.DEVICE = "cpu"
    cfg.freeze()
    return cfg


def _setup_logging(verbosity: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    setup_logger(name="detectron2").setLevel(level)
    setup_logger(name="fvcore").setLevel(level)
    # our own messages (warnings about skipped inputs, the summary) are always shown
    setup_logger(name="human_parsing", abbrev_name="hp").setLevel(min(level, logging.INFO))


def main(argv: Optional[List[str]] = None, config_fns: Sequence[Callable] = (),
         predictor=None) -> RunSummary:
    """Parse ``argv``, run the action, log the summary; return it. Errors raise; logging is
    left as the caller configured it (:func:`run_cli` sets it up).

    ``predictor``: an already built ``ParsingPredictor`` for this config (skips building one).
    """
    args = create_argument_parser().parse_args(sys.argv[1:] if argv is None else argv)
    opts = list(args.opts)
    if args.domain:
        if args.domain not in LABEL_SPACES:
            raise ValueError(f"--domain {args.domain!r} is not a label space; known: {sorted(LABEL_SPACES)}")
        opts += ["MODEL.SEMANTIC.TEST_DOMAIN", args.domain]
    cfg = setup_config(args.cfg, args.model, opts, config_fns)
    summary = args.action.execute(args, cfg, predictor=predictor)
    logging.getLogger("human_parsing.apply").info(str(summary))
    return summary


def run_cli(config_fns: Sequence[Callable] = ()) -> None:
    """``main`` for a console entry point, under the tools' error policy
    (:mod:`human_parsing.utils.cli`): expected errors exit with status 2 and one line."""

    def _main(argv):
        _setup_logging(create_argument_parser().parse_args(argv).verbosity)
        main(argv, config_fns)

    sys.exit(run_tool(_main, "apply_net"))
