"""Figures: one style, one :func:`savefig`, a function per figure.

Only this sub-package imports matplotlib and seaborn. Figure functions take
tidy tables or result objects and return a :class:`matplotlib.figure.Figure`;
notebooks call them and then :func:`savefig`.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["results_dir", "figures_dir", "savefig", "use_style", "method_palette", "METHOD_ORDER"]

#: Methods in reporting order; each keeps its colour (tab10 index) in every figure.
METHOD_ORDER = ("proposed", "propavg", "lbrr", "ga", "hpa", "static", "edgefm")


def results_dir() -> Path:
    """The results folder: ``$EDGEFM_RESULTS`` if set, else ``results/`` at the
    project root (the folder holding ``pyproject.toml``), else ``./results``."""
    env = os.environ.get("EDGEFM_RESULTS")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for p in (here, *here.parents):
        if (p / "pyproject.toml").exists() and (p / "edgefm").is_dir():
            return p / "results"
    return here / "results"


def figures_dir() -> Path:
    """``results_dir() / "figures"``, created on demand."""
    d = results_dir() / "figures"
    d.mkdir(parents=True, exist_ok=True)
    return d


def use_style() -> None:
    """Apply the project's plotting style (seaborn ``whitegrid``, readable sizes)."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    mpl.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight"})


def savefig(fig, name: str, *, outdir: str | os.PathLike | None = None) -> list[Path]:
    """Save ``fig`` as ``NAME.png`` and ``NAME.pdf`` and return both paths.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        File stem, e.g. ``"01_ec_curves"``; by convention prefixed with the
        notebook number.
    outdir : path, optional
        Defaults to :func:`figures_dir`. The reproduction runner lists every file
        written here in ``results/manifest.json``.
    """
    d = Path(outdir) if outdir is not None else figures_dir()
    d.mkdir(parents=True, exist_ok=True)
    paths = [d / f"{name}.png", d / f"{name}.pdf"]
    for p in paths:
        fig.savefig(p)
    return paths


def method_palette(methods=None) -> dict:
    """One colour per method, the same in every figure: tab10 by position in :data:`METHOD_ORDER`
    (``edgefm`` is tab10's seventh, pink); other names take the next free colours."""
    import seaborn as sns

    base = sns.color_palette("tab10", 10)
    pal = {m: base[i] for i, m in enumerate(METHOD_ORDER)}
    extra = [m for m in (methods or ()) if m not in pal]
    for j, m in enumerate(extra):
        pal[m] = base[(len(METHOD_ORDER) + j) % 10]
    return pal if methods is None else {m: pal[m] for m in methods}
