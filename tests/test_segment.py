"""Motif segmentation (``behavnb.segment``): one label per frame for every method, HMM sequences that never
cross session boundaries, recovery of planted states, per-session fits, VQ codes, bad inputs, the estimator
classes and their factory, pickling, the segmentation folder and its metadata, the derived tables (usage,
bouts, bout stats, onsets), agreement with the truth, choosing k, motif names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from behavnb import codes, segment
from behavnb.errors import ParameterError, PoseFileNotFoundError
from behavnb.segment import GMMMotifs, HMMMotifs, KMeansMotifs, MotifModel, VQMotifs, motif_model

FPS = 30.0
SRC = {"model": "vame", "model_id": "run-1", "window": 30}


def latent_da(x, attrs=None, individuals=None, codes=None, fps=FPS):
    """A latents DataArray as ``project.read_latents`` gives: (time, latent[, individual]), time in seconds."""
    x = np.asarray(x, dtype=float)
    dims = ("time", "latent") if individuals is None else ("time", "latent", "individual")
    coords = {"time": np.arange(len(x)) / fps, "latent": np.arange(x.shape[1])}
    if individuals is not None:
        coords["individual"] = list(individuals)
    for name, vals in (codes or {}).items():
        coords[name] = ("time", np.asarray(vals, dtype=np.int64))
    return xr.DataArray(x, dims=dims, coords=coords, attrs=dict(SRC if attrs is None else attrs))


def sample_states(n, n_states=3, stay=0.95, rng=None):
    """A sticky Markov chain: stay with probability ``stay``, else jump to another state uniformly."""
    rng = rng if rng is not None else np.random.default_rng(0)
    s = np.empty(n, np.int64)
    s[0] = rng.integers(n_states)
    jump = rng.random(n) > stay
    step = rng.integers(1, n_states, n)
    for t in range(1, n):
        s[t] = (s[t - 1] + step[t]) % n_states if jump[t] else s[t - 1]
    return s


def truth_table(states: dict[str, np.ndarray], individual="individual_0"):
    return pd.concat([pd.DataFrame({"session": s, "individual": individual, "frame": np.arange(len(y)), "motif": y})
                      for s, y in states.items()], ignore_index=True)


CENTRES3 = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 0.0], [0.0, 8.0, 0.0]])


@pytest.fixture(scope="module")
def mixed_latents():
    """Two sessions: 'pair' with 2 animals (60 frames, NaN frames in one animal only, an isolated finite frame),
    'solo' with one animal (45 frames, a NaN run). VQ-MAP codes on both (-1 where no latent)."""
    rng = np.random.default_rng(1)
    attrs = {"model": "vqmap", "model_id": "vq-1", "window": 16, "n_types": 2, "n_subtypes": 3}

    def frames(n):
        y = sample_states(n, 3, 0.9, rng)
        return y, CENTRES3[y] + rng.normal(0, 0.5, (n, 3))

    ya, xa = frames(60)
    yb, xb = frames(60)
    xb[10:14] = np.nan      # a NaN run in animal b only
    xb[15:17] = np.nan      # ... leaving frame 14 as an isolated finite frame
    xb[59] = np.nan         # last frame
    pair = np.stack([xa, xb], axis=-1)  # (time, latent, individual)
    ys, xs = frames(45)
    xs[0:3] = np.nan
    xs[20:25] = np.nan

    def codes(y, x):
        t = np.where(np.isfinite(x).all(axis=1), y % 2, -1)
        sub = np.where(t >= 0, (y + 1) % 3, -1)
        return {"type": t, "subtype": sub, "motif": np.where(t >= 0, t * 3 + sub, -1)}

    return {"pair": latent_da(pair, attrs, individuals=["a", "b"], codes=codes(ya, xa)),
            "solo": latent_da(xs, attrs, codes=codes(ys, xs))}


@pytest.fixture(scope="module")
def blobs():
    """Three well separated clusters with sticky dynamics: 3 sessions x 150 frames, and their true states."""
    rng = np.random.default_rng(2)
    lat, states = {}, {}
    for i in range(3):
        y = sample_states(150, 3, 0.9, rng)
        states[f"s{i}"] = y
        lat[f"s{i}"] = latent_da(CENTRES3[y] + rng.normal(0, 0.6, (150, 3)))
    return lat, truth_table(states)


# one label per frame ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["kmeans", "hmm", "gmm", "vq"])
def test_one_label_per_frame(mixed_latents, method):
    """Every session and animal gets exactly one row per frame (frames 0..n-1, times as given), motif -1 exactly
    where the latent has a NaN, valid motif numbers elsewhere; 2-animal sessions are split by animal."""
    model = motif_model(method, 3, covariance="diag", n_iter=20)
    labels = model.fit_predict(mixed_latents)
    assert list(labels.columns[:5]) == ["session", "individual", "frame", "time", "motif"]
    assert len(labels) == 60 * 2 + 45
    groups = dict(tuple(labels.groupby(["session", "individual"])))
    assert set(groups) == {("pair", "a"), ("pair", "b"), ("solo", "individual_0")}
    expected = {("pair", "a"): mixed_latents["pair"].sel(individual="a").values,
                ("pair", "b"): mixed_latents["pair"].sel(individual="b").values,
                ("solo", "individual_0"): mixed_latents["solo"].values}
    for key, x in expected.items():
        g = groups[key]
        assert g["frame"].tolist() == list(range(len(x)))
        np.testing.assert_allclose(g["time"].to_numpy(), np.arange(len(x)) / FPS)
        if method == "vq":
            da = mixed_latents[key[0]]
            np.testing.assert_array_equal(g["motif"].to_numpy(), da["motif"].values)
            continue
        nan = ~np.isfinite(x).all(axis=1)
        np.testing.assert_array_equal(g["motif"].to_numpy() == -1, nan)
        assert g.loc[~nan, "motif"].between(0, 2).all()
    assert labels["motif"].dtype == np.int64
    if method != "vq":
        assert model.n_motifs_ == 3 and model.n_frames_fit_ == 165


def test_isolated_frame_labelled_by_hmm(mixed_latents):
    """A single finite frame between NaN runs still gets an HMM label (not -1)."""
    labels = motif_model("hmm", 3, covariance="diag", n_iter=10).fit_predict(mixed_latents)
    b = labels[(labels["session"] == "pair") & (labels["individual"] == "b")].set_index("frame")["motif"]
    assert b[14] >= 0 and (b[[13, 15]] == -1).all()


# HMM sequences never cross session boundaries or NaN runs -------------------------------------------------------------

def _alternating(n_sessions=20, n_frames=60, seed=3):
    """Session i entirely in state i % 2 (two well separated Gaussians in 2 dims)."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [10.0, 10.0]])
    xs = [means[i % 2] + rng.normal(0, 1, (n_frames, 2)) for i in range(n_sessions)]
    return {f"s{i:02d}": latent_da(x) for i, x in enumerate(xs)}, xs


def _offdiag(t):
    t = np.asarray(t)
    return t[~np.eye(len(t), dtype=bool)]


def test_hmm_no_transitions_across_sessions():
    """A pooled HMM sees each session as its own sequence: with every session in one state, the fitted
    transition matrix has (almost) no off-diagonal mass. hmmlearn on the same frames concatenated without
    lengths counts the 19 session switches as transitions (so this test can fail)."""
    from hmmlearn.hmm import GaussianHMM

    lat, xs = _alternating()
    model = motif_model("hmm", 2, covariance="diag").fit(lat)
    assert _offdiag(model.transmat_).max() < 1e-3
    labels = model.predict(lat)
    per_session = labels.groupby("session")["motif"].nunique()
    assert (per_session == 1).all()

    naive = GaussianHMM(2, covariance_type="diag", n_iter=50, random_state=0).fit(np.concatenate(xs))
    assert _offdiag(naive.transmat_).min() > 5e-3  # ~19/600 each way


def test_hmm_nan_run_splits_sequence():
    """A run of NaN frames inside a session splits it like a session boundary: sessions that switch state
    across a NaN gap give no off-diagonal transitions; the gap frames are labelled -1."""
    rng = np.random.default_rng(4)
    means = np.array([[0.0, 0.0], [10.0, 10.0]])
    lat = {}
    for i in range(10):
        a, b = i % 2, 1 - i % 2
        x = np.concatenate([means[a] + rng.normal(0, 1, (60, 2)), np.full((5, 2), np.nan),
                            means[b] + rng.normal(0, 1, (60, 2))])
        lat[f"s{i}"] = latent_da(x)
    model = motif_model("hmm", 2, covariance="diag").fit(lat)
    assert _offdiag(model.transmat_).max() < 1e-3
    labels = model.predict(lat)
    for _, g in labels.groupby("session"):
        m = g["motif"].to_numpy()
        assert (m[60:65] == -1).all()
        assert len(set(m[:60])) == 1 and len(set(m[65:])) == 1 and m[0] != m[-1]


# recovery of planted states ---------------------------------------------------------------------------------------------

def _hmm_sample(n_sessions, n_frames, sd, seed, stay=0.97):
    rng = np.random.default_rng(seed)
    means = np.array([[0, 0, 0, 0], [3, 0, 0, 0], [0, 3, 0, 0]], dtype=float)
    lat, states = {}, {}
    for i in range(n_sessions):
        y = sample_states(n_frames, 3, stay, rng)
        states[f"s{i}"] = y
        lat[f"s{i}"] = latent_da(means[y] + rng.normal(0, sd, (n_frames, 4)))
    return lat, truth_table(states)


def test_hmm_recovers_planted_states():
    """A sticky 3-state Gaussian HMM sample (means 3 sd apart) is recovered with ARI > 0.9, better than k-means."""
    lat, truth = _hmm_sample(4, 300, 1.0, seed=5)
    rec = segment.truth_agreement(motif_model("hmm", 3, covariance="diag").fit_predict(lat), truth)
    assert rec["ari"] > 0.9 and rec["matched_accuracy"] > 0.95
    assert rec["n_true"] == 3 and rec["n_found"] == 3 and rec["frames"] == 1200
    km = segment.truth_agreement(motif_model("kmeans", 3).fit_predict(lat), truth)
    assert rec["ari"] >= km["ari"]


@pytest.mark.parametrize("covariance", ["tied", "full"])
def test_fast_hmm_fits_what_hmmlearn_fits(covariance):
    """segment._hmm's GaussianHMM (one whitening per E-step, X.T @ X for the tied statistics) reaches the same model,
    log-likelihood and labels as hmmlearn's own, from the same start, with sequences given by ``lengths``."""
    from hmmlearn.hmm import GaussianHMM as Stock

    from behavnb.segment._hmm import GaussianHMM, tied_log_density

    lat, _ = _hmm_sample(3, 200, 1.0, seed=7)
    x = np.concatenate([da.values for da in lat.values()])
    lengths = [200, 200, 200]
    rng = np.random.default_rng(0)
    cov = np.cov(x.T) + 0.1 * np.eye(4)
    fits = []
    for cls in (Stock, GaussianHMM):
        hmm = cls(3, covariance_type=covariance, n_iter=20, tol=1e-6, init_params="", params="stmc",
                  transmat_prior=np.ones((3, 3)) + 50 * np.eye(3), min_covar=1e-3)
        hmm.startprob_ = np.full(3, 1 / 3)
        hmm.transmat_ = np.full((3, 3), 0.05) + 0.85 * np.eye(3)
        hmm.means_ = x[rng.permutation(len(x))[:3]] if not fits else fits[0][1]
        hmm.covars_ = cov if covariance == "tied" else np.stack([cov] * 3)
        start_means = hmm.means_.copy()
        fits.append((hmm.fit(x, lengths), start_means))
    stock, fast = fits[0][0], fits[1][0]
    assert fast.monitor_.iter == stock.monitor_.iter
    np.testing.assert_allclose(fast.means_, stock.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fast.covars_, stock.covars_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fast.transmat_, stock.transmat_, rtol=1e-9, atol=1e-9)
    assert fast.score(x, lengths) == pytest.approx(stock.score(x, lengths), rel=1e-10)
    np.testing.assert_array_equal(fast.predict(x, lengths), stock.predict(x, lengths))
    if covariance == "tied":
        from hmmlearn.stats import log_multivariate_normal_density

        np.testing.assert_allclose(tied_log_density(x, fast.means_, fast.covars_[0]),
                                   log_multivariate_normal_density(x, fast.means_, fast.covars_[0], "tied"), atol=1e-10)


def test_hmm_fit_restores_thread_pools():
    """The HMM fits on one BLAS/OpenMP thread (small d x d products) and gives the pools back afterwards."""
    from threadpoolctl import threadpool_info

    lat, _ = _hmm_sample(2, 100, 1.0, seed=8)
    motif_model("hmm", 3, covariance="tied", n_iter=5).fit_predict(lat)  # loads every library the fit uses
    before = [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]
    motif_model("hmm", 3, covariance="tied", n_iter=5).fit_predict(lat)
    assert [(p["internal_api"], p["num_threads"]) for p in threadpool_info()] == before


def test_sticky_lengthens_bouts():
    """On noisy data (means 1.5 sd apart) a sticky prior gives mean bouts at least as long as none."""
    lat, _ = _hmm_sample(4, 300, 2.0, seed=6)

    def mean_bout(sticky):
        labels = motif_model("hmm", 3, covariance="diag", sticky=sticky, n_iter=30).fit_predict(lat)
        return segment.bouts(labels)["n_frames"].mean()

    assert mean_bout(10.0) >= mean_bout(0.0)


# per-session fits --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["kmeans", "hmm"])
def test_fit_on_session_consensus(method):
    """fit_on='session' fits each session alone, then renumbers so that the same cluster gets the same motif
    number in both sessions, even though the sessions visit the clusters in a different order."""
    rng = np.random.default_rng(7)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    order = {"A": [0, 1, 2, 0, 1, 2], "B": [2, 0, 1, 1, 2, 0]}
    lat, states = {}, {}
    for s, o in order.items():
        y = np.repeat(o, 25)
        states[s] = y
        lat[s] = latent_da(centres[y] + rng.normal(0, 0.5, (len(y), 2)))
    model = motif_model(method, 3, fit_on="session", covariance="diag").fit(lat)
    assert model.models_ is not None and set(model.models_) == {("A", "individual_0"), ("B", "individual_0")}
    raw = {s: est.predict(lat[s].values) for (s, _), est in model.models_.items()}
    raw_of = {s: [int(raw[s][states[s] == c][0]) for c in range(3)] for s in raw}
    assert raw_of["A"] != raw_of["B"]  # the per-session fits number the clusters differently: renumbering is needed
    labels = model.predict(lat)
    motif_of = {}
    for s, y in states.items():
        m = labels.loc[labels["session"] == s, "motif"].to_numpy()
        for c in range(3):
            found = set(m[y == c])
            assert len(found) == 1
            motif_of[(s, c)] = found.pop()
    assert [motif_of[("A", c)] for c in range(3)] == [motif_of[("B", c)] for c in range(3)]
    assert sorted(motif_of[("A", c)] for c in range(3)) == [0, 1, 2]
    with pytest.raises(ParameterError, match="not in the fit"):
        model.predict({"C": lat["A"]})
    with pytest.raises(AttributeError):
        model.transmat_  # noqa: B018


# VQ codes --------------------------------------------------------------------------------------------------------------

def test_vq_codes_as_given(mixed_latents):
    """method='vq' returns the VQ-MAP codes unchanged, with type and subtype columns; level picks the code;
    n_motifs_ comes from the codebook (n_types x n_subtypes)."""
    model = motif_model("vq", None).fit(mixed_latents)
    assert model.n_motifs_ == 6
    labels = model.predict(mixed_latents)
    assert {"type", "subtype"} <= set(labels.columns)
    solo = labels[labels["session"] == "solo"]
    da = mixed_latents["solo"]
    for c in ("motif", "type", "subtype"):
        np.testing.assert_array_equal(solo[c].to_numpy(), da[c].values)
    ok = labels["motif"] >= 0
    assert (labels.loc[ok, "motif"] == labels.loc[ok, "type"] * 3 + labels.loc[ok, "subtype"]).all()
    by_type = motif_model("vq", None, level="type").fit_predict(mixed_latents)
    np.testing.assert_array_equal(by_type["motif"].to_numpy(), labels["type"].to_numpy())
    assert motif_model("vq", None, level="subtype").fit(mixed_latents).n_motifs_ == 3
    with pytest.raises(ParameterError, match="likelihood"):
        model.score(mixed_latents)


def test_vq_without_codes_raises(blobs):
    """method='vq' on latents without codes, or without the n_types/n_subtypes attributes, is a ParameterError."""
    lat, _ = blobs
    with pytest.raises(ParameterError, match="codes"):
        motif_model("vq").fit(lat)
    y = np.zeros(10, int)
    no_attrs = {"s": latent_da(np.zeros((10, 2)), codes={"motif": y, "type": y, "subtype": y})}
    with pytest.raises(ParameterError, match="n_types"):
        motif_model("vq").fit(no_attrs)


# bad inputs ------------------------------------------------------------------------------------------------------------

def test_k_more_than_frames():
    """k above the number of frames with a latent is a ParameterError that states the frame count."""
    lat = {"a": latent_da(np.random.default_rng(0).normal(size=(6, 2))),
           "b": latent_da(np.random.default_rng(1).normal(size=(4, 2)))}
    x = lat["b"].values.copy()
    x[0] = np.nan
    lat["b"] = latent_da(x)
    with pytest.raises(ParameterError, match=r"\b9 frames"):
        motif_model("kmeans", 12).fit(lat)
    with pytest.raises(ParameterError, match=r"\b3 frames.*shortest session"):
        motif_model("kmeans", 5, fit_on="session").fit(lat)


@pytest.mark.parametrize("change", ["model", "model_id", "latent_size"])
def test_mixed_models_raise(change):
    """Sessions whose latents come from different models (model, model_id) or have different latent sizes
    cannot be fitted together."""
    rng = np.random.default_rng(0)
    other = dict(SRC)
    dims = 3
    if change == "model":
        other["model"] = "vqmap"
    elif change == "model_id":
        other["model_id"] = "run-2"
    else:
        dims = 4
    lat = {"a": latent_da(rng.normal(size=(20, 3))), "b": latent_da(rng.normal(size=(20, dims)), other)}
    with pytest.raises(ParameterError, match="different models"):
        motif_model("kmeans", 2).fit(lat)


@pytest.mark.parametrize("method", ["kmeans", "hmm"])
def test_predict_other_model_raises(blobs, method):
    """Labelling latents of another model (other model attrs, or another latent size) than the fit is an error."""
    lat, _ = blobs
    model = motif_model(method, 3, n_iter=5).fit(lat)
    x = lat["s0"].values
    with pytest.raises(ParameterError, match="different model"):
        model.predict({"s0": latent_da(x, {**SRC, "model": "vqmap"})})
    with pytest.raises(ParameterError, match="different model"):
        model.predict({"s0": latent_da(x, {**SRC, "model_id": "run-9"})})
    with pytest.raises(ParameterError, match="different model"):
        model.predict({"s0": latent_da(np.c_[x, x[:, :1]])})
    with pytest.raises(ParameterError, match="different model"):
        model.score({"s0": latent_da(x, {**SRC, "model": "vqmap"})})


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="hmm", covariance="block"), "covariance"),
    (dict(method="gmm", covariance="banana"), "covariance"),
    (dict(method="kmeans", n_motifs=1), "n_motifs"),
    (dict(method="hmm", n_motifs=0), "n_motifs"),
    (dict(method="gmm", n_motifs=None), "n_motifs"),
    (dict(method="hmm", fit_on="animal"), "fit_on"),
    (dict(method="vq", level="kind"), "level"),
    (dict(method="hmm", sticky=-1.0), "sticky"),
])
def test_bad_parameters(blobs, kwargs, match):
    """Invalid covariance/fit_on/level, n_motifs < 2 and negative sticky are ParameterErrors, raised by fit
    (scikit-learn style: __init__ only stores); the estimator keeps the values as given."""
    lat, _ = blobs
    model = motif_model(**kwargs)
    for name, value in kwargs.items():
        if name != "method":
            assert getattr(model, name) == value
    with pytest.raises(ParameterError, match=match):
        model.fit(lat)


def test_unknown_method_or_parameter():
    """An unknown method or parameter name is a ParameterError at once; the base class is not a model."""
    with pytest.raises(ParameterError, match="unknown motif method"):
        motif_model("spectral", 3)
    with pytest.raises(ParameterError, match="unknown motif model parameter.*n_state"):
        motif_model("hmm", 3, n_state=4)
    with pytest.raises(ParameterError, match="base class"):
        MotifModel("hmm", 3)
    with pytest.raises(TypeError):
        KMeansMotifs(3, covariance="diag")  # each class takes only its own parameters


def test_factory_and_estimator_classes():
    """motif_model maps each method to its class and keeps only the parameters that class takes, so one set of
    notebook parameters serves every method; get_params/set_params/repr follow scikit-learn."""
    kw = dict(covariance="diag", sticky=10.0, n_init=3, seed=4)
    km, hmm, gmm = (motif_model(m, 5, **kw) for m in ("kmeans", "hmm", "gmm"))
    vq = motif_model("vq", 5, level="type", **kw)
    assert (type(km), type(hmm), type(gmm), type(vq)) == (KMeansMotifs, HMMMotifs, GMMMotifs, VQMotifs)
    assert km.get_params() == {"n_motifs": 5, "fit_on": "pooled", "n_init": 3, "max_fit_frames": 200_000, "seed": 4}
    assert hmm.get_params()["sticky"] == 10.0 and hmm.get_params()["covariance"] == "diag"
    assert "sticky" not in gmm.get_params() and gmm.get_params()["covariance"] == "diag"
    assert vq.get_params() == {"level": "type"}
    assert [c.method for c in (km, hmm, gmm, vq)] == list(segment.METHODS) == ["kmeans", "hmm", "gmm", "vq"]
    assert repr(hmm) == "HMMMotifs(n_motifs=5, covariance='diag', sticky=10.0, n_init=3, seed=4)"
    assert hmm.set_params(sticky=2.0) is hmm and hmm.sticky == 2.0
    with pytest.raises(ParameterError, match="no parameter"):
        km.set_params(sticky=1.0)
    assert not hasattr(hmm, "n_motifs_") and hmm.name == "latents-hmm"
    assert HMMMotifs.has_likelihood and GMMMotifs.has_likelihood and not KMeansMotifs.has_likelihood
    assert not VQMotifs.takes_k


def test_fitted_attributes(blobs):
    """Fitted attributes end with an underscore: n_motifs_, means_ (pooled), transmat_ (pooled HMM), source_;
    predict's labels carry the fit's metadata (k, method, model, label ids) in attrs."""
    lat, _ = blobs
    hmm = HMMMotifs(3, covariance="diag", n_iter=10).fit(lat)
    assert hmm.n_motifs_ == 3 and hmm.means_.shape == (3, 3) and hmm.transmat_.shape == (3, 3)
    np.testing.assert_allclose(hmm.transmat_.sum(axis=1), 1.0)
    assert hmm.source_["model"] == "vame" and hmm.source_["n_latent"] == 3
    km = KMeansMotifs(3).fit(lat)
    np.testing.assert_array_equal(km.means_, km.model_.cluster_centers_)
    labels = km.predict(lat)
    assert labels.attrs == {"name": "vame-kmeans-3", "model": "vame", "method": "kmeans", "n_motifs": 3,
                            "motifs": [0, 1, 2]}
    assert len(codes.usage(labels)) == 3 * 3  # k from the labels' metadata


def test_bad_latents_and_unfitted(blobs):
    """Empty or non-mapping latents, a 1-D latent array, and predicting before fitting are ParameterErrors."""
    lat, _ = blobs
    with pytest.raises(ParameterError, match="non-empty"):
        motif_model("kmeans", 2).fit({})
    with pytest.raises(ParameterError, match="non-empty"):
        motif_model("kmeans", 2).fit([lat["s0"]])
    with pytest.raises(ParameterError, match=r"\(time, latent\)"):
        motif_model("kmeans", 2).fit({"s": np.zeros(10)})
    with pytest.raises(ParameterError, match="not fitted"):
        motif_model("kmeans", 2).predict(lat)


# persistence -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["kmeans", "hmm", "gmm"])
def test_save_load_round_trip(blobs, tmp_path, method):
    """MotifModel.save/load (pickle) gives a model that labels every frame identically."""
    lat, _ = blobs
    model = motif_model(method, 3, covariance="diag", n_iter=10).fit(lat)
    path = model.save(tmp_path / "motifs" / model.name / "model.pkl")
    assert path.exists() and model.name == f"vame-{method}-3"
    loaded = MotifModel.load(path)
    pd.testing.assert_frame_equal(loaded.predict(lat), model.predict(lat))
    assert loaded.score(lat) == pytest.approx(model.score(lat))


def test_load_errors(tmp_path):
    """Loading a missing file, a pickle of something else, or a model of the older one-class MotifModel is a
    ParameterError naming the file."""
    import pickle

    with pytest.raises(ParameterError, match="no saved MotifModel"):
        MotifModel.load(tmp_path / "none.pkl")
    other = tmp_path / "other.pkl"
    other.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(ParameterError, match="other.pkl.*dict"):
        MotifModel.load(other)
    old = object.__new__(MotifModel)  # what unpickling a model saved before the estimator classes gives
    old.__dict__.update({"method": "hmm", "n_motifs": 3, "n_motifs_": 3})
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps(old))
    with pytest.raises(ParameterError, match="old.pkl.*older behavnb.*06_segment"):
        MotifModel.load(path)


# the segmentation folder -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["hmm", "vq"])
def test_write_and_read_segmentation(mixed_latents, tmp_path, method):
    """write_motifs writes the labels, segmentation.json (k, label ids, fps, model, method, parameters) and the
    tables; read_segmentation gives the same labels back with that metadata, also in labels.attrs."""
    import json

    model = motif_model(method, 3, covariance="diag", n_iter=10).fit(mixed_latents)
    labels = model.predict(mixed_latents)
    folder = tmp_path / "motifs" / model.name
    paths = segment.write_motifs(folder, model, labels)
    assert set(paths) == {"labels.parquet", "segmentation.json", "usage.csv", "bouts.csv", "bout_stats.csv",
                          "model.pkl", "motif_names.csv"}
    k = 6 if method == "vq" else 3
    meta = json.loads((folder / segment.SEGMENTATION_FILE).read_text())
    assert meta["n_motifs"] == k and meta["motifs"] == list(range(k)) and meta["method"] == method
    assert meta["model"] == "vqmap" and meta["fps"] == pytest.approx(FPS) and meta["unlabelled"] == -1
    seg = segment.read_segmentation(folder)
    pd.testing.assert_frame_equal(seg.labels, labels)
    assert (seg.name, seg.model, seg.method, seg.n_motifs, seg.motifs) == (model.name, "vqmap", method, k, tuple(range(k)))
    assert seg.fps == segment.fps_of(labels)  # exactly the rate 06's bout tables used
    assert seg.labels.attrs["n_motifs"] == k and seg.labels.attrs["fps"] == seg.fps
    assert seg.n_subtypes == (3 if method == "vq" else None)
    assert seg.params["estimator"] == type(model).__name__ and seg.source["model_id"] == "vq-1"
    assert len(pd.read_csv(folder / "usage.csv")) == 3 * k  # every motif of every recording
    assert segment.read_names(folder / "motif_names.csv")[0] == ("t0.s0" if method == "vq" else "motif 0")
    assert type(MotifModel.load(folder / "model.pkl")) is type(model)
    assert not pd.read_parquet(folder / "labels.parquet").attrs  # the metadata lives in segmentation.json only


def test_read_segmentation_errors(blobs, tmp_path):
    """An old folder without segmentation.json, a folder without labels, a broken or mismatched metadata file:
    clear errors naming the file and the fix (rerun 06)."""
    import json

    lat, _ = blobs
    model = KMeansMotifs(3).fit(lat)
    folder = tmp_path / "vame-kmeans-3"
    segment.write_motifs(folder, model, model.predict(lat))
    meta = folder / segment.SEGMENTATION_FILE
    text = meta.read_text()
    with pytest.raises(PoseFileNotFoundError, match="labels.parquet: no labels"):
        segment.read_segmentation(tmp_path / "none")
    meta.unlink()
    with pytest.raises(PoseFileNotFoundError, match=r"segmentation.json is missing.*Rerun notebook 06_segment"):
        segment.read_segmentation(folder)
    meta.write_text("{not json")
    with pytest.raises(ParameterError, match="segmentation.json: cannot read"):
        segment.read_segmentation(folder)
    record = json.loads(text)
    meta.write_text(json.dumps({k: v for k, v in record.items() if k != "fps"}))
    with pytest.raises(ParameterError, match=r"lacks \['fps'\].*06_segment"):
        segment.read_segmentation(folder)
    meta.write_text(json.dumps(record | {"n_motifs": 2, "motifs": [0, 1]}))
    with pytest.raises(ParameterError, match=r"uses motif\(s\) \[2\].*different runs"):
        segment.read_segmentation(folder)
    meta.write_text(text)
    assert segment.read_segmentation(folder).n_motifs == 3


# tables ----------------------------------------------------------------------------------------------------------------

def hand_labels():
    """Known runs. s1/a: 0 0 1 1 1 2 -1 2 2 0 0 0; s2/a: frames 0 1 2 5 6 7 8 (a gap) with motifs 3 3 4 4 4 4 4;
    s3: animal a frames 0-2 and animal b frames 3-5, all motif 5 (frame numbers continue across the animals)."""
    rows = []
    for f, m in enumerate([0, 0, 1, 1, 1, 2, -1, 2, 2, 0, 0, 0]):
        rows.append(("s1", "a", f, m))
    for f, m in zip([0, 1, 2, 5, 6, 7, 8], [3, 3, 4, 4, 4, 4, 4], strict=True):
        rows.append(("s2", "a", f, m))
    for ind, frames in (("a", [0, 1, 2]), ("b", [3, 4, 5])):
        rows += [("s3", ind, f, 5) for f in frames]
    table = pd.DataFrame(rows, columns=["session", "individual", "frame", "motif"])
    table["time"] = table["frame"] / 10.0
    return table.sample(frac=1.0, random_state=0)  # shuffled: the tables must sort by themselves


def test_usage_fractions():
    """usage lists every motif for every recording (zeros for unused ones), fractions of labelled frames sum to 1;
    k comes from the caller or the labels' metadata, never from the largest label."""
    u = codes.usage(hand_labels(), n_motifs=7)
    assert len(u) == 4 * 7
    sums = u.groupby(["session", "individual"])["fraction"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    s1 = u[(u["session"] == "s1") & (u["individual"] == "a")].set_index("motif")
    assert s1["frames"].tolist() == [5, 3, 3, 0, 0, 0, 0]  # the -1 frame is not counted
    np.testing.assert_allclose(s1["fraction"].to_numpy(), np.array([5, 3, 3, 0, 0, 0, 0]) / 11)
    wide = segment.usage_matrix(u)
    assert wide.shape == (4, 7)
    with pytest.raises(ParameterError, match="pass n_motifs"):
        codes.usage(hand_labels())  # no metadata: k is never guessed
    with_meta = hand_labels()
    with_meta.attrs["n_motifs"] = 6
    assert len(codes.usage(with_meta)) == 4 * 6
    with pytest.raises(ParameterError, match="motif 5 but n_motifs=5"):
        codes.usage(hand_labels(), 5)
    with pytest.raises(ParameterError, match="missing columns"):
        codes.usage(hand_labels().drop(columns="frame"), 7)


def test_usage_of_codes():
    """An array of codes gives one pooled row per code (-1 not counted), the same fractions as a labels table."""
    c = np.array([[0, 0, 1], [1, 2, -1]])
    u = codes.usage(c, 4)
    assert list(u.columns) == ["motif", "frames", "fraction"]
    assert u["frames"].tolist() == [2, 2, 1, 0]
    assert u["fraction"].tolist() == pytest.approx([0.4, 0.4, 0.2, 0.0])
    assert codes.usage(np.array([-1, -1]), 2)["fraction"].tolist() == [0.0, 0.0]
    with pytest.raises(ParameterError, match="pass n_motifs"):
        codes.usage(c)


def test_bouts_known_runs():
    """bouts finds the planted runs: start, inclusive end, n_frames, start_s/duration_s from fps; runs split at
    motif changes, -1 frames, frame-number gaps and animal changes; censored at recording ends and next to
    unlabelled frames."""
    b = segment.bouts(hand_labels(), fps=10.0)
    got = [tuple(r) for r in b[["session", "individual", "motif", "start", "end", "n_frames", "censored"]]
           .itertuples(index=False)]
    assert got == [
        ("s1", "a", 0, 0, 1, 2, True),    # first bout
        ("s1", "a", 1, 2, 4, 3, False),   # inside
        ("s1", "a", 2, 5, 5, 1, True),    # ends at a -1 frame
        ("s1", "a", 2, 7, 8, 2, True),    # starts after a -1 frame
        ("s1", "a", 0, 9, 11, 3, True),   # last bout
        ("s2", "a", 3, 0, 1, 2, True),
        ("s2", "a", 4, 2, 2, 1, True),    # ends at a frame gap
        ("s2", "a", 4, 5, 8, 4, True),    # after the gap, to the end
        ("s3", "a", 5, 0, 2, 3, True),
        ("s3", "b", 5, 3, 5, 3, True),    # same motif, consecutive frame numbers, another animal: a new bout
    ]
    np.testing.assert_allclose(b["duration_s"].to_numpy(), b["n_frames"].to_numpy() / 10.0)
    np.testing.assert_allclose(b["start_s"].to_numpy(), b["start"].to_numpy() / 10.0)
    inferred = segment.bouts(hand_labels())  # fps from the time column
    np.testing.assert_allclose(inferred["duration_s"].to_numpy(), b["duration_s"].to_numpy())
    assert segment.fps_of(hand_labels().sort_values(["session", "individual", "frame"])) == pytest.approx(10.0)


def test_bout_stats_and_onsets():
    """bout_stats with labels lists every motif of every recording (0 bouts where absent); rates use the labelled
    time; onsets are the bout starts in time order."""
    labels = hand_labels()
    b = segment.bouts(labels, fps=10.0)
    stats = segment.bout_stats(b, labels, n_motifs=6, fps=10.0)
    assert len(stats) == 4 * 6
    with pytest.raises(ParameterError, match="pass n_motifs"):
        segment.bout_stats(b, labels, fps=10.0)
    s1 = stats[(stats["session"] == "s1") & (stats["individual"] == "a")].set_index("motif")
    assert s1["n_bouts"].tolist() == [2, 1, 2, 0, 0, 0]
    assert s1.loc[3:, "mean_duration_s"].isna().all()
    assert s1.loc[0, "mean_duration_s"] == pytest.approx((0.2 + 0.3) / 2)
    assert s1.loc[0, "bouts_per_min"] == pytest.approx(2 / (11 / 10 / 60))
    uncensored = segment.bout_stats(b, include_censored=False)
    assert uncensored["n_bouts"].sum() == 1 and uncensored["motif"].tolist() == [1]
    on = segment.onsets(b.sample(frac=1.0, random_state=1))
    assert list(on.columns) == ["session", "individual", "motif", "frame", "time_s"]
    for _, g in on.groupby(["session", "individual"]):
        assert g["frame"].is_monotonic_increasing
    assert on["frame"].tolist() == [0, 2, 5, 7, 9, 0, 2, 5, 0, 3]
    np.testing.assert_allclose(on["time_s"].to_numpy(), on["frame"].to_numpy() / 10.0)


def test_label_arrays():
    """label_arrays gives one array per recording indexed by frame, -1 where the table has no row."""
    arrays = segment.label_arrays(hand_labels())
    np.testing.assert_array_equal(arrays[("s2", "a")], [3, 3, 4, -1, -1, 4, 4, 4, 4])


# recovery against known motifs ---------------------------------------------------------------------------------------

def test_recovery_perfect_relabelled():
    """Labels equal to the truth up to renaming give ARI = NMI = matched accuracy = 1, a confusion matrix that is
    the identity after matching, and bout ratios of 1; -1 frames are left out."""
    rng = np.random.default_rng(8)
    states = {"s0": sample_states(200, 3, 0.9, rng), "s1": sample_states(200, 3, 0.9, rng)}
    truth = truth_table(states)
    perm = np.array([2, 0, 1])
    labels = truth.assign(motif=perm[truth["motif"]], time=truth["frame"] / FPS)
    rec = segment.truth_agreement(labels, truth)
    assert rec["ari"] == pytest.approx(1.0) and rec["nmi"] == pytest.approx(1.0)
    assert rec["matched_accuracy"] == 1.0 and rec["purity"] == 1.0 and rec["frames"] == 400
    assert rec["n_true"] == rec["n_found"] == 3
    coarse = labels.assign(type=(labels["motif"] > 0).astype(int))  # another label column, two codes for 3 motifs
    by_type = segment.truth_agreement(coarse, truth, column="type")
    assert by_type["n_found"] == 2 and by_type["purity"] < 1 and by_type["ari"] < 1
    assert segment.matching(pd.crosstab(truth["motif"], labels["motif"])) == {2: 0, 0: 1, 1: 2}
    conf = segment.confusion(labels, truth)
    np.testing.assert_allclose(conf.to_numpy(), np.eye(3))
    assert list(conf.columns) == [2, 0, 1]
    comp = segment.bout_comparison(labels, truth)
    assert list(comp.index) == ["0", "1", "2", "all"]
    np.testing.assert_allclose(comp["ratio"].to_numpy(), 1.0)
    assert (comp["true_bouts"] == comp["found_bouts"]).all()
    masked = labels.copy()
    masked.loc[masked.index[:50], "motif"] = -1
    assert segment.truth_agreement(masked, truth)["frames"] == 350


def test_confusion_rows_sum_to_one():
    """With imperfect (and more) found motifs, confusion rows still sum to 1 and matching covers every found motif."""
    rng = np.random.default_rng(9)
    truth = truth_table({"s0": sample_states(300, 3, 0.9, rng)})
    noisy = np.where(rng.random(300) < 0.3, rng.integers(0, 4, 300), truth["motif"])
    labels = truth.assign(motif=noisy)
    conf = segment.confusion(labels, truth)
    np.testing.assert_allclose(conf.sum(axis=1).to_numpy(), 1.0)
    assert conf.shape == (3, 4)
    counts = segment.confusion(labels, truth, normalize=False)
    assert counts.to_numpy().sum() == 300
    assert set(segment.matching(counts)) == {0, 1, 2, 3}
    rec = segment.truth_agreement(labels, truth)
    assert 0 < rec["ari"] < 1 and rec["n_found"] == 4


# choosing k ------------------------------------------------------------------------------------------------------------

def test_choose_k_hmm(blobs):
    """choose_k gives one row per k: stability ARI in [0, 1], motifs above the usage rule <= k, held-out and
    training log-likelihood for the HMM; suggest_k returns one of the ks (here the true 3)."""
    lat, _ = blobs
    table = segment.choose_k(lat, [2, 3, 4], "hmm", n_seeds=2, progress=False, covariance="diag", n_iter=10)
    assert table["k"].tolist() == [2, 3, 4]
    assert table["stability_ari"].between(0, 1).all() and table["stability_min"].between(-1, 1).all()
    assert (table["motifs_above_usage"] <= table["k"]).all()
    assert np.isfinite(table["heldout_loglik"]).all() and np.isfinite(table["train_loglik"]).all()
    assert table.loc[table["k"] == 3, "stability_ari"].item() > 0.95
    assert table.attrs["method"] == "hmm"
    assert segment.suggest_k(table) in (2, 3, 4)


def test_choose_k_kmeans_and_errors(blobs):
    """kmeans has no likelihood columns; vq, one seed, and held_out outside (0, 1) are ParameterErrors;
    suggest_k falls back to the most stable k when no k passes."""
    lat, _ = blobs
    table = segment.choose_k(lat, [2, 3], "kmeans", n_seeds=2, progress=False)
    assert len(table) == 2 and "heldout_loglik" not in table
    assert segment.suggest_k(table) in (2, 3)
    fake = pd.DataFrame({"k": [2, 3, 4], "stability_ari": [0.5, 0.7, 0.6], "motifs_above_usage": [1, 2, 3]})
    assert segment.suggest_k(fake) == 3
    with pytest.raises(ParameterError, match="VQ"):
        segment.choose_k(lat, [2], "vq")
    with pytest.raises(ParameterError, match="two seeds"):
        segment.choose_k(lat, [2], "kmeans", n_seeds=1)
    with pytest.raises(ParameterError, match="held_out"):
        segment.split_tail(lat, 1.5)
    fit, test = segment.split_tail(lat, 0.2)
    assert fit["s0"].sizes["time"] == 120 and test["s0"].sizes["time"] == 30


# motif names -----------------------------------------------------------------------------------------------------------

def test_write_names_defaults_and_keeps_edits(tmp_path):
    """write_names creates motif_names.csv with default names; called again with more motifs it adds rows and
    keeps a user's edits; read_names returns {motif: name} (blank names fall back to the default)."""
    path = tmp_path / "motifs" / "m" / "motif_names.csv"
    segment.write_names(path, [2, 0, 1, 1, -1])
    table = pd.read_csv(path, keep_default_na=False)
    assert list(table.columns) == ["motif", "name", "note"]
    assert table["motif"].tolist() == [0, 1, 2] and table["name"].tolist() == ["motif 0", "motif 1", "motif 2"]
    assert segment.read_names(path) == {0: "motif 0", 1: "motif 1", 2: "motif 2"}

    table.loc[1, "name"] = "grooming"
    table.loc[1, "note"] = "checked by eye"
    table.loc[2, "name"] = "  "
    table.to_csv(path, index=False)
    segment.write_names(path, range(5))
    again = pd.read_csv(path, keep_default_na=False)
    assert again["motif"].tolist() == [0, 1, 2, 3, 4]
    assert again.loc[1, "name"] == "grooming" and again.loc[1, "note"] == "checked by eye"
    assert segment.read_names(path) == {0: "motif 0", 1: "grooming", 2: "motif 2", 3: "motif 3", 4: "motif 4"}
    before = path.read_bytes()
    segment.write_names(path, [0, 1])  # nothing new: file untouched
    assert path.read_bytes() == before


def test_write_names_vq_defaults(tmp_path):
    """With n_subtypes the default names are t<type>.s<subtype>."""
    path = segment.write_names(tmp_path / "names.csv", [0, 4, 5], n_subtypes=3)
    assert segment.read_names(path) == {0: "t0.s0", 4: "t1.s1", 5: "t1.s2"}
    assert segment.default_name(7) == "motif 7"


@pytest.mark.parametrize("text, match", [
    ("motif,name,note\n0,a,\n1,b,\n0,c,\n", r"\[0\] are listed twice"),
    ("motif,note\n0,x\n", "needs 'motif' and 'name'"),
    ("id,name\n0,a\n", "needs 'motif' and 'name'"),
    ("motif,name\n0,a\none,b\n", r"whole number; rows \[3\]"),
    ("motif,name\n0,a\n1.5,b\n", "whole number"),
])
def test_read_names_bad_files(tmp_path, text, match):
    """A names table with duplicate motifs, missing columns or non-integer motifs is a ParameterError naming the file;
    write_names on such a file fails the same way instead of overwriting it."""
    path = tmp_path / "motif_names.csv"
    path.write_text(text)
    with pytest.raises(ParameterError, match=match) as err:
        segment.read_names(path)
    assert str(path) in str(err.value)
    with pytest.raises(ParameterError):
        segment.write_names(path, [0, 1, 2])
    assert path.read_text() == text


def test_names_from_truth_and_rename_defaults(tmp_path):
    """Motifs are named after their majority true behaviour; only default names are replaced."""
    labels = pd.DataFrame({"session": "s", "individual": "a", "frame": np.arange(6), "time": np.arange(6) / 30,
                           "motif": [0, 0, 1, 1, 2, 2]})
    truth = pd.DataFrame({"session": "s", "individual": "a", "frame": np.arange(6), "motif": [5, 5, 7, 7, 7, 5]})
    names = segment.names_from_truth(labels, truth, {5: "rest", 7: "walk"})
    assert names[0] == "rest (0)" and names[1] == "walk (1)"
    path = segment.write_names(tmp_path / "motif_names.csv", [0, 1, 2])
    t = pd.read_csv(path, keep_default_na=False)
    t.loc[t["motif"] == 1, "name"] = "mine"
    t.to_csv(path, index=False)
    table = segment.rename_defaults(path, names, note="from truth")
    got = segment.read_names(path)
    assert got[0] == "rest (0)" and got[1] == "mine"
    assert table.loc[table["motif"] == 0, "note"].item() == "from truth"
    notes = segment.read_notes(path)  # only the rows that have a note
    assert notes[0] == "from truth" and 1 not in notes
