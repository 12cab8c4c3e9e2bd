"""Datasets by name: a registry of files (URL + sha256), each dataset's sessions table, and the
checks that make a sessions table safe to analyse.

Part of the run layer (``project``/``manifest``/``skeleton``): it turns a dataset name or a folder into the
sessions table and the poses (through ``io``) that the flow starts from (io -> preprocess -> ...).

A registered dataset's files live at ``<data_dir>/<folder>/<path>`` (``folder`` defaults to the
dataset's name), the same layout as the project's shared data folder. ``data_dir`` is
``$BEHAVNB_DATA_DIR`` when set, else pooch's per-user cache. Files missing there are downloaded
with pooch and checked against their sha256; with no network the error says where to put them.

Your own data: ``sessions("path/to/sessions.csv")`` (file paths relative to the CSV), or
``sessions("path/to/folder")`` (uses ``folder/sessions.csv`` if present, else one session per pose
file, group unknown).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from behavnb.errors import (
    ChecksumError,
    DatasetNotFoundError,
    InconsistentKeypointsError,
    PoseFileNotFoundError,
    SessionsTableError,
)
from behavnb.io import append_log, detect_format, load_labels as read_labels, load_poses, session_name
from behavnb.parallel import map_items, raise_failures
from behavnb.resources import embedded_dir, manifest_dir

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

REQUIRED_COLUMNS = ("session", "subject", "group", "file", "fps")
POSE_EXTENSIONS = (".csv", ".h5", ".hdf5", ".slp", ".nwb", ".nc")


# --- registry ------------------------------------------------------------------------------------

def registry() -> dict[str, dict[str, Any]]:
    """All registered datasets, by name (read from ``data_manifest/<name>/dataset.yaml``).

    Returns
    -------
    dict of str to dict
        Name -> the dataset.yaml entry (source, files, fps, px_per_cm, arena, licence, ...), with ``_dir``
        the folder it was read from.
    """
    import yaml

    out = {}
    for path in sorted(manifest_dir().glob("*/dataset.yaml")):
        doc = yaml.safe_load(path.read_text())
        doc["_dir"] = path.parent
        out[doc["name"]] = doc
    return out


def list_datasets() -> pd.DataFrame:
    """A table of registered datasets.

    Returns
    -------
    pandas.DataFrame
        ``name, kind, format, fps, licence, n_files, has_sessions, description``.
    """
    import pandas as pd

    rows = [{"name": n, "kind": d.get("kind"), "format": d.get("format"), "fps": d.get("fps"),
             "licence": d.get("licence"), "n_files": len(d.get("files", [])),
             "has_sessions": (d["_dir"] / "sessions.csv").exists(), "description": d.get("description", "")}
            for n, d in registry().items()]
    return pd.DataFrame(rows)


def info(name: str) -> dict[str, Any]:
    """The registry entry of one dataset.

    Parameters
    ----------
    name : str
        A registered dataset name.

    Returns
    -------
    dict

    Raises
    ------
    DatasetNotFoundError
        When ``name`` is not registered (the message lists the names).
    """
    reg = registry()
    if name not in reg:
        raise DatasetNotFoundError(
            f"dataset {name!r} is not registered. Registered: {', '.join(reg)}. For your own files pass a path "
            "to a sessions CSV or a folder instead of a name."
        )
    return reg[name]


def data_dir() -> Path:
    """Root of the local data cache: ``$BEHAVNB_DATA_DIR`` or pooch's user cache."""
    env = os.environ.get("BEHAVNB_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    import pooch

    return Path(pooch.os_cache("behavnb"))


def dataset_dir(name: str) -> Path:
    """Where a dataset's files live locally.

    Generated (synthetic) datasets live in ``<data_dir>/<name>`` if they are already there, else in
    the generated-data cache (``$BEHAVNB_CACHE_DIR`` or pooch's user cache): generating never writes
    into a data folder that may be shared.
    """
    entry = info(name)
    if entry.get("location") == "package":
        return embedded_dir() / name
    local = data_dir() / entry.get("folder", name)
    if entry.get("generator") and not all((local / f["path"]).exists() for f in entry.get("files", [])):
        return generated_dir() / name  # an incomplete copy in the data folder is left alone
    return local


def generated_dir() -> Path:
    """Where synthetic datasets are generated: ``$BEHAVNB_CACHE_DIR`` or pooch's user cache."""
    env = os.environ.get("BEHAVNB_CACHE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    import pooch

    return Path(pooch.os_cache("behavnb"))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(name: str, *, progress: bool = True) -> dict[str, Path]:
    """Make every file of dataset ``name`` present and verified.

    Files already in the cache are checked against their sha256; missing ones are downloaded with
    pooch; a synthetic dataset is generated (again, when the registry entry changed).

    Parameters
    ----------
    name : str
        A registered dataset name.
    progress : bool, default True
        Show download progress bars.

    Returns
    -------
    dict of str to Path
        ``{relative path: local path}`` for every registered file.

    Raises
    ------
    ChecksumError
        When a file's sha256 differs from the registered one.
    DatasetNotFoundError
        When the name is not registered, or a file is neither cached nor downloadable.
    """
    entry = info(name)
    root = dataset_dir(name)
    out: dict[str, Path] = {}
    marker = root / ".generated.json"  # what this machine generated, and for which registry entry (see _generate)
    if entry.get("generator"):
        state = json.loads(marker.read_text()) if marker.exists() else {}
        # generated for another version of the registry (an older generator): make it again
        stale = marker.exists() and state.get("registered") != _registered(entry)
        if stale or not all((root / f["path"]).exists() for f in entry["files"]):
            _generate(name, entry, root)
    made = json.loads(marker.read_text()).get("made", {}) if entry.get("generator") and marker.exists() else {}
    for spec in entry.get("files", []):
        local = root / spec["path"]
        if not local.exists():
            _download(name, spec, local, progress)
        got = sha256(local)
        if got != spec["sha256"] and made.get(spec["path"]) == got:
            warnings.warn(
                f"{local}: the generated file's sha256 differs from the registered one; numpy's random streams or "
                "floating point differ on this machine. The dataset is still self-consistent (its truth files were "
                "generated with it), but numbers will not match the documentation exactly.", stacklevel=2)
        elif got != spec["sha256"]:
            fix = (f"delete {root} and call manifest.fetch({name!r}) again to regenerate it" if entry.get("generator")
                   else f"delete it and call manifest.fetch({name!r}) again to re-download it from {spec['url']}")
            raise ChecksumError(
                f"{local}: sha256 is {got[:16]}…, but dataset {name!r} registers {spec['sha256'][:16]}…. The file is "
                f"damaged or a different version: {fix} (for your own data, update the sha256 in "
                f"{entry['_dir'] / 'dataset.yaml'})."
            )
        out[spec["path"]] = local
    return out


def _registered(entry: dict) -> dict[str, str]:
    """The registered sha256 of each file of a dataset entry."""
    return {f["path"]: f["sha256"] for f in entry.get("files", [])}


def _generate(name: str, entry: dict, root: Path) -> None:
    """Generate a synthetic dataset into a temporary folder, then move it into place whole."""
    import importlib
    import shutil
    import tempfile

    module, func = entry["generator"]["function"].rsplit(".", 1)
    make = getattr(importlib.import_module(module), func)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root.parent))
    try:
        make(tmp, **entry["generator"].get("params", {}))
        hashes = {f["path"]: sha256(tmp / f["path"]) for f in entry.get("files", []) if (tmp / f["path"]).exists()}
        (tmp / ".generated.json").write_text(json.dumps({"registered": _registered(entry), "made": hashes}, indent=1))
        if root.exists():
            if data_dir() in (root, *root.parents) and generated_dir() not in (root, *root.parents):
                raise DatasetNotFoundError(f"{root} is inside the data folder {data_dir()}; behavnb never replaces "
                                           f"files there. Remove it yourself, or set BEHAVNB_CACHE_DIR.")
            shutil.rmtree(root)
        os.replace(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _download(name: str, spec: dict, local: Path, progress: bool) -> None:
    import pooch

    where = (f"{data_dir()}/{info(name).get('folder', name)}/{spec['path']}")
    try:
        local.parent.mkdir(parents=True, exist_ok=True)
        pooch.retrieve(spec["url"], known_hash=f"sha256:{spec['sha256']}", fname=local.name, path=local.parent,
                       progressbar=progress)
    except Exception as exc:  # network errors come in many types; all mean the same to the user
        raise DatasetNotFoundError(
            f"dataset {name!r}: {spec['path']} is not cached and could not be downloaded from {spec['url']} "
            f"({type(exc).__name__}: {exc}). Put the file at {where} (layout <data_dir>/<dataset>/<path>), or set "
            "BEHAVNB_DATA_DIR to a folder that already holds the dataset."
        ) from exc


# --- sessions tables ----------------------------------------------------------------------------

def sessions(dataset: str | Path, *, check_keypoints: bool = True) -> pd.DataFrame:
    """The validated sessions table of a registered dataset, a sessions CSV, or a folder of pose files.

    Checks: required columns (``session, subject, group, file, fps``), unique session ids, every file
    present, fps positive where given, and (``check_keypoints``) the same keypoint set in every session.

    Parameters
    ----------
    dataset : str or Path
        A registered dataset name, a sessions CSV (file paths relative to it), or a folder (its
        ``sessions.csv``, else one session per pose file).
    check_keypoints : bool, default True
        Also check that every session has the same keypoints (reads each file's header).

    Returns
    -------
    pandas.DataFrame
        One row per session; ``file`` as absolute paths, ``fps`` as float (NaN where the files state it);
        ``attrs["dataset"]`` names where the table came from.

    Raises
    ------
    DatasetNotFoundError
        When a name is not registered, or the dataset has no sessions table.
    PoseFileNotFoundError
        When the path does not exist.
    SessionsTableError
        When the table fails a check (the message names the rows and the fix).
    InconsistentKeypointsError
        When sessions have different keypoint sets.

    Examples
    --------
    >>> import behavnb as bn
    >>> table = bn.manifest.sessions("synthetic-demo")  # doctest: +SKIP
    >>> table = bn.manifest.sessions("path/to/folder")  # doctest: +SKIP
    >>> poses = bn.manifest.load_sessions(table)  # doctest: +SKIP
    """
    source = str(dataset)
    as_path = Path(dataset).expanduser()
    if isinstance(dataset, str) and dataset in registry():
        entry = info(dataset)
        # a generated dataset writes its own sessions table; a downloaded one has it in the manifest
        table_path = (dataset_dir(dataset) if entry.get("generator") else entry["_dir"]) / "sessions.csv"
        if not entry.get("generator") and not table_path.exists():
            raise DatasetNotFoundError(
                f"dataset {dataset!r} has no sessions table ({entry.get('kind')} data: {entry.get('description')}). "
                f"Use manifest.fetch({dataset!r}) for its files."
            )
        fetch(dataset)
        table = _read_table(table_path)
        base = dataset_dir(dataset)
    elif as_path.is_dir():
        if (as_path / "sessions.csv").exists():
            table, base, source = _read_table(as_path / "sessions.csv"), as_path, str(as_path / "sessions.csv")
        else:
            table, base = _table_from_folder(as_path), as_path
    elif as_path.suffix.lower() in (".csv", ".tsv") and as_path.exists():
        table, base = _read_table(as_path), as_path.parent
    elif as_path.suffix or os.sep in source:
        raise PoseFileNotFoundError(f"{as_path}: no such sessions table or folder. Pass a registered dataset name "
                                    f"({', '.join(registry())}), a sessions CSV or a folder of pose files.")
    else:
        info(source)  # raises the "not registered" error with the list of names
        raise AssertionError("unreachable")
    table = validate_sessions(table, base=base, source=source)
    if check_keypoints and info_kind(dataset) == "poses":
        check_keypoint_sets(table)
    table.attrs["dataset"] = source
    return table


def info_kind(dataset: str | Path) -> str:
    """'poses', 'labels' or 'annotations' for a registered name; 'poses' for a user's path."""
    return info(dataset).get("kind", "poses") if isinstance(dataset, str) and dataset in registry() else "poses"


def _read_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        df = pd.read_csv(path, sep=None, engine="python", dtype={"session": str, "subject": str, "group": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SessionsTableError(f"{path}: not a readable CSV ({exc}). A sessions table has the columns "
                                 f"{', '.join(REQUIRED_COLUMNS)}.") from exc
    df.columns = [str(c).strip() for c in df.columns]
    df.attrs["path"] = str(path)
    return df


def _table_from_folder(folder: Path) -> pd.DataFrame:
    import pandas as pd

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in POSE_EXTENSIONS and not p.name.startswith("."))
    if not files:
        raise SessionsTableError(f"{folder}: no pose files ({', '.join(POSE_EXTENSIONS)}) and no sessions.csv here.")
    files = _drop_table_twins(folder, files)
    warnings.warn(
        f"{folder}: no sessions.csv, so each of the {len(files)} pose files is one session with group 'unknown'. "
        "Add a sessions.csv (session, subject, group, file, fps) to compare groups.",
        stacklevel=3,
    )
    names = [session_name(p) for p in files]
    return pd.DataFrame({"session": names, "subject": names, "group": "unknown",
                         "file": [p.name for p in files], "fps": float("nan")})


def _drop_table_twins(folder: Path, files: list[Path]) -> list[Path]:
    """Keep one of a DeepLabCut ``.csv``/``.h5`` pair with the same stem (the ``.h5``), with a warning."""
    tables = (".csv", ".h5", ".hdf5")
    by_stem: dict[Path, list[Path]] = {}
    for p in files:
        if p.suffix.lower() in tables:
            by_stem.setdefault(p.with_suffix(""), []).append(p)
    dropped = []
    for twins in by_stem.values():
        if len(twins) > 1:
            keep = min(twins, key=lambda p: (p.suffix.lower() == ".csv", p.suffix.lower(), p.name))
            dropped += [p for p in twins if p != keep]
    if dropped:
        warnings.warn(
            f"{folder}: {len(dropped)} pose file(s) have a twin with the same name and another extension (DeepLabCut "
            f"writes the same predictions as .h5 and .csv); using the .h5 and skipping {[p.name for p in dropped][:5]}. "
            "Add a sessions.csv to choose yourself.", stacklevel=4)
    return [p for p in files if p not in dropped]


def validate_sessions(table: pd.DataFrame, *, base: Path | None = None, source: str = "sessions table") -> pd.DataFrame:
    """Check a sessions table and return a copy with absolute file paths and float fps."""
    import numpy as np
    import pandas as pd

    where = table.attrs.get("path", source)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise SessionsTableError(
            f"{where}: missing required column(s) {missing}; it has {list(table.columns)}. A sessions table needs "
            f"{', '.join(REQUIRED_COLUMNS)} (fps may be left empty where the files state it)."
        )
    if table.empty:
        raise SessionsTableError(f"{where}: the sessions table has no rows.")
    table = table.copy()
    for col in ("session", "subject", "group"):
        if table[col].isna().any():
            rows = list(table.index[table[col].isna()][:5])
            raise SessionsTableError(f"{where}: empty {col!r} in row(s) {rows}; fill it in (use 'unknown' for group).")
        table[col] = table[col].astype(str).str.strip()
    dup = sorted(k for k, n in Counter(table["session"]).items() if n > 1)
    if dup:
        raise SessionsTableError(f"{where}: duplicate session id(s) {dup}; each row needs its own session id.")
    fps = pd.to_numeric(table["fps"], errors="coerce")
    bad = table.loc[(fps.isna() & table["fps"].notna()) | (fps <= 0) | np.isinf(fps), "session"].tolist()
    if bad:
        raise SessionsTableError(f"{where}: fps must be a positive number (finite, or empty) — bad in session(s) {bad}.")
    empty = table["file"].isna() | (table["file"].astype(str).str.strip() == "")
    if empty.any():
        raise SessionsTableError(f"{where}: empty 'file' in session(s) {table.loc[empty, 'session'].tolist()[:5]}; "
                                 "every row needs the path of its pose file.")
    table["fps"] = fps.astype(float)
    base = Path(base) if base is not None else Path(".")
    paths = [Path(f) if Path(f).is_absolute() else (base / str(f)) for f in table["file"]]
    absent = [str(p) for p in paths if not p.exists()]
    if absent:
        raise SessionsTableError(
            f"{where}: {len(absent)} file(s) not found, e.g. {absent[:5]}. Paths are relative to {base}; fix the "
            "'file' column or move the files there."
        )
    table["file"] = [str(p.resolve()) for p in paths]
    return table.reset_index(drop=True)


#: optional sessions-table columns that give each session its own camera geometry (pixels)
GEOMETRY_COLUMNS = ("px_per_cm", "arena_xmin", "arena_ymin", "arena_xmax", "arena_ymax")


def session_geometry(table: pd.DataFrame, dataset_info: dict | None = None, *,
                     px_per_cm: float | None = None) -> dict[str, dict]:
    """Each session's image scale and arena, for sessions filmed with different camera settings.

    Precedence: an explicit ``px_per_cm`` (one scale for every session) wins; then the sessions table's
    own ``px_per_cm`` and ``arena_xmin/ymin/xmax/ymax`` columns (pixels; a rectangle), row by row; then
    the dataset's registry entry (``px_per_cm``, ``arena``); else nothing (the data stay in pixels, the
    arena is estimated from the positions later).

    Parameters
    ----------
    table : pandas.DataFrame
        A sessions table (``session`` column required).
    dataset_info : dict, optional
        The dataset's registry entry (``manifest.info(name)``), for dataset-wide defaults.
    px_per_cm : float, optional
        One scale for every session, overriding the table and the registry.

    Returns
    -------
    dict
        session -> ``{"px_per_cm": float | None, "arena": dict | None}`` (arena in pixels, as the registry
        gives it: ``{"shape": "rectangle", "xmin": ..., "ymin": ..., "xmax": ..., "ymax": ...}``).

    Raises
    ------
    SessionsTableError
        If a geometry column holds a non-positive or non-numeric scale, or an arena row is incomplete or
        has min >= max.
    """
    import numpy as np
    import pandas as pd

    info_ = dataset_info or {}
    where = table.attrs.get("path", "sessions table")
    out: dict[str, dict] = {}
    cols = {c: pd.to_numeric(table[c], errors="coerce") if c in table else pd.Series(np.nan, index=table.index)
            for c in GEOMETRY_COLUMNS}
    bad = table.loc[cols["px_per_cm"].notna() & ~(cols["px_per_cm"] > 0), "session"].tolist()
    if "px_per_cm" in table:
        bad += table.loc[table["px_per_cm"].notna() & cols["px_per_cm"].isna(), "session"].tolist()
    if bad:
        raise SessionsTableError(f"{where}: px_per_cm must be a positive number (pixels per centimetre), bad in "
                                 f"session(s) {sorted(set(bad))[:5]}; fix the column or leave the cell empty.")
    box = pd.DataFrame({c: cols[c] for c in GEOMETRY_COLUMNS[1:]})
    partial = box.notna().any(axis=1) & ~box.notna().all(axis=1)
    inverted = box.notna().all(axis=1) & ((box["arena_xmin"] >= box["arena_xmax"]) | (box["arena_ymin"] >= box["arena_ymax"]))
    if (partial | inverted).any():
        raise SessionsTableError(f"{where}: arena_xmin/ymin/xmax/ymax must all be given with min < max (pixels), "
                                 f"bad in session(s) {table.loc[partial | inverted, 'session'].tolist()[:5]}.")
    for i, session in zip(table.index, table["session"].astype(str), strict=True):
        scale = px_per_cm if px_per_cm is not None else (
            float(cols["px_per_cm"][i]) if pd.notna(cols["px_per_cm"][i]) else info_.get("px_per_cm"))
        arena = ({"shape": "rectangle", **{c[6:]: float(box.loc[i, c]) for c in box}} if box.loc[i].notna().all()
                 else info_.get("arena"))
        out[session] = {"px_per_cm": None if scale is None else float(scale), "arena": arena}
    return out


def check_keypoint_sets(table: pd.DataFrame) -> None:
    """Raise :class:`InconsistentKeypointsError` listing how sessions' keypoint sets differ."""
    sets = {s: frozenset(_keypoints(Path(f), fps))
            for s, f, fps in zip(table["session"], table["file"], table["fps"], strict=True)}
    common = Counter(sets.values()).most_common(1)[0][0]
    odd = {s: k for s, k in sets.items() if k != common}
    if odd:
        lines = [f"  {s}: missing {sorted(common - k) or '-'}, extra {sorted(k - common) or '-'}" for s, k in odd.items()]
        raise InconsistentKeypointsError(
            f"{table.attrs.get('path', 'sessions table')}: keypoint sets differ across sessions (the majority of "
            f"sessions have {sorted(common)}):\n" + "\n".join(lines) +
            "\nRe-track with one model, or drop/rename keypoints so every session has the same set."
        )


def _keypoints(path: Path, fps: float) -> list[str]:
    """Keypoint names of a pose file; reads only the header where the format allows it."""
    import math

    if detect_format(path) in ("dlc", "lightningpose") and path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8-sig") as fh:
            rows = {}
            for _ in range(4):
                cells = fh.readline().rstrip("\r\n").split(",")
                rows[cells[0].lower()] = cells[1:]
        inds = rows.get("individuals", [""] * len(rows.get("bodyparts", [])))
        return sorted({b for b, i in zip(rows.get("bodyparts", []), inds, strict=False) if b and i != "single"})
    ds = load_poses(path, fps=None if math.isnan(fps) else fps, fallback_fps=1.0)
    return [str(k) for k in ds["keypoint"].values]


# --- loading ---------------------------------------------------------------------------------------

def load_sessions(table: pd.DataFrame, *, progress: bool = True, scheduler: str | None = None,
                  **load_kwargs) -> dict[str, xr.Dataset]:
    """Load every session of a validated table; fps from the file first, then the table's ``fps``.

    Every session is tried; then one error names every file that failed.

    Parameters
    ----------
    table : pandas.DataFrame
        A validated sessions table (``sessions``).
    progress : bool, default True
        Show a progress bar.
    scheduler : str, optional
        ``None``/``"sync"`` loads here one by one, ``"local"`` or a Dask address loads the sessions in
        parallel (see :mod:`behavnb.parallel`).
    **load_kwargs
        Passed to :func:`behavnb.io.load_poses`.

    Returns
    -------
    dict of str to xarray.Dataset
        Session -> poses, in table order; ``attrs`` carry subject and group.

    Raises
    ------
    BehavnbError
        When any session failed to load (one error naming them all).
    """
    source = table.attrs.get("dataset", "sessions table")
    rows = [(row.session, row._asdict()) for row in table.itertuples(index=False)]
    outcomes = map_items(lambda row: _load_row(row, source, load_kwargs), rows, scheduler=scheduler,
                         desc="loading poses", progress=progress)
    raise_failures(outcomes, "sessions", "Fix or remove those rows of the sessions table.")
    return {o.key: o.value for o in outcomes}


def _load_row(row: dict, source: str, load_kwargs: dict) -> xr.Dataset:
    import math

    fps = None if math.isnan(row["fps"]) else float(row["fps"])
    ds = load_poses(row["file"], fallback_fps=fps, session=row["session"], **load_kwargs)
    ds.attrs.update(subject=row["subject"], group=row["group"])
    return append_log(ds, f"manifest: session {row['session']} (subject {row['subject']}, group {row['group']}) "
                          f"from {source}")


def has_truth(dataset: str | Path) -> bool:
    """Whether a dataset has ground truth: true for synthetic datasets, whose truth sits next to the poses.

    Parameters
    ----------
    dataset : str or Path
        A registered dataset name, or a folder / sessions CSV written by ``behavnb.synth``.

    Returns
    -------
    bool
    """
    if isinstance(dataset, str) and dataset in registry():
        return bool(info(dataset).get("generator"))
    path = Path(dataset)
    return (path if path.is_dir() else path.parent).joinpath("truth.parquet").exists()


def truth_path(dataset: str | Path, name: str = "truth.parquet") -> Path:
    """A ground-truth file of a synthetic dataset: registered, or a folder (or sessions CSV) ``behavnb.synth`` wrote.

    Parameters
    ----------
    dataset : str or Path
        A registered dataset name, a folder, or a sessions CSV.
    name : str, default "truth.parquet"
        ``truth.parquet``, ``truth_noise.parquet`` or ``truth.json``.

    Returns
    -------
    Path

    Raises
    ------
    DatasetNotFoundError
        When the file does not exist (only synthetic datasets have ground truth).
    """
    folder = Path(dataset) if Path(dataset).is_dir() else Path(dataset).parent
    if isinstance(dataset, str) and dataset in registry():
        fetch(dataset)
        folder = dataset_dir(dataset)
    path = folder / name
    if not path.exists():
        raise DatasetNotFoundError(f"{path}: no ground truth here; only synthetic datasets (synthetic-demo, "
                                   "synthetic-tiny, or behavnb.synth.make_cohort output) have one.")
    return path


def load_truth(dataset: str | Path) -> pd.DataFrame:
    """The per-frame ground truth of a synthetic dataset.

    Parameters
    ----------
    dataset : str or Path
        A registered synthetic dataset, or a folder / sessions CSV written by ``behavnb.synth``.

    Returns
    -------
    pandas.DataFrame
        The labels table (session, individual, frame, motif) with the truth's other columns: motif_name,
        true centre, heading, speed, ...

    Raises
    ------
    DatasetNotFoundError
        When the dataset has no ground truth.
    """
    return read_labels(truth_path(dataset))


def load_labels(dataset: str | Path, column: str | None = None) -> pd.DataFrame:
    """Per-frame labels of every session of a labels dataset, joined with subject and group.

    Parameters
    ----------
    dataset : str or Path
        A registered labels dataset (e.g. "behaviorflow-csi-labels"), or a sessions CSV / folder whose
        ``file`` column points at label files.
    column : str, optional
        The column holding the label (default: the registry's ``label_column``, else as
        :func:`behavnb.io.load_labels` chooses).

    Returns
    -------
    pandas.DataFrame
        ``session, individual, frame, motif``, ``time`` (seconds, from the table's fps), ``subject``, ``group``.

    Raises
    ------
    BehavnbError
        When the table or a label file cannot be read (see ``sessions`` and ``io.load_labels``).
    """
    import pandas as pd

    table = sessions(dataset, check_keypoints=False)
    column = column or (info(dataset).get("label_column") if isinstance(dataset, str) and dataset in registry() else None)
    parts = [read_labels(f, column, session=s) for s, f in zip(table["session"], table["file"], strict=True)]
    labels = pd.concat(parts, ignore_index=True)
    if "time" not in labels and "fps" in table:  # seconds, so that bouts and rates need no fps argument
        fps = labels["session"].map(dict(zip(table["session"], pd.to_numeric(table["fps"], errors="coerce"), strict=True)))
        labels["time"] = labels["frame"] / fps
    return labels.merge(table[["session", "subject", "group"]], on="session", how="left")
