"""The run directory shared by the notebooks: where each step's outputs live, written atomically.

Layout (see DESIGN.md)::

    <project_dir>/sessions.csv, poses/<session>.nc, clean/, features/, models/<name>/,
    latents/<name>/, motifs/, hierarchy/, stats/, figures/, reports/

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
    """Paths of one analysis run directory. Creating it makes the folder; nothing else is written."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

    # paths ------------------------------------------------------------------------------------
    @property
    def sessions_csv(self) -> Path:
        return self.root / "sessions.csv"

    def poses_path(self, session: str) -> Path:
        return self.root / "poses" / f"{session}.nc"

    def clean_path(self, session: str) -> Path:
        return self.root / "clean" / f"{session}.nc"

    def features_path(self, session: str) -> Path:
        return self.root / "features" / f"{session}.nc"

    def model_dir(self, name: str) -> Path:
        """``models/<name>/``: weights.pt, normalizer.json, config.yaml, history.csv, checkpoints/."""
        return self.root / "models" / name

    def latents_path(self, name: str, session: str) -> Path:
        return self.root / "latents" / name / f"{session}.nc"

    def motifs_dir(self, name: str) -> Path:
        """``motifs/<model>-<method>-<k>/``: labels.parquet (session, individual, frame, time, motif, ...), usage, bouts."""
        return self.root / "motifs" / name

    def labels_path(self, name: str) -> Path:
        return self.motifs_dir(name) / "labels.parquet"

    def hierarchy_dir(self, name: str) -> Path:
        """``hierarchy/<motifs name>/``: transitions.nc, tree_<method>.json, communities.csv, stability.csv, ..."""
        return self.root / "hierarchy" / name

    def stats_dir(self, name: str) -> Path:
        """``stats/<motifs name>/``: results.csv, methods.md, and the tables behind them."""
        return self.root / "stats" / name

    def motif_names_path(self, name: str) -> Path:
        """``motifs/<name>/motif_names.csv``: the user-edited motif -> name, note table plots read."""
        return self.motifs_dir(name) / "motif_names.csv"

    def find_motifs(self, prefix: str = "") -> str:
        """The most recently written ``motifs/<name>/`` whose name starts with ``prefix`` (e.g. "vame-hmm")."""
        found = sorted((p for p in (self.root / "motifs").glob(f"{prefix}*") if (p / "labels.parquet").exists()),
                       key=lambda p: (p / "labels.parquet").stat().st_mtime)
        if not found:
            raise PoseFileNotFoundError(f"{self.root / 'motifs'}: no motif labels named {prefix!r}*; run notebook "
                                        f"06_segment first (or pass the folder name).")
        return found[-1].name

    def read_labels(self, name: str) -> pd.DataFrame:
        import pandas as pd

        path = self.labels_path(name)
        if not path.exists():
            raise PoseFileNotFoundError(f"{path}: no labels; run notebook 06_segment first.")
        return pd.read_parquet(path)

    @property
    def qc_csv(self) -> Path:
        return self.root / "clean" / "qc.csv"

    @property
    def qc_sessions_csv(self) -> Path:
        return self.root / "clean" / "qc_sessions.csv"

    def figure_path(self, name: str) -> Path:
        (self.root / "figures").mkdir(exist_ok=True)
        return self.root / "figures" / name

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    # sessions table ------------------------------------------------------------------------------
    def write_sessions(self, table: pd.DataFrame) -> Path:
        with atomic_path(self.sessions_csv) as tmp:
            table.to_csv(tmp, index=False)
        return self.sessions_csv

    def read_sessions(self) -> pd.DataFrame:
        import pandas as pd

        if not self.sessions_csv.exists():
            raise PoseFileNotFoundError(
                f"{self.sessions_csv}: no sessions table in this project yet. Run notebook 01_import with "
                f"project_dir={str(self.root)!r} first."
            )
        return pd.read_csv(self.sessions_csv, dtype={"session": str, "subject": str, "group": str})

    # poses -----------------------------------------------------------------------------------------
    def write_poses(self, ds: xr.Dataset) -> Path:
        return save_poses(ds, self.poses_path(ds.attrs["session"]))

    def read_all_poses(self) -> dict[str, xr.Dataset]:
        """Every imported session of the sessions table, in table order."""
        return {s: self.read_poses(s) for s in self.read_sessions()["session"]}

    def read_poses(self, session: str) -> xr.Dataset:
        path = self.poses_path(session)
        if not path.exists():
            raise PoseFileNotFoundError(f"{path}: session {session!r} was not imported; run notebook 01_import first.")
        return load_poses(path, source="netcdf", session=session)

    # cleaned poses and features ----------------------------------------------------------------------
    def write_table(self, table: pd.DataFrame, path: Path) -> Path:
        """A table as CSV, or as Parquet when ``path`` ends in ``.parquet``; atomically, folders created."""
        path = Path(path)
        with atomic_path(path) as tmp:
            if path.suffix == ".parquet":
                table.to_parquet(tmp, index=False)
            else:
                table.to_csv(tmp, index=False)
        return path

    def write_dataset(self, ds: xr.Dataset, path: Path) -> Path:
        """Write any Dataset (cleaned poses, features) to netCDF atomically."""
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="netcdf4")
        return path

    def read_clean(self, session: str) -> xr.Dataset:
        return self._read(self.clean_path(session), "cleaned poses", "02_preprocess")

    def read_features(self, session: str) -> xr.Dataset:
        return self._read(self.features_path(session), "features", "03_features")

    def write_latents(self, latents: xr.DataArray, name: str, session: str) -> Path:
        """One session's latents ``(time, latent[, individual])`` to ``latents/<name>/<session>.nc``."""
        return self.write_dataset(latents.to_dataset(name="embedding"), self.latents_path(name, session))

    def read_latents(self, name: str, session: str) -> xr.DataArray:
        return self._read(self.latents_path(name, session), f"{name} latents", "04_train_vame")["embedding"]

    def usable_sessions(self, include_failed: bool = False) -> list[str]:
        """Sessions that passed QC in 02_preprocess (all of them if no QC table exists); warns about the rest.

        A session fails when none of its individuals passed (02 drops failing individuals from the
        cleaned data and keeps the others). ``include_failed=True`` keeps failed sessions (with the
        warning) where 02 could clean them.
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
