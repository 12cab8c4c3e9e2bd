"""Browsing motifs: MotifData, the motif browser widget, video clips, panels and the gallery export."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import behavnb as bn
from behavnb import segment
from behavnb.errors import DataWarning, ParameterError, PoseFileNotFoundError

KPS = ["nose", "ear_left", "ear_right", "neck", "mid_spine", "tail_base"]


def _session(name: str, n: int, seed: int) -> tuple[xr.Dataset, np.ndarray]:
    """A cleaned-looking session whose poses depend on a sticky 3-motif sequence (returned too)."""
    rng = np.random.default_rng(seed)
    motif = np.repeat(rng.integers(0, 3, n // 20 + 1), 20)[:n]
    base = np.array([[3, 0], [2.5, 0.5], [2.5, -0.5], [2, 0], [0, 0], [-2, 0]], float)
    bend = np.array([0.0, 0.8, -0.8])[motif][:, None] * np.array([0, 0, 0, 0, 0.5, 1.0])[None, :]
    ego = np.repeat(base[None], n, 0)
    ego[:, :, 1] += bend + rng.normal(0, 0.05, (n, len(KPS)))
    pos = ego + np.cumsum(rng.normal(0, 0.3, (n, 1, 2)), axis=0) + 100
    dims = ("time", "space", "keypoint", "individual")
    ds = xr.Dataset({"position": (dims, pos.transpose(0, 2, 1)[..., None]),
                     "ego_position": (dims, ego.transpose(0, 2, 1)[..., None])},
                    coords={"time": np.arange(n) / 30.0, "space": ["x", "y"], "keypoint": KPS, "individual": ["mouse"]},
                    attrs={"session": name, "fps": 30.0, "units": "pixels"})
    return ds, motif


@pytest.fixture(scope="module")
def cohort():
    cleaned, truth, feats = {}, [], {}
    for i, s in enumerate(["A_1", "A_2", "B_1", "B_2"]):
        ds, m = _session(s, 600, i)
        cleaned[s] = ds
        truth.append(pd.DataFrame({"session": s, "individual": "mouse", "frame": np.arange(600), "motif": m}))
        v = np.random.default_rng(i).gamma(2, 2, 600) + 3 * m
        feats[s] = xr.Dataset({"speed": (("time", "individual"), v[:, None]),
                               "body_length": (("time", "individual"), 5 + 0.1 * m[:, None].astype(float))},
                              coords={"time": ds["time"].values, "individual": ["mouse"]})
    truth = pd.concat(truth, ignore_index=True)
    latents = {s: xr.DataArray(ds["ego_position"].isel(individual=0).values.reshape(600, -1), dims=("time", "latent"),
                               coords={"time": ds["time"].values, "individual": "mouse"}, attrs={"model": "poses"})
               for s, ds in cleaned.items()}
    labels = segment.KMeansMotifs(3, n_init=3).fit_predict(latents)
    sessions = pd.DataFrame({"session": list(cleaned), "group": ["A", "A", "B", "B"], "file": ["", "", "", ""]})
    return {"cleaned": cleaned, "truth": truth, "features": feats, "latents": latents, "labels": labels, "sessions": sessions}


@pytest.fixture(scope="module")
def data(cohort):
    return segment.MotifData(cohort["labels"], cohort["cleaned"], features=cohort["features"], sessions=cohort["sessions"],
                             names={0: "first"})


def test_motif_data_tables(data, cohort):
    """MotifData derives bouts, usage, names and per-group usage from the labels; k comes from their metadata
    (or n_motifs), never from the largest label."""
    assert data.fps == pytest.approx(30.0)
    assert data.motifs == [0, 1, 2] and data.n_motifs == 3
    bare = cohort["labels"].copy()
    bare.attrs = {}
    with pytest.raises(ParameterError, match="pass n_motifs"):
        segment.MotifData(bare, cohort["cleaned"])
    assert segment.MotifData(bare, cohort["cleaned"], n_motifs=5).usage["motif"].nunique() == 5
    assert data.name(0) == "first" and data.name(1) == "motif 1"
    assert abs(sum(data.share.values()) - 1) < 1e-9
    u = data.usage_by_group(1)
    assert set(u["group"]) == {"A", "B"} and len(u) == 4
    inst = data.instances(1, 5, seed=0)
    assert len(inst) == 5 and (inst["motif"] == 1).all()
    poses, kps = data.poses(inst, n_steps=7)
    assert poses.shape == (5, 7, len(KPS), 2) and kps == KPS
    clips = data.clips(inst)
    assert [len(c) for c in clips] == list(inst["n_frames"])
    ft = data.feature_table()
    assert {"speed", "body_length", "motif"} <= set(ft.columns) and (ft["motif"] >= 0).all()
    assert data.video("A_1") is None  # no video file: skeletons only


def test_typical_trajectory_is_median(data):
    """The typical trajectory is the median pose over instances; the spread is zero for identical instances."""
    poses = np.repeat(np.random.default_rng(0).normal(size=(1, 4, 3, 2)), 5, axis=0)
    med, spread = segment.typical_trajectory(poses)
    np.testing.assert_allclose(med, poses[0])
    np.testing.assert_allclose(spread, 0, atol=1e-12)


def test_browser_selection_changes_instances(data, cohort):
    """Widget smoke test: build the browser, change the motif and select UMAP points; the shown instances follow."""
    table = segment.umap_table(cohort["latents"], cohort["labels"], n=400, sessions=cohort["sessions"], n_neighbors=10)
    b = bn.widgets.MotifBrowser(data, table, n_instances=4)
    first = b.shown.copy()
    assert len(first) == 4 and (first["motif"] == b.motif).all()
    other = [m for m in data.motifs if m != b.motif][0]
    b.motif_w.value = other  # as a user picking from the dropdown
    assert (b.shown["motif"] == other).all()
    assert not b.shown[["session", "start"]].equals(first[["session", "start"]])
    assert b.grid_w.value and b.panel_w.value  # PNGs were drawn
    before = b.shown.copy()
    b.resample()
    assert len(b.shown) == 4 and not b.shown[["session", "start"]].equals(before[["session", "start"]])
    # linked selection: points of one session's first frames -> the bouts containing them
    pts = np.flatnonzero((table["session"] == "B_2").to_numpy())[:3]
    b.select_points(pts)
    assert set(b.shown["session"]) == {"B_2"}
    for row, f in zip(b.shown.itertuples(), table.iloc[pts]["frame"], strict=False):
        assert row.start <= f <= row.end
    # the dropdown (as the browser shows it: its index) follows the selection's motif, and choosing another motif
    # from it afterwards redraws (a selection once left the shown index stale, so that choice changed nothing)
    assert b.motif_w.index == b.motif_w.options.index(next(o for o in b.motif_w.options if o[1] == b.motif))
    picked = (b.motif_w.index + 1) % len(b.motif_w.options)
    b.motif_w.index = picked  # as the browser's <select> sets it
    assert b.motif == b.motif_w.options[picked][1] and (b.shown["motif"] == b.motif).all()
    assert b.status_w.value.startswith(f"<b>motif {b.motif}</b>")
    b.frame_w.value = 3  # the slider redraws the grid
    assert 3 in b._frame_cache
    bundle = b._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<img" in bundle["text/html"]  # the static fallback for a headless run
    with pytest.raises(ParameterError):
        b.motif = 99


def test_video_missing_and_mismatch(tmp_path, shared):
    """A real video: clips are cut and clamped; a frame-count mismatch warns with both numbers; a missing file errors."""
    from behavnb.io.video import Video, find_video

    pose = shared / "vame-tests" / "cropped_video.csv"
    path = find_video(pose)
    assert path is not None and path.name == "cropped_video.mp4"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = Video(path, n_pose_frames=750)  # 749 video frames: within the default tolerance, silent
    clip = v.clip(745, 760, max_width=64)
    assert clip.shape[0] == 4 and clip.shape[2] == 64  # clamped to the video's 749 frames
    with pytest.warns(DataWarning, match="749 frames but the poses have 900"):
        Video(path, n_pose_frames=900)
    assert find_video(tmp_path / "nothing.csv") is None
    with pytest.raises(PoseFileNotFoundError, match="video not found"):
        find_video(pose, tmp_path / "missing.mp4")


def test_browser_and_gallery_with_video(tmp_path, shared):
    """On the VAME sample with its video, instances come with cropped video clips and the gallery writes an MP4."""
    from behavnb import io, preprocess

    cl = preprocess.clean(io.load_poses(shared / "vame-tests" / "cropped_video.csv", fps=30))
    x, _ = bn.inputs.session_matrix(cl)
    lat = {"cropped_video": xr.DataArray(x, dims=("time", "latent"), coords={"time": cl["time"].values},
                                         attrs={"model": "poses"})}
    labels = segment.HMMMotifs(3, sticky=10, n_init=2).fit_predict(lat)
    sessions = pd.DataFrame({"session": ["cropped_video"], "group": ["g"],
                             "file": [str(shared / "vame-tests" / "cropped_video.csv")]})
    data = segment.MotifData(labels, {"cropped_video": cl}, sessions=sessions)
    b = bn.widgets.MotifBrowser(data, n_instances=2, max_frames=10)
    assert sum(v is not None and len(v) > 0 for v in b._videos) == len(b.shown) > 0
    assert "with video" in b.status_w.value
    index = bn.plot.export_gallery(data, tmp_path / "gallery", data.motifs[:2], n_instances=2, max_frames=8, progress=False)
    files = {p.name for p in index.parent.iterdir()}
    m = data.motifs[0]
    assert {f"motif_{m}.gif", f"motif_{m}.png", f"motif_{m}_video.mp4", "index.html", "motifs.csv"} <= files
    assert f"motif_{m}.gif" in index.read_text()
    import imageio.v3 as iio

    assert iio.imread(index.parent / f"motif_{m}.gif").shape[0] >= 2  # animated


def test_gallery_without_video_is_atomic(tmp_path, data, monkeypatch):
    """Without videos the gallery has GIFs and panels only; an error mid-export leaves no half-written folder."""
    index = bn.plot.export_gallery(data, tmp_path / "g", [0, 1], n_instances=2, max_frames=5, progress=False)
    files = {p.name for p in index.parent.iterdir()}
    assert "motif_0.gif" in files and not any(f.endswith(".mp4") for f in files)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bn.plot.gallery, "motif_panel", boom)  # where export_gallery looks it up
    with pytest.raises(RuntimeError):
        bn.plot.export_gallery(data, tmp_path / "g2", [0], n_instances=2, max_frames=5, progress=False)
    assert not (tmp_path / "g2").exists()
    assert not any(p.name.startswith(".gallery-") for p in tmp_path.iterdir())


def test_figures_draw(data, cohort):
    """Every motif figure draws on small data (ethogram, usage, panel, choose_k, confusion, bouts, UMAP)."""
    import matplotlib.pyplot as plt

    labels, truth = cohort["labels"], cohort["truth"]
    figs = [bn.plot.ethogram(labels, data.groups, data.names), bn.plot.usage_by_group(data.usage, data.groups, data.names),
            bn.plot.motif_panel(data, 0), bn.plot.confusion(segment.confusion(labels, truth)),
            bn.plot.bout_comparison(segment.bout_comparison(labels, truth)),
            bn.plot.method_comparison(pd.DataFrame({"k-means": segment.truth_agreement(labels, truth)}).T)]
    choice = segment.choose_k(cohort["latents"], [2, 3], "hmm", n_seeds=2, progress=False, n_init=2)
    figs.append(bn.plot.choose_k(choice))
    table = segment.umap_table(cohort["latents"], labels, n=300, sessions=cohort["sessions"], n_neighbors=10)
    for colour in ("motif", "group", "time", "session"):
        figs.append(bn.plot.umap(table, colour, data.names))
    fig = bn.plot.umap_interactive(table, "motif", data.names)
    assert "session" in fig.data[0].hovertemplate
    for f in figs:
        assert f.axes
        plt.close(f)


def test_motif_data_bad_inputs(cohort):
    """Instances of sessions without poses, and labels with no motif, are clear errors."""
    data = segment.MotifData(cohort["labels"], {"A_1": cohort["cleaned"]["A_1"]})
    inst = data.bouts[data.bouts["session"] == "B_1"].head(2)
    with pytest.raises(ParameterError, match="not in the cleaned poses"):
        data.poses(inst)
    empty = cohort["labels"].assign(motif=-1)
    with pytest.raises(ParameterError, match="nothing to browse"):
        bn.widgets.MotifBrowser(segment.MotifData(empty, cohort["cleaned"]))


def test_missing_video_file_falls_back_to_skeletons(cohort, tmp_path):
    """A sessions table naming a video that does not exist: a warning naming it, and skeletons only."""
    sessions = cohort["sessions"].assign(video=str(tmp_path / "gone.mp4"))
    data = segment.MotifData(cohort["labels"], cohort["cleaned"], sessions=sessions)
    with pytest.warns(DataWarning, match="gone.mp4"):
        b = bn.widgets.MotifBrowser(data, n_instances=2)
    assert all(v is None for v in b._videos) and "skeletons only" in b.status_w.value


def test_browser_vq_type_and_subtype(cohort):
    """For VQ labels the browser offers type and subtype; picking a type alone shows bouts of that type."""
    lab = cohort["labels"].copy()
    lab["type"] = lab["motif"] % 2
    lab["subtype"] = lab["motif"]
    lab["motif"] = lab["type"] * 3 + lab["subtype"]
    data = segment.MotifData(lab, cohort["cleaned"], n_subtypes=3, n_motifs=6)  # 2 types x 3 subtypes
    assert data.name(int(lab["motif"].iloc[0])).startswith("t")
    b = bn.widgets.MotifBrowser(data, n_instances=3)
    b.type_w.value = 1
    assert len(b.shown) and (b.shown["motif"] == 1).all()  # bouts of the type column
    t, s = divmod(data.motifs[-1], 3)
    b.subtype_w.value = s
    b.type_w.value = t
    assert b.motif == data.motifs[-1] and (b.shown["motif"] == data.motifs[-1]).all()
