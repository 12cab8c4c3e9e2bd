"""The run directory shared by the notebooks: where each step's outputs live, written atomically.

Part of the run layer (``project``/``manifest``/``skeleton``), above utils/errors and the machine, below the
flow (preprocess onwards), which reads and writes through it. Layout (docs/design.md, "A run directory")::

    <project_dir>/sessions.csv, skeleton.yaml, poses/<session>.nc, clean/, features/, models/<name>/,
    latents/<name>/, motifs/, hierarchy/, stats/, exports/, figures/, reports/

Every write goes to a temporary file in the same folder and is renamed into place, so a crash never
leaves half a file where a later notebook would read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from behavnb.errors import DataWarning, PoseFileNotFoundError, SessionsTableError
from behavnb.io import load_poses, save_poses
from behavnb.utils import atomic_path

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr


class Project:
    """Paths of one analysis run directory. Creating it makes the folder; nothing else is written.

    Parameters
    ----------
    root : str or Path
        The run directory (``~`` expanded, made absolute); created if missing.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

    # paths ------------------------------------------------------------------------------------
    @property
    def sessions_csv(self) -> Path:
        """``sessions.csv``: the validated sessions table written by notebook 01."""
        return self.root / "sessions.csv"

    def poses_path(self, session: str) -> Path:
        """Where one session's imported poses live.

        Parameters
        ----------
        session : str
            The session name (the sessions table's ``session``).

        Returns
        -------
        Path
            ``poses/<session>.nc``.
        """
        return self.root / "poses" / f"{session}.nc"

    def clean_path(self, session: str) -> Path:
        """Where one session's cleaned poses live (written by notebook 02).

        Parameters
        ----------
        session : str
            The session name.

        Returns
        -------
        Path
            ``clean/<session>.nc``.
        """
        return self.root / "clean" / f"{session}.nc"

    def features_path(self, session: str) -> Path:
        """Where one session's features live (written by notebook 03).

        Parameters
        ----------
        session : str
            The session name.

        Returns
        -------
        Path
            ``features/<session>.nc``.
        """
        return self.root / "features" / f"{session}.nc"

    def model_dir(self, name: str) -> Path:
        """A trained model's folder: weights.pt, normalizer.json, config.yaml, history.csv, checkpoints/.

        Parameters
        ----------
        name : str
            The model's name ("vame", "vqmap", "vqmap-gpt", ...).

        Returns
        -------
        Path
            ``models/<name>/`` (not created).
        """
        return self.root / "models" / name

    def latents_path(self, name: str, session: str) -> Path:
        """Where one session's latents of one model live.

        Parameters
        ----------
        name : str
            The model's name ("vame", "vqmap").
        session : str
            The session name.

        Returns
        -------
        Path
            ``latents/<name>/<session>.nc``.
        """
        return self.root / "latents" / name / f"{session}.nc"

    def motifs_dir(self, name: str) -> Path:
        """A segmentation's folder: labels.parquet (session, individual, frame, time, motif, ...), usage, bouts.

        Parameters
        ----------
        name : str
            The segmentation's name, ``<model>-<method>-<k>`` (e.g. "vame-hmm-12").

        Returns
        -------
        Path
            ``motifs/<name>/`` (not created).
        """
        return self.root / "motifs" / name

    def labels_path(self, name: str) -> Path:
        """A segmentation's labels table.

        Parameters
        ----------
        name : str
            The segmentation's name (see ``motifs_dir``).

        Returns
        -------
        Path
            ``motifs/<name>/labels.parquet``.
        """
        return self.motifs_dir(name) / "labels.parquet"

    def hierarchy_dir(self, name: str) -> Path:
        """A segmentation's hierarchy folder: transitions.nc, tree_<method>.json, communities.csv, stability.csv, ...

        Parameters
        ----------
        name : str
            The segmentation's name (see ``motifs_dir``).

        Returns
        -------
        Path
            ``hierarchy/<name>/`` (not created).
        """
        return self.root / "hierarchy" / name

    def stats_dir(self, name: str) -> Path:
        """A segmentation's statistics folder: results.csv, methods.md, and the tables behind them.

        Parameters
        ----------
        name : str
            The segmentation's name (see ``motifs_dir``).

        Returns
        -------
        Path
            ``stats/<name>/`` (not created).
        """
        return self.root / "stats" / name

    def motif_names_path(self, name: str) -> Path:
        """The user-edited motif -> name, note table that plots read.

        Parameters
        ----------
        name : str
            The segmentation's name (see ``motifs_dir``).

        Returns
        -------
        Path
            ``motifs/<name>/motif_names.csv``.
        """
        return self.motifs_dir(name) / "motif_names.csv"

    def find_motifs(self, prefix: str = "") -> str:
        """The most recently written ``motifs/<name>/`` whose name starts with ``prefix``.

        Parameters
        ----------
        prefix : str, default ""
            Start of the folder name, e.g. "vame-hmm"; "" takes any.

        Returns
        -------
        str
            The folder name (not the path).

        Raises
        ------
        PoseFileNotFoundError
            When no such folder holds a labels.parquet (notebook 06 has not run).
        """
        found = sorted((p for p in (self.root / "motifs").glob(f"{prefix}*") if (p / "labels.parquet").exists()),
                       key=lambda p: (p / "labels.parquet").stat().st_mtime)
        if not found:
            raise PoseFileNotFoundError(f"{self.root / 'motifs'}: no motif labels named {prefix!r}*; run notebook "
                                        f"06_segment first (or pass the folder name).")
        return found[-1].name

    def read_labels(self, name: str) -> pd.DataFrame:
        """A segmentation's labels table.

        Parameters
        ----------
        name : str
            The segmentation's name (see ``motifs_dir``).

        Returns
        -------
        pandas.DataFrame
            One row per frame and animal: session, individual, frame, time, motif, ...

        Raises
        ------
        PoseFileNotFoundError
            When the labels file does not exist (notebook 06 has not run).
        """
        import pandas as pd

        path = self.labels_path(name)
        if not path.exists():
            raise PoseFileNotFoundError(f"{path}: no labels; run notebook 06_segment first.")
        return pd.read_parquet(path)

    @property
    def qc_csv(self) -> Path:
        """``clean/qc.csv``: the per-keypoint QC table written by notebook 02."""
        return self.root / "clean" / "qc.csv"

    @property
    def qc_sessions_csv(self) -> Path:
        """``clean/qc_sessions.csv``: the per-session and per-animal QC verdicts written by notebook 02."""
        return self.root / "clean" / "qc_sessions.csv"

    def figure_path(self, name: str) -> Path:
        """Where a notebook saves a figure; creates ``figures/``.

        Parameters
        ----------
        name : str
            The file name, e.g. "01_confidence.png".

        Returns
        -------
        Path
            ``figures/<name>``.
        """
        (self.root / "figures").mkdir(exist_ok=True)
        return self.root / "figures" / name

    @property
    def reports_dir(self) -> Path:
        """``reports/``: the executed notebooks and the HTML report."""
        return self.root / "reports"

    # sessions table ------------------------------------------------------------------------------
    def write_sessions(self, table: pd.DataFrame) -> Path:
        """Write the sessions table to ``sessions.csv`` atomically.

        Parameters
        ----------
        table : pandas.DataFrame
            The validated sessions table (``manifest.sessions``).

        Returns
        -------
        Path
            The written file.
        """
        with atomic_path(self.sessions_csv) as tmp:
            table.to_csv(tmp, index=False)
        return self.sessions_csv

    def read_sessions(self) -> pd.DataFrame:
        """The sessions table written by notebook 01.

        Returns
        -------
        pandas.DataFrame
            ``session``, ``subject`` and ``group`` read as strings.

        Raises
        ------
        PoseFileNotFoundError
            When the project has no sessions table yet.
        """
        import pandas as pd

        if not self.sessions_csv.exists():
            raise PoseFileNotFoundError(
                f"{self.sessions_csv}: no sessions table in this project yet. Run notebook 01_import with "
                f"project_dir={str(self.root)!r} first."
            )
        return pd.read_csv(self.sessions_csv, dtype={"session": str, "subject": str, "group": str})

    # poses -----------------------------------------------------------------------------------------
    def write_poses(self, ds: xr.Dataset) -> Path:
        """Write one session's imported poses to ``poses/<session>.nc``.

        Parameters
        ----------
        ds : xarray.Dataset
            Poses in the behavnb schema; ``attrs["session"]`` names the file.

        Returns
        -------
        Path
            The written file.
        """
        return save_poses(ds, self.poses_path(ds.attrs["session"]))

    def read_all_poses(self) -> dict[str, xr.Dataset]:
        """Every imported session of the sessions table, in table order.

        Returns
        -------
        dict of str to xarray.Dataset
            Session -> poses.

        Raises
        ------
        PoseFileNotFoundError
            When the sessions table or a session's poses file is missing.
        """
        return {s: self.read_poses(s) for s in self.read_sessions()["session"]}

    def read_poses(self, session: str) -> xr.Dataset:
        """One session's imported poses.

        Parameters
        ----------
        session : str
            The session name.

        Returns
        -------
        xarray.Dataset

        Raises
        ------
        PoseFileNotFoundError
            When the session was not imported.
        """
        path = self.poses_path(session)
        if not path.exists():
            raise PoseFileNotFoundError(f"{path}: session {session!r} was not imported; run notebook 01_import first.")
        return load_poses(path, source="netcdf", session=session)

    # cleaned poses and features ----------------------------------------------------------------------
    def write_table(self, table: pd.DataFrame, path: Path) -> Path:
        """Write a table as CSV, or as Parquet when ``path`` ends in ``.parquet``; atomically, folders created.

        Parameters
        ----------
        table : pandas.DataFrame
            The table; its index is not written.
        path : Path
            The target file.

        Returns
        -------
        Path
            The written file.
        """
        path = Path(path)
        with atomic_path(path) as tmp:
            if path.suffix == ".parquet":
                table.to_parquet(tmp, index=False)
            else:
                table.to_csv(tmp, index=False)
        return path

    def write_dataset(self, ds: xr.Dataset, path: Path) -> Path:
        """Write any Dataset (cleaned poses, features) to netCDF atomically.

        Parameters
        ----------
        ds : xarray.Dataset
            What to write.
        path : Path
            The target file, e.g. ``clean_path(session)``.

        Returns
        -------
        Path
            The written file.
        """
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="netcdf4")
        return path

    def read_clean(self, session: str) -> xr.Dataset:
        """One session's cleaned poses (notebook 02).

        Parameters
        ----------
        session : str
            The session name.

        Returns
        -------
        xarray.Dataset
            Loaded into memory; the file is closed.

        Raises
        ------
        PoseFileNotFoundError
            When the session has no cleaned poses.
        """
        return self._read(self.clean_path(session), "cleaned poses", "02_preprocess")

    def read_features(self, session: str) -> xr.Dataset:
        """One session's features (notebook 03).

        Parameters
        ----------
        session : str
            The session name.

        Returns
        -------
        xarray.Dataset
            Loaded into memory; the file is closed.

        Raises
        ------
        PoseFileNotFoundError
            When the session has no features.
        """
        return self._read(self.features_path(session), "features", "03_features")

    def write_latents(self, latents: xr.DataArray, name: str, session: str) -> Path:
        """Write one session's latents ``(time, latent[, individual])`` to ``latents/<name>/<session>.nc``.

        Parameters
        ----------
        latents : xarray.DataArray
            The latents (``embed.embed_sessions``); stored as the variable ``embedding``.
        name : str
            The model's name ("vame", "vqmap").
        session : str
            The session name.

        Returns
        -------
        Path
            The written file.
        """
        return self.write_dataset(latents.to_dataset(name="embedding"), self.latents_path(name, session))

    def read_latents(self, name: str, session: str) -> xr.DataArray:
        """One session's latents of one model (notebooks 04/05).

        Parameters
        ----------
        name : str
            The model's name ("vame", "vqmap").
        session : str
            The session name.

        Returns
        -------
        xarray.DataArray
            ``(time, latent[, individual])``, loaded into memory.

        Raises
        ------
        PoseFileNotFoundError
            When the session has no such latents.
        """
        return self._read(self.latents_path(name, session), f"{name} latents", "04_train_vame")["embedding"]

    def usable_sessions(self, include_failed: bool = False) -> list[str]:
        """Sessions that passed QC in 02_preprocess (all of them if no QC table exists); warns about the rest.

        A session fails when none of its individuals passed (02 drops failing individuals from the
        cleaned data and keeps the others).

        Parameters
        ----------
        include_failed : bool, default False
            Also keep failed sessions (with the warning) where 02 could clean them.

        Returns
        -------
        list of str
            Session names, in table order.

        Raises
        ------
        SessionsTableError
            When no session is left.
        """
        import warnings

        import pandas as pd

        sessions = list(self.read_sessions()["session"])
        if not self.qc_sessions_csv.exists():
            return sessions
        qc = pd.read_csv(self.qc_sessions_csv, dtype={"session": str}, keep_default_na=False)
        passed = qc["qc_pass"].astype(str) == "True"
        failed = sorted(set(qc["session"]) - set(qc.loc[passed, "session"]))
        uncleaned = [s for s in failed if not self.clean_path(s).exists()]  # excluded before cleaning (too short, empty)
        if failed:
            verb = "using, although they failed" if include_failed else "skipping"
            if include_failed and uncleaned:
                verb = f"skipping {uncleaned} (never cleaned) and using, although they failed,"
            warnings.warn(f"{verb} {len(failed)} session(s) that failed QC in 02_preprocess: {failed} "
                          f"(see {self.qc_sessions_csv}).", DataWarning, stacklevel=2)
        usable = [s for s in sessions if s not in (uncleaned if include_failed else failed)]
        if not usable:
            raise SessionsTableError(
                f"every session in {self.root} failed QC in 02_preprocess ({self.qc_sessions_csv} says why). "
                f"Fix the tracking, re-run 02 with a looser qc_max_missing (behavnb run 2 ... -p qc_max_missing=40), or use "
                f"them anyway: -p use_failed_sessions=true (include_failed=True from Python).")
        return usable

    def _read(self, path: Path, what: str, notebook: str) -> xr.Dataset:
        import xarray as xr

        if not path.exists():
            raise PoseFileNotFoundError(f"{path}: no {what} for this session; run notebook {notebook} first.")
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds.load()
