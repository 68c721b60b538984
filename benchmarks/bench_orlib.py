"""Reproduce OR-Library optima: pmed1-pmed10 (SCIP, HiGHS cross-check) and cap41-cap134 (SCIP).

Usage: python benchmarks/bench_orlib.py [--quick] [--time-limit SECONDS]
Prints instance, published optimum, ours, |diff|, seconds, status; medians; exits 1 if any optimum
is not reproduced (exact for integer pmed, relative 1e-6 for cap).
Data: data/orlib (J.E. Beasley, OR-Library, J. Oper. Res. Soc. 41(11), 1990; EJOR 21, 1985).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from edgefm.errors import EdgeFMError
from edgefm.placement.orlib import read_optima, solve_cap_file, solve_pmed_file

ROOT = Path(__file__).resolve().parents[1] / "data" / "orlib"
CAPS = [f"cap{k}{s}" for k in (4, 6, 7) for s in range(1, 5)] + ["cap51"] + \
       [f"cap{k}{s}" for k in (8, 9, 10, 11, 12, 13) for s in range(1, 5)]


import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

def run(name, fn, path, opt, solver, time_limit, exact):
    try:
        r = fn(path, solver=solver, time_limit=time_limit)
        ours, secs, status = r.objective, r.seconds, r.status
    except EdgeFMError as exc:
        ours, secs, status = float("nan"), float("nan"), f"error: {exc}"
    diff = abs(ours - opt)
    ok = status == "optimal" and (round(ours) == opt if exact else diff <= 1e-6 * abs(opt))
    print(f"{name:<8} {solver:<6} {opt:>14.3f} {ours:>14.3f} {diff:>10.3g} {secs:>8.2f}  {status}"
          f"{'' if ok else '  NOT REPRODUCED'}", flush=True)
    return ok, secs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pmed1-3 and cap41-44 only")
    ap.add_argument("--time-limit", type=float, default=None)
    args = ap.parse_args(argv)
    pm = [f"pmed{k}" for k in range(1, 4 if args.quick else 11)]
    caps = CAPS[:4] if args.quick else CAPS
    popt = read_optima(ROOT / "pmed" / "pmedopt.txt")
    copt = read_optima(ROOT / "cap" / "capopt.txt")
    print(f"{'instance':<8} {'solver':<6} {'published':>14} {'ours':>14} {'abs diff':>10} {'seconds':>8}  status")
    all_ok, times = True, {}
    for name in pm:
        for solver in ("scip", "highs"):
            ok, s = run(name, solve_pmed_file, ROOT / "pmed" / f"{name}.txt", popt[name], solver,
                        args.time_limit, exact=True)
            all_ok &= ok
            times.setdefault(f"pmed/{solver}", []).append(s)
    for name in caps:
        ok, s = run(name, solve_cap_file, ROOT / "cap" / f"{name}.txt", copt[name], "scip",
                    args.time_limit, exact=False)
        all_ok &= ok
        times.setdefault("cap/scip", []).append(s)
    for k, v in times.items():
        print(f"median seconds {k:<11} {np.nanmedian(v):.2f}  (max {np.nanmax(v):.2f}, n={len(v)})")
    print("ALL OPTIMA REPRODUCED" if all_ok else "SOME OPTIMA NOT REPRODUCED")
    _common.write_json("bench_orlib", dict(quick=args.quick, all_optima_reproduced=bool(all_ok),
                                           seconds={k: [float(x) for x in v] for k, v in times.items()}))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
