"""The synthetic cohort: motifs learnable from keypoints, planted effects real, statistics as specified,
deterministic bytes, files that load back."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from behavnb import io as bio, synth
from behavnb.errors import ParameterError
from behavnb.synth.programs import MOTIFS

WIN = 20  # frames per classification window (0.67 s: a few cycles of the gait, grooming and sniffing rhythms)


@pytest.fixture(scope="module")
def demo():
    """The demo sizes (2 x 8 animals, 1-2 sessions of 5 min), in memory."""
    return synth.make_cohort(None, seed=0)


@pytest.fixture(scope="module")
def null():
    return synth.make_cohort(None, seed=0, effects="null")


def _interp_nan(a: np.ndarray) -> np.ndarray:
    flat = a.reshape(len(a), -1).copy()
    t = np.arange(len(a))
    for j in range(flat.shape[1]):
        ok = np.isfinite(flat[:, j])
        flat[:, j] = np.interp(t, t[ok], flat[ok, j])
    return flat.reshape(a.shape)


def window_features(ds, starts: np.ndarray) -> np.ndarray:
    """Per-window features from the observed (noisy) keypoints: body-level scalars, and the egocentric keypoints'
    mean place, spread and rhythm (spectral power in 1-3, 3-5, 5-8 and 8-15 Hz bands)."""
    kp = list(ds["keypoint"].values)
    pos = ds["position"].transpose("time", "individual", "keypoint", "space").values[:, 0].copy()
    pos[ds["confidence"].values[:, :, 0] < 0.5] = np.nan
    pos = _interp_nan(pos)
    fps = ds.attrs["fps"]
    centre, nose, neck, tail = (pos[:, kp.index(k)] for k in ("mid_spine", "nose", "neck", "tail_base"))
    body = neck - tail
    heading = np.unwrap(np.arctan2(body[:, 1], body[:, 0]))
    speed = np.linalg.norm(np.gradient(centre, axis=0), axis=1) * fps
    turning = np.gradient(heading) * fps
    head = np.angle(np.exp(1j * (np.arctan2(*(nose - neck).T[::-1]) - np.arctan2(*(neck - tail).T[::-1]))))
    rel = pos - centre[:, None]
    c, s = np.cos(-heading)[:, None], np.sin(-heading)[:, None]
    ego = np.stack([c * rel[..., 0] - s * rel[..., 1], s * rel[..., 0] + c * rel[..., 1]], axis=-1).reshape(len(pos), -1)
    scalars = np.stack([speed, turning, np.linalg.norm(nose - tail, axis=1), head], axis=1)
    idx = starts[:, None] + np.arange(WIN)
    w, sc = ego[idx], scalars[idx]  # (windows, WIN, features)
    freqs = np.fft.rfftfreq(WIN, 1 / fps)
    power = np.abs(np.fft.rfft(w - w.mean(1, keepdims=True), axis=1)) ** 2
    bands = [power[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in ((1, 3), (3, 5), (5, 8), (8, 15.1))]
    return np.concatenate([sc.mean(1), sc.std(1), w.mean(1), w.std(1), *np.log1p(bands)], axis=1)


def test_motifs_are_identifiable_from_keypoints():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import balanced_accuracy_score

    cohort = synth.make_cohort(None, animals_per_group=4, sessions_per_animal=1, duration_s=300, seed=11)
    X, y, session = [], [], []
    for s, ds in cohort.poses.items():
        lab = cohort.truth.loc[cohort.truth["session"] == s, "motif"].to_numpy()
        starts = np.arange(0, len(lab) - WIN, 3)
        windows = lab[starts[:, None] + np.arange(WIN)]
        pure = (windows == windows[:, :1]).all(axis=1)  # windows inside one bout
        X.append(window_features(ds, starts[pure]))
        y.append(windows[pure, 0])
        session += [s] * int(pure.sum())
    X, y, session = np.concatenate(X), np.concatenate(y), np.array(session)
    held_out = np.isin(session, sorted(set(session))[::3])  # whole sessions never seen in training
    # runs and turns are rare (a few % of the time): weight the classes so that they count
    clf = HistGradientBoostingClassifier(class_weight="balanced", random_state=0).fit(X[~held_out], y[~held_out])
    score = balanced_accuracy_score(y[held_out], clf.predict(X[held_out]))
    assert set(y[held_out]) == set(range(len(MOTIFS)))
    assert score >= 0.85, f"balanced accuracy {score:.3f}"


def per_animal(cohort, value: pd.Series) -> pd.DataFrame:
    """Per-animal mean of a per-session value, with group."""
    sess = cohort.sessions.set_index("session")
    df = value.rename("v").to_frame().join(sess[["subject", "group"]])
    return df.groupby(["subject", "group"])["v"].mean().reset_index()


def usage(cohort, motif: str) -> pd.DataFrame:
    t = cohort.truth
    return per_animal(cohort, (t["motif_name"] == motif).groupby(t["session"]).mean())


def test_planted_effects_are_detected(demo):
    u = usage(demo, "rear")
    ko, wt = u.loc[u.group == "KO", "v"], u.loc[u.group == "WT", "v"]
    assert len(ko) == len(wt) == 8
    assert mannwhitneyu(ko, wt, alternative="greater").pvalue < 0.01
    t = demo.truth
    walk = t[t["motif_name"] == "walk"]
    speed = per_animal(demo, walk.groupby("session")["speed_cm_s"].mean())
    assert mannwhitneyu(speed.loc[speed.group == "KO", "v"], speed.loc[speed.group == "WT", "v"],
                        alternative="less").pvalue < 0.01
    bouts = bout_table(t)
    groom = per_animal(demo, bouts[bouts.motif == "groom"].groupby("session")["frames"].mean())
    assert mannwhitneyu(groom.loc[groom.group == "KO", "v"], groom.loc[groom.group == "WT", "v"],
                        alternative="greater").pvalue < 0.01
    trans = bouts.assign(nxt=bouts.groupby("session")["motif"].shift(-1))
    walk_run = per_animal(demo, trans[trans.motif == "walk"].groupby("session")["nxt"].apply(lambda s: (s == "run").mean()))
    assert mannwhitneyu(walk_run.loc[walk_run.group == "KO", "v"], walk_run.loc[walk_run.group == "WT", "v"],
                        alternative="greater").pvalue < 0.01


def test_null_mode_plants_nothing(demo, null):
    for motif in MOTIFS:
        u = usage(null, motif)
        diff = u.loc[u.group == "KO", "v"].mean() - u.loc[u.group == "WT", "v"].mean()
        spread = u["v"].std()
        assert abs(diff) < max(1.5 * spread, 0.01), (motif, diff, spread)
    # the same seeds give the same animals: the reference group's programs are identical with and without
    # effects, and KO's differ exactly by the planted rearing effect (entering rear 1.8 times as likely)
    rear = MOTIFS.index("rear")
    for subject, animal in demo.spec["animals"].items():
        p_demo = np.array(animal["individuals"]["mouse1"]["transitions"])
        p_null = np.array(null.spec["animals"][subject]["individuals"]["mouse1"]["transitions"])
        if animal["group"] == "WT":
            np.testing.assert_array_equal(p_demo, p_null)
        else:
            into = ~np.isin(np.arange(len(MOTIFS)), [rear, MOTIFS.index("walk")])  # walk's row also has walk->run x2.5
            np.testing.assert_allclose(p_demo[into, rear], np.minimum(1.8 * p_null[into, rear], 0.95), rtol=0, atol=3e-6)


def bout_table(truth: pd.DataFrame) -> pd.DataFrame:
    """One row per bout: session, motif name, length in frames."""
    change = (truth["motif"] != truth["motif"].shift()) | (truth["session"] != truth["session"].shift())
    bout_id = change.cumsum()
    g = truth.groupby(bout_id)
    out = pd.DataFrame({"session": g["session"].first(), "motif": g["motif_name"].first(), "frames": g.size()})
    last = truth.groupby("session")["frame"].transform("max")
    ends_at_edge = g.apply(lambda b: b["frame"].iloc[0] == 0 or b["frame"].iloc[-1] == last.loc[b.index[-1]])
    return out[~ends_at_edge.to_numpy()].reset_index(drop=True)


def test_realised_statistics_match_the_specification():
    fps = 30.0
    cohort = synth.make_cohort(None, groups=("WT",), animals_per_group=1, sessions_per_animal=1,
                               duration_s=4 * 3600, seed=5, noise=synth.NoiseSpec.none())
    program = cohort.spec["animals"]["WT_01"]["individuals"]["mouse1"]
    P = np.array(program["transitions"])
    mean_s = np.array(program["duration_mean_s"])
    cv = np.array([synth.programs.DURATIONS[m][1] for m in MOTIFS])
    bouts = bout_table(cohort.truth)
    # bout durations: mean within 4 standard errors of the specified mean (gamma, cv as given)
    for i, m in enumerate(MOTIFS):
        d = bouts.loc[bouts.motif == m, "frames"] / fps
        se = mean_s[i] * cv[i] / np.sqrt(len(d))
        assert abs(d.mean() - mean_s[i]) < 4 * se + 0.5 / fps, (m, d.mean(), mean_s[i], len(d))
    # transitions: each row's realised frequencies within 4 binomial standard errors
    nxt = bouts["motif"].shift(-1)
    for i, a in enumerate(MOTIFS):
        row = nxt[bouts["motif"] == a].dropna()
        for j, b in enumerate(MOTIFS):
            p_hat, p = (row == b).mean(), P[i, j]
            assert abs(p_hat - p) < 4 * np.sqrt(max(p * (1 - p), 1e-4) / len(row)) + 1e-9, (a, b, p_hat, p)
    # usage: fraction of time = stationary bout distribution x mean duration, normalised
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(abs(w - 1))])
    pi /= pi.sum()
    expected = pi * mean_s / (pi * mean_s).sum()
    realised = cohort.truth["motif_name"].value_counts(normalize=True).reindex(MOTIFS).to_numpy()
    np.testing.assert_allclose(realised, expected, atol=0.015, rtol=0.1)


def _digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    kw = dict(animals_per_group=2, sessions_per_animal=1, duration_s=20)
    synth.make_cohort(tmp_path / "a", seed=7, **kw)
    synth.make_cohort(tmp_path / "b", seed=7, **kw)
    synth.make_cohort(tmp_path / "c", seed=8, **kw)
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a == b and len(a) == 8
    assert all(a[n] != c[n] for n in a if n.endswith(".csv") and n != "sessions.csv")
    assert synth.make_cohort(None, seed=7, fmt="sleap", **kw).poses.keys() == synth.make_cohort(None, seed=7, **kw).poses.keys()


def test_registered_demo_files_are_the_generated_ones(tmp_path, monkeypatch):
    from behavnb import manifest

    monkeypatch.setenv("BEHAVNB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BEHAVNB_CACHE_DIR", str(tmp_path / "cache"))
    files = manifest.fetch("synthetic-tiny")
    # generated, then every sha256 checked against the registry
    assert files["truth.json"].parent == tmp_path / "cache" / "synthetic-tiny"  # never into the data folder
    assert {"sessions.csv", "truth.parquet", "truth.json", "truth_noise.parquet"} <= set(files)
    truth = manifest.load_truth("synthetic-tiny")
    assert list(truth.columns[:4]) == ["session", "individual", "frame", "motif"]
    assert len(manifest.sessions("synthetic-tiny")) == 4


@pytest.mark.parametrize("fmt, dims", [("dlc-csv", 2), ("dlc-h5", 2), ("sleap", 2), ("dlc-csv", 3)])
def test_written_files_load_back(tmp_path, fmt, dims):
    noise = synth.NoiseSpec(missing="nan" if fmt == "sleap" else "zeros")
    cohort = synth.make_cohort(tmp_path, animals_per_group=1, sessions_per_animal=1, duration_s=10, seed=3,
                               fmt=fmt, dims=dims, noise=noise)
    table = __import__("behavnb").manifest.sessions(tmp_path)
    for row in table.itertuples():
        ds = bio.load_poses(row.file, fallback_fps=row.fps)
        made = cohort.poses[row.session]
        assert list(ds["keypoint"].values) == list(made["keypoint"].values)
        assert list(ds["space"].values) == ["x", "y", "z"][:dims]
        expected = made["position"].values.copy()
        if noise.missing == "zeros":  # the loader turns DeepLabCut's (0, 0) misses into NaN
            miss = (expected == 0).all(axis=1) & (made["confidence"].values <= 0.1)
            expected[np.broadcast_to(miss[:, None], expected.shape)] = np.nan
        atol = 1e-3 if fmt == "sleap" else 1e-9  # movement reads SLEAP files as float32
        np.testing.assert_allclose(ds["position"].values, expected, rtol=0, atol=atol)
        np.testing.assert_allclose(ds["confidence"].values, made["confidence"].values, atol=atol)
    labels = bio.load_labels(tmp_path / "truth.parquet")
    assert len(labels) == len(cohort.truth) and labels["motif"].between(0, 7).all()


def test_noise_truth_records_corruptions(demo):
    kinds = set(demo.noise["kind"])
    assert {"dropout", "jump", "lr_swap"} <= kinds
    s = demo.sessions["session"].iloc[0]
    ds = demo.poses[s]
    drops = demo.noise[(demo.noise.session == s) & (demo.noise.kind == "dropout")]
    k = [list(ds["keypoint"].values).index(n) for n in drops["keypoint"]]
    at = ds["position"].values[drops["frame"], :, k, 0]
    unfound = ds["confidence"].values[drops["frame"], k, 0] == 0  # confidence 0: missing from import on
    assert np.isnan(at[unfound]).all() and (at[~unfound] == 0).all()  # else DeepLabCut-style (0, 0)
    assert (ds["confidence"].values[drops["frame"], k, 0] < 0.1).all()
    frac = len(demo.noise[demo.noise.session == s]) / (ds.sizes["time"] * ds.sizes["keypoint"])
    assert 0.01 < frac < 0.1


def test_stays_in_the_arena_and_body_size_varies(demo):
    t = demo.truth
    assert t["x_cm"].between(0, 50).all() and t["y_cm"].between(0, 50).all()
    scales = [ind["body_scale"] for a in demo.spec["animals"].values() for ind in a["individuals"].values()]
    assert np.std(scales) > 0.02


def test_three_d_rearing_raises_the_nose():
    c = synth.make_cohort(None, groups=("WT",), animals_per_group=1, sessions_per_animal=1, duration_s=120,
                          dims=3, seed=2, noise=synth.NoiseSpec.none())
    ds = next(iter(c.poses.values()))
    z = ds["position"].sel(space="z", keypoint="nose").values[:, 0]
    lab = c.truth["motif_name"].to_numpy()
    assert z[lab == "rear"].mean() > 2 * z[lab == "walk"].mean()


def test_bad_parameters():
    with pytest.raises(ParameterError, match="unknown motif"):
        synth.Effects(usage={"dance": 2.0})
    with pytest.raises(ParameterError, match="dims=4"):
        synth.make_cohort(None, dims=4)
    with pytest.raises(ParameterError, match="unknown group"):
        synth.make_cohort(None, effects={"HET": synth.Effects()})


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    out = tmp_path_factory.mktemp("pairs")
    return out, synth.make_cohort(out, animals_per_group=2, sessions_per_animal=1, duration_s=120,
                                  animals_per_session=2, seed=4)


def test_multi_animal_files_and_identity_swaps(pairs):
    out, cohort = pairs
    first = (out / cohort.sessions["file"].iloc[0]).read_text().splitlines()
    assert first[1].startswith("individuals,mouse1") and first[2].startswith("bodyparts,nose")
    ds = bio.load_poses(out / cohort.sessions["file"].iloc[0], fps=30)
    assert list(ds["individual"].values) == ["mouse1", "mouse2"] and ds.sizes["keypoint"] == 14
    swaps = cohort.noise[cohort.noise.kind == "id_swap"]
    assert len(swaps) and set(swaps["individual"]) == {"mouse1", "mouse2"}


def test_social_episodes_bring_the_animals_together(pairs):
    _, cohort = pairs
    t = cohort.truth
    assert set(t.loc[t.individual == "mouse2", "social"]) == {"none", "approach", "follow", "nose_to_nose"}
    assert set(t.loc[t.individual == "mouse1", "social"]) == {"none"}
    dist, social, noses, contact = [], [], [], []
    for session, ds in cohort.poses.items():
        st = t[t.session == session]
        m1, m2 = st[st.individual == "mouse1"], st[st.individual == "mouse2"]
        dist.append(np.hypot(m1["x_cm"].to_numpy() - m2["x_cm"].to_numpy(), m1["y_cm"].to_numpy() - m2["y_cm"].to_numpy()))
        social.append(m2["social"].to_numpy())
        contact.append((social[-1] == "nose_to_nose") & (m2["motif_name"].to_numpy() == "sniff"))
        clean = cohort.clean[session]  # noise-free keypoints, px
        k = list(ds["keypoint"].values).index("nose")
        noses.append(np.linalg.norm(clean[:, :2, k, 0] - clean[:, :2, k, 1], axis=1) / 8.0)  # cm
    dist, social, noses, contact = map(np.concatenate, (dist, social, noses, contact))
    # a follower trails about a body length (8.4 cm) behind: closer than apart, never on top of the leader
    assert dist[social == "follow"].mean() < 0.75 * dist[social == "none"].mean()
    assert 6.0 < np.median(dist[social == "follow"]) < 12.0
    assert dist[social == "approach"].mean() < dist[social == "none"].mean()
    assert np.median(noses[contact]) < 2.5, np.median(noses[contact])


def test_sleap_output_writes_missing_points_as_nan(tmp_path):
    import numpy as np

    import behavnb as bn
    from behavnb.synth import NoiseSpec, make_cohort

    cohort = make_cohort(tmp_path, groups=["WT"], animals_per_group=1, sessions_per_animal=(1, 1), duration_s=60,
                         fmt="sleap", seed=1)
    ds = bn.io.load_poses(cohort.files[0], fps=30)
    pos = ds["position"].values
    assert np.isnan(pos).any() and not ((pos == 0).all(axis=1)).any()
    with pytest.raises(bn.errors.ParameterError, match="NaN"):
        make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=(1, 1), duration_s=5, fmt="sleap",
                    noise=NoiseSpec(missing="zeros"))


def test_noise_and_dims_never_change_the_behaviour_truth():
    kw = dict(groups=("WT",), animals_per_group=2, sessions_per_animal=2, duration_s=20, seed=5)
    base = synth.make_cohort(None, **kw).truth
    for other in (synth.make_cohort(None, noise=synth.NoiseSpec.none(), **kw),
                  synth.make_cohort(None, noise=synth.NoiseSpec(dropout_rate=0.05, jitter_px=3.0), **kw),
                  synth.make_cohort(None, dims=3, **kw)):
        pd.testing.assert_frame_equal(other.truth, base)


def test_truth_heading_is_wrapped_and_its_convention_documented(demo):
    h = demo.truth["heading"].to_numpy()
    assert (h > -np.pi).all() and (h <= np.pi).all()
    conv = demo.spec["conventions"]
    assert "(-pi, pi]" in conv["heading"] and "-heading" in conv["image_heading"]
    assert "y_px = arena_ymax - y_cm * px_per_cm" in conv["pose_files"]
    # the convention holds: tail base -> nose in image pixels points along -heading
    s = demo.sessions["session"].iloc[0]
    clean, kp = demo.clean[s], list(demo.poses[s]["keypoint"].values)
    body = clean[:, :2, kp.index("nose"), 0] - clean[:, :2, kp.index("tail_base"), 0]
    image_heading = np.arctan2(body[:, 1], body[:, 0])
    truth = demo.truth[demo.truth.session == s]
    still = truth["motif_name"].isin(["rest", "walk"]).to_numpy()
    err = np.angle(np.exp(1j * (image_heading + truth["heading"].to_numpy())))[still]
    assert np.median(np.abs(err)) < 0.15


def test_follow_keeps_a_stand_off_turns_smoothly_and_is_not_walking_while_still(pairs):
    _, cohort = pairs
    t = cohort.truth
    for session in cohort.sessions["session"]:
        st = t[t.session == session]
        m1, m2 = st[st.individual == "mouse1"], st[st.individual == "mouse2"]
        follow = (m2["social"] == "follow").to_numpy()
        social = (m2["social"] != "none").to_numpy()
        dist = np.hypot(m1["x_cm"].to_numpy() - m2["x_cm"].to_numpy(), m1["y_cm"].to_numpy() - m2["y_cm"].to_numpy())
        assert dist[follow].min() > 5.0, (session, dist[follow].min())  # about a body length (8.4 cm) behind
        omega = np.abs(np.angle(np.exp(1j * np.diff(m2["heading"].to_numpy())))) * cohort.spec["fps"]
        assert omega[social[1:] & social[:-1]].max() <= 3.6  # no spinning, no coiled body
        walking = (m2["motif_name"] == "walk").to_numpy() & social
        assert (m2["speed_cm_s"].to_numpy()[walking] >= 1.0).all()
        still = social & (m2["speed_cm_s"].to_numpy() < 0.5)
        assert still.any() and (m2["motif_name"].to_numpy()[still] != "walk").mean() > 0.9


def test_cohort_input_checks():
    kw = dict(groups=("WT",), animals_per_group=1, duration_s=5)
    for bad in (0, -1, 1.5, True, (0, 2), (2, 1), (1, 2, 3)):
        with pytest.raises(ParameterError, match="sessions_per_animal"):
            synth.make_cohort(None, sessions_per_animal=bad, **kw)
    assert len(synth.make_cohort(None, sessions_per_animal=np.int64(2), **kw).sessions) == 2
    assert len(synth.make_cohort(None, sessions_per_animal=(np.int64(1), np.int64(1)), **kw).sessions) == 1
    with pytest.raises(ParameterError, match="finite"):
        synth.Effects(usage={"rear": float("inf")})
    with pytest.raises(ParameterError, match="finite"):
        synth.Effects(duration={"groom": float("nan")})
    with pytest.raises(ParameterError, match="repeat a motif"):
        synth.Effects(transition={("walk", "walk"): 2.0})


def test_label_cohort_in_parts_is_the_same_cohort():
    """label_cohort_parts yields the animals of label_cohort (same seeds, same rows), a few animals at a time."""
    import pandas as pd

    from behavnb.synth.labels import label_cohort, label_cohort_parts

    whole = label_cohort(animals_per_group=3, sessions_per_animal=2, duration_s=20, seed=4)
    parts = list(label_cohort_parts(animals_per_group=3, sessions_per_animal=2, duration_s=20, seed=4, animals_per_part=2))
    assert len(parts) == 3 and parts[0][1]["subject"].nunique() == 2
    pd.testing.assert_frame_equal(pd.concat([p[0] for p in parts], ignore_index=True), whole[0])
    pd.testing.assert_frame_equal(pd.concat([p[1] for p in parts], ignore_index=True), whole[1])
