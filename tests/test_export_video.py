"""Labelled video: frame count and rate, the skeleton at the right pixels, blank arenas, ranges, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from export_run import MOTIFS, make_run

import behavnb as bn
from behavnb.cli import main
from behavnb.errors import DataWarning, ParameterError, PoseFileNotFoundError
from behavnb.export import load_results, video as V
from behavnb.export.video import labelled_video, render_frame

MAGENTA = np.array([255, 0, 255])  # the first animal's colour (RGB)


@pytest.fixture(scope="module")
def run(shared, tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("video") / "run", shared)


def read_video(path) -> tuple[list[np.ndarray], float]:
    """Every frame (RGB) and the frame rate of a video, decoded with OpenCV."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps, frames = cap.get(cv2.CAP_PROP_FPS), []
    while (got := cap.read())[0]:
        frames.append(got[1][:, :, ::-1])
    cap.release()
    return frames, fps


def test_vame_video_frames_rate_and_mismatch_warning(run):
    with pytest.warns(DataWarning, match=r"749 frames.* 750"):
        path = labelled_video(run.root, "vame_1", width=160, progress=False)
    assert path == run.root / "exports" / "video" / f"vame_1_{MOTIFS}.mp4"
    frames, fps = read_video(path)
    assert len(frames) == 750 and fps == pytest.approx(30.0)  # the poses' frames and rate, not the video's 749 at 25
    assert frames[0].shape[1] == 160
    assert not list(path.parent.glob(".*"))  # no temporary file left
    # frame 749 is past the video's end: a blank frame (the background colour) with the skeleton
    top = frames[749][60:-40, :40].reshape(-1, 3).astype(int)
    assert np.abs(np.median(top, axis=0) - V.BACKGROUND[::-1]).max() < 8
    assert np.abs(frames[748][60:-40, :40].astype(int).mean() - V.BACKGROUND[0]) > 10  # the video's last frame


def test_skeleton_at_the_right_pixels(run, tmp_path):
    """Cleaned in cm (px_per_cm = 4): drawn back at position * px_per_cm in the video's pixels."""
    import cv2

    project = bn.project.Project(tmp_path / "cm")
    for sub in ("sessions.csv", "motifs"):
        src = run.root / sub
        (project.root / sub).symlink_to(src, target_is_directory=src.is_dir())
    clean = bn.preprocess.clean(run.read_poses("vame_1"), px_per_cm=4.0)
    assert clean.attrs["units"] == "cm"
    project.write_dataset(clean, project.clean_path("vame_1"))
    f, width, height = 300, 532, 536  # the video is 1064 x 1070: half its width, the height rounded to even
    with pytest.warns(DataWarning):
        out = labelled_video(project, "vame_1", tmp_path / "cm.mp4", start=f - 5, stop=f + 5, width=width,
                             progress=False)
    frames, _ = read_video(out)
    assert len(frames) == 10
    got = frames[5].astype(int)
    xy = clean["position"].sel(individual=clean["individual"].values[0]).isel(time=f).values.T * 4.0  # (keypoint, 2)
    xy = xy * [width / 1064, height / 1070]
    xy = xy[np.isfinite(xy).all(1) & (xy[:, 1] > 60)]  # keypoints away from the text in the corner
    assert len(xy) >= 4
    cap = cv2.VideoCapture(str(run.root / "data" / "cropped_video.mp4"))  # read from the start: no seeking
    source = [cap.read()[1] for _ in range(f + 7)][f - 6:]
    source = [cv2.resize(s, (width, height), interpolation=cv2.INTER_AREA)[:, :, ::-1].astype(int) for s in source]
    cap.release()
    for x, y in np.round(xy).astype(int):
        assert np.abs(got[y, x] - MAGENTA).max() < 70, (x, y, got[y, x])  # a dot of the skeleton
        assert np.abs(source[6][y, x] - MAGENTA).max() > 100  # not there in the source video
    # the video frame under the drawing is frame f: around the animal (skeleton masked) it matches f best
    near = np.zeros((height, width), bool)
    lo, hi = np.floor(xy.min(0) - 30).astype(int), np.ceil(xy.max(0) + 30).astype(int)
    near[max(lo[1], 0):hi[1], max(lo[0], 0):hi[0]] = True
    near &= cv2.dilate((np.abs(got[:height] - MAGENTA).max(-1) < 150).astype(np.uint8), np.ones((7, 7))) == 0
    diffs = [np.abs(got[:height] - source[i])[near].mean() for i in (0, 3, 6, 9, 12)]  # frames f-6, f-3, ... f+6
    assert np.argmin(diffs) == 2, diffs
    # render_frame draws the same frame
    with pytest.warns(DataWarning):
        one = render_frame(project, "vame_1", f, width=width).astype(int)
    assert one.shape == got.shape
    assert np.abs(one - got).mean() < 4


def test_pose_file_starting_later_than_its_video(run, tmp_path):
    """Poses of frames 100..399 only: pose frame i is drawn on video frame 100 + i."""
    project = bn.project.Project(tmp_path / "later")
    (project.root / "sessions.csv").symlink_to(run.sessions_csv)
    project.write_dataset(run.read_clean("vame_1").isel(time=slice(100, 400)), project.clean_path("vame_1"))
    labels = load_results(run).session_labels("vame_1").iloc[100:400].assign(frame=lambda t: t["frame"] - 100)
    project.write_table(labels, project.labels_path(MOTIFS))
    with pytest.raises(ParameterError, match=r"749 frames .* 300 \(frames 100\.\.399\)"):
        render_frame(project, "vame_1", 50)
    with pytest.warns(DataWarning):
        later = render_frame(project, "vame_1", 50, tolerance=500, width=320, edges=[]).astype(int)
        same = render_frame(run, "vame_1", 150, width=320, edges=[]).astype(int)
        other = render_frame(run, "vame_1", 50, width=320, edges=[]).astype(int)
    assert np.abs(later[40:300] - same[40:300]).max() <= 2  # the same video frame, the same keypoints (dots only)
    assert np.abs(later[40:300] - other[40:300]).max() > 100


def test_blank_arena_for_a_session_without_video(run, tmp_path):
    out = labelled_video(run, "WT_01_s1", tmp_path / "wt.mp4", stop=20, width=200, progress=False)
    frames, fps = read_video(out)
    assert len(frames) == 20 and fps == pytest.approx(30.0) and frames[0].shape[1] == 200
    assert np.abs(np.median(frames[3][40:-30].reshape(-1, 3), axis=0) - V.BACKGROUND[::-1]).max() < 8
    img = render_frame(run, "WT_01_s1", 3, width=200)
    assert (np.abs(img.astype(int) - MAGENTA).max(-1) < 40).sum() > 20  # the skeleton is drawn


def test_frame_range_and_bad_ranges(run, tmp_path):
    with pytest.warns(DataWarning):
        out = labelled_video(run, "vame_1", tmp_path / "range.mp4", start=700, stop=730, width=128, progress=False)
    frames, _ = read_video(out)
    assert len(frames) == 30
    for start, stop in ((740, 760), (20, 10), (-1, 5)):
        with pytest.warns(DataWarning), pytest.raises(ParameterError, match="750 pose frames"):
            labelled_video(run, "vame_1", tmp_path / "bad.mp4", start=start, stop=stop, progress=False)
    with pytest.raises(ParameterError, match="nobody"):
        render_frame(run, "WT_01_s1", 0, individual="nobody")
    assert not (tmp_path / "bad.mp4").exists()


def test_existing_file_refused_unless_overwrite(run, tmp_path, capsys):
    out = tmp_path / "v.mp4"
    labelled_video(run, "KO_01_s1", out, stop=10, width=64, progress=False)
    with pytest.raises(ParameterError, match=r"v\.mp4 exists.*overwrite=True"):
        labelled_video(run, "KO_01_s1", out, stop=5, width=64, progress=False)
    assert main(["export", "video", "KO_01_s1", "--project-dir", str(run.root), "--out", str(out), "--stop", "5"]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert len(read_video(out)[0]) == 10  # refused: untouched
    assert main(["export", "video", "KO_01_s1", "--project-dir", str(run.root), "--out", str(out), "--stop", "5",
                 "--width", "64", "--overwrite"]) == 0
    assert len(read_video(out)[0]) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]  # no temporary file left


def test_error_while_writing_leaves_nothing(run, tmp_path, monkeypatch):
    draw, calls = V._draw, []

    def failing(*args):
        calls.append(1)
        if len(calls) > 5:
            raise RuntimeError("disk full")
        return draw(*args)

    monkeypatch.setattr(V, "_draw", failing)
    with pytest.warns(DataWarning), pytest.raises(RuntimeError, match="disk full"):
        labelled_video(run, "vame_1", tmp_path / "half.mp4", stop=50, width=64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_larger_mismatch_is_an_error(run, tmp_path):
    import imageio_ffmpeg

    clip = tmp_path / "short.mp4"
    writer = imageio_ffmpeg.write_frames(str(clip), (32, 32), fps=30, macro_block_size=1)
    writer.send(None)
    for i in range(700):
        writer.send(np.full((32, 32, 3), i % 256, np.uint8))
    writer.close()
    with pytest.raises(ParameterError, match=r"short\.mp4.*700 frames.*750"):
        labelled_video(run, "vame_1", tmp_path / "x.mp4", video=clip, progress=False)
    # the same through the sessions table's video column
    project = bn.project.Project(tmp_path / "cols")
    for sub in ("motifs", "clean", "poses"):
        (project.root / sub).symlink_to(run.root / sub, target_is_directory=True)
    table = run.read_sessions()
    table["video"] = [str(clip), "", ""]
    project.write_sessions(table)
    with pytest.raises(ParameterError, match=r"700 frames.*750.*'video' column"):
        render_frame(project, "vame_1", 0)
    assert not (tmp_path / "x.mp4").exists()
    with pytest.raises(PoseFileNotFoundError, match="video not found"):
        render_frame(run, "vame_1", 0, video=tmp_path / "nothing.mp4")


def test_before_segmentation_names_the_notebook(run, tmp_path):
    bare = bn.project.Project(tmp_path / "bare")
    bare.write_sessions(run.read_sessions())
    with pytest.raises(PoseFileNotFoundError, match="06_segment"):
        labelled_video(bare, "vame_1", progress=False)
    assert not (bare.root / "exports").exists()


def test_without_hierarchy_no_community_band(shared, tmp_path):
    run = make_run(tmp_path / "run", shared, hierarchy=False, video=False)
    with_comm = make_run(tmp_path / "run2", shared, video=False)
    a = render_frame(run, "WT_01_s1", 50, width=320)
    b = render_frame(with_comm, "WT_01_s1", 50, width=320)
    assert a.shape[0] < b.shape[0]  # the community band is missing from the strip


def test_pose_frames_with_a_gap_skip_video_frames(run, tmp_path):
    """Poses of frames 0..199 and 250..449 (the tracker dropped 200..249): pose frame 200 is drawn on video frame 250,
    also when the video is read straight through (labelled_video), not only when seeking (render_frame)."""
    import xarray as xr

    project = bn.project.Project(tmp_path / "gap")
    (project.root / "sessions.csv").symlink_to(run.sessions_csv)
    keep = np.r_[0:200, 250:450]
    clean = run.read_clean("vame_1").isel(time=keep)
    assert list(clean["frame"].values[198:202]) == [198, 199, 250, 251]
    project.write_dataset(clean, project.clean_path("vame_1"))
    labels = load_results(run).session_labels("vame_1").iloc[keep].assign(frame=np.arange(len(keep)))
    project.write_table(labels, project.labels_path(MOTIFS))
    out = labelled_video(project, "vame_1", tmp_path / "gap.mp4", start=196, stop=204, width=320, edges=[],
                         tolerance=500, progress=False)
    frames, _ = read_video(out)
    assert len(frames) == 8
    candidates = [200, 225, 240, 250, 260, 275]  # video frames the drawing could be on
    with pytest.warns(DataWarning):
        drawn = [render_frame(run, "vame_1", c, width=320, edges=[]).astype(int) for c in candidates]
    h = 300  # the picture, not the strip (whose labels differ)
    for i, pose_frame in ((1, 197), (4, 200), (6, 202)):  # 197 -> video 197; 200 -> 250; 202 -> 252
        got = frames[i][40:h].astype(int)
        diffs = [np.abs(got - d[40:h]).mean() for d in drawn]
        expected = 200 if pose_frame < 200 else 250
        assert candidates[int(np.argmin(diffs))] == expected, (pose_frame, diffs)
    assert isinstance(clean, xr.Dataset)


def test_clip_frames_fit_the_session():
    assert V.clip_frames(9000, 30.0, 10) == (900, 1200)  # 30 s in, 10 s long
    assert V.clip_frames(1000, 30.0, 10) == (700, 1000)  # moved earlier to fit
    assert V.clip_frames(100, 30.0, 10) == (0, 100)  # a session shorter than the clip: all of it
    with pytest.raises(ParameterError, match="positive"):
        V.clip_frames(0, 30.0, 10)
