"""Tables for other tools: per-frame labels, per-animal metrics and bouts, as plain CSV with a column guide.

Part of ``export``, the out floor after plot/widgets in the flow.

What R, BehaviorFlow-style analyses and SimBA read: one label file per session (``labels/<session>.csv``,
one row per frame and animal) listed by a sessions table (``sessions.csv``: session, subject, group, file,
fps, ...), so :func:`behavnb.manifest.load_labels` reads the export straight back (and notebook 09 runs on
it as a labels dataset). Beside them, long-format ``metrics.csv`` (usage, bout count, bout rate, mean bout
length per session, animal and motif) and ``bouts.csv`` (one row per bout), and ``README.md`` saying what
every column is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError
from behavnb.export.results import RunResults, load_results
from behavnb.project import Project
from behavnb.segment.tables import bouts
from behavnb.stats import animal_table

#: the file that marks a folder as a behavnb CSV export (only such a folder is ever replaced)
MARKER = ".behavnb-export"

#: what each column of the exported tables holds (written to README.md beside them)
COLUMNS = {
    "labels/<session>.csv": {
        "session": "session id (sessions.csv)",
        "individual": "animal within the session (individual_0 for single-animal tracking)",
        "frame": "row of the session's poses (0, 1, 2, ...: one per pose frame kept by 01_import)",
        "time": "seconds on the pose file's clock (its own frame number / fps; not frame / fps when the file "
                "starts late or skips frames)",
        "motif": "motif id (-1: no label, e.g. the first and last frames a window does not cover)",
        "motif_name": "the motif's name from motif_names.csv (edit that file and re-export to rename)",
        "community_<n>": "community of the motif when the hierarchy (08) is cut into <n> communities",
    },
    "sessions.csv": {
        "session, subject, group, ...": "the study's sessions table (01_import), every column kept",
        "file": "this session's label file, relative to sessions.csv",
        "fps": "frames per second",
    },
    "metrics.csv": {
        "session, subject, group, individual": "the recording and its animal (subject carries /individual "
                                               "when sessions hold several animals)",
        "level": "what 'motif' counts: motif, or community (community_metrics.csv)",
        "motif, motif_name": "motif id and name (community id for the community level)",
        "metric": "usage (fraction of labelled frames), bout_count, bout_rate (bouts per minute of labelled time), "
                  "mean_bout_s (mean bout length, seconds)",
        "value": "the metric's value; every motif is listed for every recording (zeros where unused)",
    },
    "behaviorflow/<animal>.csv (with behaviorflow=True)": {
        "motif": "motif id as a quoted string, NA where unlabelled (BehaviorFlow's layout: R write.table, ';')",
        "community.<n>": "community at <n> communities, same style",
        "metadata.csv": "ID;Condition;DLCFile;Subject: the animal, its group, its label file",
    },
    "bouts.csv": {
        "session, subject, group, individual": "the recording and its animal",
        "motif, motif_name": "motif id and name",
        "start, end": "first and last frame of the bout (inclusive)",
        "n_frames, start_s, duration_s": "length in frames; start (start / fps) and length in seconds",
        "censored": "True when the recording's start or end, or unlabelled frames, cut the bout (true length unknown)",
    },
}


def frame_table(results: RunResults, session: str, cuts: Sequence[int] = ()) -> pd.DataFrame:
    """One session's per-frame labels with motif names and community columns.

    Parameters
    ----------
    results : RunResults
        From :func:`behavnb.export.load_results`.
    session : str
        The session id.
    cuts : sequence of int
        Numbers of communities; one ``community_<n>`` column each (needs 08's hierarchy).

    Returns
    -------
    pandas.DataFrame
        session, individual, frame, time, motif, motif_name[, community_<n> ...].
    """
    lab = results.session_labels(session)
    motif = lab["motif"].to_numpy().astype(np.int64)
    ids = np.array(sorted(results.names), dtype=np.int64)
    names = np.array([results.names[i] for i in ids], dtype=object)
    pos = np.clip(np.searchsorted(ids, motif), 0, max(len(ids) - 1, 0))
    found = (motif >= 0) & (ids[pos] == motif) if len(ids) else np.zeros(len(motif), bool)
    out = lab[["session", "individual", "frame", "time", "motif"]].copy()
    out["motif_name"] = np.where(found, names[pos] if len(ids) else "",
                                 np.where(motif < 0, "", "motif " + lab["motif"].astype(str)))
    for n in cuts:
        comm = results.community_map(n)
        lut = np.full(max(comm) + 2 if comm else 1, -1, dtype=np.int64)
        for m, c in comm.items():
            lut[m] = c
        out[f"community_{n}"] = np.where(motif >= 0, lut[np.clip(motif, 0, len(lut) - 1)], -1)
    return out


def export_csv(project_dir: str | Path | Project, out_dir: str | Path | None = None, *, motifs: str | None = None,
               cuts: Sequence[int] | str | None = None, behaviorflow: bool = False,
               overwrite: bool = False) -> dict[str, Path]:
    """Write the segmentation's tables as CSV with a column guide.

    Parameters
    ----------
    project_dir : str, Path or Project
        The run directory.
    out_dir : str or Path, optional
        Where to write; default ``<project>/exports/csv/<motifs>/``.
    motifs : str, optional
        A folder under ``motifs/``; default the newest ``vame-hmm-*``.
    cuts : sequence of int or "all", optional
        Community cuts to add as ``community_<n>`` columns; default the cut 08 chose (none without 08).
    behaviorflow : bool
        Also write ``behaviorflow/``: one label file per animal in BehaviorFlow's layout (R ``write.table``: ``;``,
        quoted, ``NA`` where unlabelled; columns ``motif`` and ``community.<n>``) and ``metadata.csv``
        (``ID;Condition;DLCFile;Subject``), as its R functions read them.
    overwrite : bool
        Replace an existing export; without it an existing ``sessions.csv`` in ``out_dir`` is refused.

    Returns
    -------
    dict of str to Path
        ``sessions.csv``, ``metrics.csv``, ``bouts.csv``, ``README.md`` and one ``labels/<session>.csv`` each.

    Raises
    ------
    PoseFileNotFoundError
        No segmentation yet (run 06_segment).
    ParameterError
        The export exists and ``overwrite`` is False; a cut 08 did not write; ``cuts`` without a hierarchy.
    """
    results = load_results(project_dir, motifs)
    out = Path(out_dir) if out_dir is not None else results.project.root / "exports" / "csv" / results.name
    out = out.expanduser().resolve()
    root = results.project.root
    if out == root or root.is_relative_to(out):
        raise ParameterError(f"out_dir={out} holds the run directory {root}: an export replaces its folder, so choose "
                             f"a new folder (default: {root / 'exports' / 'csv' / results.name}).")
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise ParameterError(f"{out} is not empty and is not an earlier behavnb CSV export (no {MARKER}); an export "
                                 f"replaces its folder, so choose a new or empty folder.")
        if not overwrite:
            raise ParameterError(f"{out} holds an earlier export: pass overwrite=True (behavnb export csv --overwrite) "
                                 f"or choose another folder.")
    if cuts is None:
        cuts = [results.chosen_cut] if results.chosen_cut else []
    elif isinstance(cuts, str):
        if cuts != "all":
            raise ParameterError(f"cuts={cuts!r}: pass numbers of communities (e.g. [3, 5]) or 'all'.")
        cuts = [n for n in results.cuts if 1 < n < len(results.motif_ids)]
    cuts = [int(n) for n in cuts]
    if cuts and results.communities is None:
        raise ParameterError(f"cuts={cuts}: hierarchy/{results.name}/ has no communities.csv; run notebook "
                             f"08_hierarchy first, or export without cuts.")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=_parent(out)))  # the export appears whole or not at all
    try:
        files, frames = {}, []
        for s in results.session_ids:
            table = frame_table(results, s, cuts)
            (tmp / "labels").mkdir(exist_ok=True)
            table.to_csv(tmp / "labels" / f"{s}.csv", index=False)
            files[s] = f"labels/{s}.csv"
            frames.append(table)
        sessions = results.sessions[results.sessions["session"].astype(str).isin(files)].copy()
        sessions["file"] = sessions["session"].astype(str).map(files)
        sessions["fps"] = [results.fps(s) for s in sessions["session"].astype(str)]
        labels = pd.concat(frames, ignore_index=True)
        ids = results.motif_ids
        name = {m: results.name_of(m) for m in ids}
        meta = [c for c in ("subject", "group") if c in sessions]
        by_fps = [(fps, labels[labels["session"].isin(set(part["session"].astype(str)))])  # each session at its own rate
                  for fps, part in sessions.groupby("fps", sort=False)]
        metrics = pd.concat([animal_table(lab, sessions, motifs=ids, fps=fps) for fps, lab in by_fps], ignore_index=True)
        metrics.insert(metrics.columns.get_loc("motif") + 1, "motif_name", metrics["motif"].map(name))
        b = pd.concat([bouts(lab, fps) for fps, lab in by_fps], ignore_index=True)
        b = b.merge(sessions[["session", *meta]].astype({"session": str}), on="session", how="left")
        b.insert(b.columns.get_loc("motif") + 1, "motif_name", b["motif"].map(name))
        tables = {"sessions.csv": sessions, "metrics.csv": metrics, "bouts.csv": b}
        if cuts:
            col, ids_c = f"community_{cuts[0]}", sorted(set(results.community_map(cuts[0]).values()))
            tables["community_metrics.csv"] = pd.concat(
                [animal_table(lab.assign(motif=lab[col]), sessions, motifs=ids_c, level="community", fps=fps)
                 for fps, lab in by_fps], ignore_index=True)
        for fname, table in tables.items():
            table.to_csv(tmp / fname, index=False)
        if behaviorflow:
            write_behaviorflow(tmp / "behaviorflow", labels, sessions, cuts)
        (tmp / "README.md").write_text(_readme(results, cuts, len(labels)))
        (tmp / MARKER).write_text(f"behavnb CSV export of {root / 'motifs' / results.name}\n")
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; give the folder the permissions mkdir would
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {str(p.relative_to(out)): p for p in sorted(out.rglob("*")) if p.is_file()}


def write_behaviorflow(folder: Path, labels: pd.DataFrame, sessions: pd.DataFrame, cuts: Sequence[int] = ()) -> Path:
    """Label files as BehaviorFlow's R code reads them: one per animal, ``;``-separated, quoted, ``NA`` unlabelled.

    Parameters
    ----------
    folder : Path
        Where to write ``<session>[_<individual>].csv`` and ``metadata.csv``.
    labels : pandas.DataFrame
        :func:`frame_table` rows of every session (``motif`` and ``community_<n>`` columns).
    sessions : pandas.DataFrame
        The sessions table (``group`` becomes BehaviorFlow's ``Condition``).
    cuts : sequence of int
        The ``community_<n>`` columns to write (as ``community.<n>``, R's column style).

    Returns
    -------
    Path
        ``metadata.csv``.
    """
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    several = labels.groupby("session")["individual"].nunique().gt(1)
    group = dict(zip(sessions["session"].astype(str), sessions.get("group", pd.Series("", index=sessions.index)).astype(str),
                     strict=True))
    subject = dict(zip(sessions["session"].astype(str), sessions.get("subject", sessions["session"]).astype(str),
                       strict=True))
    rows = []
    for (session, ind), part in labels.groupby(["session", "individual"], sort=False):
        animal_id = f"{session}_{ind}" if several.get(session, False) else str(session)
        columns = {"motif": part["motif"], **{f"community.{n}": part[f"community_{n}"] for n in cuts}}
        table = pd.DataFrame({f'"{k}"': np.where(v.to_numpy() >= 0, '"' + v.astype(str) + '"', "NA")  # R's quoting
                              for k, v in columns.items()})
        table.to_csv(folder / f"{animal_id}.csv", sep=";", index=False, quoting=csv.QUOTE_NONE)
        rows.append({"ID": animal_id, "Condition": group.get(str(session), ""), "DLCFile": f"{animal_id}.csv",
                     "Subject": subject.get(str(session), str(session)) + (f"/{ind}" if several.get(session, False) else "")})
    pd.DataFrame(rows).to_csv(folder / "metadata.csv", sep=";", index=False)
    return folder / "metadata.csv"


def _parent(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.parent


def _readme(results: RunResults, cuts: Sequence[int], n_rows: int) -> str:
    lines = [f"# behavnb export: {results.name}", "",
             f"Segmentation `motifs/{results.name}` of {results.project.root} ({len(results.session_ids)} sessions, "
             f"{n_rows:,} frame rows, {len(results.motif_ids)} motifs"
             + (f", communities at {', '.join(map(str, cuts))}" if cuts else "") + ").", "",
             "Read it back: `behavnb.manifest.load_labels('<this folder>/sessions.csv')` (or run notebook 09 with "
             "`labels_dataset=<this folder>/sessions.csv`); in R: `read.csv('labels/<session>.csv')`.", ""]
    for fname, cols in COLUMNS.items():
        lines += [f"## {fname}", "", "| column | meaning |", "|---|---|"]
        lines += [f"| {c} | {m} |" for c, m in cols.items()]
        lines.append("")
    return "\n".join(lines)
