"""Sphinx configuration of the edgefm site (``make docs``; sources here, output in ``docs/_build/html``).

Before Sphinx reads the sources, :func:`sitegen.prepare` writes the pages made from the package and
from a run's results into ``docs/_generated/`` (notebook pages from executed copies, the results
page, the API reference). Notebooks are never executed while building.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import sitegen  # noqa: E402

import edgefm  # noqa: E402

sitegen.prepare()

project = "edgefm"
author = "the edgefm authors"
copyright = "the edgefm authors, MIT licence"
release = version = edgefm.__version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "gallery", "Thumbs.db", ".DS_Store"]

# notebooks: render stored outputs only
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# API reference (numpydoc sections through napoleon)
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": True}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

html_theme = "furo"
html_title = f"edgefm {release}"
html_static_path = ["_static"]
html_css_files = ["edgefm.css"]
_mathjax = sitegen.local_mathjax(HERE / "_generated" / "static")  # after prepare(), which empties _generated
if _mathjax:
    html_static_path.append("_generated/static")
    mathjax_path = _mathjax


def _docstring(app, what, name, obj, options, lines):
    sitegen.plain_text_docstring(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _docstring, priority=600)  # after napoleon (500)
