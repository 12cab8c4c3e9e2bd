"""Training windows: boundaries, chunked split, normalizer round trip and mismatch errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import behavnb as bn
from behavnb import windows as W
from behavnb.errors import ParameterError, SessionTooShortError


def _sessions(lengths, n_feat=4, nan_rows=(), seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for i, n in enumerate(lengths):
        x = rng.normal(size=(n, n_feat)).astype(np.float32) * (i + 1) + 10 * i
        for r in nan_rows:
            if r < n:
                x[r, 0] = np.nan
        out[f"s{i}"] = (x, [f"f{j}" for j in range(n_feat)])
    return out


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(5, 120), min_size=1, max_size=4), window=st.integers(2, 12),
       test_fraction=st.sampled_from([0.0, 0.2, 0.5]), nan_rows=st.lists(st.integers(0, 119), max_size=5),
       future=st.sampled_from([0, 3]))
def test_windows_never_cross_sessions_gaps_or_test_chunks(lengths, window, test_fraction, nan_rows, future):
    mats = _sessions(lengths, nan_rows=nan_rows)
    if max(lengths) < window:
        with pytest.raises(SessionTooShortError):
            W.build(mats, window, test_fraction=test_fraction)
        return
    if min(lengths) < window:
        with pytest.raises(SessionTooShortError, match="fewer than one model window"):
            W.build(mats, window, test_fraction=test_fraction)
        return
    try:
        ws = W.build(mats, window, test_fraction=test_fraction, n_chunks=4, future=future)
    except SessionTooShortError:
        return  # every training frame range too short: refused, not silently empty
    session_of = np.concatenate([np.full(n, i) for i, n in enumerate(lengths)])
    finite = np.concatenate([np.isfinite(x).all(axis=1) for x, _ in mats.values()])
    is_test = np.concatenate([W.split_chunks(n, test_fraction, 4, i) for i, n in enumerate(lengths)])
    for starts, want_test in ((ws.train, False), (ws.test, True)):
        for s in starts:
            rows = np.arange(s, s + window + future)  # the future frames obey the same rules
            assert len(set(session_of[rows])) == 1
            assert finite[rows].all()
            assert (is_test[rows] == want_test).all()
    assert not set(ws.train) & set(ws.test)


def test_gather_and_normalizer_round_trip():
    mats = _sessions([200, 150])
    ws = W.build(mats, 10, seed=3)
    batch = ws.gather(ws.train[:5])
    assert batch.shape == (5, 10, 4)
    assert W.build(mats, 10, seed=3, future=4).gather(ws.train[:2]).shape == (2, 14, 4)
    x0 = np.concatenate([x for x, _ in mats.values()])
    np.testing.assert_allclose(ws.normalizer.inverse_transform(ws.data), x0, rtol=1e-4, atol=1e-4)
    back = bn.inputs.Normalizer.from_json(ws.normalizer.to_json())
    np.testing.assert_allclose(back.transform(x0), ws.data, atol=1e-5)
    train_rows = np.unique((ws.train[:, None] + np.arange(10)).ravel())
    assert abs(float(ws.data[train_rows].mean())) < 0.2  # fitted on training frames
    torch = pytest.importorskip("torch")
    tb = ws.gather(ws.train[:5], data=torch.from_numpy(ws.data))
    np.testing.assert_array_equal(tb.numpy(), batch)


def test_split_is_seeded_and_contiguous():
    a, b = W.split_chunks(1000, 0.2, 10, seed=1), W.split_chunks(1000, 0.2, 10, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.sum() == 200
    assert np.count_nonzero(np.diff(a.astype(int)) == 1) <= 2  # two chunks at most


def test_feature_mismatch_names_the_difference():
    norm = bn.inputs.Normalizer().fit([np.ones((5, 3)) * np.arange(3)], ["nose_x", "nose_y", "tail_x"])
    with pytest.raises(ParameterError, match=r"missing \['tail_x'\], unexpected \['ear_x'\]"):
        norm.transform(np.zeros((2, 3)), ["nose_x", "nose_y", "ear_x"])
    mats = {"a": (np.zeros((20, 2), np.float32), ["p", "q"]), "b": (np.zeros((20, 2), np.float32), ["p", "r"])}
    with pytest.raises(ParameterError, match="unexpected"):
        W.build(mats, 5)


def test_too_few_frames_for_one_window():
    with pytest.raises(SessionTooShortError, match="fewer than one model window"):
        W.build(_sessions([8]), 10)


def test_session_matrix_from_cleaned_poses_with_extra_features():
    import behavnb as bn
    from behavnb.synth import make_cohort

    cohort = make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=(1, 1), duration_s=10, seed=2)
    ds = bn.preprocess.clean(next(iter(cohort.poses.values())))
    extra = bn.inputs.extra_features(bn.features.compute(ds, include=["speed"]), ["speed"])
    x, names = bn.inputs.session_matrix(ds, extra=extra)
    assert x.shape == (ds.sizes["time"], 2 * ds.sizes["keypoint"] + 1)
    assert names[:2] == ["nose_x", "nose_y"] and names[-1] == "speed"
    with pytest.raises(ParameterError, match="cleaned, aligned poses"):
        bn.inputs.session_matrix(next(iter(cohort.poses.values())))
    # several sessions, and a session with two animals, keyed session or session/individual
    pair = bn.synth.make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=(1, 1),
                                duration_s=10, animals_per_session=2, seed=3)
    pds = bn.preprocess.clean(next(iter(pair.poses.values())))
    mats = bn.inputs.session_matrices({"one": ds, "two": pds}, extra={"one": extra, "two": bn.inputs.extra_features(
        bn.features.compute(pds, include=["speed"]), ["speed"])})
    inds = [str(i) for i in pds["individual"].values]
    assert list(mats) == ["one", "two/" + inds[0], "two/" + inds[1]]
    np.testing.assert_array_equal(mats["one"][0], x)


def test_signed_log_normalizer_round_trip():
    """A ``log_scale`` column is compressed before z-scoring; inverse and JSON restore it exactly."""
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(5, 2, 500), rng.standard_t(2, 500) * 3], axis=1)  # a linear and a heavy-tailed column
    norm = bn.inputs.Normalizer(log_scale=np.array([0.0, 1.5])).fit([x], ["pos", "vel"])
    z = norm.transform(x)
    np.testing.assert_allclose(z[:, 0], (x[:, 0] - x[:, 0].mean()) / x[:, 0].std(ddof=1), atol=1e-5)
    u = np.sign(x[:, 1]) * np.log1p(np.abs(x[:, 1]) / 1.5)
    np.testing.assert_allclose(z[:, 1], (u - u.mean()) / u.std(ddof=1), atol=1e-5)
    np.testing.assert_allclose(norm.inverse_transform(z), x, rtol=1e-4, atol=1e-4)
    back = bn.inputs.Normalizer.from_json(norm.to_json())
    np.testing.assert_array_equal(back.log_scale, norm.log_scale)
    np.testing.assert_allclose(back.transform(x), z, atol=1e-6)
    assert "log_scale" not in bn.inputs.Normalizer().fit([x], ["pos", "vel"]).to_json()  # plain ones stay as before
