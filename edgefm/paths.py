"""Where the project's files are: the clone's root, its shipped ``data/`` and the results folder.

The bottom floor of the package (imports nothing from ``edgefm``), so any module can ask for a
path without importing the package's top level.

Results (figures, summaries, sweep cells, the placement cache) go to, in this order:

1. ``$EDGEFM_RESULTS`` when set (the reproduction runner sets it for its notebooks);
2. the project's ``results/`` folder when the current directory is inside the project (the clone
   that holds this package), whatever the sub-folder (``notebooks/``, ``scripts/``, ...);
3. otherwise the user's data folder (``platformdirs.user_data_dir("edgefm")/results``, e.g.
   ``~/.local/share/edgefm/results`` on Linux), never an arbitrary current directory.

A quick run (:func:`set_quick`) writes under ``quick/`` inside that folder, so it never replaces
the figures and summaries of a full run.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "data_path", "results_root", "results_dir", "set_quick", "is_quick"]

_RUN = {"quick": False}


def project_root() -> Path:
    """The clone's root folder (holds ``notebooks/``, ``data/`` and ``pyproject.toml``)."""
    return Path(__file__).resolve().parent.parent


def data_path(*parts: str) -> Path:
    """Path of a file shipped in the project's ``data/`` folder.

    Looks for ``data/`` beside the package (an editable install or a clone).

    Examples
    --------
    >>> data_path("scenarios", "paper.yaml").name
    'paper.yaml'
    """
    return project_root().joinpath("data", *parts)


def results_root() -> Path:
    """The results folder of full runs (rules 1–3 of the module doc), not created."""
    env = os.environ.get("EDGEFM_RESULTS")
    if env:
        return Path(env)
    root = project_root()
    here = Path.cwd().resolve()
    if (root / "pyproject.toml").is_file() and (here == root or root in here.parents):
        return root / "results"
    import platformdirs

    return Path(platformdirs.user_data_dir("edgefm", appauthor=False)) / "results"


def results_dir() -> Path:
    """Where this run writes: :func:`results_root`, or its ``quick/`` sub-folder in a quick run.

    ``$EDGEFM_RESULTS``, when set, is used as given (the reproduction runner points it at
    ``results/quick`` itself for ``--quick``); a notebook run by hand with ``QUICK=True`` gets
    ``results/quick`` through :func:`set_quick` (called by :func:`edgefm.plots.use_style`).
    """
    base = results_root()
    if _RUN["quick"] and not os.environ.get("EDGEFM_RESULTS"):  # an explicit folder is used as given
        return base / "quick"
    return base


def set_quick(quick: bool) -> None:
    """Mark this process's run as quick (small grids): results go under ``quick/``, figures are stamped."""
    _RUN["quick"] = bool(quick)


def is_quick() -> bool:
    """Whether :func:`set_quick` marked this run as quick."""
    return _RUN["quick"]
