"""Skeleton roles (behavnb.skeleton), the edge inputs of real studies, and the demonstrations' plan."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import behavnb as bn
from behavnb import skeleton as S
from behavnb.errors import DataWarning, KeypointNotFoundError
from behavnb.io import load_poses


def _poses(position: np.ndarray, keypoints: list[str], fps: float = 30.0, session: str = "s",
           confidence: np.ndarray | None = None, individuals: list[str] | None = None) -> xr.Dataset:
    """A poses Dataset through the io schema, from (time, space, keypoint, individual) positions."""
    from behavnb.io.schema import RawPoses, make_poses

    if position.ndim == 3:
        position = position[..., None]
    t, _, k, i = position.shape
    conf = np.ones((t, k, i)) if confidence is None else confidence
    raw = RawPoses(position=position, confidence=conf, keypoints=keypoints,
                   individuals=individuals or [f"animal{j}" for j in range(i)], source_software="test")
    return make_poses(raw, fps=fps, source_file="<test>", session=session)


def _walker(n: int = 900, seed: int = 0, names=("a", "b", "c", "d", "e")) -> xr.Dataset:
    """A 5-point animal walking along a wandering path, nose first: points spaced along its heading."""
    rng = np.random.default_rng(seed)
    heading = np.cumsum(rng.normal(0, 0.05, n))
    step = 3.0 + rng.random(n)  # px per frame, always forwards
    centre = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * step[:, None], axis=0) + 500
    offsets = np.array([12.0, 6.0, 0.0, -6.0, -12.0])[: len(names)]  # along the body axis, front first
    order = np.array([3, 0, 4, 1, 2])[: len(names)]  # not in front-to-back order in the file
    axis = np.stack([np.cos(heading), np.sin(heading)], 1)
    pos = centre[:, :, None] + axis[:, :, None] * offsets[order][None, None, :]
    pos += rng.normal(0, 0.3, pos.shape)
    return _poses(pos, list(names))


def _with_static(ds: xr.Dataset, names: list[str], seed: int = 1) -> xr.Dataset:
    """``ds`` plus static points (tracker jitter of 1.5 px) at fixed places in the arena."""
    rng = np.random.default_rng(seed)
    t = ds.sizes["time"]
    where = rng.uniform(0, 800, (len(names), 2))
    static = where.T[None, :, :] + rng.normal(0, 1.5, (t, 2, len(names)))
    pos = np.concatenate([ds["position"].transpose("time", "space", "keypoint", "individual").values,
                          static[..., None]], axis=2)
    return _poses(pos, [str(k) for k in ds["keypoint"].values] + names, session=ds.attrs["session"])


def test_static_landmarks_leave_the_body(shared):
    vame = load_poses(shared / "vame-tests" / "cropped_video.csv", fps=30)
    marked = _with_static(vame, ["corner1", "corner2", "pt_x", "water_tube"])
    sk = S.infer_skeleton(marked, cutoff=0.6)
    assert sk.landmarks == ["corner1", "corner2", "pt_x", "water_tube"]
    assert sk.body == [str(k) for k in vame["keypoint"].values]
    assert sk.anterior == ["Nose"] and sk.posterior == ["Tailroot"]
    assert set(sk.table().query("kind == 'landmark'")["keypoint"]) == set(sk.landmarks)
    # the real file alone has no static point; nor does a moving animal's body with generic names
    assert S.infer_skeleton(vame, cutoff=0.6).landmarks == []
    assert S.find_landmarks(_walker()) == []


def test_landmarks_half_of_the_points_and_body_names_protected():
    walker = _walker(names=("nose", "ear", "neck", "back", "tail_base"))
    many = _with_static(walker, [f"maze{i}" for i in range(4)])
    assert S.find_landmarks(many) == [f"maze{i}" for i in range(4)]
    # a head-fixed animal: the nose barely moves, but its name says it is a body point
    still = walker.copy(deep=True)
    nose = still["position"].sel(keypoint="nose").values
    still["position"].loc[{"keypoint": "nose"}] = nose[:1] + np.random.default_rng(0).normal(0, 0.5, nose.shape)
    assert "nose" not in S.find_landmarks(still)


def test_body_axis_from_the_data_when_names_say_nothing():
    ds = _walker(names=("p1", "p2", "p3", "p4", "p5"))
    order = [3, 0, 4, 1, 2]  # p1 sits at offset index 3 (behind), p3 at index 4 (the back), p2 at 0 (the front)
    front, back = f"p{order.index(0) + 1}", f"p{order.index(4) + 1}"
    sk = S.infer_skeleton(ds)
    assert sk.anterior == [front] and sk.posterior == [back]
    assert sk.how["anterior"] == "data"
    # preprocess finds the same axis without a skeleton, and aligns on it
    ref = bn.preprocess.guess_reference(ds)
    assert ref["anterior"] == [front] and ref["posterior"] == [back]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = bn.preprocess.clean(ds, confidence=None)
    ego = clean["ego_position"].sel(keypoint=front, space="x").values
    assert np.nanmedian(ego) > 0  # the front points along +x after alignment


def test_no_travel_and_no_names_still_gives_an_axis():
    """A treadmill: the body stays in place; the two ends of the body make the axis (direction unknown)."""
    walker = _walker(names=("p1", "p2", "p3", "p4", "p5"))
    centre = walker["position"].mean("keypoint")
    still = walker.copy(deep=True)
    still["position"] = walker["position"] - centre + 400.0  # the same body, never travelling
    sk = S.infer_skeleton(still)
    ends = {"p3", "p2"}  # offsets -12 and +12 along the body (see _walker)
    assert set(sk.anterior + sk.posterior) == ends and sk.has_axis and sk.anterior == ["p2"]
    assert any("furthest apart" in n for n in sk.notes)


def test_overrides_and_their_errors():
    ds = _walker(names=("nose", "ear_l", "neck", "spine", "tail_base"))
    sk = S.infer_skeleton(ds)
    assert sk.anterior == ["nose", "ear_l", "neck"] and sk.posterior == ["tail_base"] and sk.centre == ["spine"]
    assert sk.nose == ["nose"] and sk.neck == ["neck"] and sk.supports("head_angle")
    sk = S.infer_skeleton(ds, anterior=["neck"], posterior=["spine"], exclude_keypoints=["ear_l"])
    assert sk.anterior == ["neck"] and sk.posterior == ["spine"] and sk.how["anterior"] == "user"
    assert sk.excluded == ["ear_l"] and "ear_l" not in sk.body
    sk = S.infer_skeleton(ds, keypoints=["nose", "spine", "tail_base"])
    assert sk.body == ["nose", "spine", "tail_base"] and sk.excluded == ["ear_l", "neck"]
    with pytest.raises(KeypointNotFoundError, match=r"-p anterior: keypoint\(s\) \['snout'\] not in the data"):
        S.infer_skeleton(ds, anterior=["snout"])
    with pytest.raises(S.SkeletonError, match="at least 2.*-p keypoints"):
        S.infer_skeleton(ds, keypoints=["nose"]).require()
    one_axis = S.infer_skeleton(ds, anterior=["spine"], posterior=["spine"])
    with pytest.raises(S.SkeletonError, match="-p anterior=.*-p posterior="):
        one_axis.require()


def test_saved_skeleton_round_trip_and_resolve(tmp_path):
    ds = _with_static(_walker(names=("nose", "ear_l", "neck", "spine", "tail_base")), ["corner"])
    sk = S.infer_skeleton(ds)
    sk.save(tmp_path / S.FILE)
    assert S.load(tmp_path) == sk
    assert S.resolve(tmp_path) == sk  # no override: the saved one, no poses needed
    again = S.resolve(tmp_path, {"s": ds}, landmarks=[])  # an override re-decides and rewrites it
    assert again.landmarks == [] and "corner" in again.body and S.load(tmp_path).landmarks == []
    with pytest.raises(bn.errors.ParameterError, match="run notebook 01_import first"):
        S.resolve(tmp_path / "empty", exclude_keypoints=["ear_l"])


def test_roles_reach_alignment_and_features(shared):
    """The fly: no 'nose' or 'tail base' in the names; the skeleton's head and abdomen serve."""
    fly = load_poses(shared / "sleap-examples" / "fly_courtship_example" / "predictions.analysis.h5", fps=30)
    fly = fly.isel(time=slice(0, 600))
    sk = S.infer_skeleton(fly)
    assert sk.anterior == ["head"] and sk.posterior == ["abdomen"] and sk.centre == ["thorax"]
    assert sk.nose == ["head"] and sk.neck_points() == ["eyeL", "eyeR"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = bn.preprocess.clean(S.attach(fly, sk), confidence=None)
    feats = bn.features.compute(clean)
    assert {"head_angle", "social_nose_tail", "body_length"} <= set(feats.data_vars)
    assert bn.features.supported(feats, bn.features.MODEL_FEATURES) == list(bn.features.MODEL_FEATURES)
    # a skeleton without neck, ears or eyes: no head angle, quietly (the skeleton table says so)
    bsoid = load_poses(shared / "bsoid-yttrilab" / "raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5", fps=60)
    bsk = S.infer_skeleton(bsoid.isel(time=slice(0, 1200)), cutoff=0.6)
    assert not bsk.supports("head_angle")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        feats = bn.features.compute(bn.preprocess.clean(S.attach(bsoid.isel(time=slice(0, 1200)), bsk)))
    assert "head_angle" not in feats and "speed" in feats


def test_landmarks_become_arena_geometry():
    ds = _with_static(_walker(names=("nose", "ear_l", "neck", "spine", "tail_base")), ["corner_a", "corner_b"])
    sk = S.infer_skeleton(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = bn.preprocess.clean(S.attach(ds, sk), confidence=None, landmarks=sk.landmarks, px_per_cm=10.0)
    assert list(clean["keypoint"].values) == sk.body
    lm = clean["landmark_position"]
    raw = ds["position"].sel(keypoint="corner_a").median("time").values.ravel() / 10.0
    np.testing.assert_allclose(lm.sel(landmark="corner_a").values, raw, atol=0.05)  # cm, like the centroid
    d = bn.features.compute(clean)["landmark_distance"]
    assert d.dims == ("time", "landmark", "individual") and d.attrs["units"] == "cm"
    c = clean["centroid"].isel(time=10, individual=0).values[:2]
    assert d.isel(time=10, individual=0).sel(landmark="corner_b").item() == pytest.approx(
        np.hypot(*(c - lm.sel(landmark="corner_b").values[:2])))


# -- edge inputs -----------------------------------------------------------------------------------

def test_confidence_zero_or_unscored_points_are_missing_at_import():
    pos = np.full((6, 2, 2, 1), 50.0)
    conf = np.ones((6, 2, 1))
    conf[1, 0, 0] = 0.0  # DeepLabCut's "not found", its position a stale (50, 50)
    conf[2, 1, 0] = np.nan  # no score in a file that scores points
    ds = _poses(pos, ["a", "b"], confidence=conf)
    missing = ds["position"].isnull().any("space").values[..., 0]
    assert missing[1, 0] and missing[2, 1] and missing.sum() == 2
    assert "2 points with confidence 0" in ds.attrs["log"]
    unscored = _poses(pos, ["a", "b"], confidence=np.full((6, 2, 1), np.nan))  # labelled frames: keep positions
    assert not unscored["position"].isnull().any()


def test_bad_sessions_and_tracks_do_not_stop_the_study():
    good = {f"g{i}": _walker(seed=i, names=("nose", "ear_l", "neck", "spine", "tail_base")).assign_attrs(session=f"g{i}")
            for i in range(2)}
    nan = good["g0"].copy(deep=True).assign_attrs(session="all_nan")
    nan["position"][:] = np.nan
    short = good["g1"].isel(time=slice(0, 5)).assign_attrs(session="five_frames")
    # a second animal that is an empty fragment track in one session
    g0 = good["g0"]
    two = xr.concat([g0, g0.assign_coords(individual=["ghost"]) * np.nan], dim="individual")
    two["confidence"] = two["confidence"].fillna(0.0)
    two.attrs = dict(g0.attrs, session="with_ghost")
    # a keypoint empty in one session only
    hole = good["g1"].copy(deep=True).assign_attrs(session="no_ear")
    hole["position"].loc[{"keypoint": "ear_l"}] = np.nan
    poses = {**good, "all_nan": nan, "five_frames": short, "with_ghost": two, "no_ear": hole}
    with pytest.warns(DataWarning) as record:
        cleaned, qc, summary = bn.preprocess.clean_sessions(poses, bn.preprocess.Pipeline(confidence=None),
                                                           progress=False, min_frames=32)
    text = " ".join(str(w.message) for w in record)
    assert "all_nan" in text and "five_frames" in text and "['ear_l']" in text
    assert set(cleaned) == {"g0", "g1", "with_ghost", "no_ear"}
    reason = summary.set_index(["session", "individual"])["qc_reason"]
    assert "fewer than min_frames=32" in reason[("five_frames", "animal0")]
    assert "no usable point" in reason[("all_nan", "animal0")]
    assert "track dropped when linking tracks into identities: no visible point" in reason[("with_ghost", "ghost")]
    assert list(cleaned["with_ghost"]["individual"].values) == ["animal0"]  # the ghost is dropped, the session kept
    assert all("ear_l" not in ds["keypoint"].values for ds in cleaned.values())  # one keypoint set for the study
    assert summary.loc[summary["session"].isin(["g0", "g1", "with_ghost"]) & (summary["individual"] == "animal0"),
                       "qc_pass"].all()
    # without track linking the empty track reaches QC, which fails it and drops it from the session
    with pytest.warns(DataWarning):
        cleaned, _, summary = bn.preprocess.clean_sessions({"with_ghost": two}, bn.preprocess.Pipeline(
            confidence=None, identities=False), progress=False)
    reason = summary.set_index("individual")["qc_reason"]
    assert "100.0 % of points missing" in reason["ghost"] and reason["animal0"] == ""
    assert list(cleaned["with_ghost"]["individual"].values) == ["animal0"]


def test_project_uses_sessions_with_any_passing_animal(tmp_path):
    import pandas as pd

    project = bn.project.Project(tmp_path / "run")
    project.write_sessions(pd.DataFrame({"session": ["a", "b", "c"], "subject": ["1", "2", "3"], "group": "x",
                                         "file": "f", "fps": 30}))
    project.write_table(pd.DataFrame({"session": ["a", "a", "b", "c"], "individual": ["m1", "m2", "m1", "m1"],
                                      "qc_pass": [True, False, False, False], "qc_reason": ["", "empty", "x", "y"]}),
                        project.qc_sessions_csv)
    project.write_dataset(_walker().assign_attrs(session="b"), project.clean_path("b"))  # b was cleaned, c never
    with pytest.warns(DataWarning, match=r"skipping 2 session\(s\)"):
        assert project.usable_sessions() == ["a"]
    with pytest.warns(DataWarning, match=r"skipping \['c'\] \(never cleaned\)"):
        assert project.usable_sessions(include_failed=True) == ["a", "b"]


# -- the demonstrations' plan ------------------------------------------------------------------------

def test_demo_plan_adapts_to_the_data():
    roles = {"anterior": ["nose"], "centre": ["spine"], "posterior": ["tail_base"], "head": ["nose", "ear_l"]}
    ds = _walker(n=400, names=("nose", "ear_l", "neck", "spine", "tail_base"))
    plan = bn.demos.plan_vqmap_demos({"s1": ds}, roles, window=32, downsample=8)
    assert plan.coembed == {"nose": "nose~", "ear_l": "ear_l~", "spine": "spine~", "tail_base": "tail_base~"}
    assert plan.coembed_sessions == (["s1"], ["s1"]) and "one session" in plan.coembed_reason
    assert plan.context == 32
    short = bn.demos.plan_vqmap_demos({"s1": ds.isel(time=slice(0, 240))}, roles, window=32, downsample=8)
    assert short.context == 30 - 1 - bn.demos.PROMPT and "shortened" in short.generate_reason
    tiny = bn.demos.plan_vqmap_demos({"s1": ds.isel(time=slice(0, 60))}, roles, window=32, downsample=8)
    assert tiny.context is None and "longest gap-free stretch is 7 code steps" in tiny.generate_reason
    wrong = bn.demos.plan_vqmap_demos({"s1": ds}, roles, window=32, downsample=8, coembed_keypoints={"Snout": "x"})
    assert wrong.coembed is None and "['Snout']" in wrong.coembed_reason
    codes = {"a": np.r_[np.zeros(10), -np.ones(3), np.arange(200) % 50].astype(int), "b": np.arange(6)}
    windows, context, prompts, why = bn.demos.generation_inputs(codes, 32, vocab=50)
    assert context == 32 and len(windows.train) > 0 and len(prompts) == 1 and not why
    assert windows.window == 33 and list(windows.sessions) == ["a"]  # b is too short for a window
    short = {"a": np.r_[np.arange(30), -1, np.arange(30)].astype(int)}
    windows, context, _, why = bn.demos.generation_inputs(short, 32)
    assert windows is not None and context < 32 and why.startswith("context shortened from 32")
    none = bn.demos.generation_inputs({"a": np.arange(4)}, 32)
    assert none[0] is None and none[3].startswith("the longest run of valid codes is 4 steps")


def test_skeleton_overrides_reach_the_series_notebooks():
    """One -p for the whole series: 01 decides the skeleton with it, 02 applies it when run alone."""
    from behavnb.series import route_parameters, series

    routed = route_parameters(series(), {"anterior": "[Snout]", "posterior": "[Tailroot]", "landmarks": "[]",
                                         "exclude_keypoints": "[Tailtip]", "keypoints": "None"})
    for book in ("01_import", "02_preprocess"):
        assert routed[book]["anterior"] == ["Snout"] and routed[book]["landmarks"] == []
        assert routed[book]["exclude_keypoints"] == ["Tailtip"] and routed[book]["keypoints"] is None
    assert "anterior" not in routed["03_features"]
