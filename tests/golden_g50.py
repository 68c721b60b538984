"""Golden germany50 run of ``proposed`` (issue 13: 100 nodes, exact speed-ups only).

One 100-node run (sndlib/germany50, one edge device per site, one FM, seed 0,
load 1, T = 80 arrival slots, notebook 09's scenario family) recorded before
the 100-node speed-ups of ``proposed``. The core placement is stored with the
golden (a SCIP solve under a time limit is not part of what must stay
identical), and besides the :class:`~edgefm.sim.result.RunResult` fingerprint of
:func:`golden_runs.record` the file holds a digest of every slot's decision
(light counts and routes), so that a change of a single decision shows.

``tests/test_goldens.py::test_germany50_equals_golden`` compares a fresh run
with ``tests/data/golden_g50.json``. Regenerate only in a commit meant to
change results::

    .venv/bin/python tests/golden_g50.py --write
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

import golden_runs as gr

PATH = Path(__file__).with_name("data") / "golden_g50.json"
SEED = 0
T = 80


class Recorder:
    """Wraps a controller and hashes each slot's decision (counts, routes) into one digest."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name
        self.h = hashlib.sha256()
        self.n = 0

    def reset(self, ctx):
        self.inner.reset(ctx)

    def decide(self, state):
        d = self.inner.decide(state)
        self.h.update(np.ascontiguousarray(d.light_counts, dtype=np.int64).tobytes())
        self.h.update(np.ascontiguousarray(d.route, dtype=np.int64).tobytes())
        self.n += 1
        return d


def scenario():
    """The germany50 scenario of notebook 09 (seed 0, load 1)."""
    from edgefm.scenario import sample_scenario
    from edgefm.scenario.topology import topology_spec

    return sample_scenario(topology_spec("sndlib/germany50", ed_per_site=1, n_fm=1), seed=SEED, load=1.0)


def placement(sc) -> np.ndarray:
    """The E14 bounded SCIP placement, as bench_control.py solves it."""
    import warnings

    from edgefm.placement import place

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(place(sc, solver="scip", variant="bounded", gap=0.01, time_limit=60.0).x, dtype=int)


def run(x, **overrides) -> dict:
    """Simulate ``proposed`` (with controller ``overrides``) on the golden run; returns its fingerprint."""
    from edgefm.control import make_controller
    from edgefm.sim.engine import simulate
    from edgefm.workload import poisson_arrivals

    sc = scenario()
    ctrl = Recorder(make_controller("proposed", sc, **overrides))
    res = simulate(sc, poisson_arrivals(sc, seed=SEED, n_slots=T), np.asarray(x, dtype=int), ctrl, seed=SEED)
    out = gr.record(res)
    out["decisions"] = ctrl.h.hexdigest()[:24]
    out["decided_slots"] = ctrl.n
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"write {PATH}")
    ap.add_argument("--placement", help="a .npy placement (skips the SCIP solve)")
    a = ap.parse_args(argv)
    x = np.load(a.placement) if a.placement else placement(scenario())
    gr.emit({"T": T, "seed": SEED, "placement": np.asarray(x, dtype=int).tolist(), "run": run(x)}, PATH, a.write)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    raise SystemExit(main())
