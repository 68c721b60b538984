"""``edgefm sweep``: run a sweep file's cells (resumable) locally or on a Dask cluster."""
from __future__ import annotations

from .args import nonneg_int

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this sub-command to an ``argparse`` sub-parser collection."""
    p = sub.add_parser("sweep", help="run a sweep file (seeds x methods x loads) on Dask, results in parquet")
    p.add_argument("file", help="sweep YAML file, e.g. data/sweeps/fig4.yaml")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="existing Dask scheduler, e.g. tcp://host:8786; its workers need edgefm installed, "
                        "no shared filesystem (default: a local cluster)")
    p.add_argument("--workers", type=nonneg_int, default=None, metavar="N",
                   help="local worker processes (default: CPU count; 0 = serial, in-process)")
    p.add_argument("--quick", action="store_true", help="use the file's quick block (few seeds, short horizon); "
                                                            "results go under results/quick/")
    p.add_argument("--out", default=None, help="output folder (default: results/sweeps/<name>, "
                                               "results/quick/sweeps/<name> with --quick)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run the sub-command; returns the exit status."""
    from ..experiments.sweep import load_sweep, run_sweep as _run, sweep_dir

    spec = load_sweep(args.file)
    df = _run(spec, quick=args.quick, scheduler=args.scheduler, workers=args.workers, out_dir=args.out)
    table = (df.groupby(["method", "load"], sort=False)[["on_time_ratio", "cost_total"]].mean()
             .rename(columns={"on_time_ratio": "on_time_ratio_mean", "cost_total": "cost_mean"}))
    table["runs"] = df.groupby(["method", "load"], sort=False).size()
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"{len(df)} cells; results in {sweep_dir(spec, args.out, args.quick) / 'results.parquet'}")
    return 0
