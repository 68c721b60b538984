"""Shared helpers of the speed benchmarks: JSON output and running a git revision side by side.

``write_json(name, payload)`` writes ``results/bench/NAME.json`` (the figures a
benchmark prints, so that speed can be tracked across commits).

``worktree(rev)`` checks out ``rev`` in a temporary git worktree (removed on
exit); a benchmark then runs its measurement in a child process whose
``PYTHONPATH`` puts that tree's ``edgefm`` first (``child_env``), alternating
with the current tree so that both see the same machine load.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(*args, cwd=ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def head() -> str:
    """The current commit (short), ``+dirty`` when the tree has changes."""
    try:
        rev = _git("rev-parse", "--short", "HEAD")
        return rev + ("+dirty" if _git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_json(name: str, payload: dict) -> Path:
    """Write ``payload`` (plus commit, time, machine) to ``results/bench/NAME.json``; returns the path."""
    sys.path.insert(0, str(ROOT))
    from edgefm.plots import results_dir

    out = results_dir() / "bench" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"benchmark": name, "commit": head(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "python": platform.python_version(), "cpus": os.cpu_count()}
    out.write_text(json.dumps({**meta, **payload}, indent=1, default=float) + "\n")
    print(f"wrote {out}")
    return out


@contextlib.contextmanager
def worktree(rev: str):
    """A temporary detached worktree of ``rev``; yields its path and removes it afterwards."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    tmp = Path(tempfile.mkdtemp(prefix="edgefm-rev-"))
    path = tmp / "tree"
    _git("worktree", "add", "--detach", str(path), commit)
    try:
        yield path, commit[:9]
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True)
        with contextlib.suppress(OSError):
            tmp.rmdir()


def child_env(tree: Path) -> dict:
    """Environment whose ``import edgefm`` loads the package of ``tree`` (checked by the child)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # placements are solved by the same code in both trees; share this tree's cache
    env.setdefault("EDGEFM_RESULTS", str(ROOT / "results"))
    return env


def run_child(script: Path, tree: Path, args: list[str]) -> dict:
    """Run ``script --child ARGS`` with ``tree``'s edgefm; returns the JSON it prints last."""
    p = subprocess.run([sys.executable, str(script), "--child", *args], env=child_env(tree), cwd=ROOT,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{script.name} on {tree} failed:\n{p.stderr[-3000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    if Path(out["edgefm_file"]).resolve().parents[1] != tree.resolve():
        raise RuntimeError(f"child imported {out['edgefm_file']}, not the package of {tree}")
    return out
