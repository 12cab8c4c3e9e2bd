"""The whole series (01-09, fast profile, no -p at all) on every real pose set in the shared data.

Each real set is turned into a small study as a lab would have it: long files split into sessions
(behavnb's own netCDF pose files, frames renumbered from 0), two groups assigned, a sessions.csv
beside them. Then ``behavnb run --dataset <that folder>`` must complete all nine notebooks with the
defaults. These are the files no one here made: B-SOiD's bottom-view clips (6 keypoints, 60 fps),
VAME's sample (6 keypoints), DeepOF's multi-animal tables (2 mice, missing points stored as 0) and
SLEAP's fly courtship (2 tracks, 13 nodes).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from behavnb import cli
from behavnb.io import load_poses, save_poses

#: name -> (files relative to the shared data, fps, sessions per file)
STUDIES = {
    "bsoid": ([f"bsoid-yttrilab/raw_clip{i}DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5" for i in (1, 2)], 60, 2),
    "vame": (["vame-tests/cropped_video.csv"], 30, 4),
    "deepof-pairs": (["deepof-tests/madlc_topview/testDLC_h5_table_madlc.h5",
                      "deepof-tests/madlc_topview/testDLC_csv_table_madlc.csv"], 30, 1),
    "sleap-fly": (["sleap-examples/fly_courtship_example/predictions.analysis.h5"], 30, 4),
}


def make_study(shared: Path, files: list[str], fps: float, per_file: int, out: Path) -> Path:
    """Split each file into ``per_file`` sessions, write them and a sessions table with two groups."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for f_i, rel in enumerate(files):
        ds = load_poses(shared / rel, fps=fps)
        n = ds.sizes["time"] // per_file
        for part in range(per_file):
            piece = ds.isel(time=slice(part * n, (part + 1) * n))
            piece = piece.assign_coords(frame=("time", range(n)), time=("time", [t / fps for t in range(n)]))
            session = f"f{f_i}_part{part}"
            piece.attrs["session"] = session
            save_poses(piece, out / f"{session}.nc")
            rows.append({"session": session, "subject": f"animal{len(rows)}", "file": f"{session}.nc", "fps": fps})
    table = pd.DataFrame(rows)
    table["group"] = ["control" if i % 2 == 0 else "treated" for i in range(len(table))]
    table.to_csv(out / "sessions.csv", index=False)
    return out


def make_pair_study(out: Path, seed: int = 0) -> Path:
    """A synthetic 2-animal cohort as a tracker would write it: identity swaps planted, tracks fragmented."""
    from behavnb.synth import make_cohort
    from behavnb.synth.noise import fragment_tracks, plant_id_swaps

    out.mkdir(parents=True, exist_ok=True)
    cohort = make_cohort(None, groups=["control", "treated"], animals_per_group=2, sessions_per_animal=1,
                         duration_s=60, animals_per_session=2, seed=seed)
    rows = []
    for i, (session, ds) in enumerate(cohort.poses.items()):
        swapped, _ = plant_id_swaps(ds, rate=1 / 300, frames=(30, 120), seed=seed + i)
        broken, _ = fragment_tracks(swapped, break_rate=1 / 200, gap_frames=(2, 8), seed=seed + i)
        broken.attrs["session"] = session
        save_poses(broken, out / f"{session}.nc")
        row = cohort.sessions[cohort.sessions["session"] == session].iloc[0]
        rows.append({"session": session, "subject": row["subject"], "group": row["group"], "file": f"{session}.nc",
                     "fps": 30.0})
    pd.DataFrame(rows).to_csv(out / "sessions.csv", index=False)
    return out


def run_series(dataset: Path, project: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(["run", "--dataset", str(dataset), "--profile", "fast", "--project-dir", str(project)])
    return rc, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("name", list(STUDIES))
def test_whole_series_on_real_data_with_no_parameters(shared, tmp_path, name):
    files, fps, per_file = STUDIES[name]
    study = make_study(shared, files, fps, per_file, tmp_path / "study")
    project = tmp_path / "run"
    rc, text = run_series(study, project)
    stamps = json.loads((project / "reports" / "notebooks" / "stamps.json").read_text())
    assert rc == 0, f"{name}: the series failed:\n{text[-3000:]}"
    assert len(stamps) == 9, f"{name}: ran {sorted(stamps)}"
    assert (project / "skeleton.yaml").exists()
    labels = list((project / "motifs").glob("vame-hmm-*/labels.parquet"))
    assert labels and len(pd.read_parquet(labels[0])) > 0
    assert (project / "stats").is_dir()


def test_whole_series_on_fragmented_swapped_pairs(tmp_path):
    """SLEAP/maDLC-like output: more tracks than animals, identities swapped; 02 links and repairs them."""
    study = make_pair_study(tmp_path / "study")
    assert len(load_poses(next(study.glob("*.nc")))["individual"]) > 2  # fragments, not animals
    project = tmp_path / "run"
    rc, text = run_series(study, project)
    assert rc == 0, f"the series failed:\n{text[-3000:]}"
    qc = pd.read_csv(project / "clean" / "qc_sessions.csv")
    kept = qc[qc["qc_pass"]]
    assert (kept.groupby("session")["individual"].count() == 2).all()  # two animals per session after linking
    labels = pd.read_parquet(next((project / "motifs").glob("vame-hmm-*/labels.parquet")))
    assert labels.groupby("session")["individual"].nunique().eq(2).all()
