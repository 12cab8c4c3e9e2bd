"""DeepLabCut and LightningPose tables (CSV and pandas-HDF5), read with our own parser.

A reader of ``io``, the files layer and the flow's first room (io -> preprocess -> ...).

movement 0.15 reads DLC H5 files only under the key ``df_with_missing`` and knows none of the
quirks below, so DLC tables are parsed here, in one vectorised pass:

- the H5 table may sit under ``df_with_missing``, ``df``, ``tracks`` or any single other key;
- pandas-mangled scorer rows (``scorer.1``, ``scorer.2``, ...) are harmless: the scorer row is only
  read for its name;
- points stored as (0.0, 0.0) with low likelihood are missing, and become NaN;
- frame numbers may start anywhere and have gaps: gaps are filled with NaN frames;
- multi-animal tables (4 header rows) keep unique bodyparts (individual ``single``) apart;
- old "multi" tables with animal-prefixed bodyparts (``B_Nose``, ``W_Nose``) can be split into
  individuals with ``prefix_individuals``.
"""

from __future__ import annotations

import io
import pickle
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from behavnb.errors import EmptyFileError, PoseFormatError, UnknownFormatError
from behavnb.io.schema import RawPoses

HEADER_NAMES = ("scorer", "individuals", "bodyparts", "coords")
KNOWN_H5_KEYS = ("df_with_missing", "df", "tracks")
#: a point at exactly (0, 0) with likelihood at or below this is a missing detection.
ZERO_MISSING_LIKELIHOOD = 0.1


def _software(scorer: str) -> str:
    return "LightningPose" if scorer.startswith("heatmap") else "DeepLabCut"


def read_csv(
    path: Path, *, prefix_individuals: bool | Sequence[str] = False, allow_labeled_data: bool = False
) -> RawPoses:
    """Read a DLC/LightningPose CSV (3 or 4 header rows).

    Predictions (frame-numbered rows) are parsed straight from the file by pyarrow into one float64 array,
    which also rejects rows with a wrong field count; a file it rejects (or labeled-data) is re-read by the
    careful path, which names the first bad line. This keeps the load at about 1.2x the file size in memory (the
    careful path held the file's bytes, pandas' table and copies: 3.7x on a 1-hour file).
    """
    with open(path, "rb") as fh:
        head = [fh.readline() for _ in range(6)]
    bom = 3 if head[0].startswith(b"\xef\xbb\xbf") else 0  # a UTF-8 byte-order mark (Excel's "CSV UTF-8")
    head[0] = head[0][bom:]
    if not b"".join(head).strip():  # empty, or blank lines only so far: the careful path decides
        return _read_csv_careful(path, prefix_individuals=prefix_individuals, allow_labeled_data=allow_labeled_data)
    lines = [ln[:-1] if ln.endswith(b"\n") else ln for ln in head]
    n_header, header = _parse_header(path, lines)
    n_index = _index_columns(header)
    first_data = lines[n_header].split(b",", 1)[0].strip() if len(lines) > n_header else b""
    labeled = bool(first_data) and not first_data.replace(b".", b"", 1).isdigit()
    if labeled or n_index != 1:
        return _read_csv_careful(path, prefix_individuals=prefix_individuals, allow_labeled_data=allow_labeled_data)
    parsed = _parse_numeric(path, bom + sum(len(ln) for ln in head[:n_header]), len(header["coords"]))
    if parsed is None:  # pyarrow refused the file: the careful path finds out why, or reads it as pandas would
        return _read_csv_careful(path, prefix_individuals=prefix_individuals, allow_labeled_data=allow_labeled_data)
    index, values = parsed
    return _from_csv_header(path, header, n_index, values, index, prefix_individuals, allow_labeled_data)


def _parse_header(path: Path, lines: list[bytes]) -> tuple[int, dict[str, list[str]]]:
    """(number of header rows, {row name: cells}) from the first lines of a DLC CSV."""
    found: list[str] = []
    header: dict[str, list[str]] = {}
    for line in lines[:5]:
        cells = line.decode("utf-8", "replace").rstrip("\r").split(",")
        if cells[0].strip().lower() not in HEADER_NAMES:
            break
        header[cells[0].strip().lower()] = cells
        found.append(cells[0].strip().lower())
    _check_header_rows(path, found, first_cells=[ln.split(b",", 1)[0][:40].decode("utf-8", "replace") for ln in lines[:5]])
    return len(found), header


def _index_columns(header: dict[str, list[str]]) -> int:
    """Leading index columns: 1 for predictions, 3 for labeled-data split into folder/video/image."""
    n_index = 1
    while n_index < len(header["bodyparts"]) and header["bodyparts"][n_index] == "":
        n_index += 1
    return n_index


_PARSE_CHUNK = 1 << 21  # bytes of text handed to pyarrow at a time by _parse_numeric
_PARSE_THREADS = True  # let pyarrow parse the two halves of a piece on its threads


def _parse_numeric(path: Path, offset: int, n_cols: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(frame index, values (rows, n_cols - 1)) as float64 parsed by pyarrow from byte ``offset`` (the first line
    after the header) on; None if pyarrow rejects the file.

    The file goes to pyarrow in 2 MiB pieces cut at line ends (each parsed as two 1 MiB blocks on pyarrow's
    threads: 0.21 s vs 0.46 s on one thread for a 72 MB file on a busy 2-CPU machine, at par on a quiet one,
    for +0.2x the file in peak memory); pyarrow checks each
    row's field count, and each piece's columns go straight into one float64 array, a contiguous run per
    column. So neither the file's text nor a whole table sits next to the array (a whole pyarrow table, or
    pyarrow's read-ahead of a whole-file read, left +1x the file in the heap). The array is sized from the
    first piece's rows per byte with room to spare (pages never written cost no memory) and doubles if
    the rows get shorter.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    names = [f"c{j}" for j in range(n_cols)]
    read_options = pacsv.ReadOptions(column_names=names, use_threads=_PARSE_THREADS, block_size=_PARSE_CHUNK // 2)
    convert_options = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64()))
    size = path.stat().st_size
    out = np.empty((n_cols, 0))  # one row per column: each piece's column is one contiguous write
    n = 0
    buf = bytearray(_PARSE_CHUNK)  # one buffer, refilled: fresh 2 MiB bytes per piece cost page faults and copies
    view = memoryview(buf)
    carry = 0  # bytes of an unfinished line kept at the start of buf
    with open(path, "rb", buffering=0) as fh:
        fh.seek(offset)
        while True:
            got = fh.readinto(view[carry:])
            end = carry + got
            cut = end if got == 0 else buf.rfind(b"\n", 0, end) + 1  # at EOF the last line may lack its newline
            if cut == 0:
                if end == 0:
                    break
                return None  # a line longer than the buffer: not a pose table's line; the careful path reads it
            try:
                piece = pa.py_buffer(view[:cut])
                table = pacsv.read_csv(pa.BufferReader(piece), read_options=read_options,
                                       convert_options=convert_options, memory_pool=pa.system_memory_pool())
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                return None
            del piece
            carry = end - cut
            buf[:carry] = buf[cut:end]
            rows = table.num_rows
            if n + rows > out.shape[1]:  # first piece: its rows per byte x 1.25; later: double
                guess = int(1.25 * size * rows / cut) if n == 0 else 2 * (n + rows)
                grown = np.empty((n_cols, max(guess, n + rows)))
                grown[:, :n] = out[:, :n]
                out = grown
            for j in range(n_cols):
                out[j, n:n + rows] = table.column(j).to_numpy()
            n += rows
            del table
            if got == 0:
                break
    return out[0, :n].copy(), out[1:, :n].T


def _from_csv_header(path: Path, header: dict[str, list[str]], n_index: int, values: np.ndarray, index,
                     prefix_individuals: bool | Sequence[str], allow_labeled_data: bool) -> RawPoses:
    cols = slice(n_index, len(header["coords"]))
    return _from_table(
        path,
        values=values,
        index=index,
        scorer=re.sub(r"\.\d+$", "", header["scorer"][n_index]),
        bodyparts=header["bodyparts"][cols],
        coords=header["coords"][cols],
        individuals=header["individuals"][cols] if "individuals" in header else None,
        prefix_individuals=prefix_individuals,
        allow_labeled_data=allow_labeled_data,
    )


def _read_csv_careful(
    path: Path, *, prefix_individuals: bool | Sequence[str] = False, allow_labeled_data: bool = False
) -> RawPoses:
    """The whole file in memory, checked row by row and parsed by pandas: clear errors, labeled-data."""
    import pandas as pd

    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark (Excel's "CSV UTF-8")
        raw = raw[3:]
    if not raw.strip():
        raise EmptyFileError(f"{path} is empty: re-export it from your tracker "
                             "(DeepLabCut: analyze_videos with save_as_csv=True).")
    lines = raw.split(b"\n", 6)
    n_header, header = _parse_header(path, lines)
    n_index = _index_columns(header)
    n_cols = len(header["coords"])
    first_data = lines[n_header].split(b",", 1)[0].strip() if len(lines) > n_header else b""
    labeled = bool(first_data) and not first_data.replace(b".", b"", 1).isdigit()
    if labeled and not allow_labeled_data:
        _frame_numbers(path, [first_data.decode("utf-8", "replace")], allow_labeled_data)  # raises the clear error
    _check_field_counts(path, raw, n_header, n_cols, strict=not labeled)
    try:
        df = pd.read_csv(io.BytesIO(raw), skiprows=n_header, header=None, names=range(n_cols), index_col=list(range(n_index)),
                         dtype={j: np.float64 for j in range(n_index, n_cols)}, engine="c")
    except ValueError:
        df = pd.read_csv(io.BytesIO(raw), skiprows=n_header, header=None, names=range(n_cols), index_col=list(range(n_index)),
                         dtype=str, engine="c")
        _raise_non_numeric(path, df, header, n_header, n_index)
    del raw
    return _from_csv_header(path, header, n_index, df.to_numpy(dtype=np.float64), df.index, prefix_individuals,
                            allow_labeled_data)


def _check_header_rows(path: Path, found: list[str], first_cells: list[str]) -> None:
    if found in (["scorer", "bodyparts", "coords"], ["scorer", "individuals", "bodyparts", "coords"]):
        return
    raise PoseFormatError(
        f"{path}: a DeepLabCut CSV needs the header rows scorer/bodyparts/coords (single animal) or "
        f"scorer/individuals/bodyparts/coords (multi-animal), but its first column reads {first_cells[:5]} "
        f"({len(found)} header row(s) recognised: {found}). The file was edited or cut; re-export it from "
        "DeepLabCut, or rebuild the missing header row."
    )


_CHUNK = 1 << 23  # bytes scanned at a time by _check_field_counts


def _check_field_counts(path: Path, raw: bytes, n_header: int, n_cols: int, strict: bool) -> None:
    """Catch truncated or garbled rows, which pandas would silently pad with NaN."""
    # chunk by chunk, so that no temporary is as large as the file (a running count over every byte took 8 bytes
    # per byte: +1.3 GB for a 72 MB 1-hour table)
    buf = np.frombuffer(raw, dtype=np.uint8)
    chunks = range(0, buf.size, _CHUNK)
    newlines = np.concatenate([np.flatnonzero(buf[i:i + _CHUNK] == ord("\n")) + i for i in chunks] or [np.empty(0, np.int64)])
    ends = np.append(newlines, buf.size) if (newlines.size == 0 or newlines[-1] != buf.size - 1) else newlines
    starts = np.concatenate([[0], ends[:-1] + 1])
    fields = np.ones(len(ends), dtype=np.int64)
    for i in chunks:  # each comma counts for the line whose end is the first at or after it
        commas = np.flatnonzero(buf[i:i + _CHUNK] == ord(",")) + i
        fields += np.bincount(np.searchsorted(ends, commas), minlength=len(ends))[: len(ends)]
    blank = (ends - starts) <= 1  # empty line or lone '\r'
    bad = np.flatnonzero((fields != n_cols) & ~blank)
    bad = bad[bad >= n_header]
    if bad.size and strict:
        line = int(bad[0])
        where = "last line" if line == len(fields) - 1 else f"line {line + 1}"
        raise PoseFormatError(
            f"{path}: {where} has {int(fields[line])} fields but the header has {n_cols} "
            f"({bad.size} such row(s)); the file is truncated or garbled. Re-export it from the tracker "
            "or restore it from a backup."
        )


def _raise_non_numeric(path: Path, df, header: dict, n_header: int, n_index: int) -> None:
    import pandas as pd

    for j, col in enumerate(df.columns):
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise PoseFormatError(
                f"{path}: non-numeric value {df[col].iloc[row]!r} at line {n_header + row + 1}, column "
                f"{j + n_index + 1} ({header['bodyparts'][j + n_index]}/{header['coords'][j + n_index]}). "
                "Coordinates and likelihoods must be numbers; fix or remove that row."
            )
    raise PoseFormatError(f"{path}: could not parse the values as numbers; re-export the file from the tracker.")


def read_h5(
    path: Path, *, key: str | None = None, prefix_individuals: bool | Sequence[str] = False,
    allow_labeled_data: bool = False,
) -> RawPoses:
    """Read a DLC/LightningPose pandas-HDF5 table stored under any key."""
    import pandas as pd

    try:
        store = pd.HDFStore(path, mode="r")
    except Exception as exc:  # not HDF5, or not readable by PyTables
        raise PoseFormatError(f"{path}: not a readable HDF5 file ({exc}). Re-export it from the tracker.") from exc
    with store:
        keys = [k.lstrip("/") for k in store.keys()]
        if key is None:
            known = [k for k in KNOWN_H5_KEYS if k in keys]
            if known:
                key = known[0]
            elif len(keys) == 1:
                key = keys[0]
            else:
                raise PoseFormatError(
                    f"{path}: no pose table found; pandas keys are {keys or 'none'}. DeepLabCut stores poses "
                    f"under one of {list(KNOWN_H5_KEYS)}; pass key=... to choose one."
                )
        elif key not in keys:
            raise PoseFormatError(f"{path}: key {key!r} not in the file's pandas keys {keys}; pass one of these.")
        df = store.get(key)
    if not isinstance(df, pd.DataFrame) or df.columns.nlevels not in (3, 4):
        raise PoseFormatError(
            f"{path}: the table under {key!r} is not a DeepLabCut pose table (expected 3 or 4 column levels "
            "scorer/[individuals/]bodyparts/coords)."
        )
    if df.empty:
        raise EmptyFileError(f"{path}: the pose table under {key!r} has no rows; re-run the tracker on the video.")
    lv = df.columns
    try:
        values = df.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PoseFormatError(f"{path}: non-numeric values in the pose table ({exc}); re-export it from the tracker.") from exc
    return _from_table(
        path,
        values=values,
        index=df.index,
        scorer=str(lv.get_level_values(0)[0]),
        bodyparts=[str(b) for b in lv.get_level_values(lv.nlevels - 2)],
        coords=[str(c) for c in lv.get_level_values(lv.nlevels - 1)],
        individuals=[str(i) for i in lv.get_level_values(1)] if lv.nlevels == 4 else None,
        prefix_individuals=prefix_individuals,
        allow_labeled_data=allow_labeled_data,
    )


def _from_table(
    path: Path, *, values: np.ndarray, index, scorer: str, bodyparts: list[str], coords: list[str],
    individuals: list[str] | None, prefix_individuals: bool | Sequence[str], allow_labeled_data: bool,
) -> RawPoses:
    """Turn a wide DLC table into arrays, vectorised over columns."""

    software = _software(scorer)
    log = [f"load_poses: read {path.name} as {software} ({'multi-animal' if individuals else 'single-animal'} table)"]
    if len(values) == 0:
        raise EmptyFileError(f"{path}: the header is there but no frames follow; re-run the tracker on the video.")
    frames = _frame_numbers(path, index, allow_labeled_data)
    individuals = list(individuals) if individuals is not None else ["individual_0"] * len(bodyparts)
    if prefix_individuals is False:
        prefixes = _detect_prefixes(bodyparts)
        if prefixes and individuals[0] == "individual_0":
            warnings.warn(
                f"{path.name}: bodyparts look prefixed by animal ({', '.join(p + '_' for p in prefixes)}); "
                "pass prefix_individuals=True to split them into individuals.",
                stacklevel=3,
            )
    else:
        prefixes = _detect_prefixes(bodyparts) if prefix_individuals is True else list(prefix_individuals)
        if not prefixes:
            raise PoseFormatError(
                f"{path}: prefix_individuals was set but the bodyparts {sorted(set(bodyparts))[:8]} do not share "
                "animal prefixes like 'B_Nose', 'W_Nose'; pass the prefixes explicitly, e.g. prefix_individuals=['B', 'W']."
            )
        individuals, bodyparts = _split_prefixes(path, bodyparts, prefixes)
        log.append(f"load_poses: split animal-prefixed bodyparts into individuals {prefixes}")

    coords = [c.lower() for c in coords]
    space = [c for c in dict.fromkeys(coords) if c in ("x", "y", "z")]
    if not {"x", "y"} <= set(space):
        raise PoseFormatError(f"{path}: coords row {sorted(set(coords))} lacks x and y; this is not a pose table.")
    unknown = sorted(set(coords) - {"x", "y", "z", "likelihood"})
    if unknown:
        raise PoseFormatError(f"{path}: unknown coords {unknown}; a DLC table has x, y, [z,] likelihood per bodypart.")

    is_unique = np.array([i == "single" for i in individuals])
    animals = list(dict.fromkeys(i for i in individuals if i != "single"))
    kp_animal = list(dict.fromkeys(b for b, u in zip(bodyparts, is_unique, strict=True) if not u))
    kp_unique = list(dict.fromkeys(b for b, u in zip(bodyparts, is_unique, strict=True) if u))
    n_t = len(frames)

    def scatter(mask: np.ndarray, kps: list[str], inds: list[str]) -> tuple[np.ndarray, np.ndarray]:
        cols = np.flatnonzero(mask)
        k = np.array([kps.index(bodyparts[j]) for j in cols], dtype=int)
        i = np.array([inds.index(individuals[j]) if inds else 0 for j in cols], dtype=int)
        c = np.array([coords[j] for j in cols])
        is_l = c == "likelihood"
        s = np.array([space.index(v) if v in space else -1 for v in c])
        # NaN first only where some slot has no column (a pass over the arrays saved otherwise)
        n_pos = len({(s[j], k[j], i[j]) for j in range(len(cols)) if not is_l[j]})
        n_conf = len({(k[j], i[j]) for j in range(len(cols)) if is_l[j]})
        pos_shape, conf_shape = (len(values), len(space), len(kps), len(inds)), (len(values), len(kps), len(inds))
        pos = np.empty(pos_shape) if n_pos == len(space) * len(kps) * len(inds) else np.full(pos_shape, np.nan)
        conf = np.empty(conf_shape) if n_conf == len(kps) * len(inds) else np.full(conf_shape, np.nan)
        for j in range(len(cols)):  # column by column: no (frames x columns) temporary
            if is_l[j]:
                conf[:, k[j], i[j]] = values[:, cols[j]]
            else:
                pos[:, s[j], k[j], i[j]] = values[:, cols[j]]
        return pos, conf

    if not animals:
        raise PoseFormatError(f"{path}: only unique bodyparts (individual 'single'), no animal keypoints.")
    pos, conf = scatter(~is_unique, kp_animal, animals)
    pos, n_zero = _zeros_to_nan(pos, conf)
    if n_zero:
        log.append(f"load_poses: {n_zero} points at (0, 0) with likelihood <= {ZERO_MISSING_LIKELIHOOD} set to NaN "
                   "(missing detections)")
    raw = RawPoses(pos, conf, kp_animal, animals, software, frames=frames, space=space, log=log,
                   attrs={"scorer": scorer})
    if kp_unique:
        upos, uconf = scatter(is_unique, kp_unique, ["single"])
        upos, _ = _zeros_to_nan(upos, uconf)
        raw.unique_position, raw.unique_confidence, raw.unique_keypoints = upos[..., 0], uconf[..., 0], kp_unique
        log.append(f"load_poses: unique bodyparts {kp_unique} kept apart as unique_position")
    if np.isnan(conf).all() and "likelihood" not in coords:
        log.append("load_poses: no likelihood column; confidence is NaN")
    return _fill_frame_gaps(raw, n_t)


def _frame_numbers(path: Path, index, allow_labeled_data: bool) -> np.ndarray:
    import pandas as pd

    if getattr(index, "nlevels", 1) > 1 or not pd.api.types.is_numeric_dtype(pd.Index(index)):
        if not allow_labeled_data:
            first = index[0] if len(index) else ""
            raise PoseFormatError(
                f"{path}: rows are indexed by image paths ({first!r}), so this is DeepLabCut labeled-data "
                "(hand annotations for training), not predictions over time. Pass the file written by "
                "deeplabcut.analyze_videos, or load_poses(..., allow_labeled_data=True) to read the annotations "
                "in file order."
            )
        return np.arange(len(index))
    frames = np.asarray(index, dtype=np.float64)
    if np.isnan(frames).any() or (frames != np.round(frames)).any():
        raise PoseFormatError(f"{path}: the frame index holds non-integer values; re-export the file from the tracker.")
    frames = frames.astype(np.int64)
    if (np.diff(frames) <= 0).any():
        raise PoseFormatError(
            f"{path}: frame numbers are not strictly increasing (first problem after frame "
            f"{int(frames[np.flatnonzero(np.diff(frames) <= 0)[0]])}); the file was concatenated or sorted wrongly."
        )
    return frames


def _fill_frame_gaps(raw: RawPoses, n_t: int) -> RawPoses:
    frames = raw.frames
    full = np.arange(frames[0], frames[-1] + 1)
    if len(full) == n_t:
        return raw
    at = frames - frames[0]

    def spread(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        out = np.full((len(full), *a.shape[1:]), np.nan)
        out[at] = a
        return out

    raw.position, raw.confidence = spread(raw.position), spread(raw.confidence)
    raw.unique_position, raw.unique_confidence = spread(raw.unique_position), spread(raw.unique_confidence)
    raw.log.append(f"load_poses: {len(full) - n_t} missing frame numbers filled with NaN frames")
    raw.frames = full
    return raw


def _zeros_to_nan(pos: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, int]:
    zero = (pos == 0).all(axis=1)
    low = ~(conf > ZERO_MISSING_LIKELIHOOD)  # NaN likelihood counts as low
    missing = zero & low
    n = int(missing.sum())
    if n:  # in place: pos is the reader's own array
        pos[np.broadcast_to(missing[:, None], pos.shape)] = np.nan
    return pos, n


def _detect_prefixes(bodyparts: list[str]) -> list[str]:
    """Animal prefixes if every bodypart is '<prefix>_<name>' with the same names under each prefix."""
    names = list(dict.fromkeys(bodyparts))
    if len(names) < 4 or not all("_" in b for b in names):
        return []
    groups: dict[str, set[str]] = {}
    for b in names:
        p, rest = b.split("_", 1)
        groups.setdefault(p, set()).add(rest)
    sets = list(groups.values())
    if len(groups) >= 2 and all(s == sets[0] for s in sets) and len(sets[0]) >= 2:
        return list(groups)
    return []


def _split_prefixes(path: Path, bodyparts: list[str], prefixes: Sequence[str]) -> tuple[list[str], list[str]]:
    inds, kps = [], []
    for b in bodyparts:
        match = next((p for p in prefixes if b.startswith(p + "_")), None)
        if match is None:
            raise PoseFormatError(f"{path}: bodypart {b!r} carries none of the prefixes {list(prefixes)}.")
        inds.append(match)
        kps.append(b[len(match) + 1:])
    return inds, kps


# --- fps from DeepLabCut's metadata pickle -------------------------------------------------------

_SAFE_GLOBALS = {("builtins", n) for n in ("dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool",
                                            "bytes", "slice", "complex")}
_SAFE_GLOBALS |= {("collections", "OrderedDict"), ("numpy", "dtype"), ("numpy", "ndarray"),
                  ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}


class _Stub(dict):
    """Stands in for classes we do not import (e.g. easydict.EasyDict) when reading DLC metadata."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.update(state)


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        return _Stub


def metadata_pickle(path: Path) -> Path | None:
    """The DLC metadata pickle next to a pose file, if there is one."""
    stem = path.with_suffix("")
    for cand in (Path(f"{stem}includingmetadata.pickle"), Path(f"{stem}_meta.pickle")):
        if cand.exists():
            return cand
    return None


def fps_from_metadata(path: Path) -> float | None:
    """fps recorded by DeepLabCut in ``<file>includingmetadata.pickle`` / ``<file>_meta.pickle``."""
    meta = metadata_pickle(path)
    if meta is None:
        return None
    try:
        with open(meta, "rb") as fh:
            obj = _SafeUnpickler(fh).load()
        fps = float(obj["data"]["fps"])
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as exc:
        warnings.warn(f"{meta.name}: could not read fps from DeepLabCut metadata ({exc}); ignoring it.", stacklevel=3)
        return None
    return fps if np.isfinite(fps) and fps > 0 else None


def sniff_csv(path: Path) -> str:
    """'dlc', 'lightningpose' or 'sleap-csv' from a CSV's first line."""
    with open(path, "rb") as fh:
        first = fh.readline(65536).decode("utf-8-sig", "replace").strip()
    if not first:
        raise EmptyFileError(f"{path} is empty: re-export it from your tracker.")
    cells = first.split(",")
    if cells[0].lower() == "scorer":
        scorer = next((c for c in cells[1:] if c), "")
        return "lightningpose" if scorer.startswith("heatmap") else "dlc"
    if cells[:2] == ["track", "frame_idx"]:
        return "sleap-csv"
    raise UnknownFormatError(
        f"{path}: CSV starts with {first[:60]!r}, which matches no pose format (DeepLabCut/LightningPose "
        "tables start with 'scorer', SLEAP CSV exports with 'track,frame_idx'). Pass source=... if you know the format."
    )
