"""``make_cohort``: animals, sessions, groups and files of a synthetic study.

Part of ``synth`` (synthetic cohorts with ground truth), beside the run layer: its files enter the flow
through ``manifest`` and ``io`` like any tracker's, and its truth scores what the flow finds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.ndimage import uniform_filter1d

from behavnb.errors import ParameterError
from behavnb.io.schema import RawPoses, make_poses
from behavnb.io.writers import save_dlc, save_sleap_analysis
from behavnb.synth.behaviours import BEHAVIOURS
from behavnb.synth.body import LR_PAIRS, keypoint_names, place, pose_body_frame
from behavnb.synth.motion import SOCIAL, Arena, integrate_path, kinematic_series, rhythm_phases, social_episodes, social_path
from behavnb.synth.noise import CODES, NoiseSpec, corrupt
from behavnb.synth.programs import DEFAULT_EFFECTS, MOTIFS, AnimalProgram, Effects, animal_program, sample_bouts
from behavnb.utils import atomic_path, atomic_write_text

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

#: in social episodes, a follower slower than this is still (not walking); faster than RUN_CM_S it runs
MOVING_CM_S, RUN_CM_S = 2.5, 20.0
FORMATS = {"dlc-csv": ".csv", "dlc-h5": ".h5", "sleap": ".analysis.h5"}


@dataclass
class Cohort:
    """What ``make_cohort`` made: tables, truth and the observed poses, plus the files if written.

    Parameters
    ----------
    sessions : pandas.DataFrame
        The sessions table (session, subject, group, file, fps, px_per_cm, arena_*).
    truth : pandas.DataFrame
        Per frame and animal: the true motif and its name, centre, heading, speed, social episode.
    noise : pandas.DataFrame
        The planted tracking corruptions (session, individual, frame, keypoint, kind).
    spec : dict
        What ``truth.json`` holds: parameters, effects, noise, arena, conventions, every animal's program.
    poses : dict of str to xarray.Dataset
        Session -> the observed (corrupted) poses.
    clean : dict of str to numpy.ndarray
        Session -> the poses before corruption.
    files : list of Path
        The files written (empty when nothing was written).
    """

    sessions: pd.DataFrame
    truth: pd.DataFrame
    noise: pd.DataFrame
    spec: dict
    poses: dict[str, xr.Dataset]
    clean: dict[str, np.ndarray] = field(repr=False)
    files: list[Path] = field(default_factory=list)


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angles wrapped to (-pi, pi]."""
    return np.pi - np.mod(np.pi - np.asarray(a, dtype=float), 2 * np.pi)


def conventions(arena: Arena) -> dict[str, str]:
    """The coordinate conventions of the truth tables, as written into ``truth.json``."""
    return {
        "truth_frame": "x_cm, y_cm: the animal's centre (mid-spine) in arena centimetres, origin at the arena's "
                       f"bottom-left corner, x to the right, y up (0..{arena.size_cm:g} cm)",
        "heading": "radians, counter-clockwise from +x in the arena frame (y up), wrapped to (-pi, pi]",
        "pose_files": "keypoints are in image pixels with y pointing down (the camera's frame), each session "
                      "through its own camera (sessions.csv: px_per_cm, arena_xmin/ymin/xmax/ymax in pixels): "
                      "x_px = arena_xmin + x_cm * px_per_cm, y_px = arena_ymax - y_cm * px_per_cm; cameras "
                      f"differ from the nominal {arena.px_per_cm:g} px/cm by up to {arena.scale_jitter:.0%} in "
                      f"scale and {arena.offset_px:g} px in placement; images are {arena.image_px:g} px square",
        "image_heading": "a heading measured in image pixels (e.g. tail base -> nose from the pose files) is "
                         "-heading, because image y points down",
        "z": "with dims=3, z is height above the floor in cm times px_per_cm (pixels), not flipped",
    }


def _sessions_range(spa) -> int | tuple[int, int]:
    """``sessions_per_animal`` checked: a whole number >= 1, or a (min, max) pair of them."""
    def whole(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1

    if whole(spa):
        return int(spa)
    if isinstance(spa, (tuple, list)) and len(spa) == 2 and all(whole(v) for v in spa) and spa[0] <= spa[1]:
        return (int(spa[0]), int(spa[1]))
    raise ParameterError(f"sessions_per_animal={spa!r}: give a whole number >= 1, or a (min, max) pair of them "
                         "with min <= max.")


def _group_effects(groups: Sequence[str], effects) -> dict[str, Effects | None]:
    if effects == "null":
        return {g: None for g in groups}
    if effects == "default":
        extra = Effects(usage={"groom": 1.7}, kinematics={"run": 0.8})
        return {g: (None if i == 0 else DEFAULT_EFFECTS if i == 1 else extra) for i, g in enumerate(groups)}
    if isinstance(effects, Mapping):
        unknown = set(effects) - set(groups)
        if unknown:
            raise ParameterError(f"effects given for unknown group(s) {sorted(unknown)}; groups are {list(groups)}.")
        return {g: effects.get(g) for g in groups}
    raise ParameterError(f"effects={effects!r}: use 'default', 'null', or a dict group -> Effects.")


def _simulate_animal(program: AnimalProgram, n_frames: int, fps: float, arena: Arena, paws: bool,
                     rng: np.random.Generator, leader: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """One animal's session; with a ``leader``, social episodes towards it interrupt its own behaviour."""
    motifs, lengths = sample_bouts(program, n_frames, fps, rng)
    series = kinematic_series(program, motifs, lengths, fps, rng)
    label = np.repeat(motifs, lengths)
    social = np.zeros(n_frames, dtype=np.int8)
    if leader is None:
        centre, heading = integrate_path(series, lengths, fps, arena, rng)
    else:
        centre, heading = _with_social(series, label, social, lengths, program, leader, fps, arena, rng)
    phases = rhythm_phases(series, fps, rng)
    body = pose_body_frame(series, phases, program.body_scale, paws)
    world = place(body, centre, heading)  # (time, keypoint, 3), cm
    speed = np.linalg.norm(np.diff(centre, axis=0, prepend=centre[:1]), axis=1) * fps
    return {"label": label, "keypoints": world, "centre": centre, "heading": heading, "speed": speed,
            "social": social}


def _with_social(series, label, social, lengths, program, leader, fps, arena, rng):
    """Integrate the follower's own path between social episodes and build the episodes from the leader's."""
    n_frames = len(label)
    ends = np.cumsum(lengths)
    centre, heading = np.empty((n_frames, 2)), np.empty(n_frames)
    body_length = 8.4 * program.body_scale
    rest, walk, run, sniff = (MOTIFS.index(m) for m in ("rest", "walk", "run", "sniff"))
    state, t = None, 0
    for a, b, kind in social_episodes(n_frames, fps, rng) + [(n_frames, n_frames, "none")]:
        if a > t:  # the animal's own behaviour
            seg_ends = np.append(ends[(ends > t) & (ends < a)], a) - t
            part = {k: v[t:a] for k, v in series.items()}
            centre[t:a], heading[t:a] = integrate_path(part, np.diff(seg_ends, prepend=0), fps, arena, rng, start=state)
            state = (centre[a - 1], heading[a - 1])
        if b > a:
            p0, th0 = state if state is not None else (rng.uniform(10, arena.size_cm - 10, 2), 0.0)
            pos, head, contact = social_path(kind, leader, a, b, p0, th0, body_length, fps, arena)
            centre[a:b], heading[a:b] = pos, head
            series["speed"][a:b] = np.linalg.norm(np.diff(pos, axis=0, prepend=p0[None]), axis=1) * fps
            series["omega"][a:b] = np.diff(head, prepend=th0) * fps
            # what the follower is doing: sniffing in contact, walking or running while it moves, and when
            # (nearly) still, sniffing the leader it follows or resting
            raw_speed = series["speed"][a:b]
            moving = uniform_filter1d(raw_speed, size=max(1, int(round(0.2 * fps))), mode="nearest")
            moving = np.where(raw_speed < 1.0, 0.0, moving)  # stopped means stopped, whatever the smoothing says
            still = sniff if kind == "follow" else rest
            label[a:b] = np.where(contact, sniff, np.where(moving >= MOVING_CM_S, np.where(moving > RUN_CM_S, run, walk),
                                                           still))
            _social_body(series, label, a, b)
            social[a:b] = SOCIAL.index(kind)
            state = (pos[-1], head[-1])
        t = b
    return centre, heading


def _social_body(series: dict[str, np.ndarray], label: np.ndarray, a: int, b: int) -> None:
    """The body model's parameters during a social episode, from what the follower is labelled doing
    (typical values of each behaviour's ranges; no random draws, so the streams stay as they are)."""
    lab = label[a:b]
    for p in series:
        if p not in ("speed", "omega"):
            series[p][a:b] = 0.0
    walk, run, sniff = (MOTIFS.index(m) for m in ("walk", "run", "sniff"))
    moving = np.isin(lab, (walk, run))
    series["gait"][a:b] = moving
    series["bound"][a:b] = 0.7 * (lab == run)
    is_sniff = (lab == sniff).astype(float)
    series["sniff_amp"][a:b], series["sniff_hz"][a:b] = 0.3 * is_sniff, 8.0 * is_sniff
    series["scan_amp"][a:b], series["scan_hz"][a:b] = 0.3 * is_sniff, 1.0 * is_sniff
    series["breath_hz"][a:b] = np.where(moving | (lab == sniff), 8.0, 3.0)


def hidden_rates(label: np.ndarray, keypoints: list[str]) -> np.ndarray:
    """(time, keypoint): occlusion episode start rates that each frame's posture causes (e.g. forepaws
    under a rearing mouse's head), from :data:`behavnb.synth.behaviours.BEHAVIOURS`."""
    per_motif = np.zeros((len(MOTIFS), len(keypoints)))
    for m, name in enumerate(MOTIFS):
        for pattern, rate in BEHAVIOURS[name].hidden.items():
            per_motif[m, [pattern in k for k in keypoints]] = rate
    return per_motif[label]


def make_cohort(
    out_dir: str | Path | None = None,
    *,
    groups: Sequence[str] = ("WT", "KO"),
    animals_per_group: int = 8,
    sessions_per_animal: int | tuple[int, int] = (1, 2),
    duration_s: float = 300.0,
    fps: float = 30.0,
    effects: str | Mapping[str, Effects | None] = "default",
    animals_per_session: int = 1,
    dims: int = 2,
    paws: bool = True,
    fmt: str = "dlc-csv",
    noise: NoiseSpec | None = None,
    arena: Arena | None = None,
    seed: int = 0,
) -> Cohort:
    """Simulate a cohort; write it to ``out_dir`` if given.

    Parameters
    ----------
    out_dir : str or Path, optional
        Where to write the pose files, ``sessions.csv``, ``truth.parquet``, ``truth_noise.parquet`` and
        ``truth.json`` (atomically); None keeps everything in memory.
    groups : sequence of str, default ("WT", "KO")
        Genotype names; the first is the reference.
    animals_per_group : int, default 8
        Subjects per group.
    sessions_per_animal : int or (int, int), default (1, 2)
        A number, or a (min, max) range drawn per animal.
    duration_s : float, default 300.0
        Seconds per session (at least 30 frames).
    fps : float, default 30.0
        Frame rate.
    effects : str or mapping, default "default"
        ``"default"`` (the second group: more rearing, more walk->run, longer grooming, slower walking;
        a third group: more grooming, slower running), ``"null"`` (no differences), or a dict
        ``group -> Effects``.
    animals_per_session : int, default 1
        1 for single-animal sessions; 2+ gives multi-animal sessions (one subject = one group of
        animals from the same genotype) written as DeepLabCut multi-animal tables.
    dims : {2, 3}, default 2
        2 (x, y) or 3 (adds z, height: rearing raises the nose).
    paws : bool, default True
        Include the four paws among the keypoints.
    fmt : {"dlc-csv", "dlc-h5", "sleap"}, default "dlc-csv"
        ``"sleap"`` is an analysis HDF5. The same seed gives byte-identical ``dlc-csv`` and ``sleap``
        files; ``dlc-h5`` files hold identical values, but PyTables stamps creation times into them, so
        their bytes (and sha256) differ from run to run.
    noise : NoiseSpec, optional
        Tracking noise; default :class:`NoiseSpec` with missing points written as (0, 0) for DeepLabCut
        formats and as NaN for ``fmt="sleap"`` (SLEAP writes NaN).
    arena : Arena, optional
        The open field and its cameras (default ``Arena()``: 50 cm, 8 px/cm nominal, cameras varying per session).
    seed : int, default 0
        Seed of everything; the same seed gives the same cohort.

    Returns
    -------
    Cohort

    Raises
    ------
    ParameterError
        On ``dims`` other than 2 or 3, an unknown ``fmt``, 3D or (0, 0)-missing SLEAP files, no animals,
        fewer than 30 frames per session, or bad ``sessions_per_animal`` / ``effects``.

    Examples
    --------
    >>> import behavnb as bn
    >>> sim = bn.synth.make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=(1, 1),
    ...                            duration_s=10, seed=0)
    >>> len(sim.poses), sim.sessions["group"].tolist()
    (1, ['WT'])
    """
    import pandas as pd

    if dims not in (2, 3):
        raise ParameterError(f"dims={dims}: choose 2 (top view) or 3 (with height).")
    if fmt not in FORMATS:
        raise ParameterError(f"fmt={fmt!r}: choose one of {list(FORMATS)}.")
    if fmt == "sleap" and dims == 3:
        raise ParameterError("SLEAP analysis files hold 2D poses; use fmt='dlc-csv' with dims=3.")
    if animals_per_group < 1 or animals_per_session < 1 or duration_s * fps < 30:
        raise ParameterError("need at least 1 animal per group and session, and at least 30 frames per session.")
    sessions_per_animal = _sessions_range(sessions_per_animal)
    per_group = _group_effects(list(groups), effects)
    noise = noise or NoiseSpec(missing="nan" if fmt == "sleap" else "zeros")
    if fmt == "sleap" and noise.missing == "zeros":
        raise ParameterError("SLEAP files write missing points as NaN, not (0, 0): use NoiseSpec(missing='nan') "
                             "with fmt='sleap'.")
    arena = arena or Arena()
    n_frames = int(round(duration_s * fps))
    kps = keypoint_names(paws)
    space = ["x", "y", "z"][:dims]
    root = np.random.SeedSequence(seed)
    sub_seeds = root.spawn(len(groups) * animals_per_group)  # behaviour, one per animal
    noise_seeds = root.spawn(len(groups) * animals_per_group)  # tracking noise, one per animal
    camera_seeds = root.spawn(len(groups) * animals_per_group)  # each session's camera, one stream per animal

    rows, truth_parts, noise_parts, animals_json = [], [], [], {}
    poses: dict[str, xr.Dataset] = {}
    clean: dict[str, np.ndarray] = {}
    for g_i, group in enumerate(groups):
        for a in range(animals_per_group):
            # two streams per animal: behaviour (programs, bouts, paths) and tracking noise, so that noise
            # settings, dims or format never change the behaviour truth of any session
            rng = np.random.default_rng(sub_seeds[g_i * animals_per_group + a])
            noise_rng = np.random.default_rng(noise_seeds[g_i * animals_per_group + a])
            camera_rng = np.random.default_rng(camera_seeds[g_i * animals_per_group + a])
            subject = f"{group}_{a + 1:02d}"
            n_sess = (sessions_per_animal if isinstance(sessions_per_animal, int)
                      else int(rng.integers(sessions_per_animal[0], sessions_per_animal[1] + 1)))
            programs = [animal_program(per_group[group], rng) for _ in range(animals_per_session)]
            individuals = [f"mouse{i + 1}" for i in range(animals_per_session)]
            animals_json[subject] = {"group": group,
                                     "individuals": {n: p.to_json() for n, p in zip(individuals, programs, strict=True)}}
            sex = "F" if rng.random() < 0.5 else "M"
            for s in range(n_sess):
                session = f"{subject}_s{s + 1}"
                sims = [_simulate_animal(programs[0], n_frames, fps, arena, paws, rng)]
                sims += [_simulate_animal(p, n_frames, fps, arena, paws, rng, leader=sims[0]) for p in programs[1:]]
                camera = arena.camera(camera_rng)
                px = np.stack([camera.to_pixels(sim["keypoints"]) for sim in sims], axis=-1)  # (time, kp, 3, ind)
                px[:, :, :2] = np.clip(px[:, :, :2], 0.0, camera.image_px)  # a camera sees nothing beyond its image
                true_px = px.transpose(0, 2, 1, 3)[:, :dims]  # (time, space, keypoint, individual)
                hidden = np.stack([hidden_rates(sim["label"], kps) for sim in sims], axis=-1)
                obs, lik, code = corrupt(true_px, kps, LR_PAIRS, noise, noise_rng, hidden=hidden)
                obs, lik = np.round(obs, 3), np.round(lik, 4)
                raw = RawPoses(obs, lik, kps, individuals, "DeepLabCut" if fmt.startswith("dlc") else "SLEAP", space=space,
                               log=[f"synth.make_cohort: simulated session {session} (seed {seed})"])
                poses[session] = make_poses(raw, fps=fps, source_file="", session=session)
                clean[session] = np.round(true_px, 3)
                rows.append({"session": session, "subject": subject, "group": group, "sex": sex,
                             "cohort": f"c{a % 2 + 1}", "file": f"{session}{FORMATS[fmt]}", "fps": fps,
                             "px_per_cm": round(camera.px_per_cm, 4),
                             **{f"arena_{k}": v for k, v in camera.arena_box(arena.size_cm).items()}})
                for i_name, sim in zip(individuals, sims, strict=True):
                    truth_parts.append(pd.DataFrame({
                        "session": session, "individual": i_name, "frame": np.arange(n_frames),
                        "motif": sim["label"].astype(np.int16),
                        "motif_name": pd.Categorical.from_codes(sim["label"], categories=list(MOTIFS)),
                        "x_cm": np.round(sim["centre"][:, 0], 4), "y_cm": np.round(sim["centre"][:, 1], 4),
                        "heading": np.round(wrap_angle(sim["heading"]), 5), "speed_cm_s": np.round(sim["speed"], 4),
                        **({"social": pd.Categorical.from_codes(sim["social"], categories=list(SOCIAL))}
                           if animals_per_session > 1 else {})}))
                t, k, i = np.nonzero(code)
                if len(t):
                    noise_parts.append(pd.DataFrame({
                        "session": session, "individual": np.array(individuals)[i], "frame": t,
                        "keypoint": np.array(kps)[k], "kind": [CODES[c] for c in code[t, k, i]]}))
    sessions = pd.DataFrame(rows)
    truth = pd.concat(truth_parts, ignore_index=True)
    noise_df = (pd.concat(noise_parts, ignore_index=True) if noise_parts else
                pd.DataFrame(columns=["session", "individual", "frame", "keypoint", "kind"]))
    spec = {
        "generator": "behavnb.synth.make_cohort", "seed": seed, "fps": fps, "duration_s": duration_s,
        "groups": list(groups), "animals_per_group": animals_per_group, "sessions_per_animal": sessions_per_animal,
        "animals_per_session": animals_per_session, "dims": dims, "paws": paws, "format": fmt,
        "motifs": list(MOTIFS), "keypoints": kps,
        "effects": {g: (e.to_json() if e else None) for g, e in per_group.items()},
        "noise": asdict(noise), "arena": asdict(arena), "animals": animals_json,
        "conventions": conventions(arena),
    }
    cohort = Cohort(sessions, truth, noise_df, spec, poses, clean)
    if out_dir is not None:
        cohort.files = write_cohort(cohort, Path(out_dir))
    return cohort


def write_cohort(cohort: Cohort, out_dir: Path) -> list[Path]:
    """Write tracker files, ``sessions.csv`` and the truth files; every write is atomic."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fmt = cohort.spec["format"]
    files = []
    for row in cohort.sessions.itertuples(index=False):
        ds = cohort.poses[row.session]
        path = out_dir / row.file
        if fmt == "sleap":
            save_sleap_analysis(ds, path)
        else:
            save_dlc(ds, path, scorer="DLC_resnet50_synthetic_openfieldNov22shuffle1_100000",
                     multi_animal=ds.sizes["individual"] > 1)
        files.append(path)
    with atomic_path(out_dir / "sessions.csv") as tmp:
        cohort.sessions.to_csv(tmp, index=False)
    with atomic_path(out_dir / "truth.parquet") as tmp:
        cohort.truth.to_parquet(tmp, index=False)
    with atomic_path(out_dir / "truth_noise.parquet") as tmp:
        cohort.noise.to_parquet(tmp, index=False)
    atomic_write_text(out_dir / "truth.json", json.dumps(cohort.spec, indent=1, sort_keys=True))
    return files + [out_dir / n for n in ("sessions.csv", "truth.parquet", "truth_noise.parquet", "truth.json")]
