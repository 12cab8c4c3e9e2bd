"""The executed notebooks of the fast series (synthetic-tiny) keep a quiet terminal and show no absurd numbers.

- No ``stderr`` stream and no Python warning text in any output, except what ``ALLOWED`` lists (each with why).
- In 09, no log2 fold change (or log2 rate ratio) above ``MAX_LOG2`` in absolute value and no rate ratio above
  ``MAX_RATE_RATIO`` is shown as a number: such values come from zero counts and must show as "not estimable".

The series runs once per test session (``tiny_series`` in conftest.py); the executed notebooks are in
``<project>/reports/notebooks/``.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

#: (notebook name pattern, line pattern, reason): stderr lines and warning texts that are expected
ALLOWED: list[tuple[str, str, str]] = [
    (r"0[45]_", r"^[\w-]+: epoch \d+/\d+\s.*$",
     "train.fit prints one progress line per epoch to stderr by design (the series log relays it to the terminal)"),
]

#: the text a Python warning leaves in an output ("...: UserWarning: ...", "DataWarning: ...")
WARNING_TEXT = re.compile(r"\b[A-Z]\w*Warning\b:")
MAX_LOG2 = 10.0
MAX_RATE_RATIO = 1e4


def _allowed(book: str, line: str) -> bool:
    return any(re.match(nb, book) and re.match(pat, line.strip()) for nb, pat, _ in ALLOWED)


def _texts(output: dict) -> list[str]:
    """The text of one output: a stream's text, a display's text/plain, an error's traceback."""
    if output.get("output_type") == "stream":
        return [output.get("text", "")]
    if output.get("output_type") == "error":
        return ["\n".join(output.get("traceback", []))]
    data = output.get("data", {})
    return [data["text/plain"]] if "text/plain" in data else []


def _books(project: Path) -> list[Path]:
    books = sorted((project / "reports" / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert books, f"no executed notebooks under {project / 'reports' / 'notebooks'}"
    return books


class _Tables(HTMLParser):
    """The tables of an HTML output (pandas' ``to_html``) as (header, rows) of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._head = False
        self._header: list[str] = []
        self._rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._header, self._rows = [], []
        elif tag == "thead":
            self._head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._head:
                self._header = self._header or self._row  # the first header row holds the column names
            else:
                self._rows.append(self._row)
            self._row = None
        elif tag == "thead":
            self._head = False
        elif tag == "table":
            self.tables.append((self._header, self._rows))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _records(html: str) -> list[dict[str, str]]:
    """Every row of every table in ``html`` as {column: cell}; cells align with the header from the right
    (the index cells come first)."""
    parser = _Tables()
    parser.feed(html)
    out = []
    for header, rows in parser.tables:
        for row in rows:
            n = min(len(header), len(row))
            out.append({k: v for k, v in zip(header[len(header) - n:], row[len(row) - n:], strict=True) if k})
    return out


def _number(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return math.nan


LOG2_METRICS = ("usage", "bout_count", "bout_rate", "entry_rate")


def _absurd(record: dict[str, str]) -> list[str]:
    """The cells of one displayed row that show an impossible log2 fold change or rate ratio."""
    bad = []
    ratio = _number(record.get("rate_ratio", ""))
    if ratio > MAX_RATE_RATIO or 0 < ratio < 1 / MAX_RATE_RATIO:
        bad.append(f"rate_ratio {ratio:g}")
    log2 = ("log2" in record.get("effect_name", "") or record.get("metric", "") in LOG2_METRICS
            or "rate_ratio" in record)
    if log2 and "effect_name" in record and "log2" not in record["effect_name"]:
        log2 = False  # e.g. Hedges' g of a duration in a mixed table
    if log2:
        effect = _number(record.get("effect", ""))
        if abs(effect) > MAX_LOG2:
            bad.append(f"log2 effect {effect:g}")
    return bad


@pytest.fixture(scope="module")
def project(tiny_series) -> Path:
    assert tiny_series["rc"] == 0, tiny_series["err"][-3000:]
    return tiny_series["project"]


def test_allow_list_has_reasons():
    for nb, pat, reason in ALLOWED:
        re.compile(nb), re.compile(pat)
        assert len(reason) > 20, f"allow-list entry {pat!r} needs a reason"


def test_no_stderr_or_warnings_in_outputs(project):
    problems = []
    for book in _books(project):
        import nbformat

        nb = nbformat.read(book, as_version=4)
        for i, cell in enumerate(nb.cells):
            for output in cell.get("outputs", []):
                stderr = output.get("output_type") == "stream" and output.get("name") == "stderr"
                for text in _texts(output):
                    for line in text.splitlines():
                        if not line.strip():
                            continue
                        if (stderr or WARNING_TEXT.search(line)) and not _allowed(book.stem, line):
                            problems.append(f"{book.stem} cell {i} ({'stderr' if stderr else 'warning text'}): "
                                            f"{line.strip()[:200]}")
    assert not problems, "unexpected stderr or warnings in the notebooks' outputs:\n" + "\n".join(problems[:40])


def test_group_stats_shows_no_absurd_ratios(project):
    import nbformat

    book = next(b for b in _books(project) if b.stem.startswith("09_"))
    nb = nbformat.read(book, as_version=4)
    bad, n_rows = [], 0
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html:
                for rec in _records(html):
                    n_rows += 1
                    bad += [f"cell {i}: {b} ({rec.get('metric', '')} motif {rec.get('motif', '')})" for b in _absurd(rec)]
            for text in _texts(output):  # numbers printed as text, e.g. "rate_ratio 1.43e+10"
                for m in re.finditer(r"rate[_ ]ratio\s*[=:]?\s*([-+]?\d[\d.]*(?:e[-+]?\d+)?)", text, re.I):
                    if _number(m.group(1)) > MAX_RATE_RATIO:
                        bad.append(f"cell {i}: printed {m.group(0)}")
    assert n_rows, "09 displayed no table: the check would pass vacuously"
    assert not bad, "09 shows impossible effects (they should be NaN, 'not estimable'):\n" + "\n".join(bad[:40])


def test_absurd_detects_what_it_should():
    """The row check itself: zero-count artefacts are caught, sensible values and NaN pass."""
    assert _absurd({"metric": "usage", "effect_name": "log2_fold_change", "effect": "21.5"})
    assert _absurd({"rate_ratio": "1.43e+10", "effect": "33.7"})
    assert _absurd({"metric": "usage", "effect": "-21.5"})
    assert not _absurd({"metric": "mean_bout_s", "effect_name": "hedges_g", "effect": "14.0"})
    assert not _absurd({"metric": "usage", "effect_name": "log2_fold_change", "effect": "NaN"})
    assert not _absurd({"rate_ratio": "2.5", "effect": "1.32"})
    rows = _records("<table><thead><tr><th></th><th>metric</th><th>effect</th></tr></thead>"
                    "<tbody><tr><th>3</th><td>usage</td><td>-21.5</td></tr></tbody></table>")
    assert rows == [{"metric": "usage", "effect": "-21.5"}]
