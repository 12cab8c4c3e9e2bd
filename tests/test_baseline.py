"""The scalar baseline beside every model score (evaluate.scalar_baseline): same frames, same k, reproducible.

On synthetic-tiny (fast) the per-frame kinematic scalars must recover the true behaviours clearly above
chance; the baseline must be scored on exactly the frames the model's score uses (latents: finite rows and
kmeans_labels' seeded subsample; labels tables: frames with a code); a real skeleton without head points
drops the head angle and still works; bad inputs raise ParameterError.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import behavnb as bn
from behavnb.errors import DataWarning, ParameterError
from behavnb.evaluate import kmeans_labels, scalar_baseline, scored_frames, with_baseline
from behavnb.segment import truth_agreement


@pytest.fixture(scope="module")
def tiny():
    """synthetic-tiny, cleaned as 02 cleans it, and its truth."""
    table = bn.manifest.sessions("synthetic-tiny")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poses = bn.manifest.load_sessions(table, progress=False)
        cleaned = {s: bn.preprocess.clean(ds, px_per_cm=8.0) for s, ds in poses.items()}
    return cleaned, bn.manifest.load_truth("synthetic-tiny")


def fake_latents(cleaned: dict, seed: int = 0) -> dict:
    """Stand-in model latents: noise, NaN in some frames (frames the model has no latent for)."""
    rng = np.random.default_rng(seed)
    out = {}
    for s, ds in cleaned.items():
        x = rng.normal(size=(ds.sizes["time"], 3))
        x[rng.choice(len(x), 40, replace=False)] = np.nan
        out[s] = x
    return out


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return fn(*args, **kwargs)


def test_baseline_recovers_tiny_and_is_reproducible(tiny):
    cleaned, truth = tiny
    lat = fake_latents(cleaned)
    a = quiet(scalar_baseline, cleaned, truth, lat, seed=0)
    b = quiet(scalar_baseline, cleaned, truth, lat, seed=0)
    pd.testing.assert_frame_equal(a, b)  # exactly reproducible for a fixed seed
    assert list(a.index) == list(bn.evaluate.BASELINE_METHODS.values())
    assert (a["ari"] > 0.1).all() and (a["nmi"] > 0.1).all(), a
    assert (a["k"] == truth["motif"].nunique()).all()
    assert a.attrs["scalars"] == "speed, angular_velocity, body_length, head_angle"
    # the model's k is the baseline's k when given
    c = quiet(scalar_baseline, cleaned, truth, lat, n_clusters=5, methods=["kmeans"], seed=0)
    assert c["k"].tolist() == [5] and c["n_found"].iloc[0] <= 5


def test_same_frames_as_kmeans_labels(tiny):
    """k-means on latents (kmeans_labels) is scored on the frames scored_frames picks, with the baseline's k; its
    truth_agreement equals k-means scored directly on those frames."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    cleaned, truth = tiny
    lat = fake_latents(cleaned)
    for max_frames in (100_000, 1_000):  # all frames, and kmeans_labels' seeded subsample
        labels = kmeans_labels(lat, truth, max_frames=max_frames, seed=3)
        agreement = truth_agreement(labels, truth)
        base = scalar_baseline(cleaned, truth, lat, max_frames=max_frames, seed=3)
        assert (base["frames"] == agreement["frames"]).all()
        assert (base["k"] == labels.attrs["n_motifs"]).all() and (base["n_true"] == agreement["n_true"]).all()
        picked = scored_frames(lat, truth, max_frames=max_frames, seed=3)
        assert len(picked) == agreement["frames"] == len(labels)
        n_ok = sum(int(np.isfinite(z).all(axis=1).sum()) for z in lat.values())
        assert len(picked) == min(n_ok, max_frames)
        for s, part in picked.groupby("session"):
            assert np.isfinite(lat[s][part["frame"].to_numpy()]).all()
        frames, Z = bn.evaluate.truth._latent_frames(lat, truth, max_frames=max_frames, seed=3)
        direct = KMeans(labels.attrs["n_motifs"], n_init=10, random_state=3).fit_predict(Z)
        assert agreement["ari"] == adjusted_rand_score(frames["true_motif"], direct)
        assert agreement["nmi"] == normalized_mutual_info_score(frames["true_motif"], direct)
    other = scored_frames(lat, truth, max_frames=1_000, seed=4)
    assert not scored_frames(lat, truth, max_frames=1_000, seed=3).equals(other)  # the seed picks the subsample
    table = with_baseline(agreement, base, name="latents + k-means")
    assert list(table.columns) == ["ari", "nmi", "purity", "matched_accuracy", "n_true", "n_found", "frames"]
    assert table.index[0] == "latents + k-means" and len(table) == 3
    assert table["n_true"].notna().all()


def test_same_frames_as_labels_scores(tiny):
    cleaned, truth = tiny
    z = bn.evaluate.baseline_scalars(cleaned)  # a stand-in model: k-means on the scalars, some frames uncoded
    labels = bn.segment.KMeansMotifs(6, seed=0).fit(z).predict(z)
    labels.loc[labels.index % 7 == 0, "motif"] = -1  # frames without a code are not scored
    agreement = truth_agreement(labels, truth)
    base = quiet(scalar_baseline, cleaned, truth, labels, n_clusters=agreement["n_true"], seed=0)
    assert (base["frames"] == agreement["frames"]).all() and (base["n_true"] == agreement["n_true"]).all()
    assert len(scored_frames(labels, truth)) == agreement["frames"]
    table = with_baseline(agreement, base)
    assert list(table.columns) == list(agreement)
    hmm = bn.evaluate.BASELINE_METHODS["hmm"]
    assert table.loc[hmm, "n_found"] == base.loc[hmm, "n_found"] and table.loc[hmm, "purity"] == base.loc[hmm, "purity"]
    # scalars missing in some frames are interpolated: the baseline scores every frame, and says how many it filled
    full = truth[["session", "frame", "motif"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        filled = scalar_baseline(cleaned, truth, full, methods=["kmeans"], seed=0)
    assert filled["frames"].iloc[0] == 3600 and filled.attrs["frames_without_scalars"] == 0
    n_nan = sum(int(np.isnan(v.values).any(axis=1).sum())
                for v in bn.evaluate.baseline_scalars(cleaned, fill_missing=False).values())
    assert filled.attrs["frames_filled"] == n_nan > 0
    # without filling, those frames are left out of the baseline's score, with a warning that counts them
    with pytest.warns(DataWarning, match=r"no scalars for \d+ of the 3600 scored frames"):
        scored = scalar_baseline(cleaned, truth, full, methods=["kmeans"], fill_missing=False, seed=0)
    assert scored.attrs["frames_without_scalars"] == n_nan
    assert scored["frames"].iloc[0] == 3600 - n_nan


def test_real_skeleton_without_head(shared):
    """VAME's sample (nose, four paws, tail root) has no neck or ears: no head angle, the other scalars work."""
    f = shared / "vame-tests" / "cropped_video.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = bn.io.load_poses(f, fps=30)
        ds = bn.skeleton.attach(ds, bn.skeleton.infer_skeleton({"a": ds}))
        half = ds.sizes["time"] // 2
        cleaned = {}
        for i in range(2):
            part = ds.isel(time=slice(i * half, (i + 1) * half))
            part = part.assign_coords(time=("time", np.arange(half) / 30.0))
            part.attrs["session"] = f"part{i}"
            cleaned[f"part{i}"] = bn.preprocess.clean(part)
    assert not bn.manifest.has_truth("vame-tests")  # real data: the notebooks show no truth score at all
    with pytest.raises(ParameterError, match="no ground truth"):
        scalar_baseline(cleaned, None, {s: np.zeros((half, 2)) for s in cleaned})
    z = bn.evaluate.baseline_scalars(cleaned)
    assert z["part0"].attrs["scalars"] == "speed, angular_velocity, body_length"
    # a stand-in truth (blocks of frames) only to drive the scoring on this skeleton
    stand_in = pd.concat([pd.DataFrame({"session": s, "frame": np.arange(half), "motif": (np.arange(half) // 60) % 3})
                          for s in cleaned])
    lat = {s: np.ones((half, 2)) for s in cleaned}
    base = scalar_baseline(cleaned, stand_in, lat, seed=0)
    assert base.attrs["scalars"] == "speed, angular_velocity, body_length"
    assert np.isfinite(base[["ari", "nmi"]].to_numpy(float)).all() and (base["k"] == 3).all()


def test_bad_inputs(tiny):
    cleaned, truth = tiny
    lat = fake_latents(cleaned)
    with pytest.raises(ParameterError, match="no ground truth"):
        scalar_baseline(cleaned, None, lat)
    with pytest.raises(ParameterError, match="no ground truth"):
        scalar_baseline(cleaned, truth.iloc[:0], lat)
    with pytest.raises(ParameterError, match="lacks column"):
        scalar_baseline(cleaned, truth.drop(columns="motif"), lat)
    with pytest.raises(ParameterError, match="at least 2 clusters"):
        scalar_baseline(cleaned, truth, lat, n_clusters=1)
    one = truth.assign(motif=0)
    with pytest.raises(ParameterError, match="at least 2 clusters"):
        scalar_baseline(cleaned, one, lat)
    with pytest.raises(ParameterError, match="choose one or more"):
        scalar_baseline(cleaned, truth, lat, methods=["dbscan"])
    with pytest.raises(ParameterError, match="not in the data"):
        scalar_baseline({s: cleaned[s] for s in list(cleaned)[:1]}, truth, lat)
    with pytest.raises(ParameterError, match="unknown scalar"):
        scalar_baseline(cleaned, truth, lat, scalars=["wingspan"])
    with pytest.raises(ParameterError, match="no 'code' column"):
        scalar_baseline(cleaned, truth, truth[["session", "frame", "motif"]], column="code")
    with pytest.raises(ParameterError, match="latents but"):
        scalar_baseline(cleaned, truth, {s: z[:-5] for s, z in lat.items()})
