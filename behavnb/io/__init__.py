"""Read pose files of every common tracker into one poses Dataset, and other tools' labels.

The files layer and the flow's first room (**io** -> preprocess -> features -> ...); below it only
utils/errors and the machine. ``load_poses`` is the io boundary: whatever the tracker or movement
version, what comes out has singular dims ``time, space, keypoint, individual``, ``position`` and
``confidence`` variables, time in seconds and a provenance log in ``attrs['log']``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import (
    EmptyFileError,
    MissingFpsError,
    ParameterError,
    PoseFileNotFoundError,
    PoseFormatError,
    UnknownFormatError,
)
from behavnb.io import dlc, nwb, sleap
from behavnb.io.dlc import fps_from_metadata, sniff_csv
from behavnb.io.labels import load_labels
from behavnb.io.schema import RawPoses, append_log, log_lines, make_poses, normalise_dims
from behavnb.utils import atomic_path

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["load_poses", "save_poses", "detect_format", "load_labels", "session_name", "append_log",
           "log_lines", "FORMATS"]

#: format name -> (extensions, description); the keys are what ``source=`` accepts.
FORMATS: dict[str, tuple[tuple[str, ...], str]] = {
    "dlc": ((".csv", ".h5", ".hdf5"), "DeepLabCut single- or multi-animal predictions"),
    "lightningpose": ((".csv",), "LightningPose predictions (DLC-style CSV)"),
    "sleap": ((".slp", ".h5"), "SLEAP labels (.slp) or analysis HDF5 (.analysis.h5)"),
    "sleap-csv": ((".csv",), "SLEAP CSV export"),
    "nwb": ((".nwb",), "NWB with ndx-pose (0.1 or >= 0.2 layout)"),
    "netcdf": ((".nc",), "movement or behavnb netCDF (plural or singular dims)"),
}


def detect_format(path: str | Path) -> str:
    """Guess a pose file's format from its extension and first bytes.

    Parameters
    ----------
    path : str or Path
        A pose file.

    Returns
    -------
    str
        A key of :data:`FORMATS`.

    Raises
    ------
    UnknownFormatError
        On an unsupported extension.
    PoseFormatError
        On an HDF5 file that is damaged or holds no pose table.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".csv":
        return sniff_csv(path)
    if ext in (".h5", ".hdf5"):
        return _sniff_h5(path)
    for name, (exts, _) in FORMATS.items():
        if ext in exts and name not in ("dlc", "sleap-csv", "lightningpose"):
            return name
    supported = sorted({e for exts, _ in FORMATS.values() for e in exts})
    raise UnknownFormatError(
        f"{path}: unknown pose file extension {ext or '(none)'!r}. Supported: {', '.join(supported)} "
        f"({'; '.join(f'{k}: {d}' for k, (_, d) in FORMATS.items())})."
    )


def _sniff_h5(path: Path) -> str:
    import h5py

    if path.stat().st_size == 0:
        raise EmptyFileError(f"{path} is empty (0 bytes): re-export it from your tracker.")
    try:
        with h5py.File(path, "r") as f:
            keys = list(f.keys())
            if "tracks" in f and isinstance(f["tracks"], h5py.Dataset) and "node_names" in f:
                return "sleap"
            if any("pandas_type" in f[k].attrs for k in keys if isinstance(f[k], h5py.Group)):
                return "dlc"
    except OSError as exc:
        raise PoseFormatError(f"{path}: not a readable HDF5 file ({exc}); the file is damaged or not HDF5. "
                              "Re-export it from the tracker.") from exc
    raise PoseFormatError(
        f"{path}: HDF5 file with no pose table (top-level keys: {keys or 'none'}). Expected a DeepLabCut pandas "
        "table (key df_with_missing, df or tracks) or a SLEAP analysis file (tracks, node_names)."
    )


def _read_netcdf(path: Path) -> RawPoses:
    import xarray as xr

    try:
        with xr.open_dataset(path) as opened:
            ds = normalise_dims(opened.load())
    except (OSError, ValueError) as exc:
        raise PoseFormatError(f"{path}: not a readable netCDF poses file ({exc}).") from exc
    fps = float(ds.attrs["fps"]) if ds.attrs.get("fps") else None
    if "frame" in ds.coords:
        frames = ds["frame"].values.astype(np.int64)
    elif fps and ds.attrs.get("time_unit", "seconds") == "seconds":
        frames = np.round(ds["time"].values * fps).astype(np.int64)
    else:
        frames = np.round(ds["time"].values).astype(np.int64)
    conf = ds["confidence"].values if "confidence" in ds else np.full(ds["position"][:, 0].shape, np.nan)
    raw = RawPoses(
        ds["position"].values, conf, [str(k) for k in ds["keypoint"].values],
        [str(i) for i in ds["individual"].values], str(ds.attrs.get("source_software", "unknown")),
        frames=frames, fps=fps, space=[str(s) for s in ds["space"].values],
        log=log_lines(ds) or [f"load_poses: read {path.name} as movement netCDF"],
    )
    if "unique_position" in ds:
        raw.unique_position, raw.unique_confidence = ds["unique_position"].values, ds["unique_confidence"].values
        raw.unique_keypoints = [str(k) for k in ds["unique_keypoint"].values]
    raw.attrs = {k: v for k, v in ds.attrs.items() if k not in ("fps", "source_software", "source_file", "session", "log")}
    return raw


def _readers() -> dict[str, Callable[..., RawPoses]]:
    def table(path: Path, **kw) -> RawPoses:
        return dlc.read_csv(path, **kw) if path.suffix.lower() == ".csv" else dlc.read_h5(path, **kw)

    return {
        "dlc": table,
        "lightningpose": table,
        "sleap": lambda p, **kw: sleap.read_sleap(p),
        "sleap-csv": lambda p, **kw: sleap.read_sleap_csv(p),
        "nwb": lambda p, **kw: nwb.read_nwb(p),
        "netcdf": lambda p, **kw: _read_netcdf(p),
    }


_STEM_SUFFIX = re.compile(r"(DLC_|DeepCut_|\.analysis$|\.predictions$).*$")


def session_name(path: str | Path) -> str:
    """A readable session id from a pose file name (tracker suffixes such as ``DLC_resnet50_...`` cut).

    Parameters
    ----------
    path : str or Path
        A pose file.

    Returns
    -------
    str
    """
    stem = Path(path).name
    for ext in (".analysis.h5", ".predictions.slp"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    stem = Path(stem).stem if "." in stem else stem
    return _STEM_SUFFIX.sub("", stem) or stem


def load_poses(
    path: str | Path,
    source: str = "auto",
    fps: float | None = None,
    *,
    fallback_fps: float | None = None,
    session: str | None = None,
    prefix_individuals: bool | Sequence[str] = False,
    allow_labeled_data: bool = False,
    key: str | None = None,
) -> xr.Dataset:
    """Load one pose file of any supported tracker into a poses Dataset.

    Parameters
    ----------
    path : str or Path
        DeepLabCut/LightningPose ``.csv``/``.h5``, SLEAP ``.slp``/``.analysis.h5``/CSV export, NWB
        (ndx-pose) ``.nwb`` or movement/behavnb ``.nc``.
    source : str, default "auto"
        ``"auto"`` (sniff extension and content) or one of :data:`FORMATS`.
    fps : float, optional
        Frame rate. Order of precedence: this argument, the rate stated in the file,
        ``fallback_fps``, DeepLabCut's metadata pickle.
    fallback_fps : float, optional
        The rate to use when the file states none (what the manifest passes from the sessions table).
    session : str, optional
        Session id stored in ``attrs['session']``; default from the file name (``session_name``).
    prefix_individuals : bool or sequence of str, default False
        Split animal-prefixed bodyparts (``B_Nose``, ``W_Nose``) of old single-table multi-animal
        files into individuals: ``True`` detects the prefixes, or pass them (``["B", "W"]``).
    allow_labeled_data : bool, default False
        Read DeepLabCut labeled-data (``CollectedData_*``, rows indexed by image) in file order.
    key : str, optional
        HDF5 key of a DeepLabCut table; default: ``df_with_missing``, ``df``, ``tracks`` or the only key.

    Returns
    -------
    xarray.Dataset
        ``position(time, space, keypoint, individual)``, ``confidence(time, keypoint, individual)``;
        attrs ``fps``, ``session``, ``source_software``, ``source_file`` and ``log``.

    Raises
    ------
    PoseFileNotFoundError
        When the file does not exist.
    EmptyFileError
        When it is empty.
    UnknownFormatError
        When it is a folder or its format is unknown.
    PoseFormatError
        When it cannot be read as its format.
    MissingFpsError
        When the frame rate is stated nowhere.
    ParameterError
        On a bad ``source``, ``fps`` or ``key``.

    Notes
    -----
    Points a tracker wrote as (0, 0) with likelihood <= 0.1 are set to NaN; their confidence is kept.
    Missing frame numbers are filled with NaN frames, so ``time`` is regular.

    Examples
    --------
    >>> import behavnb as bn
    >>> ds = bn.io.load_poses("m1_day1DLC_resnet50_openfieldMay1shuffle1_100000.h5", fps=30)  # doctest: +SKIP
    >>> ds["position"].dims  # doctest: +SKIP
    ('time', 'space', 'keypoint', 'individual')
    >>> print(ds.attrs["log"])  # what was read, and how  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise PoseFileNotFoundError(f"{path}: no such file. Check the path (relative paths start at {Path.cwd()}).")
    if path.is_dir():
        raise UnknownFormatError(f"{path} is a folder; pass one pose file, or use behavnb.manifest.sessions(folder).")
    if path.stat().st_size == 0:
        raise EmptyFileError(f"{path} is empty (0 bytes): re-export it from your tracker.")
    fmt = detect_format(path) if source == "auto" else source
    if fmt not in FORMATS:
        raise ParameterError(f"source={source!r} for {path}: choose 'auto' or one of {list(FORMATS)}.")
    if key is not None and not (fmt in ("dlc", "lightningpose") and path.suffix.lower() in (".h5", ".hdf5")):
        raise ParameterError(f"key={key!r} for {path}: key picks the table of a DeepLabCut .h5 file; this is a "
                             f"{fmt} {path.suffix} file, which has none. Leave key out.")
    raw = _readers()[fmt](path, prefix_individuals=prefix_individuals, allow_labeled_data=allow_labeled_data,
                          **({"key": key} if key else {}))
    if fmt == "lightningpose":
        raw.source_software = "LightningPose"
    fps_used, why = _resolve_fps(path, fps, raw.fps, fallback_fps)
    raw.log.append(f"load_poses: fps={fps_used:g} ({why})")
    return make_poses(raw, fps=fps_used, source_file=str(path), session=session or session_name(path))


def _resolve_fps(path: Path, fps, file_fps, fallback_fps) -> tuple[float, str]:
    for name, value in (("fps", fps), ("fallback_fps", fallback_fps)):
        if value is not None and not (np.isfinite(float(value)) and float(value) > 0):
            raise ParameterError(f"{name}={value!r} for {path}: the frame rate must be a positive number of frames per second.")
    if fps is not None:
        if file_fps and abs(float(fps) - file_fps) > 0.01 * file_fps:
            warnings.warn(f"{path.name}: fps={fps} overrides the file's own {file_fps:g}.", stacklevel=3)
        return float(fps), "given"
    if file_fps:
        return float(file_fps), "from the file"
    if fallback_fps is not None:
        return float(fallback_fps), "from the manifest"

    meta_fps = fps_from_metadata(path) if path.suffix.lower() in (".csv", ".h5", ".hdf5") else None
    if meta_fps:
        return meta_fps, "from DeepLabCut's metadata pickle"
    raise MissingFpsError(
        f"{path}: the frame rate is stated nowhere (not passed, not in the file, no manifest fps, no DeepLabCut "
        "metadata pickle). Pass it: load_poses(path, fps=30), or fill the 'fps' column of your sessions table."
    )


def save_poses(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a poses Dataset to netCDF atomically (a reader never sees half a file).

    Parameters
    ----------
    ds : xarray.Dataset
        Poses in the behavnb schema.
    path : str or Path
        The target ``.nc`` file.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4")
    return path
