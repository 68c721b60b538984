"""Where the project's files are: the clone's root, its shipped ``data/`` and the results folder.

The bottom floor of the package (imports nothing from ``edgefm``), so any module can ask for a
path without importing the package's top level.

Results (figures, summaries, sweep cells, the placement cache) go to, in this order:

1. ``$EDGEFM_RESULTS`` when set (the reproduction runner sets it for its notebooks);
2. the project's ``results/`` folder when the current directory is inside the project (the clone
   that holds this package), whatever the sub-folder (``notebooks/``, ``scripts/``, ...);
3. otherwise the user's data folder (``platformdirs.user_data_dir("edgefm")/results``, e.g.
   ``~/.local/share/edgefm/results`` on Linux), never an arbitrary current directory.

That folder (:func:`results_root`) holds the full run with the notebooks' default parameters.
Other runs write elsewhere inside it, so they never replace the full run's figures and summaries:

- a quick run (:func:`set_quick`) writes under ``quick/``;
- a notebook run with parameters other than the defaults of its ``parameters`` cell
  (:func:`set_params`, e.g. ``papermill 05_fig3_strategies.ipynb /tmp/05_seed3.ipynb -p SEED 3``) writes under
  ``params/<notebook stem>/<NAME=value,...>/`` (inside ``quick/`` when quick too). Parameters that
  do not change results (:data:`RESULT_NEUTRAL`: ``WORKERS``, a count of worker processes) do
  not count. The defaults are read from the notebook's ``parameters`` cell as committed
  (``git show HEAD:...``; the file itself outside a git checkout), so editing the cell in
  JupyterLab, which autosaves the file, still counts as a non-default run.

:func:`edgefm.plots.use_style`, called by every notebook's setup cell, sets both, and
:func:`edgefm.plots.savefig` stamps quick and non-default runs on their figures.

An explicit ``$EDGEFM_RESULTS`` is used as given, quick or not, default parameters or not: whoever
sets it chose the folder (``edgefm reproduce`` points it at ``results/quick`` for ``--quick`` and at
``results/runs/<NAME=value,...>`` for extra parameters). Figures are stamped all the same.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

__all__ = ["project_root", "data_path", "results_root", "results_dir", "set_quick", "is_quick",
           "notebook_path", "notebook_defaults", "set_params", "run_params", "params_label", "RESULT_NEUTRAL"]

_RUN: dict = {"quick": False, "notebook": None, "params": {}}

#: Parameters that do not change a notebook's results, whatever their value: ``WORKERS`` only sets
#: how many processes share the work (notebooks 05-08 and 10; every cell and run is seeded on its
#: own, so the numbers do not depend on it; in notebook 02, the solver study's cases, whose solves
#: are deterministic but for those stopped by a time limit, machine-dependent anyway).
#: ``QUICK`` is handled apart (:func:`set_quick`).
RESULT_NEUTRAL = frozenset({"QUICK", "WORKERS"})

_LABEL_MAX = 120  # characters of a parameter folder name; longer ones end in a hash of the whole


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
    """Where this run writes: :func:`results_root`, its ``quick/`` sub-folder in a quick run, and
    ``params/<notebook>/<NAME=value,...>`` inside that for a notebook run with non-default parameters.

    ``$EDGEFM_RESULTS``, when set, is used as given (the reproduction runner points it at
    ``results/quick`` itself for ``--quick``); a notebook run by hand with ``QUICK=True`` gets
    ``results/quick`` through :func:`set_quick` (called by :func:`edgefm.plots.use_style`), one with
    other parameters its own folder through :func:`set_params`.
    """
    base = results_root()
    if os.environ.get("EDGEFM_RESULTS"):  # an explicit folder is used as given
        return base
    if _RUN["quick"]:
        base = base / "quick"
    if _RUN["params"]:
        base = base / "params" / _RUN["notebook"] / params_label(_RUN["params"])
    return base


def set_quick(quick: bool) -> None:
    """Mark this process's run as quick (small grids): results go under ``quick/``, figures are stamped."""
    _RUN["quick"] = bool(quick)


def is_quick() -> bool:
    """Whether :func:`set_quick` marked this run as quick."""
    return _RUN["quick"]


def notebook_path(notebook: str) -> Path:
    """The project's notebook named by its stem (``"05_fig3_strategies"``), file name or number (``"05"``).

    Raises ``ValueError`` naming the notebooks there are when none matches.
    """
    nbdir = project_root() / "notebooks"
    name = str(notebook).removesuffix(".ipynb")
    found = sorted(nbdir.glob(f"{name}.ipynb")) if not name.isdigit() else sorted(nbdir.glob(f"{name.zfill(2)}_*.ipynb"))
    if len(found) != 1:
        have = ", ".join(p.stem for p in sorted(nbdir.glob("[0-9][0-9]_*.ipynb")))
        raise ValueError(f"no notebook {notebook!r} in {nbdir} (notebooks: {have})")
    return found[0]


def _committed_notebook_text(path: Path) -> str:
    """The notebook as committed at ``HEAD`` when the project is a git checkout tracking it, else the file."""
    root = project_root()
    try:
        rel = path.resolve().relative_to(root).as_posix()
        out = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{rel}"], capture_output=True, timeout=30)
        if out.returncode == 0 and out.stdout:
            return out.stdout.decode("utf-8")
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return path.read_text(encoding="utf-8")


def notebook_defaults(notebook: str, *, committed: bool = True) -> dict:
    """The default of every parameter in a notebook's ``parameters`` cell, ``{NAME: value}``.

    Parsed (not executed) from the cell's assignments (``SEED: int = 0  # ...``); every value must be
    a Python literal. ``committed`` reads the notebook as committed at ``HEAD`` (falls back to the
    file outside a git checkout), else the file as it is now.

    Examples
    --------
    >>> notebook_defaults("03")["METHOD"]
    'proposed'
    """
    path = notebook_path(notebook)
    doc = json.loads(_committed_notebook_text(path) if committed else path.read_text(encoding="utf-8"))
    cells = [c for c in doc["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{path.name}: needs exactly one cell tagged 'parameters', found {len(cells)}")
    src = cells[0]["source"]
    tree = ast.parse(src if isinstance(src, str) else "".join(src), filename=f"{path.name} parameters cell")
    out = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        else:
            raise ValueError(f"{path.name}: parameters cell line {node.lineno}: not a NAME = value assignment")
        try:
            out[target] = ast.literal_eval(value)
        except ValueError:
            raise ValueError(f"{path.name}: parameter {target}: default {ast.unparse(value)} is not a literal") from None
    return out


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - e.g. an array compared with a list: not the default
        return False


def set_params(notebook: str | None, values: Mapping | None = None) -> dict:
    """Record the parameter values of this run of ``notebook``; return the non-default ones.

    ``values`` maps parameter names to this run's values (a notebook passes them from its setup
    cell through :func:`edgefm.plots.use_style`). Each name must be declared in the notebook's
    ``parameters`` cell, and each declared one not in :data:`RESULT_NEUTRAL` must be given
    (``ValueError`` otherwise, naming them); names in :data:`RESULT_NEUTRAL` and values equal
    to the committed defaults (:func:`notebook_defaults`; ``1`` equals ``1.0``) are ignored. When
    any other differs, :func:`results_dir` becomes ``.../params/<notebook stem>/<NAME=value,...>``
    and :func:`edgefm.plots.savefig` stamps them. ``set_params(None)`` forgets them.
    """
    _RUN["notebook"], _RUN["params"] = None, {}
    if notebook is None:
        if values:
            raise ValueError("parameter values without the notebook that declares them")
        return {}
    values = dict(values or {})
    path = notebook_path(notebook)
    defaults = notebook_defaults(path.stem)
    unknown = [k for k in values if k not in defaults]
    if unknown:
        raise ValueError(f"{path.name} declares no parameter {', '.join(map(str, unknown))} "
                         f"(its parameters: {', '.join(defaults)})")
    missing = [k for k in defaults if k not in values and k not in RESULT_NEUTRAL]
    if missing:
        raise ValueError(f"{path.name}: the values passed lack parameter(s) {', '.join(missing)} "
                         "(pass every parameter that can change the results)")
    changed = {k: values[k] for k in defaults if k in values and k not in RESULT_NEUTRAL
               and not _same(values[k], defaults[k])}
    _RUN["notebook"], _RUN["params"] = path.stem, changed
    return dict(changed)


def run_params() -> dict:
    """The non-default parameters recorded by :func:`set_params` (empty for a default run)."""
    return dict(_RUN["params"])


def _fmt(v) -> str:
    if isinstance(v, (list, tuple)):
        return "+".join(_fmt(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def params_label(params: Mapping) -> str:
    """A folder name for parameter values: ``NAME=value`` joined by commas, in name order.

    Lists join their items with ``+``; characters other than letters, digits and ``.+-=,_`` become
    ``_``; a name longer than 120 characters is cut and ends with a hash of the whole.

    Examples
    --------
    >>> params_label({"SEED": 3, "DRAWS": 5})
    'DRAWS=5,SEED=3'
    >>> params_label({"NETWORKS": ["topozoo/Abilene"], "GAP": 0.001})
    'GAP=0.001,NETWORKS=topozoo_Abilene'
    """
    text = ",".join(f"{k}={_fmt(params[k])}" for k in sorted(params))
    label = re.sub(r"[^A-Za-z0-9.+\-=,_]", "_", text)
    if len(label) > _LABEL_MAX:
        import hashlib

        label = label[: _LABEL_MAX - 9] + "~" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return label
