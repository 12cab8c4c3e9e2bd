"""One NWB file per session: a finished run in the format labs archive and share (DANDI) and other tools read.

Part of ``export``, the out floor after plot/widgets in the flow.

Why: a segmentation is only reusable with what it was computed from. Each ``<out_dir>/<session>.nwb`` keeps the
poses, the subject, the motifs as behaviour bouts any NWB reader understands, and the per-frame model output for
an exact round trip, in the processing module ``behavior``:

- the cleaned poses of 02 as ndx-pose (>= 0.2 layout): ``Skeletons`` with one ``Skeleton`` (the keypoints; edges
  only where ``skeleton.yaml`` lists ``edges`` as pairs of names), one ``PoseEstimation`` per animal named after
  the individual, one ``PoseEstimationSeries`` (position, confidence) per keypoint in the cleaned units (cm when 02
  scaled them). :func:`behavnb.io.load_poses` reads them back.
- the motifs of 06 as ndx-ethogram: the catalogue ``motif_ethogram`` (every motif: name, id, note, community) and
  per animal ``motif_bouts_<individual>`` (one row per bout, ``start_frame``/``stop_frame`` beside the times, JSON
  ``parameters`` naming segmentation, animal and frame count; :func:`read_nwb_labels` turns them back into frames).
  With 08's hierarchy the same for the communities at one cut (``community_ethogram``, ``community_bouts_*``).
- the per-frame latents and motif/community ids (-1: no label): for VAME an ndx-vame ``VAMEProject`` per animal
  (``vame_<individual>``: LatentSpaceSeries, MotifSeries, CommunitySeries, config.yaml and the latents' attrs as
  JSON); other models (VQ-MAP) get plain ``TimeSeries`` ``<model>_latents_*``, ``<model>_motifs_*``,
  ``<model>_communities_*`` with the same JSON in ``comments`` (ndx-vame's types and fields are VAME's).
- the subject from the sessions table: subject_id, genotype = group, sex as M/F/U/O, species, age (ISO 8601
  durations only), every other column in its description.

session_start_time comes from a ``session_start_time``, ``datetime`` or ``date`` column (naive times read as UTC);
without one it is 1970-01-01T00:00:00Z, and session_description says the true start is unknown (NWB requires a
start; a fixed stand-in keeps re-exports identical and is recognisable as not a real date). The identifier is a
uuid5 of session and segmentation. Files are written beside their final name and renamed when complete and valid;
an existing file is replaced only with ``overwrite=True``, a source file of the sessions table never. pynwb and
the extensions are imported inside the functions only: ``import behavnb.export.nwb`` stays light.
"""

from __future__ import annotations

import json
import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

import behavnb
from behavnb.errors import BehavnbError, ParameterError
from behavnb.export.results import RunResults, load_results
from behavnb.io.nwb import nwb_name
from behavnb.project import Project
from behavnb.segment import read_notes
from behavnb.utils import atomic_path

#: session_start_time when the sessions table has no session_start_time/datetime/date column (stated in the file)
UNKNOWN_START = datetime(1970, 1, 1, tzinfo=UTC)
START_COLUMNS = ("session_start_time", "datetime", "date")
COLUMN_DOCS = {"start_frame": "first frame of the bout (0-based frame of the session)",
               "stop_frame": "frame after the last frame of the bout", "native_code": "behavnb's motif or community id",
               "category": "the motif's community at the exported cut"}
#: sessions-table sex -> NWB's M/F/U/O (anything else: O)
SEX = {"m": "M", "male": "M", "f": "F", "female": "F", "u": "U", "unknown": "U", "": "U", "o": "O", "other": "O"}


#: (manager, validators) per set of cached specs, see :func:`validate_nwb`
_VALIDATORS: dict[tuple, tuple] = {}


class NWBValidationError(BehavnbError, ValueError):
    """A written NWB file fails ``pynwb.validate`` (it is not kept)."""


def export_nwb(project_dir: str | Path | Project, out_dir: str | Path | None = None, *, motifs: str | None = None,
               sessions: list[str] | None = None, cut: int | None = None, overwrite: bool = False,
               progress: bool = True, validate: bool | str = True) -> list[Path]:
    """Write one NWB file per session: poses, subject, motif and community bouts, latents and motif ids.

    Parameters
    ----------
    project_dir : str, Path or Project
        The run directory.
    out_dir : str or Path, optional
        Output folder; default ``<project>/exports/nwb/``. Files are ``<session>.nwb``.
    motifs : str, optional
        A folder under ``motifs/``; default the newest ``vame-hmm-*``.
    sessions : list of str, optional
        Sessions to export; default every session with labels.
    cut : int, optional
        Number of communities of the second ethogram; default the cut 08 chose (none without 08).
    overwrite : bool
        Replace existing files (each atomically); without it an existing file is refused before anything is written.
    progress : bool
        Show a progress bar over sessions.
    validate : bool or "first"
        Validate each file (:func:`validate_nwb`, as ``pynwb.validate``) before it takes its place; an invalid
        file is not kept. Costs about 0.5 s a file (1.5 s once, to read the cached specs). "first": only the first
        session's file (every file has the same structure; the demo profile's 25 sessions save about 13 s).

    Returns
    -------
    list of Path
        The files written, in session order.

    Raises
    ------
    PoseFileNotFoundError
        No sessions table (run 01_import) or no segmentation (run 06_segment).
    ParameterError
        An output file exists and ``overwrite`` is False; an unknown session; a cut without 08's hierarchy; an output
        path that is one of the study's source files.
    NWBValidationError
        A file fails validation (nothing is left in its place; the files of earlier sessions are complete).
    """
    from tqdm.auto import tqdm

    results = load_results(project_dir, motifs)
    have = results.session_ids
    todo = have if sessions is None else [str(s) for s in sessions]
    unknown = [s for s in todo if s not in have]
    if unknown:
        raise ParameterError(f"sessions {unknown} have no labels in motifs/{results.name}; choose from "
                             f"{have[:10]}{' ...' if len(have) > 10 else ''}.")
    if cut is not None and results.communities is None:
        raise ParameterError(f"cut={cut}: hierarchy/{results.name}/ has no communities.csv; run notebook 08_hierarchy "
                             f"first, or export without a cut.")
    results.community_map(cut)  # an unknown cut fails here, before any file
    out = Path(out_dir) if out_dir is not None else results.project.root / "exports" / "nwb"
    paths = [out / f"{s}.nwb" for s in todo]
    sources = {Path(str(f)).expanduser().resolve() for f in results.sessions.get("file", pd.Series(dtype=str)).dropna()
               if str(f)}
    clash = [p for p in paths if p.resolve() in sources]
    if clash:
        raise ParameterError(f"{clash[0]} is a source file of the sessions table; it is never overwritten. Choose "
                             f"another out_dir.")
    exist = [p for p in paths if p.exists()]
    if exist and not overwrite:
        more = f" (and {len(exist) - 1} more)" if len(exist) > 1 else ""
        raise ParameterError(f"{exist[0]} already exists{more}: pass overwrite=True (behavnb export nwb --overwrite) "
                             f"to replace it, or choose another out_dir.")
    if validate not in (True, False, "first"):
        raise ParameterError(f"validate={validate!r}: True (every file), 'first' (the first file) or False.")
    pairs = list(zip(todo, paths, strict=True))
    for i, (s, p) in enumerate(tqdm(pairs, desc="NWB export", unit="session", disable=not progress)):
        check = validate is True or (validate == "first" and i == 0)
        write_session_nwb(results, s, p, cut=cut, overwrite=overwrite, validate=check)
    return paths


def write_session_nwb(results: RunResults, session: str, path: str | Path, *, cut: int | None = None,
                      overwrite: bool = False, validate: bool = True) -> Path:
    """Write one session's NWB file atomically (a temporary file beside ``path``, renamed when complete and valid).

    Parameters
    ----------
    results : RunResults
        The segmentation (:func:`behavnb.export.load_results`).
    session : str
        The session id.
    path : str or Path
        The file to write.
    cut, overwrite, validate
        As in :func:`export_nwb`.

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        ``path`` exists and ``overwrite`` is False.
    NWBValidationError
        ``validate`` and the file fails ``pynwb.validate``.
    """
    from pynwb import NWBHDF5IO

    path = Path(path)
    if path.exists() and not overwrite:
        raise ParameterError(f"{path} already exists: pass overwrite=True (behavnb export nwb --overwrite) to "
                             f"replace it.")
    nwbfile = build_nwbfile(results, session, cut=cut)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not end in '.nwb'")  # the temporary name, renamed below
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
        errors = validate_nwb(tmp) if validate else []
        if errors:
            raise NWBValidationError(f"{path}: pynwb.validate found {len(errors)} error(s); not written (a file "
                                     f"already there is left as it was): " + "; ".join(map(str, errors[:5])))
    return path


def validate_nwb(path: str | Path) -> list:
    """``pynwb.validate(path=path)``, with the specs cached in the file read once per process and set of versions.

    pynwb.validate re-reads and resolves the cached extension specs for every file (about 2 s); an export writes
    the same specs into every file, so they are loaded once and validated against in the same way (each of the
    most specific namespaces, as pynwb.validate does).

    Parameters
    ----------
    path : str or Path
        An NWB file.

    Returns
    -------
    list
        The validation errors (empty: valid).
    """
    import h5py
    from hdmf.validate import ValidatorMap
    from pynwb import NWBHDF5IO, validate
    from pynwb.validation import get_cached_namespaces_to_validate

    with h5py.File(path, "r") as f:
        specs = f.get("specifications", {})
        key = tuple(sorted((ns, *sorted(specs[ns])) for ns in specs))
    if key not in _VALIDATORS:
        names, manager, _ = get_cached_namespaces_to_validate(path=str(path))
        _VALIDATORS[key] = manager, [ValidatorMap(manager.namespace_catalog.get_namespace(n)) for n in names]
    manager, maps = _VALIDATORS[key]
    if not maps:  # no cached extension specs: validate against the core namespace
        return validate(path=str(path))
    with NWBHDF5IO(str(path), "r", manager=manager) as io:
        builder = io.read_builder()
        return [e for m in maps for e in m.validate(builder)]


def build_nwbfile(results: RunResults, session: str, *, cut: int | None = None):
    """The ``pynwb.NWBFile`` of one session, in memory (its layout: the module docstring).

    Parameters
    ----------
    results : RunResults
        The segmentation (:func:`behavnb.export.load_results`).
    session : str
        A session with labels.
    cut : int, optional
        Communities of the second ethogram; default the cut 08 chose (none without 08).

    Returns
    -------
    pynwb.NWBFile
    """
    import pynwb

    project = results.project
    row = results.sessions.loc[results.sessions["session"].astype(str) == session].iloc[0]
    start, note = _start_time(row)
    clean = project.read_clean(session)
    units = str(clean["position"].attrs.get("units") or clean.attrs.get("units") or "px")
    nwb = pynwb.NWBFile(
        session_description=f"behavnb session {session}: cleaned poses ({units}), motifs {results.name}. {note}",
        identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, f"behavnb/{session}/{results.name}")),
        session_start_time=start, session_id=session, subject=_subject(row),
        source_script=f"behavnb {behavnb.__version__}: behavnb.export.nwb.export_nwb", source_script_file_name="nwb.py")
    mod = nwb.create_processing_module("behavior", "behavnb: cleaned poses (ndx-pose), motif and community bouts "
                                       "(ndx-ethogram), per-frame latents and motif/community ids")
    poses = _add_poses(mod, clean, units, results.fps(session), project.root / "skeleton.yaml")
    comm = results.community_map(cut)
    cut = results.chosen_cut if cut is None else int(cut)
    catalogues = _add_ethograms(mod, results, comm, cut)
    latents = (project.read_latents(results.model_name, session)
               if project.latents_path(results.model_name, session).exists() else None)
    model = _model_config(results, latents)
    for ind, labels in results.session_labels(session).groupby("individual", sort=False):
        _add_animal(mod, results, session, str(ind), labels, latents, model, poses.get(str(ind)), catalogues, comm, cut)
    return nwb


def _add_poses(mod, clean, units: str, fps: float, skeleton_yaml: Path) -> dict:
    """Skeletons and one PoseEstimation per individual (named after it); returns them by individual."""
    import ndx_pose
    import yaml

    nodes = [str(k) for k in clean["keypoint"].values]
    pairs = (yaml.safe_load(skeleton_yaml.read_text()) or {}).get("edges") if skeleton_yaml.exists() else None
    edges = np.array([[nodes.index(a), nodes.index(b)] for a, b in pairs or [] if a in nodes and b in nodes], "uint8")
    skeleton = ndx_pose.Skeleton(name="skeleton", nodes=nodes, edges=edges.reshape(-1, 2) if len(edges) else None)
    mod.add(ndx_pose.Skeletons(skeletons=[skeleton]))
    pos = clean["position"].transpose("time", "space", "keypoint", "individual").values
    conf = clean["confidence"].transpose("time", "keypoint", "individual").values
    software, px = str(clean.attrs.get("source_software") or "unknown"), clean.attrs.get("px_per_cm")
    frame = (f"video image axes ({', '.join(map(str, clean['space'].values))}) in {units}"
             + (f", pixels divided by px_per_cm={px}" if px else ""))
    out = {}
    for i, ind in enumerate(map(str, clean["individual"].values)):
        series, timing = [], _timing(clean["time"].values, fps)
        for k, kp in enumerate(nodes):
            series.append(ndx_pose.PoseEstimationSeries(
                name=nwb_name(kp), data=pos[:, :, k, i], confidence=conf[:, k, i], reference_frame=frame,
                unit="pixels" if units == "px" else units, description=f"cleaned position of {kp} (02_preprocess)",
                confidence_definition=f"tracker likelihood ({software})", **timing))
            timing = {"timestamps": series[0]} if "timestamps" in timing else timing  # one clock, stored once
        out[ind] = ndx_pose.PoseEstimation(name=nwb_name(ind), pose_estimation_series=series, skeleton=skeleton,
                                           description=f"animal {ind}, cleaned by behavnb", source_software=software,
                                           scorer=str(clean.attrs.get("scorer", "")))
        mod.add(out[ind])
    return out


def _add_ethograms(mod, results: RunResults, comm: dict | None, cut: int | None) -> dict:
    """The motif catalogue (and the community catalogue at ``cut``); returns level -> (Ethogram, id -> label)."""
    import ndx_ethogram

    path = results.project.motif_names_path(results.name)
    names, notes = _unique(results.names), read_notes(path) if path.exists() else {}
    ids = sorted(names)
    columns = {"behavior": [names[m] for m in ids], "native_code": np.array(ids, dtype=np.int64),
               "definition": [f"motif {m} of {results.name}" + (f": {notes[m]}" if m in notes else "") for m in ids]}
    if comm:
        columns["category"] = [f"community {comm[m]}" if m in comm else "" for m in ids]
    out = {"motif": (_table(ndx_ethogram.Ethogram, "motif_ethogram", f"the motifs of {results.name}", columns,
                            exclusive=True), names)}
    if comm:
        cids = sorted(set(comm.values()))
        label = {c: f"community {c}" for c in cids}
        columns = {"behavior": list(label.values()), "native_code": np.array(cids, dtype=np.int64),
                   "definition": ["motifs " + ", ".join(names[m] for m in ids if comm.get(m) == c) for c in cids]}
        desc = f"the {results.name} motif tree (08_hierarchy, linkage) cut into {cut} communities"
        out["community"] = (_table(ndx_ethogram.Ethogram, "community_ethogram", desc, columns, exclusive=True), label)
    for eth, _ in out.values():
        mod.add(eth)
    return out


def _add_animal(mod, results: RunResults, session: str, ind: str, labels: pd.DataFrame, latents,
                model_config: tuple[str, int], pose, catalogues: dict, comm: dict | None, cut: int | None) -> None:
    """One animal's per-frame latents and ids (ndx-vame for VAME, else TimeSeries) and its bouts (ndx-ethogram)."""
    import ndx_ethogram
    import pynwb

    fps, model, source = results.fps(session), results.model_name, f"behavnb {behavnb.__version__}"
    frames = labels["frame"].to_numpy()
    n = int(frames.max()) + 1
    ids = {"motif": np.full(n, -1, dtype=np.int32)}
    ids["motif"][frames] = labels["motif"].to_numpy()
    if comm:
        lut = np.array([-1] + [comm.get(m, -1) for m in range(max(results.names, default=0) + 1)], np.int32)
        ids["community"] = lut[ids["motif"] + 1]
    times = np.interp(np.arange(n), frames, labels["time"].to_numpy().astype(float))
    kw, desc = _timing(times, fps), "per frame (-1: no label)"
    (config, window), lat, lat_kw = model_config, None, {}
    if latents is not None:
        one = latents.sel(individual=ind) if "individual" in latents.dims else latents
        lat = np.asarray(one.transpose("time", ...).values, dtype=np.float32).reshape(one.sizes["time"], -1)
        lat_kw = dict(_timing(latents["time"].values, fps), description=f"{model} latents, one row per frame "
                      f"({latents.attrs.get('alignment') or 'see the model'})")
    if model == "vame":
        import ndx_vame

        ls = None if lat is None else ndx_vame.LatentSpaceSeries(name="latent_space", data=lat, **lat_kw)
        link = ndx_vame.MotifSeries(name="motifs", data=ids["motif"], algorithm=results.method, latent_space_series=ls,
                                    description=f"motif ids of {results.name} {desc}", **kw)
        cs = [ndx_vame.CommunitySeries(name="communities", data=ids["community"], motif_series=link, **kw,
                                       algorithm=f"linkage tree cut into {cut}", description=f"community ids {desc}")
              ] if comm else None
        mod.add(ndx_vame.VAMEProject(name=f"vame_{nwb_name(ind)}", vame_config=config, time_window_samples=window,
                                     vame_version=f"{source} (VAME re-implementation)", latent_space_series=ls,
                                     motif_series=[link], community_series=cs, pose_estimation=pose))
    else:  # ndx-vame's types say VAME: other models get plain TimeSeries
        if lat is not None:
            mod.add(pynwb.TimeSeries(name=f"{model}_latents_{nwb_name(ind)}", data=lat, unit="n/a", comments=config, **lat_kw))
        link = pynwb.TimeSeries(name=f"{model}_motifs_{nwb_name(ind)}", data=ids["motif"], unit="n/a", comments=config,
                                description=f"motif ids of {results.name} {desc}", **kw)
        mod.add(link)
        if comm:
            mod.add(pynwb.TimeSeries(name=f"{model}_communities_{nwb_name(ind)}", data=ids["community"], unit="n/a",
                                     description=f"community ids (linkage tree cut into {cut}) {desc}", **kw))
    for level, (eth, label) in catalogues.items():
        y = ids[level]
        a, b = _runs(y)
        params = {"level": level, "motifs": results.name, "session": session, "individual": ind, "n_frames": n,
                  "fps": fps, "cut": cut if level == "community" else None}
        mod.add(_table(ndx_ethogram.EthogramBouts, f"{level}_bouts_{nwb_name(ind)}", f"{level} bouts of {ind} in {session}", {
            "start_time": times[a], "stop_time": times[b - 1] + 1.0 / fps, "label": [label[int(v)] for v in y[a]],
            "start_frame": a.astype(np.int64), "stop_frame": b.astype(np.int64)},
            labeling_method="automated", source_software=source, parameters=json.dumps(params), ethogram=eth,
            source_pose=pose, source=link))


def read_nwb_labels(path: str | Path) -> pd.DataFrame:
    """Per-frame motif labels back from the ``motif_bouts_*`` ethograms of an exported file.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`export_nwb`.

    Returns
    -------
    pandas.DataFrame
        ``session, individual, frame, motif``: one row per frame and animal, motif -1 between bouts.

    Raises
    ------
    ParameterError
        The file holds no motif bouts (not written by :func:`export_nwb`).
    """
    import ndx_ethogram
    from pynwb import NWBHDF5IO

    parts = []
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        for mod in nwb.processing.values():
            for obj in mod.data_interfaces.values():
                meta = json.loads(obj.parameters or "{}") if isinstance(obj, ndx_ethogram.EthogramBouts) else {}
                if meta.get("level") != "motif":
                    continue
                cat = obj.ethogram.to_dataframe()
                code = dict(zip(cat["behavior"], cat["native_code"], strict=True))
                b = obj.to_dataframe()
                motif = np.full(int(meta["n_frames"]), -1, dtype=np.int64)
                for a, z, label in zip(b["start_frame"], b["stop_frame"], b["label"], strict=True):
                    motif[a:z] = code[label]
                parts.append(pd.DataFrame({"session": nwb.session_id, "individual": meta["individual"],
                                           "frame": np.arange(len(motif), dtype=np.int64), "motif": motif}))
    if not parts:
        raise ParameterError(f"{path}: no EthogramBouts with level 'motif' (motif_bouts_*); not a behavnb export.")
    return pd.concat(parts, ignore_index=True)


def _model_config(results: RunResults, latents) -> tuple[str, int]:
    """The model's ``config.yaml`` and the latents' attrs as JSON, and the model's window in frames (0: unknown)."""
    import yaml

    path = results.project.model_dir(results.model_name) / "config.yaml"
    config = yaml.safe_load(path.read_text()) if path.exists() else None
    attrs = dict(latents.attrs) if latents is not None else {}
    window = int((config or {}).get("window") or attrs.get("window") or 0)
    return json.dumps({"model": results.model_name, "config": config, "latents": attrs or None}, default=str), window


def _start_time(row: pd.Series) -> tuple[datetime, str]:
    """The session's start from the sessions table (naive times read as UTC), else :data:`UNKNOWN_START`."""
    for col in START_COLUMNS:
        if col in row and pd.notna(row[col]) and str(row[col]).strip():
            try:
                t = pd.Timestamp(str(row[col]).strip())
            except (ValueError, TypeError) as exc:
                raise ParameterError(f"sessions.csv column {col!r}: {row[col]!r} of session {row['session']!r} is not "
                                     f"a date/time (use ISO 8601, e.g. 2024-05-01T14:30:00+02:00).") from exc
            t = t.tz_localize("UTC") if t.tzinfo is None else t
            return t.to_pydatetime(), f"Start time from sessions.csv column {col!r}."
    return UNKNOWN_START, ("The true start time is unknown (no session_start_time, datetime or date column in "
                           "sessions.csv): 1970-01-01T00:00:00Z stands in for it. Times are seconds from the first "
                           "frame.")


def _subject(row: pd.Series):
    from pynwb.file import Subject

    def text(col):
        return str(row[col]) if col in row and pd.notna(row[col]) else None

    sex, age = (text("sex") or "").strip(), text("age")
    age = age if age and age.startswith("P") else None  # NWB wants an ISO 8601 duration (P90D); else description
    used = {"session", "subject", "group", "sex", "species", "file", "fps", *START_COLUMNS, *(["age"] if age else [])}
    other = "; ".join(f"{c}={row[c]}" for c in row.index if c not in used and pd.notna(row[c]))
    return Subject(subject_id=text("subject") or str(row["session"]), genotype=text("group"), species=text("species"),
                   age=age, sex=SEX.get(sex.lower(), "O"), description=f"from the sessions table: {other or '-'}")


def _timing(times: np.ndarray, fps: float) -> dict:
    """``starting_time`` and ``rate`` for a regular clock, else ``timestamps``."""
    times = np.asarray(times, dtype=float)
    if len(times) < 2 or np.allclose(np.diff(times), 1.0 / fps, rtol=1e-6, atol=1e-9):
        return {"starting_time": float(times[0]) if len(times) else 0.0, "rate": float(fps)}
    return {"timestamps": times}


def _runs(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) of the runs of equal values, without the runs of -1."""
    cut = np.flatnonzero(np.diff(y)) + 1
    start, stop = np.r_[0, cut], np.r_[cut, len(y)]
    keep = y[start] >= 0
    return start[keep], stop[keep]


def _unique(names: dict[int, str]) -> dict[int, str]:
    """Motif names made unique (an ethogram label is the join key): repeats get `` [id]``."""
    seen = pd.Series(list(names.values())).value_counts()
    return {m: f"{n} [{m}]" if seen[n] > 1 else n for m, n in names.items()}


def _table(cls, name: str, description: str, columns: dict, **kw):
    """An hdmf DynamicTable subclass filled column by column (one write per column, not per row)."""
    from hdmf.common import VectorData

    cols = [VectorData(name=c, description=COLUMN_DOCS.get(c, c.replace("_", " ")), data=v) for c, v in columns.items()]
    return cls(name=name, description=description, columns=cols, **kw)
