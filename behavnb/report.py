"""HTML pages of executed notebooks that work offline.

The running floor, last in the flow (... export -> **report**/series/batch/cli): ``series`` calls it after
the notebooks ran.

nbconvert's lab template loads require.js, MathJax and the ipywidgets HTML manager from CDNs, and it
cannot show plotly's ``application/vnd.plotly.v1+json`` output at all. A page opened without a network
would then be blank where the widgets and the plotly figures are. :func:`to_html` therefore exports a
copy of the notebook (the executed ``.ipynb`` is never changed) in which

- a widget view gives way to the static ``text/html`` fallback that behavnb's widgets carry beside it;
  one without a fallback (tqdm's progress bars) is drawn from the widget state saved in the notebook
  where it is made of simple parts (boxes, HTML, labels, progress bars), else shown as its text;
- each plotly figure becomes an HTML ``<div>`` drawn by plotly.js, inlined once in the page's head
  from the plotly package itself;
- the page loads nothing from a CDN: no require.js, no widget manager, and MathJax only when a cell
  holds TeX (the text stays readable without it); the template's mermaid loader fetches only when a
  mermaid diagram is on the page (none in behavnb's notebooks);
- long code lines wrap instead of being cut off.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path
from typing import Any

from behavnb.utils import atomic_write_text

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PLOTLY = "application/vnd.plotly.v1+json"
TEMPLATE = "behavnb_offline.html.j2"

# Extends nbconvert's lab page: the head gets plotly.js (when a figure needs it) and no CDN script.
_TEMPLATE_TEXT = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}
{%- if resources.behavnb_mathjax -%}{{ super() }}{%- endif -%}
{%- endblock html_head_js_mathjax -%}
{%- block html_head_css -%}
<style type="text/css">
/* long code lines wrap (nbconvert's editor box hides what does not fit) */
.jp-InputArea-editor .highlight pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.jp-InputArea-editor { overflow-x: auto; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
</style>
{%- if resources.behavnb_plotlyjs -%}
<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: 'local'};</script>
<script type="text/javascript">{{ resources.behavnb_plotlyjs }}</script>
{%- endif -%}
{%- endblock html_head_css -%}
"""

# $...$, $$...$$, \\(...\\), \\[...\\] or \\begin{...}: what MathJax would typeset in a markdown cell
_TEX = re.compile(r"\$\$.+?\$\$|(?<![\\$\w])\$[^\s$][^$\n]*?(?<=[^\s\\])\$(?![\w$])|\\\(|\\\[|\\begin\{", re.S)


def _plotly_html(figure: dict[str, Any]) -> str:
    """One plotly figure as a ``<div>`` plus the script that draws it (plotly.js itself not included)."""
    import plotly.io as pio

    return pio.to_html(figure, include_plotlyjs=False, full_html=False, validate=False,
                       config=figure.get("config") or None)


def _static_widget(model_id: str, state: dict[str, Any], depth: int = 0) -> str | None:
    """Static HTML of a saved widget made of boxes, HTML, labels and progress bars; None for anything else."""
    model = state.get(model_id)
    if model is None or depth > 20:
        return None
    name, st = model.get("model_name", ""), model.get("state", {})
    if name in ("HBoxModel", "VBoxModel", "BoxModel"):
        parts = [_static_widget(str(c).removeprefix("IPY_MODEL_"), state, depth + 1) for c in st.get("children", [])]
        if any(p is None for p in parts):
            return None
        direction = "column" if name == "VBoxModel" else "row"
        return (f'<div style="display:flex;flex-direction:{direction};align-items:center;gap:4px">'
                f'{"".join(parts)}</div>')
    label = f"<span>{html.escape(st['description'])}</span>" if st.get("description") else ""
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"{label}<span>{st.get('value', '')}</span>"
    if name == "LabelModel":
        return f"{label}<span>{html.escape(str(st.get('value', '')))}</span>"
    if name in ("FloatProgressModel", "IntProgressModel"):
        lo, hi, value = (float(st.get(k, d)) for k, d in (("min", 0), ("max", 100), ("value", 0)))
        return f'{label}<progress value="{value - lo}" max="{max(hi - lo, 1e-12)}"></progress>'
    return None


def offline_notebook(nb: Any) -> tuple[Any, dict[str, bool]]:
    """A copy of ``nb`` whose outputs need no network; what its page needs in the head.

    Widget views give way to their static ``text/html`` fallback (behavnb's widgets carry a snapshot),
    else to HTML drawn from the saved widget state (tqdm's bars), else to their ``text/plain``; plotly
    figures become ``text/html`` drawn by an inlined plotly.js; the saved widget state is dropped.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook (version 4); it is not changed.

    Returns
    -------
    nb : nbformat.NotebookNode
        The transformed copy.
    needs : dict
        ``{"plotly": bool, "mathjax": bool}``: whether the page must carry plotly.js, and whether
        any markdown or output holds TeX for MathJax.
    """
    nb = copy.deepcopy(nb)
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    needs = {"plotly": False, "mathjax": False}
    for cell in nb.cells:
        if cell.cell_type == "markdown" and _TEX.search(cell.source):
            needs["mathjax"] = True
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            if PLOTLY in data:
                data["text/html"] = _plotly_html(data.pop(PLOTLY))
                data.pop("application/javascript", None)
                needs["plotly"] = True
            if WIDGET_VIEW in data:
                view = data.pop(WIDGET_VIEW)
                if "text/html" not in data:
                    static = _static_widget(str(view.get("model_id", "")), state)
                    if static is not None:
                        data["text/html"] = static
                    elif not data:  # nothing else to show: keep the (blank offline) view rather than drop the output
                        data[WIDGET_VIEW] = view
            if "text/latex" in data and "text/html" not in data:
                needs["mathjax"] = True
    return nb, needs


def exporter() -> Any:
    """nbconvert's ``HTMLExporter`` with behavnb's offline template (the lab template, no CDN scripts)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(extra_loaders=[DictLoader({TEMPLATE: _TEMPLATE_TEXT})], template_file=TEMPLATE)


def notebook_html(nb: Any, name: str = "notebook") -> str:
    """The offline HTML page of an executed notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook (left unchanged).
    name : str
        The page title when the notebook's metadata has none.

    Returns
    -------
    str
        A complete HTML document that draws its figures and widget snapshots without a network.
    """
    page_nb, needs = offline_notebook(nb)
    resources: dict[str, Any] = {"metadata": {"name": name}, "behavnb_mathjax": needs["mathjax"],
                                 "behavnb_plotlyjs": ""}
    if needs["plotly"]:
        from plotly.offline import get_plotlyjs

        resources["behavnb_plotlyjs"] = get_plotlyjs().replace("</script", "<\\/script")
    body, _ = exporter().from_notebook_node(page_nb, resources=resources)
    return body


def to_html(executed: Path, page: Path) -> Path:
    """Write the offline HTML page of the executed notebook ``executed`` to ``page``.

    Parameters
    ----------
    executed : Path
        The executed ``.ipynb`` (read only).
    page : Path
        Where the page goes (written atomically).

    Returns
    -------
    Path
        ``page``.
    """
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    return atomic_write_text(page, notebook_html(nb, Path(executed).stem))
