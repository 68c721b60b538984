"""Pages of the documentation site made from the package and from a run's results, and the gallery.

``docs/conf.py`` calls :func:`prepare` before Sphinx reads its sources; it writes everything that is
not hand-written into ``docs/_generated/`` (ignored by git):

* one page per notebook, from its **executed** copy (no execution while building): a full run's copy
  when there is one, else a quick run's copy with a "quick run" banner, else the committed notebook
  (no outputs) with a "not run" banner; each page ends with every figure file the notebook saved;
* the results page: the headline table (method × load, on-time ratio and cost with 95 % intervals)
  and the main figures, from a run's results or, when there is none, from ``docs/gallery/``;
* the API reference: the flat ``edgefm`` namespace and one page per module or sub-package of
  ``edgefm``, found by walking the package (a moved or new module needs no edit here).

``python docs/sitegen.py gallery`` (``make gallery``) copies the headline figures (downscaled to at
most 300 KB) and the summaries of a full run into ``docs/gallery/`` with the commit they came from.

The results folder is ``$EDGEFM_DOCS_RESULTS`` if set, else ``results/`` of the clone. Inside it a
full run's notebooks are ``notebooks/`` with ``QUICK`` false; a quick run's are ``quick/notebooks/``
or ``notebooks/`` with ``QUICK`` true (papermill records the parameters in each executed copy).
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import io
import json
import math
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GALLERY = DOCS / "gallery"
#: Headline figures: the results page and the gallery show these, in this order.
HEADLINE_FIGURES = ("05_fig3_violins", "06_fig4_load", "05_ontime_vs_bound", "06_bound_by_load",
                    "10_versus_bound", "07_fault_ontime", "07_methods_under_failure",
                    "08_process_comparison", "09_scale")
#: Summaries whose ``methods`` block is a method × load table.
HEADLINE_SUMMARIES = ("05_summary", "06_summary")
MAX_PNG_BYTES = 300 * 1024
PAGE = "{}.md"  # a generated page's file name
#: Modules never imported to document them (``__main__`` would run the command line).
SKIP_MODULES = ("edgefm.__main__",)


class SiteError(Exception):
    """A problem with the inputs of the site or the gallery (one line)."""


# --------------------------------------------------------------------------- runs and notebooks
@dataclass
class Executed:
    """Which copy of one notebook a page is made from."""

    source: Path  # the committed notebook
    path: Path  # the copy rendered (executed, or the source itself)
    kind: str  # "full", "quick" or "not run"
    parameters: dict = field(default_factory=dict)
    figures_dir: Path | None = None


def results_root() -> Path:
    env = os.environ.get("EDGEFM_DOCS_RESULTS")
    return Path(env) if env else ROOT / "results"


def _parameters(nb_path: Path) -> dict:
    doc = json.loads(nb_path.read_text(encoding="utf-8"))
    return dict(doc.get("metadata", {}).get("papermill", {}).get("parameters") or {})


def executed_copy(source: Path, results: Path) -> Executed:
    """The best executed copy of ``source``: a full run's, else a quick run's, else none."""
    candidates = []
    for folder in (results, results / "quick"):
        p = folder / "notebooks" / source.name
        if p.is_file():
            params = _parameters(p)
            candidates.append(Executed(source, p, "quick" if params.get("QUICK") else "full", params,
                                       folder / "figures"))
    for want in ("full", "quick"):
        for c in candidates:
            if c.kind == want:
                return c
    return Executed(source, source, "not run")


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def saved_figures(source: Path) -> list[str]:
    """Stems of the figures a notebook saves (its ``savefig(fig, "NN_...")`` calls)."""
    from edgefm.reproduce import expected_figures

    return expected_figures(source)


def _md_cell(text: str, cell_id: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def _nondefault(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "QUICK"}


def banner(ex: Executed) -> str | None:
    """The admonition shown at the top of a notebook page, or None for a full run at defaults."""
    extra = _nondefault(ex.parameters)
    args = (", parameters " + ", ".join(f"`{k}={v!r}`" for k, v in extra.items())) if extra else ""
    if ex.kind == "quick":
        return ("```{admonition} Quick run\n:class: warning\n"
                "This page shows a **quick run** (`QUICK=True`: small grids, few draws, short horizons"
                f"{args}). Its numbers and figures check that the code runs; they are not the study's "
                "results. `make reproduce` makes the full run, and the site then shows it.\n```\n")
    if ex.kind == "not run":
        return ("```{admonition} Not run\n:class: danger\n"
                "No executed copy of this notebook was found, so it is shown without outputs. Run "
                "`make quick` or `make reproduce`, then `make docs`.\n```\n")
    if extra:
        return f"```{{admonition}} Parameters\n:class: note\nThis run used non-default parameters{args}.\n```\n"
    return None


def stage_notebook(ex: Executed, out_dir: Path, fig_out: Path) -> tuple[Path, list[str]]:
    """Write the page's notebook (banner first, saved figures last); return it and the figures shown."""
    doc = json.loads(ex.path.read_text(encoding="utf-8"))
    cells = doc["cells"]
    terminal_streams(cells)
    b = banner(ex)
    if b:  # after the title cell, so the page keeps its title
        cells.insert(1, _md_cell(b, "edgefm-docs-banner"))
    shown = []
    if ex.figures_dir is not None:
        for stem in saved_figures(ex.source):
            png = ex.figures_dir / f"{stem}.png"
            if png.is_file():
                shutil.copy2(png, fig_out / png.name)
                shown.append(png.name)
    if shown:
        parts = ["## Figures saved by this notebook\n",
                 f"The image files this run wrote (`{ex.figures_dir.name}/`), as the suite keeps them.\n"]
        for name in shown:
            parts.append(f"```{{figure}} ../figures/{name}\n:width: 90%\n\n`{name}`\n```\n")
        cells.append(_md_cell("\n".join(parts), "edgefm-docs-figures"))
    out = out_dir / ex.source.name
    out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return out, shown


def terminal_streams(cells: list[dict]) -> None:
    """Show each cell's printed output as a terminal or Jupyter leaves it, in place: consecutive pieces
    of one stream joined, and a line redrawn after ``\\r`` (a progress bar) shown in its last state
    only, not its first."""
    for cell in cells:
        outs, merged = cell.get("outputs") or [], []
        for o in outs:
            if o.get("output_type") != "stream":
                merged.append(o)
                continue
            text = o["text"] if isinstance(o["text"], str) else "".join(o["text"])
            if merged and merged[-1].get("output_type") == "stream" and merged[-1]["name"] == o["name"]:
                merged[-1] = dict(merged[-1], text=merged[-1]["text"] + text)
            else:
                merged.append(dict(o, text=text))
        shown = []
        for o in merged:
            if o.get("output_type") == "stream":
                lines = (([p for p in line.split("\r") if p] or [""])[-1] for line in o["text"].split("\n"))
                o = dict(o, text="\n".join(lines))
                if not o["text"].strip():
                    continue
            shown.append(o)
        if "outputs" in cell:
            cell["outputs"] = shown


# --------------------------------------------------------------------------- headline table
def _fmt(x: float, digits: int) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:,.{digits}f}"


def headline_rows(summaries: dict[str, dict], sweeps: Path | None = None) -> list[dict]:
    """Method × load rows of the headline summaries, with 95 % Student-t intervals.

    Parameters
    ----------
    summaries : dict
        Summary name → summary (as written by :func:`edgefm.experiments.summary.write_summary`).
    sweeps : path, optional
        Folder of the sweeps (``results/sweeps``). The intervals come from a sweep's
        ``results.parquet`` when its draws match the summary's counts; a row whose summary carries
        ``on_time_ci`` / ``cost_ci`` (the gallery's copy) uses those.

    Returns
    -------
    list of dict
        ``source, sweep, method, load, n, on_time, on_time_low, on_time_high, cost, cost_low,
        cost_high`` (intervals NaN when no table of the draws is at hand; clipped to the feasible
        range, ratios in [0, 1] and costs non-negative).
    """
    rows = []
    for name in HEADLINE_SUMMARIES:
        s = summaries.get(name)
        if not s or "methods" not in s:
            continue
        ci = _intervals(sweeps / s["sweep"] / "results.parquet") if sweeps and s.get("sweep") else {}
        for method, by_load in s["methods"].items():
            for load, d in by_load.items():
                key = (method, load)
                got = ci.get(key)
                if got is not None and got["n"] != d["n"]:
                    got = None  # the table on disk is from another run than the summary
                row = dict(source=name, sweep=s.get("sweep", ""), method=method, load=load, n=d["n"],
                           on_time=d["on_time_ratio"], cost=d["cost_total"])
                for metric, short, lo_cap, hi_cap in (("on_time_ratio", "on_time", 0.0, 1.0),
                                                      ("cost_total", "cost", 0.0, math.inf)):
                    lo_hi = d.get(f"{short}_ci") or (got[metric] if got else (math.nan, math.nan))
                    lo, hi = (math.nan if v is None else v for v in lo_hi)
                    # a t-interval of few draws can leave the feasible range: clip it (ratios in [0, 1], cost >= 0)
                    row[f"{short}_low"], row[f"{short}_high"] = max(lo, lo_cap), min(hi, hi_cap)
                rows.append(row)
    return rows


def _intervals(parquet: Path) -> dict:
    if not parquet.is_file():
        return {}
    import pandas as pd

    from edgefm.experiments.stats import mean_ci

    df = pd.read_parquet(parquet)
    out: dict = {}
    for metric in ("on_time_ratio", "cost_total"):
        for r in mean_ci(df, metric).itertuples():
            d = out.setdefault((str(r.method), f"{float(r.load):g}"), {"n": int(r.n)})
            d[metric] = (float(r.low), float(r.high))
    return out


def headline_markdown(rows: list[dict]) -> str:
    """The headline table as Markdown (on-time ratio and cost, each with its interval)."""
    if not rows:
        return "_No headline summaries found._\n"
    lines = ["| figure | method | load | draws | on-time ratio | 95 % interval | total cost | 95 % interval |",
             "|---|---|---:|---:|---:|---|---:|---|"]
    for r in rows:
        fig = {"05_summary": "Fig. 3", "06_summary": "Fig. 4"}.get(r["source"], r["source"])
        iv_t = f"[{_fmt(r['on_time_low'], 3)}, {_fmt(r['on_time_high'], 3)}]"
        iv_c = f"[{_fmt(r['cost_low'], 0)}, {_fmt(r['cost_high'], 0)}]"
        if not math.isfinite(r["on_time_low"]):
            iv_t = "–"
        if not math.isfinite(r["cost_low"]):
            iv_c = "–"
        lines.append(f"| {fig} | {r['method']} | {r['load']}× | {r['n']} | {_fmt(r['on_time'], 3)} | {iv_t} | "
                     f"{_fmt(r['cost'], 0)} | {iv_c} |")
    return "\n".join(lines) + "\n"


def read_summaries(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


# --------------------------------------------------------------------------- run provenance
def run_kind(results: Path) -> str:
    """``"full"``, ``"quick"`` or ``"none"``: the run whose summaries are in ``results/summaries``."""
    summ = read_summaries(results / "summaries") if (results / "summaries").is_dir() else {}
    if not summ:
        return "none"
    return "quick" if any(s.get("quick") for s in summ.values()) else "full"


def _manifest(results: Path) -> dict:
    p = results / "manifest.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


def _git_head() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# --------------------------------------------------------------------------- results page
def results_page(results: Path, fig_out: Path) -> str:
    kind = run_kind(results)
    if kind == "none" and not (GALLERY / "SOURCE.json").is_file() and run_kind(results / "quick") == "quick":
        results, kind = results / "quick", "quick"  # only a quick run (results/quick/, `make quick`)
    parts = ["# Results\n"]
    if kind in ("full", "quick"):
        summ, figs, sweeps = read_summaries(results / "summaries"), results / "figures", results / "sweeps"
        man = _manifest(results)
        per_nb = _notebook_commits(man, sorted({n[:2] for n in summ}))
        prov = _provenance({"commit": man.get("commit"), "notebooks": per_nb}, 10) if man.get("commit") else ""
        origin = f"the {kind} run in `results/`" + (f" ({prov[3:]})" if prov else "")
    elif (GALLERY / "SOURCE.json").is_file():
        src = json.loads((GALLERY / "SOURCE.json").read_text(encoding="utf-8"))
        summ, figs, sweeps = read_summaries(GALLERY / "summaries"), GALLERY, None
        kind = src.get("run", "full")
        origin = f"the committed gallery (`docs/gallery/`, a {kind} run {_provenance(src, 10)})"
    else:
        parts.append("```{admonition} No results yet\n:class: danger\nNo run's results and no committed gallery "
                     "were found. Run `make quick` (minutes) or `make reproduce` (about 30 minutes), then "
                     "`make docs`.\n```\n")
        return "\n".join(parts)
    if kind == "quick":
        parts.append("```{admonition} Quick run\n:class: warning\nThese numbers come from a **quick run** "
                     "(few draws, short horizons): they show that the pipeline works, not the study's "
                     "results. `make reproduce` makes the full run.\n```\n")
    parts.append(f"Headline numbers and figures from {origin}. Each method runs on the same scenario draws and "
                 "arrivals (paired); the intervals are 95 % Student-t intervals of the mean over draws "
                 "(`edgefm.experiments.stats.mean_ci`), clipped to the feasible range. Cost is in the model's cost units (E6–E7).\n")
    parts.append("## Headline table\n")
    parts.append(headline_markdown(headline_rows(summ, sweeps)))
    parts.append("## Main figures\n")
    for stem in HEADLINE_FIGURES:
        png = figs / f"{stem}.png"
        if png.is_file():
            shutil.copy2(png, fig_out / png.name)
            parts.append(f"```{{figure}} figures/{png.name}\n:width: 95%\n\n`{png.name}` (notebook "
                         f"{stem[:2]})\n```\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- API pages
def api_modules() -> list[str]:
    """Every module and sub-package of ``edgefm`` (walking the package; ``__main__`` excluded)."""
    import edgefm

    names = [m.name for m in pkgutil.walk_packages(edgefm.__path__, "edgefm.")]
    return sorted(n for n in names if n not in SKIP_MODULES and not n.rsplit(".", 1)[-1].startswith("_"))


def api_pages() -> dict[str, str]:
    """Page name → Markdown: ``index`` (flat namespace + contents) and one page per top-level entry."""
    import edgefm

    mods = api_modules()
    tops = sorted({".".join(m.split(".")[:2]) for m in mods})
    pages = {}
    for top in tops:
        subs = [m for m in mods if m.startswith(top + ".")]
        body = [f"# `{top}`\n", f"```{{eval-rst}}\n.. automodule:: {top}\n   :members:\n   :ignore-module-all:\n```\n"]
        for m in subs:
            body.append(f"## `{m}`\n\n```{{eval-rst}}\n.. automodule:: {m}\n   :members:\n   :ignore-module-all:\n```\n")
        pages[top] = "\n".join(body)
    rows = ["| name | what | defined in |", "|---|---|---|"]
    lazy = getattr(edgefm, "_LAZY", {})
    for name in edgefm.__all__:
        # the object the flat name stands for (``edgefm.network`` is the function of module
        # ``edgefm.network``, which shadows it in the package once the module is imported)
        obj = getattr(importlib.import_module(lazy[name]), name) if name in lazy else getattr(edgefm, name)
        is_code = callable(obj) and hasattr(obj, "__qualname__")
        mod = lazy.get(name) or (obj.__module__ if is_code else "edgefm")
        if is_code and obj.__module__.startswith(mod):
            mod = obj.__module__  # where it is defined, not the package that re-exports it
        first = summary_line(obj, name, mod).replace("|", "\\|")
        top = ".".join(mod.split(".")[:2])
        ref = f"{{py:obj}}`{mod} <{mod}.{name}>`" if top in pages else "this page"
        rows.append(f"| `edgefm.{name}` | {first} | {ref} |")
    index = ["# API reference\n",
             "`import edgefm` gives a flat namespace of the functions and classes most analyses need; heavy "
             "modules load on first use. Each name below is documented on the page of the module that "
             "defines it.\n", "## The flat `edgefm` namespace\n", "\n".join(rows) + "\n",
             "```{eval-rst}\n.. autofunction:: edgefm.data_path\n```\n",
             "## Modules and sub-packages\n", "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(tops) + "\n```\n"]
    pages["index"] = "\n".join(index)
    return pages


#: Cross-reference roles of the package's docstrings (``:func:`x```, ``:py:class:`~a.B```, ...).
_ROLE = re.compile(r":(?:py:)?(func|class|meth|attr|data|const|exc|obj|mod):`(~?)([^`<]*?)\s*(?:<([^>`]+)>)?`")


def summary_line(obj, name: str, module: str) -> str:
    """What the API index says about ``obj`` (named ``name`` in ``module``): one sentence, as MyST.

    The first sentence of the first paragraph of its docstring (which may span lines): a module's own
    docstring; for data (a tuple, a dict) the ``#:`` comment above its definition, as autodoc reads
    it. Cross-reference roles become MyST roles with the target made absolute (resolved in
    ``module``), so Sphinx links them; ``~`` shows the last name only, as in reST.
    """
    if inspect.ismodule(obj) or inspect.isroutine(obj) or inspect.isclass(obj) or callable(obj):
        doc = inspect.getdoc(obj) or ""
    else:
        doc = _attr_doc(module, name)
    return _myst_roles(first_sentence(doc), module)


def _attr_doc(module: str, name: str) -> str:
    from sphinx.pycode import ModuleAnalyzer, PycodeError

    try:
        docs = ModuleAnalyzer.for_module(module).find_attr_docs()
    except PycodeError:
        return ""
    lines = docs.get(("", name), [])
    return "\n".join(ln for ln in lines if not ln.strip().startswith(":meta "))


def first_sentence(doc: str) -> str:
    """The first sentence of ``doc``'s first paragraph, on one line (the paragraph when it has no
    sentence end). A sentence ends at ``.``, ``!`` or ``?`` followed by a space and no lower-case
    letter ("e.g. one" goes on), outside brackets and literals ("(Eq. E20; ...)" goes on)."""
    para = " ".join(ln.strip() for ln in doc.strip().split("\n\n")[0].splitlines())
    depth, literal = 0, False
    for i, ch in enumerate(para):
        if ch == "`":
            literal = not literal
        elif literal:
            continue
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in ".!?" and depth == 0 and i + 1 < len(para) and para[i + 1] == " ":
            rest = para[i + 1:].lstrip()
            if rest and not rest[0].islower():
                return para[:i + 1]
    return para


def _myst_roles(text: str, module: str) -> str:
    def sub(m: re.Match) -> str:
        role, tilde, title, target = m.group(1), m.group(2), m.group(3).strip(), m.group(4)
        if target is None:  # :role:`target` or :role:`~target`
            target, title = title, (title.rsplit(".", 1)[-1] if tilde else title)
        return f"{{py:{role}}}`{title} <{_absolute(target.lstrip('~'), module)}>`"

    return _ROLE.sub(sub, text)


def _absolute(target: str, module: str) -> str:
    """``target`` as written in a docstring of ``module``, as the full name Sphinx documents it under."""
    if target.startswith("edgefm."):
        return target
    head, _, rest = target.partition(".")
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return target
    obj = getattr(mod, head, None)
    if obj is None:
        return target
    if inspect.ismodule(obj):
        base = obj.__name__
    elif getattr(obj, "__module__", None) and getattr(obj, "__qualname__", None):
        base = f"{obj.__module__}.{obj.__qualname__}"  # where it is defined, not where it is imported
    else:
        base = f"{module}.{head}"  # data: documented where it is assigned
    return f"{base}.{rest}" if rest else base


# --------------------------------------------------------------------------- MathJax
def local_mathjax(static: Path) -> str | None:
    """Copy MathJax 3 (``tex-chtml.js`` and its fonts) from the ``django-static-mathjax`` wheel into
    ``static/mathjax``; return the script's path relative to ``static``, or None when not installed
    (the site then loads MathJax from Sphinx's default address, which needs a network)."""
    try:
        import mathjax  # the package django-static-mathjax installs: MathJax's files, no Django
    except ImportError:
        return None
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        return None
    dst = static / "mathjax"
    fonts = Path("output") / "chtml" / "fonts" / "woff-v2"
    (dst / fonts).mkdir(parents=True, exist_ok=True)
    shutil.copy2(es5 / "tex-chtml.js", dst / "tex-chtml.js")
    for f in (es5 / fonts).iterdir():
        shutil.copy2(f, dst / fonts / f.name)
    return "mathjax/tex-chtml.js"


# --------------------------------------------------------------------------- docstrings
def plain_text_docstring(lines: list[str]) -> None:
    """Make the package's plain-text notation valid reStructuredText, in place (autodoc hook).

    The docstrings write absolute values and norms as ``|x|`` and set formulas as indented blocks
    with aligned continuation lines. reStructuredText reads ``|x|`` as a substitution and an
    indented block with deeper continuation lines as a broken block quote, so outside literals a
    ``|`` is escaped, and such a block becomes a literal block (it is shown as written).
    """
    import re

    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        prev_blank = not out or not out[-1].strip()
        indent = len(line) - len(line.lstrip())
        if prev_blank and line.strip() and indent > _base_indent(out):
            j = i
            while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) >= indent):
                j += 1
            block = lines[i:j]
            deeper = any(len(b) - len(b.lstrip()) > indent for b in block if b.strip())
            literal_before = out and len(out) > 1 and out[-2].rstrip().endswith("::")
            if deeper and not literal_before and not line.lstrip().startswith((">>>", "-", "*", ":")):
                out += ["::", ""] + block
                i = j
                continue
            if literal_before:
                out += block
                i = j
                continue
        if not line.lstrip().startswith(("|", "+-", "+=")):
            parts = re.split(r"(``.*?``|`[^`]*`)", line)
            line = "".join(p if p.startswith("`") else p.replace("|", "\\|") for p in parts)
        out.append(line)
        i += 1
    lines[:] = out


def _base_indent(out: list[str]) -> int:
    for line in reversed(out):
        if line.strip():
            return len(line) - len(line.lstrip())
    return 0


# --------------------------------------------------------------------------- prepare
def prepare(out: Path | None = None, results: Path | None = None) -> dict:
    """Write the generated pages under ``out`` (default ``docs/_generated``); return what was staged."""
    out = Path(out) if out is not None else DOCS / "_generated"
    results = Path(results) if results is not None else results_root()
    if out.exists():
        shutil.rmtree(out)
    nb_dir, fig_dir, api_dir = out / "notebooks", out / "figures", out / "api"
    for d in (nb_dir, fig_dir, api_dir):
        d.mkdir(parents=True)
    staged = {"notebooks": {}, "api": []}
    for src in notebooks():
        ex = executed_copy(src, results)
        _, shown = stage_notebook(ex, nb_dir, fig_dir)
        staged["notebooks"][src.stem] = {"kind": ex.kind, "from": str(ex.path), "figures": shown}
    (out / PAGE.format("notebooks")).write_text(
        "# Notebooks\n\nEach notebook as executed by the last run (no execution while the site is built).\n\n"
        "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(f"notebooks/{p.stem}" for p in notebooks()) + "\n```\n",
        encoding="utf-8")
    (out / PAGE.format("results")).write_text(results_page(results, fig_dir), encoding="utf-8")
    for name, text in api_pages().items():
        (api_dir / PAGE.format(name)).write_text(text, encoding="utf-8")
        staged["api"].append(name)
    (out / "staged.json").write_text(json.dumps(staged, indent=1), encoding="utf-8")
    return staged


# --------------------------------------------------------------------------- gallery
def _png_under(src: Path, dst: Path, limit: int = MAX_PNG_BYTES) -> int:
    """Copy a PNG, downscaling (and quantising, if needed) until it is at most ``limit`` bytes."""
    from PIL import Image

    data = src.read_bytes()
    if len(data) <= limit:
        dst.write_bytes(data)
        return len(data)
    with Image.open(src) as im:
        im.load()
        base = im.convert("RGBA") if im.mode not in ("RGB", "RGBA") else im.copy()
    scale = 1.0
    for _ in range(12):
        w, h = max(1, int(base.width * scale)), max(1, int(base.height * scale))
        im = base.resize((w, h), Image.LANCZOS) if scale < 1 else base
        for img in (im, im.convert("RGB").quantize(colors=256)):
            buf = io.BytesIO()
            img.save(buf, format="PNG", optimize=True)
            if buf.tell() <= limit:
                dst.write_bytes(buf.getvalue())
                return buf.tell()
        scale *= 0.8
    raise SiteError(f"{src.name}: cannot bring the PNG under {limit} bytes")


def make_gallery(results: Path, out: Path = GALLERY, allow_quick: bool = False, readme: Path | None = None) -> dict:
    """Copy a run's headline figures and summaries into ``out`` and record where they came from.

    Parameters
    ----------
    results : path
        A run's results folder (``results/``).
    out : path
        The gallery folder (replaced).
    allow_quick : bool
        Accept a quick run (for testing the machinery; a quick run is never the committed gallery).
    readme : path, optional
        A README whose block between ``<!-- gallery:start -->`` and ``<!-- gallery:end -->`` is
        replaced by the headline table and two figures.

    Returns
    -------
    dict
        The provenance record written to ``out/SOURCE.json``.

    Raises
    ------
    SiteError
        No summaries, a missing headline figure, or a quick run without ``allow_quick``.
    """
    results = Path(results)
    kind = run_kind(results)
    if kind == "none":
        raise SiteError(f"{results}/summaries: no summaries; run `make reproduce` first")
    if kind == "quick" and not allow_quick:
        raise SiteError(f"{results}: the summaries are from a quick run; the gallery takes a full run "
                        "(`make reproduce`)")
    missing = [s for s in HEADLINE_FIGURES if not (results / "figures" / f"{s}.png").is_file()]
    if missing:
        raise SiteError(f"{results}/figures: missing headline figure(s) {', '.join(missing)}")
    if out.exists():
        shutil.rmtree(out)
    (out / "summaries").mkdir(parents=True)
    sizes = {s: _png_under(results / "figures" / f"{s}.png", out / f"{s}.png") for s in HEADLINE_FIGURES}
    summ = read_summaries(results / "summaries")
    rows = headline_rows(summ, results / "sweeps")
    for name, s in summ.items():  # the gallery's summaries keep the intervals the sweeps gave
        s = json.loads(json.dumps(s))
        for r in rows:
            if r["source"] == name:
                d = s["methods"][r["method"]][r["load"]]
                d["on_time_ci"] = [_none(r["on_time_low"]), _none(r["on_time_high"])]
                d["cost_ci"] = [_none(r["cost_low"]), _none(r["cost_high"])]
        (out / "summaries" / f"{name}.json").write_text(json.dumps(s, indent=2, sort_keys=True, allow_nan=False),
                                                        encoding="utf-8")
    man = _manifest(results)
    used = sorted({n[:2] for n in list(HEADLINE_FIGURES) + list(summ)})
    per_nb = _notebook_commits(man, used)
    source = {"run": kind, "commit": man.get("commit"), "run_created": man.get("created"),
              "notebooks": per_nb, "gallery_commit": _git_head(), "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "figures": {f"{s}.png": n for s, n in sizes.items()}, "summaries": sorted(summ)}
    (out / "SOURCE.json").write_text(json.dumps(source, indent=2), encoding="utf-8")
    table = headline_markdown(rows)
    (out / "README.md").write_text(
        f"# Gallery\n\nHeadline figures and summaries of the {kind} run {_provenance(source)} "
        f"(made by `make gallery`; provenance in `SOURCE.json`).\n\n{table}", encoding="utf-8")
    if readme is not None:
        _update_readme(Path(readme), out, table, source)
    return source


def _notebook_commits(man: dict, prefixes) -> dict:
    """Notebook file → commit of the run that made its current outputs (the manifest keeps one entry
    per notebook), for the notebooks numbered ``prefixes``."""
    out = {}
    for e in man.get("notebooks", []):
        name = str(e.get("notebook", ""))
        if name[:2] in prefixes:
            out[name] = e.get("commit") or man.get("commit")
    return out


def _provenance(source: dict, short: int = 40) -> str:
    """``at commit `X``` or, when the notebooks ran at different commits, each commit with its notebooks."""
    by = {}
    for nb, c in sorted((source.get("notebooks") or {}).items()):
        by.setdefault(str(c)[:short], []).append(nb[:2])
    if len(by) <= 1:
        return f"at commit `{str(next(iter(by), source['commit']))[:short]}`"
    parts = [f"`{c}` (notebooks {', '.join(nbs)})" for c, nbs in by.items()]
    return "at commits " + ", ".join(parts[:-1]) + " and " + parts[-1]


def _none(x):
    return None if x is None or not math.isfinite(x) else x


def _update_readme(readme: Path, gallery: Path, table: str, source: dict) -> None:
    start, end = "<!-- gallery:start -->", "<!-- gallery:end -->"
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SiteError(f"{readme}: no '{start}' ... '{end}' block to fill")
    rel = os.path.relpath(gallery, readme.parent)
    block = (f"{start}\nFrom the {source['run']} run {_provenance(source, 10)} "
             f"(`{rel}/`, made by `make gallery`):\n\n{table}\n"
             f"![Fig. 3: on-time ratio and cost per method]({rel}/05_fig3_violins.png)\n\n"
             f"![Fig. 4: the methods as the load grows]({rel}/06_fig4_load.png)\n{end}")
    head, rest = text.split(start, 1)
    readme.write_text(head + block + rest.split(end, 1)[1], encoding="utf-8")


# --------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python docs/sitegen.py", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="write docs/_generated (conf.py does this on every build)")
    p.add_argument("--results", type=Path, default=None)
    g = sub.add_parser("gallery", help="copy a full run's headline figures and summaries into docs/gallery")
    g.add_argument("--results", type=Path, default=None, help="results folder (default results/)")
    g.add_argument("--out", type=Path, default=GALLERY)
    g.add_argument("--allow-quick", action="store_true", help="accept a quick run (testing only)")
    g.add_argument("--readme", type=Path, default=ROOT / "README.md", help="README whose gallery block to fill")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "prepare":
            staged = prepare(results=args.results)
            print(f"staged {len(staged['notebooks'])} notebooks and {len(staged['api'])} API pages")
        else:
            src = make_gallery(args.results or results_root(), args.out, args.allow_quick, args.readme)
            print(f"gallery: {len(src['figures'])} figures, {len(src['summaries'])} summaries from the "
                  f"{src['run']} run {_provenance(src, 10)} -> {args.out}")
    except SiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
