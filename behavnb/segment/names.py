"""``motif_names.csv``: a table the user edits (motif, name, note) that every plot reads its labels from.

Part of the segment room of the flow (... embed -> codes/**segment** -> hierarchy -> stats ...): the names
travel with a segmentation to every later figure and table.

``write_names`` creates it with default names and never overwrites what a user wrote: rows for new
motifs are added, existing rows are kept. ``read_names`` checks it and returns ``{motif: name}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from behavnb.errors import ParameterError
from behavnb.utils import atomic_path


def default_name(motif: int, n_subtypes: int | None = None) -> str:
    """``motif 3``, or ``t2.s5`` for a VQ motif (type 2, subtype 5) when ``n_subtypes`` is given."""
    if n_subtypes:
        return f"t{motif // n_subtypes}.s{motif % n_subtypes}"
    return f"motif {motif}"


def write_names(path: str | Path, motifs: Iterable[int], *, n_subtypes: int | None = None) -> Path:
    """Create or extend ``motif_names.csv`` with a default name for each motif it does not list yet.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    motifs : iterable of int
        The motif ids to list (-1 is skipped).
    n_subtypes : int, optional
        For VQ labels: default names ``t<type>.s<subtype>`` instead of ``motif <n>``.

    Returns
    -------
    Path
        ``path``, unchanged when it already lists every motif.

    Raises
    ------
    ParameterError
        An existing file that is not a valid motif names table.
    """
    path = Path(path)
    motifs = sorted({int(m) for m in motifs if int(m) >= 0})
    old = _read(path) if path.exists() else pd.DataFrame(columns=["motif", "name", "note"])
    new = [m for m in motifs if m not in set(old["motif"].astype(int))]
    if not new and path.exists():
        return path
    rows = pd.DataFrame({"motif": new, "name": [default_name(m, n_subtypes) for m in new], "note": ""})
    table = pd.concat([old, rows], ignore_index=True).sort_values("motif")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def _read(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype={"name": str, "note": str}, keep_default_na=False)
    except Exception as exc:
        raise ParameterError(f"{path}: cannot read the motif names table ({exc}). It must be a CSV with columns "
                             f"motif,name,note.") from None
    if not {"motif", "name"} <= set(table.columns):
        raise ParameterError(f"{path}: columns {list(table.columns)}; a motif names table needs 'motif' and 'name' "
                             f"(and optionally 'note'). Delete it to get a fresh template.")
    num = pd.to_numeric(table["motif"], errors="coerce")
    bad = num.isna() | (num != num.round())
    if bad.any():
        raise ParameterError(f"{path}: motif must be a whole number; rows {list(table.index[bad] + 2)} are not.")
    table["motif"] = num.astype(int)
    dup = table.loc[table["motif"].duplicated(), "motif"].tolist()
    if dup:
        raise ParameterError(f"{path}: motif(s) {dup} are listed twice; keep one row per motif.")
    if "note" not in table:
        table["note"] = ""
    return table[["motif", "name", "note"] + [c for c in table.columns if c not in ("motif", "name", "note")]]


def read_names(path: str | Path, n_subtypes: int | None = None) -> dict[int, str]:
    """``{motif: name}`` from a ``motif_names.csv`` (blank names fall back to the default name).

    Parameters
    ----------
    path : str or Path
        The CSV file.
    n_subtypes : int, optional
        For VQ labels: the default names are ``t<type>.s<subtype>``.

    Returns
    -------
    dict of int to str
        The name of each motif the file lists.

    Raises
    ------
    ParameterError
        The file cannot be read, lacks the ``motif`` or ``name`` column, or has a motif that is not a whole
        number or is listed twice.
    """
    table = _read(Path(path))
    return {int(m): (n.strip() or default_name(int(m), n_subtypes)) for m, n in zip(table["motif"], table["name"], strict=True)}


def read_notes(path: str | Path) -> dict[int, str]:
    """``{motif: note}`` for the motifs whose row in a ``motif_names.csv`` has a note (checked as ``read_names``)."""
    table = _read(Path(path))
    return {int(m): n.strip() for m, n in zip(table["motif"], table["note"], strict=True) if str(n).strip()}


def rename_defaults(path: str | Path, names: dict[int, str], note: str = "", n_subtypes: int | None = None) -> pd.DataFrame:
    """Give new names to the motifs that still carry their default name; names a user wrote are kept.

    Parameters
    ----------
    path : str or Path
        The CSV file, rewritten in place.
    names : dict of int to str
        ``{motif: new name}`` (e.g. ``names_from_truth``).
    note : str
        Written into the ``note`` column of the renamed rows, when given.
    n_subtypes : int, optional
        For VQ labels: the default names are ``t<type>.s<subtype>``.

    Returns
    -------
    DataFrame
        The table as written (motif, name, note, ...).

    Raises
    ------
    ParameterError
        The file is not a valid motif names table.
    """
    path = Path(path)
    table = _read(path)
    untouched = table["name"] == [default_name(int(m), n_subtypes) for m in table["motif"]]
    todo = untouched & table["motif"].isin(list(names))
    table.loc[todo, "name"] = [names[int(m)] for m in table.loc[todo, "motif"]]
    if note:
        table.loc[todo, "note"] = note
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return table
