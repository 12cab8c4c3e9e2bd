"""Per-frame motif/cluster labels made by other tools (BehaviorFlow, B-SOiD, VAME, keypoint-MoSeq
exports, a synthetic cohort's truth), read into behavnb's labels table.

Part of ``io``, the files layer and the flow's first room; ``manifest.load_labels`` and ``stats`` read
other tools' labels through it.

The labels table has one row per frame: ``session, individual, frame, motif`` plus any extra label
columns of the file. ``motif`` is an integer where every label is a number, a string otherwise;
frames a tool left unlabelled (``NA``) keep their row with a missing motif, so frames stay aligned
with the poses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from behavnb.errors import EmptyFileError, ParameterError, PoseFileNotFoundError, PoseFormatError

if TYPE_CHECKING:
    import pandas as pd

_FRAME_NAMES = ("frame", "frame_idx", "frame_index", "frames")


def load_labels(
    path: str | Path,
    column: str | None = None,
    *,
    session: str | None = None,
    individual: str = "individual_0",
    frame_column: str | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """Read one label file (``.csv``/``.tsv``/``.parquet``) into the labels table.

    Parameters
    ----------
    column
        The column holding the motif/cluster id. Default: ``motif`` if present, else the only
        column that is not a frame number; with several candidates, name one (the error lists them).
    session, individual
        Fill these when the file has no such column (default session: the file name's stem).
    frame_column
        Column with frame numbers; default ``frame``/``frame_idx`` if present, else the row number.
    sep
        Field separator; default sniffed (BehaviorFlow writes ``;``).
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise PoseFileNotFoundError(f"{path}: no such label file. Check the path.")
    if path.stat().st_size == 0:
        raise EmptyFileError(f"{path} is empty: re-export the labels from the tool that made them.")
    if path.suffix.lower() == ".parquet":
        df = pd.read_parquet(path)
    else:
        try:
            df = pd.read_csv(path, sep=sep, engine="python" if sep is None else "c",
                             na_values=["NA", "NaN", "nan", ""], keep_default_na=True)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise PoseFormatError(f"{path}: not a readable label table ({exc}); expected one row per frame.") from exc
    if df.empty:
        raise EmptyFileError(f"{path}: no rows; expected one row per frame.")
    df.columns = [str(c).strip() for c in df.columns]

    fcol = frame_column or next((c for c in df.columns if c.lower() in _FRAME_NAMES), None)
    if fcol is not None and fcol not in df:
        raise ParameterError(f"{path}: frame_column={fcol!r} not among the columns {list(df.columns)}.")
    candidates = [c for c in df.columns if c not in (fcol, "session", "individual")]
    if column is None:
        column = "motif" if "motif" in df else (candidates[0] if len(candidates) == 1 else None)
        if column is None:
            raise ParameterError(f"{path}: several label columns {candidates}; pass column=<one of these>.")
    elif column not in df:
        raise ParameterError(f"{path}: column={column!r} not among the columns {list(df.columns)}; pass one of these.")

    out = pd.DataFrame({
        "session": df["session"].astype(str) if "session" in df else (session or path.stem),
        "individual": df["individual"].astype(str) if "individual" in df else individual,
        "frame": df[fcol].astype("int64") if fcol else pd.RangeIndex(len(df)),
        "motif": _as_motif(df[column]),
    })
    for extra in df.columns:
        if extra not in (fcol, column, "session", "individual", "motif"):
            out[extra] = df[extra].to_numpy()
    if out.duplicated(["session", "individual", "frame"]).any():
        raise PoseFormatError(f"{path}: the same (session, individual, frame) appears twice; one label per frame expected.")
    return out


def _as_motif(col: pd.Series) -> pd.Series:
    """Integer motif ids where all labels are numbers (e.g. BehaviorFlow's quoted "1".."25")."""
    import pandas as pd

    num = pd.to_numeric(col, errors="coerce")
    if (num.notna() == col.notna()).all() and (num.dropna() % 1 == 0).all():
        return num.astype("Int64")
    return col.astype("string")
