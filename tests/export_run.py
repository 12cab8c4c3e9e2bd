"""A small finished run directory for the export tests, built in seconds without training a model.

Sessions: the real VAME sample (``vame-tests/cropped_video.csv``, 750 frames, 6 keypoints, with its
749-frame video) and two synthetic single-animal sessions (one per group). The cleaned poses come
from the real cleaning pipeline; labels, latents and communities are made up (blocks of motifs, random
latents) but have the exact shape and files 04-08 write.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import behavnb as bn

MOTIFS = "vame-hmm-6"
K = 6


def _labels(session: str, individual: str, n: int, fps: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 40, size=n)
    motif = np.repeat(rng.integers(0, K, size=n), lengths)[:n]
    motif[:3] = -1  # edge frames without a window, as 06 writes them
    frame = np.arange(n)
    return pd.DataFrame({"session": session, "individual": individual, "frame": frame, "time": frame / fps,
                         "motif": motif.astype(np.int64)})


def make_run(root: Path, shared: Path, *, hierarchy: bool = True, video: bool = True) -> bn.project.Project:
    """Write ``sessions.csv``, ``poses/``, ``clean/``, ``latents/vame/``, ``motifs/vame-hmm-6/`` and (optionally)
    ``hierarchy/vame-hmm-6/`` under ``root``; returns the Project."""
    project = bn.project.Project(root)
    src = shared / "vame-tests" / "cropped_video.csv"
    rows = []
    poses = {}
    if video:
        local = root / "data"
        local.mkdir(parents=True, exist_ok=True)
        for name in ("cropped_video.csv", "cropped_video.mp4"):
            shutil.copy(shared / "vame-tests" / name, local / name)
        src = local / "cropped_video.csv"
    ds = bn.io.load_poses(src, fps=30.0, session="vame_1")
    ds.attrs.update(subject="m1", group="WT")
    poses["vame_1"] = ds
    rows.append({"session": "vame_1", "subject": "m1", "group": "WT", "sex": "M", "file": str(src), "fps": 30.0})
    cohort = bn.synth.make_cohort(animals_per_group=1, sessions_per_animal=1, duration_s=20, fps=30, seed=3)
    for row in cohort.sessions.itertuples():
        poses[row.session] = cohort.poses[row.session]
        rows.append({"session": row.session, "subject": row.subject, "group": row.group, "sex": "F", "file": "",
                     "fps": 30.0})
    project.write_sessions(pd.DataFrame(rows))
    labels, rng = [], np.random.default_rng(0)
    for i, (s, ds) in enumerate(poses.items()):
        project.write_poses(ds)
        clean = bn.preprocess.clean(ds)
        project.write_dataset(clean, project.clean_path(s))
        n = clean.sizes["time"]
        for ind in clean["individual"].values:
            labels.append(_labels(s, str(ind), n, 30.0, seed=i))
        lat = xr.DataArray(rng.normal(size=(n, 4)).astype(np.float32), dims=("time", "latent"),
                           coords={"time": clean["time"].values, "latent": np.arange(4)})
        project.write_latents(lat, "vame", s)
    labels = pd.concat(labels, ignore_index=True)
    out = project.motifs_dir(MOTIFS)
    out.mkdir(parents=True, exist_ok=True)
    project.write_table(labels, project.labels_path(MOTIFS))
    bn.segment.write_names(project.motif_names_path(MOTIFS), range(K))
    bn.segment.rename_defaults(project.motif_names_path(MOTIFS), {0: "rest", 1: "walk"})
    if hierarchy:
        hdir = project.hierarchy_dir(MOTIFS)
        rows = [pd.DataFrame({"method": "linkage", "n_communities": n, "motif": np.arange(K),
                              "community": np.minimum(np.arange(K), n - 1)}) for n in range(1, K + 1)]
        project.write_table(pd.concat(rows, ignore_index=True), hdir / "communities.csv")
        project.write_table(pd.DataFrame({"community": [0, 1, 2], "size": [1, 1, 4], "method": "linkage",
                                          "n_communities": 3}), hdir / "stability.csv")
    return project
