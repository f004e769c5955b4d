"""Run a tool of ``tools/`` (or a ``-m`` module) in a subprocess, as a user would."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = ROOT

__all__ = ["ROOT", "REPO", "run_tool", "run_tool_cli", "error_lines"]


def run_tool(args, env=None, timeout=600) -> subprocess.CompletedProcess:
    """``python tools/<args[0]> args[1:]`` (or ``python -m ...`` when ``args[0] == "-m"``) from
    the repository root with this checkout (and its project packages) first on ``PYTHONPATH``;
    ``env`` adds variables. stdout/stderr are captured as text."""
    cmd = [sys.executable] + (list(args) if args[0] == "-m" else [os.path.join(ROOT, "tools", args[0])] + list(args[1:]))
    full_env = dict(os.environ, OMP_NUM_THREADS="1")
    paths = [ROOT] + [os.path.join(ROOT, "projects", p) for p in ("GrapyML", "CorrPM", "SST")]
    full_env["PYTHONPATH"] = os.pathsep.join(paths + [full_env.get("PYTHONPATH", "")])
    full_env.update(env or {})
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)


def run_tool_cli(tool: str, *args: str, env=None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python tools/<tool>.py ARGS``: :func:`run_tool` with the tool named without ``.py``."""
    return run_tool([f"{tool}.py", *map(str, args)], env=env, timeout=timeout)


def error_lines(proc: subprocess.CompletedProcess, tool: str):
    """The ``<tool>: error:`` lines of a run's stderr."""
    return [ln for ln in proc.stderr.splitlines() if ln.startswith(f"{tool}: error:")]
