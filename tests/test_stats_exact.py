"""Statistics made exact (issue 21): confidence intervals that cover, BehaviorFlow's R code reproduced metric by
metric, the motif set from the labels (never max + 1), bout count not double-counted in the FDR family, Monte
Carlo intervals on error rates, and notebook 09's parameters.

The R reference (``tests/data/behaviorflow_r_csi_*.csv``) was made by ``tests/data/behaviorflow_r_pvalues.R``:
R 4.2 running BehaviorFlow's own functions on the shared CSI labels."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss

from behavnb import stats
from behavnb.errors import ParameterError
from behavnb.stats import effects

DATA = os.path.join(os.path.dirname(__file__), "data")
# BehaviorFlow's README (TwoGroupAnalysis on the CSI example): the ten smallest p-values and their BY FDR
PUBLISHED = {"14.count": (1.301842e-06, 0.000210856), "21.count": (1.874607e-06, 0.000210856),
             "21.nframes": (2.079875e-05, 0.001559631), "3.count": (3.091483e-05, 0.001738652),
             "25.count": (8.459415e-05, 0.003806065), "3.nframes": (1.025069e-03, 0.038433304),
             "14.nframes": (1.292141e-03, 0.041525772), "10.count": (1.776228e-03, 0.044651687),
             "5.nframes": (1.786383e-03, 0.044651687), "16.count": (2.340485e-03, 0.052651611)}


def cohort_labels(n_per_group=4, sessions=2, k=4, n=600, seed=0):
    """Two groups of animals with several sessions of equal length, labels 0..k-1 in 10-frame bouts."""
    rng = np.random.default_rng(seed)
    rows, meta = [], []
    for g in ("A", "B"):
        for a in range(n_per_group):
            base = rng.dirichlet(np.full(k, 5.0))
            for s in range(sessions):
                sid = f"{g}{a}_s{s}"
                y = np.repeat(rng.choice(k, n // 10, p=base), 10)[:n]
                rows.append(pd.DataFrame({"session": sid, "individual": "m", "frame": np.arange(n),
                                          "time": np.arange(n) / 30, "motif": y}))
                meta.append({"session": sid, "subject": f"{g}{a}", "group": g})
    return pd.concat(rows, ignore_index=True), pd.DataFrame(meta)


@pytest.fixture(scope="module")
def csi(shared):
    os.environ["BEHAVNB_DATA_DIR"] = str(shared)
    from behavnb import manifest

    return manifest.load_labels("behaviorflow-csi-labels")


# ---- 1. confidence intervals ------------------------------------------------------------------------------------

def test_ci_methods_and_defaults():
    """Every method gives an interval around the estimate; the t interval of g is Hedges & Olkin's formula; the
    symmetric bootstrap-t is symmetric; the defaults are the measured ones; unknown methods are refused."""
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(0, 0.5, 8), rng.lognormal(0.3, 0.5, 8)
    for eff in effects.EFFECTS:
        for m in effects.CI_METHODS:
            est, lo, hi = stats.bootstrap_ci(a, b, eff, n_boot=500, method=m)
            assert lo <= est <= hi, (eff, m)
    g, lo, hi = stats.bootstrap_ci(a, b, "hedges_g", method="t")
    se = np.sqrt(16 / 64 + g**2 / 32)
    assert (hi - g) == pytest.approx(ss.t.ppf(0.975, 14) * se) and (g - lo) == pytest.approx(hi - g)
    est, lo, hi = stats.bootstrap_ci(a, b, "log2_fold_change", n_boot=500, method="symmetric-t")
    assert est - lo == pytest.approx(hi - est)
    assert effects.DEFAULT_CI == {"log2_fold_change": "symmetric-t", "hedges_g": "t", "cliffs_delta": "t"}
    with pytest.raises(ParameterError, match="unknown CI method"):
        stats.bootstrap_ci(a, b, "hedges_g", method="basic")
    with pytest.raises(ParameterError, match="known standard error"):
        stats.bootstrap_ci(a, b, lambda x, y: y.mean() - x.mean(), method="t")


def test_bca_agrees_with_scipy():
    """Our BCa (jackknife acceleration over both groups) equals scipy.stats.bootstrap's BCa up to resampling noise."""
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(0, 0.6, 10), rng.lognormal(0.4, 0.6, 12)
    _, lo, hi = stats.bootstrap_ci(a, b, "log2_fold_change", n_boot=40_000, method="bca", seed=1)
    ref = ss.bootstrap((a, b), lambda x, y, axis=-1: effects._lfc_rows(x, y), vectorized=True, paired=False,
                       n_resamples=40_000, method="BCa", random_state=2).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.03) and hi == pytest.approx(ref.high, abs=0.03)


def test_cliffs_delta_interval_at_complete_separation():
    """Complete separation (delta = 1): the percentile and BCa intervals collapse to [1, 1]; the default score
    interval still reaches well below 1 (n = 8 per group cannot prove delta = 1)."""
    a, b = np.arange(8.0), np.arange(8.0) + 20
    assert stats.bootstrap_ci(a, b, "cliffs_delta", method="percentile", n_boot=300)[1:] == (1.0, 1.0)
    est, lo, hi = stats.bootstrap_ci(a, b, "cliffs_delta")
    assert est == 1.0 and hi == pytest.approx(1.0) and 0.4 < lo < 0.95


def test_default_intervals_cover_in_a_small_simulation():
    """Smoke version of benchmarks/calibrate_stats.py coverage (the benchmark runs 1,000 sims per case): lognormal
    data, 8 animals per group, 1.3-fold effect, 300 sims. The defaults cover about 0.95 (Monte Carlo SE 0.013);
    the percentile bootstrap of Hedges' g covers less."""
    rng = np.random.default_rng(11)
    s, ratio, n = 0.5, 1.3, 8
    va = np.exp(s**2) - 1
    truth = {"hedges_g": (ratio - 1) / np.sqrt((va + va * ratio**2) / 2), "log2_fold_change": np.log2(ratio),
             "cliffs_delta": 2 * ss.norm.cdf(np.log(ratio) / (s * np.sqrt(2))) - 1}
    hits = {k: 0 for k in (*truth, "g_percentile")}
    sims = 300
    for i in range(sims):
        a, b = rng.lognormal(-s**2 / 2, s, n), rng.lognormal(-s**2 / 2 + np.log(ratio), s, n)
        for eff, t in truth.items():
            _, lo, hi = stats.bootstrap_ci(a, b, eff, n_boot=400, seed=i)
            hits[eff] += lo <= t <= hi
        _, lo, hi = stats.bootstrap_ci(a, b, "hedges_g", n_boot=400, seed=i, method="percentile")
        hits["g_percentile"] += lo <= truth["hedges_g"] <= hi
    cov = {k: v / sims for k, v in hits.items()}
    assert all(cov[e] >= 0.92 for e in truth), cov
    assert cov["g_percentile"] < cov["hedges_g"], cov


def test_methods_text_names_the_interval():
    """The methods paragraph names each effect's interval method and the number of resamples."""
    labels, meta = cohort_labels(n_per_group=5, seed=4)
    res = stats.compare(stats.animal_table(labels, meta), n_boot=300)
    assert res.info["ci"] == {"log2_fold_change": "symmetric-t", "hedges_g": "t"}
    text = res.methods()
    assert ("95 % symmetric studentized bootstrap (bootstrap-t) confidence intervals (300 resamples of animals within "
            "groups) for the log2 fold change") in text
    assert "95 % t-based confidence intervals (Hedges & Olkin's standard error" in text and "percentile" not in text
    bca = stats.compare(stats.animal_table(labels, meta), n_boot=300, ci="bca")
    assert "95 % BCa bootstrap confidence intervals (300 resamples" in bca.methods()


# ---- 2. BehaviorFlow, R mode -------------------------------------------------------------------------------------

def test_smoothing_and_counting_follow_r():
    """R's SmoothLabel: a window without labels gets the session's first value; CalculateMetrics: missing frames
    dropped first, count = ceil(changes / 2) (one bout short when a cluster starts and ends the session); absent
    clusters NA. behavnb's mode: the window stays missing, a bout is a run, absent = 0."""
    y = np.array([-1] * 8 + [3] * 4 + [5] * 4 + [3] * 4)
    assert (stats.smooth_labels(y, 1, mode="r")[:7] == -1).all()        # first value of the session: missing
    z = np.array([4] * 5 + [-1] * 6 + [4] * 5)
    assert stats.smooth_labels(z, 2, mode="r")[8] == 4                   # an empty window: the first value, 4
    assert stats.smooth_labels(z, 2)[8] == -1                            # behavnb: stays missing
    lab = pd.DataFrame({"session": "s", "frame": np.arange(len(y)), "motif": pd.array(np.where(y < 0, None, y),
                                                                                          dtype="Int64")})
    r = stats.cluster_metrics(lab, window=0, mode="r").iloc[0]
    own = stats.cluster_metrics(lab, window=0, clusters=[3, 5, 7]).iloc[0]
    assert r["3.count"] == 1 and own["3.count"] == 2                     # cluster 3 starts and ends the session
    assert r["5.count"] == own["5.count"] == 1 and r["3.nframes"] == own["3.nframes"] == 8
    assert "7.count" not in r and own["7.count"] == 0 and own["7.nframes"] == 0


def test_r_mode_equals_r_on_every_metric(csi):
    """mode="r" equals BehaviorFlow's R output on all 50 CSI metrics (relative error <= 1e-4; measured ~1e-14):
    the per-session report exactly, the p-values and BY FDR with absent clusters set to 0 (TwoGroupAnalysis) and,
    with absent="na", with them left out of the t-test."""
    ref = pd.read_csv(os.path.join(DATA, "behaviorflow_r_csi_pvalues.csv")).set_index("metric")
    report = pd.read_csv(os.path.join(DATA, "behaviorflow_r_csi_report.csv")).set_index("session")
    ours = stats.cluster_metrics(csi, mode="r").reindex(index=report.index)
    np.testing.assert_array_equal(ours[report.columns.drop("group")].to_numpy(), report.drop(columns="group").to_numpy(float))
    for absent, p_col, f_col in (("zero", "p_zero", "fdr_zero"), ("na", "p_na", "fdr_na")):
        res = stats.behaviorflow_test(csi, groups=("CSI", "Control"), mode="r", absent=absent).set_index("metric")
        assert sorted(res.index) == sorted(ref.index) and len(res) == 50
        np.testing.assert_allclose(res["p"], ref.loc[res.index, p_col], rtol=1e-4)
        np.testing.assert_allclose(res["fdr"], ref.loc[res.index, f_col], rtol=1e-4)
    res = stats.behaviorflow_test(csi, groups=("CSI", "Control"), mode="r").set_index("metric")
    for metric, (p, fdr) in PUBLISHED.items():
        assert res.loc[metric, "p"] == pytest.approx(p, rel=1e-6) and res.loc[metric, "fdr"] == pytest.approx(fdr, rel=1e-6)
    assert res.loc["14.count", "mean_CSI"] == pytest.approx(51.56667, rel=1e-6)
    na = stats.behaviorflow_test(csi, groups=("CSI", "Control"), mode="r", absent="na").set_index("metric")
    assert na.loc["19.count", "n_CSI"] == 5 and na.loc["19.count", "n_Control"] == 6   # cluster 19 is rare


def test_default_mode_differs_from_r_only_where_documented(csi):
    """behavnb's default differs from R on exactly the metrics where sessions start and end in the cluster
    (14.count, 20.count: one more bout there), and agrees on the other 48."""
    ref = pd.read_csv(os.path.join(DATA, "behaviorflow_r_csi_pvalues.csv")).set_index("metric")
    res = stats.behaviorflow_test(csi, groups=("CSI", "Control")).set_index("metric")
    rel = (res["p"] / ref.loc[res.index, "p_zero"] - 1).abs()
    assert set(rel[rel > 1e-9].index) == {"14.count", "20.count"}
    assert res.loc["14.count", "mean_CSI"] > ref.loc["14.count", "mean_CSI_zero"]
    with pytest.raises(ParameterError, match="absent='na'"):
        stats.behaviorflow_test(csi, groups=("CSI", "Control"), absent="na")
    with pytest.raises(ParameterError, match="mode"):
        stats.behaviorflow_test(csi, groups=("CSI", "Control"), mode="python")


# ---- 3. the motif set ----------------------------------------------------------------------------------------------

def labels_1_to_k(k=25, n_sessions=6, n=900, seed=0):
    rng = np.random.default_rng(seed)
    rows, meta = [], []
    for s in range(n_sessions):
        y = np.repeat(rng.integers(1, k + 1, n // 15), 15)
        y[:3] = -1
        rows.append(pd.DataFrame({"session": f"s{s}", "individual": "m", "frame": np.arange(n), "time": np.arange(n) / 25,
                                  "motif": y}))
        meta.append({"session": f"s{s}", "subject": f"a{s}", "group": "A" if s % 2 else "B"})
    return pd.concat(rows, ignore_index=True), pd.DataFrame(meta)


def test_motifs_numbered_from_one_give_exactly_k():
    """Labels 1..25 give 25 motifs (no empty motif 0 joining the FDR family); an explicit n_motifs or motifs wins;
    stored metadata is used; labels outside a declared set are an error that says what to pass."""
    labels, meta = labels_1_to_k()
    t = stats.animal_table(labels, meta)
    assert sorted(t["motif"].unique()) == list(range(1, 26))
    res = stats.compare(t, metrics=["usage"], n_boot=0)
    assert len(res.table) == 25 and res.info["n_tests"] == 25
    assert stats.animal_table(labels, meta, 26)["motif"].nunique() == 26          # explicit n_motifs wins
    assert sorted(stats.animal_table(labels, meta, motifs=range(1, 31))["motif"].unique()) == list(range(1, 31))
    labels.attrs["motifs"] = list(range(1, 28))
    assert stats.animal_table(labels, meta)["motif"].nunique() == 27             # stored metadata
    with pytest.raises(ParameterError, match="motif id\\(s\\) \\[25\\] outside n_motifs=25"):
        stats.animal_table(labels, meta, 25)


def test_behaviorflow_labels_give_25_motifs(csi, shared):
    from behavnb import manifest

    meta = manifest.sessions("behaviorflow-csi-labels", check_keypoints=False)
    t = stats.animal_table(csi, meta)
    assert sorted(t["motif"].unique()) == list(range(1, 26))
    np.testing.assert_allclose(t[t["metric"] == "usage"].groupby("session")["value"].sum(), 1.0)


# ---- 4. bout count and bout rate -----------------------------------------------------------------------------------

def test_bout_count_not_double_counted():
    """Equal session lengths: bout count gives the same p as bout rate, so only bout rate is in the family
    (bout count: q NaN, in_family False, a note); unequal lengths or dedupe=False: both are in."""
    labels, meta = cohort_labels(n_per_group=5, seed=2)
    t = stats.animal_table(labels, meta)
    res = stats.compare(t, n_boot=0)
    tab = res.table
    cnt, rate = (tab[tab["metric"] == m].set_index("motif") for m in ("bout_count", "bout_rate"))
    np.testing.assert_allclose(cnt["p"], rate["p"])
    assert not cnt["in_family"].any() and cnt["q"].isna().all() and cnt["note"].str.contains("bout_rate").all()
    assert rate["in_family"].all() and res.info["n_tests"] == 3 * 4
    q_all = stats.adjust(tab.loc[tab["in_family"], "p"].to_numpy())
    np.testing.assert_allclose(tab.loc[tab["in_family"], "q"], q_all)
    assert "only bout rate was included in the family" in res.methods()
    assert stats.compare(t, n_boot=0, dedupe=False).info["n_tests"] == 16
    short = labels[~((labels["session"] == "A0_s0") & (labels["frame"] >= 500))]   # one session shorter
    both = stats.compare(stats.animal_table(short, meta), n_boot=0)
    assert both.table["in_family"].all() and both.info["n_tests"] == 16
    assert stats.equal_length_duplicates(t) == {"bout_count": "bout_rate"}


# ---- 6. Monte Carlo intervals on error rates -------------------------------------------------------------------------

def test_error_rate_intervals():
    """Wilson and Clopper-Pearson equal statsmodels; per-motif shares get a design effect >= 1 (correlated motifs
    widen the interval); error_rates carries the summary."""
    from statsmodels.stats.proportion import proportion_confint

    assert stats.rate_ci(7, 200) == pytest.approx(proportion_confint(7, 200, method="wilson"))
    assert stats.rate_ci(7, 200, method="clopper-pearson") == pytest.approx(proportion_confint(7, 200, method="beta"))
    table = pd.DataFrame({"animal_fp": [0.0, 0.5, 0.0, 0.375, 0.0, 0.0], "session_fp": [0.25] * 6,
                          "repertoire_p": [0.01, 0.2, 0.5, 0.9, 0.03, 0.6], "n_motifs": 8})
    s = stats.summarize_error_rates(table, 0.05).set_index("quantity")
    animal = s.loc["animal-level test, all motifs"]
    assert animal["rate"] == pytest.approx(7 / 48) and animal["n_eff"] < 48
    naive = stats.rate_ci(7, 48)
    assert animal["ci_high"] - animal["ci_low"] > naive[1] - naive[0]
    assert s.loc["repertoire test", "rate"] == pytest.approx(2 / 6)
    assert (s["ci_low"] <= s["rate"]).all() and (s["rate"] <= s["ci_high"]).all()
    r = stats.error_rates(2, animals_per_group=3, duration_s=60, n_perm=49, target_motif=5, progress=False)
    summ = r.attrs["summary"]
    assert {"target motif, p < alpha", "target motif, q < alpha"} <= set(summ["quantity"])
    assert summ[["ci_low", "ci_high"]].notna().all().all()


# ---- 5. notebook 09's parameters ---------------------------------------------------------------------------------------

def test_notebook_09_parameters():
    """09 declares labels_dataset, label_column and groups (None = automatic, so papermill reads -p groups as YAML),
    and no longer real_labels or a hard-coded group pair."""
    from behavnb.resources import notebooks_dir
    from behavnb.series import coerce, declared_parameters

    book = notebooks_dir() / "09_group_stats.ipynb"
    params = declared_parameters(book)
    assert {"labels_dataset", "label_column", "groups"} <= set(params) and "real_labels" not in params
    assert params["label_column"]["default"] == "None" and params["groups"]["default"] == "None"
    assert coerce("[CSI, Control]", params["groups"]["default"]) == ["CSI", "Control"]
    assert '("CSI", "Control")' not in book.read_text()
