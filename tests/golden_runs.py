"""Golden runs: every method's exact counts and costs on a fixed set of runs (issue 13).

The set is 3 seeds x the 6 methods x loads 1 and 2, paper scenario, T = 200
arrival slots, each run through :func:`edgefm.experiments.runner.run_method`.
The core placements are recorded with the goldens and passed to ``run_method``
so that the check covers the engine and the controllers alone (a placement
solve under a time limit is not part of what must stay bit-identical).

``tests/test_goldens.py`` compares fresh runs with ``tests/data/goldens.json``
bit for bit (floats by ``repr``). Regenerate the file only in a commit that is
meant to change results, and say so in that commit::

    .venv/bin/python tests/golden_runs.py --write
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

PATH = Path(__file__).with_name("data") / "goldens.json"
SEEDS = (0, 1, 2)
LOADS = (1.0, 2.0)
METHODS = ("proposed", "propavg", "lbrr", "ga", "hpa", "static")
T = 200
#: Counters that are results (not timings).
COUNTERS = ("overflow", "clamped", "lost_jobs", "light_instance_slots", "shed", "fallback_uses")


def _digest(a) -> str:
    """SHA-256 of an array's float64/int64 bytes (bit-exact fingerprint)."""
    a = np.ascontiguousarray(a)
    a = a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64)
    return hashlib.sha256(a.tobytes()).hexdigest()[:24]


def _exact(v):
    """A JSON value that round-trips exactly: floats as ``repr`` strings."""
    if isinstance(v, dict):
        return {k: _exact(x) for k, x in v.items()}
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def scenario(seed: int, load: float):
    """The paper scenario drawn with ``seed`` at ``load``."""
    import edgefm

    return edgefm.load_scenario(edgefm.data_path("scenarios", "paper.yaml"), seed=seed, load=load)


def placements(seed: int, load: float) -> dict:
    """Core placements (solver name -> V x M list) of the methods for one draw."""
    from edgefm.control import REGISTRY
    from edgefm.experiments.runner import core_placement

    sc = scenario(seed, load)
    out = {}
    for solver in sorted({REGISTRY[m].placement for m in METHODS}):
        out[solver] = np.asarray(core_placement(sc, solver)[0].x, dtype=int).tolist()
    return out


def record(res) -> dict:
    """The exact fingerprint of one :class:`~edgefm.sim.result.RunResult`."""
    d = {
        "arrivals": res.arrivals, "on_time": res.on_time, "late": res.late, "unfinished": res.unfinished,
        "slots": res.slots,
        "per_type": {n: {k: v for k, v in r.items()} for n, r in res.per_type.items()},
        "cost_parts": dict(res.cost_parts), "cost_total": res.cost_total,
        "latency_ms": dict(res.latency_ms),
        "counters": {k: res.counters[k] for k in COUNTERS if k in res.counters},
        "task_latency": _digest(res.task_latency),
        "light_instances": _digest(res.light_instances),
        "waiting": _digest(res.waiting),
    }
    if hasattr(res, "shed"):  # dropped tasks (Decision.shed), absent before that field existed
        d["shed"] = res.shed
    return _exact(d)


def run_one(seed: int, load: float, method: str, placement) -> dict:
    """Run one golden cell and return its fingerprint."""
    from edgefm.experiments.runner import run_method

    res = run_method(scenario(seed, load), method, seed, n_slots=T, placement=np.asarray(placement, dtype=int))
    return record(res)


def key(seed: int, load: float, method: str) -> str:
    return f"seed={seed} load={load:g} method={method}"


def generate() -> dict:
    """Every golden cell: placements and fingerprints."""
    from edgefm.control import REGISTRY

    out = {"T": T, "placements": {}, "runs": {}}
    for seed in SEEDS:
        for load in LOADS:
            pl = placements(seed, load)
            out["placements"][f"seed={seed} load={load:g}"] = pl
            for m in METHODS:
                out["runs"][key(seed, load, m)] = run_one(seed, load, m, pl[REGISTRY[m].placement])
                print(key(seed, load, m), out["runs"][key(seed, load, m)]["on_time"], file=sys.stderr)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"write {PATH}")
    a = ap.parse_args(argv)
    emit(generate(), PATH, a.write)
    return 0


def emit(g: dict, path: Path, write: bool) -> None:
    """Write the goldens ``g`` to ``path`` (``write``), else print them."""
    text = json.dumps(g, indent=1, sort_keys=True) + "\n"
    if write:
        path.write_text(text)
        print(f"wrote {path}")
    else:
        print(text)


if __name__ == "__main__":
    raise SystemExit(main())
