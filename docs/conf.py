"""Sphinx configuration of the behavnb documentation (build it with ``python docs/build.py``).

Sources: ``index.md``, ``getting_started.md`` (includes the README), ``design.md``, ``api.md`` (autosummary
pages generated into ``api/``) and ``notebooks/NN_*.ipynb``, the executed notebooks that ``build.py`` copies
in. Sphinx never executes a notebook (``nb_execution_mode = "off"``). The HTML works offline: the furo theme
ships its assets, no MathJax is needed, widget outputs are static snapshots (made by ``build.py`` with
``behavnb.report.offline_notebook``) and plotly.js is served from ``_static/`` to the pages that need it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# the checkout's package first when sphinx-build is run on docs/ directly (build.py sets PYTHONPATH itself)
_ROOT = Path(__file__).resolve().parents[1]
if (_ROOT / "behavnb" / "__init__.py").is_file():
    sys.path.insert(0, str(_ROOT))

import behavnb  # noqa: E402

project = "behavnb"
author = "behavnb developers"
copyright = "behavnb developers, BSD-3-Clause"
version = release = behavnb.__version__

extensions = [
    "myst_nb",  # Markdown (MyST) and executed .ipynb sources
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # numpydoc-style docstrings
    "sphinx.ext.viewcode",
]

# .rst first: autosummary writes its generated API pages (api/*.rst) with the first suffix
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**/.ipynb_checkpoints", ".gitignore", "build.py", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
root_doc = "index"

# strict but sensible: every warning fails the build (build.py passes -W --keep-going); no nitpicky
# checking of every type name in signatures, no numpydoc validation of each docstring's sections
nitpicky = False

# --- API reference -----------------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = False  # torch.nn.Module's own docstrings (forward, ...) are not ours
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_preprocess_types = False
napoleon_attr_annotations = True

# --- notebooks ------------------------------------------------------------------------------------------------
nb_execution_mode = "off"  # the notebooks come executed, from `behavnb run --profile fast`
nb_output_stderr = "show"
nb_merge_streams = True
# no require.js / ipywidgets bundle from a CDN. build.py already replaced widget views by static snapshots;
# a view left with no fallback at all stays an inert script tag (shows nothing) instead of loading one
nb_ipywidgets_js = {}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# --- HTML -------------------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"behavnb {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False


_PLOTLY_JS = "plotly.min.js"


def _plotly_on_page(app, pagename, templatename, context, doctree):
    """Serve plotly.js (from the plotly package, no CDN) to the pages that draw a plotly figure."""
    if "Plotly.newPlot" in context.get("body", ""):
        # in <head> (furo puts the scripts of add_js_file at the end of <body>, after the figures' own scripts)
        src = context["pathto"](f"_static/{_PLOTLY_JS}", 1)
        context["metatags"] = context.get("metatags", "") + f'\n<script src="{src}"></script>'


def _copy_plotly(app, exception):
    """Copy plotly.js into ``_static/`` when a page loads it."""
    out = Path(app.outdir)
    if exception is None and app.builder.format == "html" and any(
            f"_static/{_PLOTLY_JS}" in page.read_text(encoding="utf-8") for page in out.rglob("*.html")):
        import shutil

        import plotly

        shutil.copy2(Path(plotly.__file__).parent / "package_data" / _PLOTLY_JS, out / "_static" / _PLOTLY_JS)


def setup(app):
    # the README's ```csv blocks: Pygments has no csv lexer; show them as plain text, not as a warning
    from pygments.lexers.special import TextLexer

    app.add_lexer("csv", TextLexer)
    app.connect("html-page-context", _plotly_on_page)
    app.connect("build-finished", _copy_plotly)
