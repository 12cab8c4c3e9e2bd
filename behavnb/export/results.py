"""One finished segmentation read back from a run directory: what every exporter needs, checked once.

Part of ``export``, the out floor after plot/widgets in the flow: what its writers share.

A run directory holds the motifs of 06 (``motifs/<name>/labels.parquet``, ``motif_names.csv``), the
hierarchy of 08 (``hierarchy/<name>/communities.csv``, ``stability.csv``: the chosen cut), the latents
of 04/05 and the sessions table of 01. :func:`load_results` finds them, says which notebook to run
when one is missing, and hands them over as one :class:`RunResults`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError, PoseFileNotFoundError
from behavnb.project import Project
from behavnb.segment import read_names


@dataclass
class RunResults:
    """A segmentation and what belongs to it.

    Attributes
    ----------
    project : Project
        The run directory.
    name : str
        The motifs folder (``motifs/<name>/``), e.g. ``vame-hmm-15``.
    labels : pandas.DataFrame
        One row per frame and individual: ``session, individual, frame, time, motif`` (motif -1: unlabelled).
    names : dict of int to str
        Motif id -> name from ``motif_names.csv`` (default names where the table is absent or blank).
    sessions : pandas.DataFrame
        The sessions table of 01 (session, subject, group, fps, file, ... as the study has them).
    communities : pandas.DataFrame or None
        ``communities.csv`` of 08 (method, n_communities, motif, community); None when 08 has not run.
    chosen_cut : int or None
        The cut 08 chose (``stability.csv``), the default of :meth:`community_map`.
    """

    project: Project
    name: str
    labels: pd.DataFrame
    names: dict[int, str]
    sessions: pd.DataFrame
    communities: pd.DataFrame | None = None
    chosen_cut: int | None = None
    motif_ids: list[int] = field(default_factory=list)

    @property
    def model_name(self) -> str:
        """The model whose latents were segmented (``vame``, ``vqmap``, ...): the motifs name's first part."""
        return self.name.split("-")[0]

    @property
    def method(self) -> str:
        """The segmentation method (``hmm``, ``kmeans``, ``codes``, ...): the motifs name's second part."""
        parts = self.name.split("-")
        return parts[1] if len(parts) > 2 else ""

    @property
    def session_ids(self) -> list[str]:
        """Sessions that have labels, in the order of the sessions table."""
        have = set(self.labels["session"].astype(str))
        return [s for s in self.sessions["session"].astype(str) if s in have]

    def fps(self, session: str) -> float:
        """Frames per second of ``session`` (sessions table, else the cleaned poses' attrs).

        Raises
        ------
        ParameterError
            When neither says (the labels' ``time`` column would then be frame numbers).
        """
        row = self.sessions.loc[self.sessions["session"].astype(str) == str(session)]
        if "fps" in row and len(row) and pd.notna(pd.to_numeric(row["fps"], errors="coerce").iloc[0]):
            return float(pd.to_numeric(row["fps"]).iloc[0])
        path = self.project.clean_path(session)
        if path.exists():
            fps = self.project.read_clean(session).attrs.get("fps")
            if fps:
                return float(fps)
        raise ParameterError(f"{self.project.sessions_csv}: no fps for session {session!r}; add an 'fps' column "
                             f"to the sessions table and re-run 01_import.")

    def session_labels(self, session: str) -> pd.DataFrame:
        """The labels of one session, sorted by individual and frame."""
        sub = self.labels[self.labels["session"].astype(str) == str(session)]
        if sub.empty:
            raise ParameterError(f"motifs/{self.name}: no labels for session {session!r}; sessions with labels: "
                                 f"{self.session_ids[:10]}{' ...' if len(self.session_ids) > 10 else ''}.")
        return sub.sort_values(["individual", "frame"]).reset_index(drop=True)

    def name_of(self, motif: int) -> str:
        """The motif's name (``motif <id>`` when it has none; ``unlabelled`` for -1)."""
        motif = int(motif)
        return "unlabelled" if motif < 0 else self.names.get(motif, f"motif {motif}")

    @property
    def cuts(self) -> list[int]:
        """The community cuts 08 wrote (numbers of communities)."""
        if self.communities is None:
            return []
        return sorted(int(n) for n in self.communities["n_communities"].unique())

    def community_map(self, cut: int | None = None, method: str = "linkage") -> dict[int, int] | None:
        """Motif -> community at ``cut`` communities (default: the cut 08 chose) of the ``method`` tree.

        Returns None when 08 has not run. Raises :class:`ParameterError` for a cut or method 08 did not write.
        """
        if self.communities is None:
            return None
        cut = self.chosen_cut if cut is None else int(cut)
        sub = self.communities[(self.communities["method"] == method) & (self.communities["n_communities"] == cut)]
        if sub.empty:
            methods = sorted(self.communities["method"].unique())
            raise ParameterError(f"hierarchy/{self.name}/communities.csv has no {method!r} cut into {cut} communities; "
                                 f"methods {methods}, cuts {self.cuts[0]}..{self.cuts[-1]}.")
        return {int(m): int(c) for m, c in zip(sub["motif"], sub["community"], strict=True)}


def open_project(project_dir: str | Path | Project) -> Project:
    """The run directory, which must exist (an exporter never creates an empty one by mistake).

    Raises
    ------
    PoseFileNotFoundError
        No such folder.
    """
    if isinstance(project_dir, Project):
        return project_dir
    if not Path(project_dir).expanduser().is_dir():
        raise PoseFileNotFoundError(f"{project_dir}: no such run directory; pass the --project-dir of a finished "
                                    f"run (behavnb run ... --project-dir DIR).")
    return Project(project_dir)


def load_results(project_dir: str | Path | Project, motifs: str | None = None) -> RunResults:
    """Read a run directory's segmentation with its names, communities and sessions.

    Parameters
    ----------
    project_dir : str, Path or Project
        The run directory (``behavnb run --project-dir``).
    motifs : str, optional
        A folder under ``motifs/`` (``vame-hmm-15``); default the newest ``vame-hmm-*``, else the newest of any.

    Returns
    -------
    RunResults

    Raises
    ------
    PoseFileNotFoundError
        When the project has no sessions table (run 01_import) or no segmentation (run 06_segment).
    """
    project = open_project(project_dir)
    sessions = project.read_sessions()  # names 01_import when missing
    motif_root = project.root / "motifs"
    if motifs is None:
        try:
            motifs = project.find_motifs("vame-hmm")
        except PoseFileNotFoundError:
            try:
                motifs = project.find_motifs("")  # any segmentation
            except PoseFileNotFoundError:
                raise PoseFileNotFoundError(f"{motif_root}: no segmentation in this run yet; run notebook 06_segment "
                                            f"first (behavnb run 6 --project-dir {project.root}).") from None
    elif not project.labels_path(motifs).exists():
        have = sorted(p.name for p in motif_root.glob("*") if (p / "labels.parquet").exists()) if motif_root.exists() else []
        raise PoseFileNotFoundError(f"{project.labels_path(motifs)}: no segmentation named {motifs!r} "
                                    f"({'found: ' + ', '.join(have) if have else 'none yet'}); run notebook 06_segment "
                                    f"first or pass one of those.")
    labels = project.read_labels(motifs)
    labels["session"] = labels["session"].astype(str)
    labels["individual"] = labels["individual"].astype(str)
    names_path = project.motif_names_path(motifs)
    if names_path.exists():
        names = read_names(names_path)
    else:
        names = {}
    used = sorted(int(m) for m in np.unique(labels["motif"].to_numpy()) if m >= 0)
    names = {m: names.get(m, f"motif {m}") for m in used} | names
    hdir = project.hierarchy_dir(motifs)
    communities, chosen = None, None
    if (hdir / "communities.csv").exists():
        communities = pd.read_csv(hdir / "communities.csv")
        if (hdir / "stability.csv").exists():
            chosen = int(pd.read_csv(hdir / "stability.csv")["n_communities"].iloc[0])
        else:
            chosen = int(communities["n_communities"].min())
    return RunResults(project=project, name=motifs, labels=labels, names=names, sessions=sessions,
                      communities=communities, chosen_cut=chosen, motif_ids=used)
