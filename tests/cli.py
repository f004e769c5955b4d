"""Run a tool of ``tools/`` as a user does: a subprocess with this checkout on the path."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tool_cli(tool: str, *args: str, env=None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python tools/<tool>.py ARGS`` from the repository root; stdout/stderr captured as text."""
    paths = [REPO] + [os.path.join(REPO, "projects", p) for p in ("GrapyML", "CorrPM", "SST")]
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), OMP_NUM_THREADS="1")
    full_env.update(env or {})
    return subprocess.run([sys.executable, os.path.join(REPO, "tools", f"{tool}.py"), *map(str, args)],
                          cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout)


def error_lines(proc: subprocess.CompletedProcess, tool: str):
    """The ``<tool>: error:`` lines of a run's stderr."""
    return [ln for ln in proc.stderr.splitlines() if ln.startswith(f"{tool}: error:")]
