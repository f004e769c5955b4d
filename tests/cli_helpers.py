"""Run a tool of ``tools/`` (or a ``-m`` module) in a subprocess, as a user would."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

__all__ = ["ROOT", "run_tool"]


def run_tool(args, env=None, timeout=300) -> subprocess.CompletedProcess:
    """``python tools/<args[0]> args[1:]`` (or ``python -m ...`` when ``args[0] == "-m"``) from
    the repository root with this worktree on ``PYTHONPATH``; ``env`` adds variables."""
    cmd = [sys.executable] + (list(args) if args[0] == "-m" else [os.path.join(ROOT, "tools", args[0])] + list(args[1:]))
    full_env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    full_env["PYTHONPATH"] = os.pathsep.join([ROOT, full_env.get("PYTHONPATH", "")])
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
