"""Group statistics (``behavnb.stats``, step 8 so far): per-animal tables and design checks, tests equal to
scipy/statsmodels, effect sizes, the compositional repertoire test, ``compare`` and its methods text, and the
BehaviorFlow CSI result reproduced from the shared labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss

from behavnb import stats
from behavnb.errors import ParameterError


def cohort_labels(n_per_group=4, sessions=2, k=4, n=600, effect=0.0, seed=0):
    """Labels of two groups of animals (several sessions each); ``effect`` raises motif 0's share in group B."""
    rng = np.random.default_rng(seed)
    rows, meta = [], []
    for g in ("A", "B"):
        for a in range(n_per_group):
            base = rng.dirichlet(np.full(k, 5.0))
            if g == "B":
                base[0] *= 1 + effect
                base /= base.sum()
            for s in range(sessions):
                sid = f"{g}{a}_s{s}"
                bouts = rng.choice(k, n // 10, p=base)
                y = np.repeat(bouts, 10)[:n]
                rows.append(pd.DataFrame({"session": sid, "individual": "m", "frame": np.arange(n), "time": np.arange(n) / 30,
                                          "motif": y}))
                meta.append({"session": sid, "subject": f"{g}{a}", "group": g, "sex": "F"})
    return pd.concat(rows, ignore_index=True), pd.DataFrame(meta)


def test_animal_table_and_per_subject():
    """One row per session, motif and metric, joined with subject and group; per_subject averages the sessions."""
    labels, meta = cohort_labels()
    t = stats.animal_table(labels, meta, 4)
    assert set(t["metric"]) == {"usage", "bout_count", "bout_rate", "mean_bout_s"}
    assert len(t) == labels["session"].nunique() * 4 * 4
    u = t[t["metric"] == "usage"].groupby("session")["value"].sum()
    np.testing.assert_allclose(u, 1.0)
    s = stats.per_subject(t)
    assert len(s) == 8 * 4 * 4  # 8 animals, not 16 sessions
    one = t[(t["subject"] == "A0") & (t["metric"] == "usage") & (t["motif"] == 0)]["value"].mean()
    assert s[(s["subject"] == "A0") & (s["metric"] == "usage") & (s["motif"] == 0)]["value"].item() == pytest.approx(one)


def test_time_bins():
    """With bin_s, each session's metrics come per time bin."""
    labels, meta = cohort_labels(n=600)
    t = stats.animal_table(labels, meta, 4, bin_s=10.0)
    assert sorted(t["time_bin"].unique()) == [0, 1]
    np.testing.assert_allclose(t[t["metric"] == "usage"].groupby(["session", "time_bin"])["value"].sum(), 1.0)


def test_design_errors():
    """Missing grouping column, a group with one animal, and labels without metadata are errors that name them."""
    labels, meta = cohort_labels()
    with pytest.raises(ParameterError, match="'genotype' is not in the sessions table"):
        stats.animal_table(labels, meta, 4, group_column="genotype")
    small = meta.copy()
    small.loc[small["subject"] == "A0", "group"] = "C"
    with pytest.raises(ParameterError, match=r"'C' \(n = 1\)"):
        stats.check_design(labels, small)
    with pytest.raises(ParameterError, match="B3_s1"):
        stats.check_design(labels, meta[meta["session"] != "B3_s1"])
    unbalanced = meta[~meta["subject"].isin(["A3"])]
    stats.check_design(labels[labels["session"].isin(unbalanced["session"])], unbalanced)  # 3 vs 4 animals is fine


def test_tests_equal_scipy():
    """Mann-Whitney, Kruskal-Wallis and Welch equal scipy on the same inputs; q-values equal statsmodels."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(0)
    a, b, c = rng.normal(0, 1, 8), rng.normal(0.5, 1, 9), rng.normal(1, 2, 7)
    assert stats.mann_whitney(a, b) == pytest.approx(tuple(ss.mannwhitneyu(a, b, method="exact")))
    assert stats.mann_whitney(a, b, method="asymptotic")[1] == pytest.approx(ss.mannwhitneyu(a, b, method="asymptotic").pvalue)
    assert stats.kruskal({"a": a, "b": b, "c": c}) == pytest.approx(tuple(ss.kruskal(a, b, c)))
    assert stats.welch(a, b) == pytest.approx(tuple(ss.ttest_ind(a, b, equal_var=False)))
    ties = np.round(a), np.round(b)
    p_perm = stats.mann_whitney(*ties)[1]
    assert abs(p_perm - ss.mannwhitneyu(*ties, method="asymptotic").pvalue) < 0.1  # permutation ~ asymptotic
    for x, y in ((ties[0][:5], ties[1][:6]), ties):  # all 462 relabellings: scipy's exact p; 24,310: random ones
        ref = ss.mannwhitneyu(x, y, method=ss.PermutationMethod(n_resamples=10_000, random_state=0))
        u, p_v = stats.permutation_mann_whitney(x, y)
        assert u == ref.statistic
        assert p_v == pytest.approx(ref.pvalue, rel=1e-12) if len(x) + len(y) == 11 else abs(p_v - ref.pvalue) < 0.015
    p = rng.uniform(0, 0.1, 20)
    np.testing.assert_allclose(stats.adjust(p, "bh"), multipletests(p, method="fdr_bh")[1])
    np.testing.assert_allclose(stats.adjust(p, "by"), multipletests(p, method="fdr_by")[1])
    assert np.isnan(stats.adjust(np.array([0.01, np.nan]))[1])
    with pytest.raises(ParameterError):
        stats.adjust(p, "nope")
    post = stats.posthoc({"a": a, "b": b, "c": c})
    assert len(post) == 3 and (post["p_adjusted"] >= post["p"]).all()


def test_effect_sizes():
    """Known values: log2 fold change of means, Hedges' g with its small-sample factor, Cliff's delta; the CI covers it."""
    a, b = np.array([1.0, 2, 3, 4]), np.array([2.0, 4, 6, 8])
    assert stats.log2_fold_change(a, b) == pytest.approx(1.0, abs=1e-5)
    sp = np.sqrt((3 * a.var(ddof=1) + 3 * b.var(ddof=1)) / 6)
    assert stats.hedges_g(a, b) == pytest.approx((b.mean() - a.mean()) / sp * (1 - 3 / (4 * 8 - 9)))
    assert stats.cliffs_delta(a, a + 100) == 1.0 and stats.cliffs_delta(a, a) == 0.0
    est, lo, hi = stats.bootstrap_ci(a, b, "hedges_g", n_boot=500)
    assert lo <= est <= hi


def test_clr_and_permanova():
    """CLR rows sum to zero; PERMANOVA finds a planted compositional shift and not a null one."""
    rng = np.random.default_rng(0)
    x = rng.dirichlet(np.full(5, 10.0), 16)
    z = stats.clr(x)
    np.testing.assert_allclose(z.sum(axis=1), 0, atol=1e-12)
    groups = np.repeat(["a", "b"], 8)
    null = stats.permanova(z, groups, n_perm=999)
    assert null["p"] > 0.05 and null["n"] == {"a": 8, "b": 8}
    shifted = x.copy()
    shifted[8:, 0] *= 2.5
    shifted /= shifted.sum(axis=1, keepdims=True)
    res = stats.repertoire_test(pd.DataFrame(shifted), groups, n_perm=999)
    assert res["p"] < 0.01 and 0 < res["R2"] < 1


def test_compare_finds_planted_effect_and_writes_methods():
    """compare: one row per motif and metric, the planted usage effect has the smallest q, the methods text names
    the unit, the test, the correction and the group sizes."""
    labels, meta = cohort_labels(n_per_group=8, effect=1.5, seed=3)
    res = stats.compare(stats.animal_table(labels, meta, 4), groups=["A", "B"], n_boot=200)
    t = res.table
    assert len(t) == 4 * 4 and {"p", "q", "effect", "ci_low", "ci_high", "n_A", "n_B"} <= set(t.columns)
    fam = t[t["in_family"]]
    assert (t["n_A"] == 8).all() and (fam["q"] >= fam["p"]).all()
    assert set(t.loc[~t["in_family"], "metric"]) == {"bout_count"}  # equal-length sessions: a duplicate of bout_rate
    top = t[t["metric"] == "usage"].sort_values("p").iloc[0]
    assert top["motif"] == 0 and top["effect"] > 0 and top["q"] < 0.05
    text = res.methods()
    for phrase in ("animal as the unit", "Mann-Whitney", "Benjamini-Hochberg", "A (n = 8)", "SciPy"):
        assert phrase in text
    with pytest.raises(ParameterError, match="fewer than 2 animals"):
        stats.compare(stats.animal_table(labels, meta, 4), groups=["A", "Z"])


def test_compare_three_groups_posthoc():
    """Three groups: Kruskal-Wallis per row and a Holm-corrected pairwise table."""
    labels, meta = cohort_labels(n_per_group=6, seed=1)
    meta.loc[meta["subject"].isin(["A0", "A1", "B0", "B1", "A2", "B2"]), "group"] = "C"
    res = stats.compare(stats.animal_table(labels, meta, 4), metrics=["usage"])
    assert (res.table["test"] == "Kruskal-Wallis").all()
    assert len(res.posthoc) == 3 * 4


def test_behaviorflow_csi_reproduced(shared):
    """BehaviorFlow's published CSI vs Control result (its README): 14.count p = 1.30e-6, FDR 2.1e-4, CSI 51.6 vs
    Control 36.5, and the other hits with FDR < 0.05, by behavnb's default mode (to 1 %: it counts one more bout
    where a session starts and ends in a cluster; mode="r" matches R exactly, test_stats_exact.py)."""
    import os

    os.environ["BEHAVNB_DATA_DIR"] = str(shared)
    from behavnb import manifest

    labels = manifest.load_labels("behaviorflow-csi-labels")
    res = stats.behaviorflow_test(labels, groups=("CSI", "Control"))
    top = res.iloc[0]
    assert top["metric"] == "14.count"
    assert top["p"] == pytest.approx(1.30e-6, rel=0.01)
    assert top["fdr"] == pytest.approx(2.1e-4, rel=0.02)
    assert round(top["mean_CSI"], 1) == 51.6 and round(top["mean_Control"], 1) == 36.5
    p = res.set_index("metric")["p"]
    assert p["21.count"] == pytest.approx(1.87e-6, rel=0.01)
    assert p["21.nframes"] == pytest.approx(2.1e-5, rel=0.03)
    assert p["3.count"] == pytest.approx(3.1e-5, rel=0.03)
    assert p["25.count"] == pytest.approx(8.5e-5, rel=0.03)
    hits = set(res.loc[res["fdr"] < 0.05, "metric"])
    assert hits == {"14.count", "21.count", "21.nframes", "3.count", "25.count", "3.nframes", "14.nframes",
                    "10.count", "5.nframes"}
    low = res.set_index("metric")
    assert low.loc["10.count", "t"] < 0 and low.loc["5.nframes", "t"] < 0


def test_smooth_labels_ties_go_to_first_seen_in_session():
    """A tie in the window goes to the label that appears first in the session; missing labels do not vote."""
    y = np.array([7, 3, 3, 7, -1, -1])
    out = stats.smooth_labels(y, 1)
    assert out[0] == 7  # window [7, 3]: tie, 7 seen first
    assert out[4] == 7  # window [7, -1, -1]: only 7 votes
    assert out[5] == -1


def test_label_cohort_shares_programs_within_animals():
    """label_cohort: one labels table and sessions table; null cohorts have no group difference by construction,
    and an animal's sessions are more alike than two animals' (its program is shared)."""
    from behavnb import synth

    labels, sessions = synth.label_cohort(animals_per_group=4, sessions_per_animal=2, duration_s=600, seed=2)
    assert len(sessions) == 16 and set(sessions["group"]) == {"WT", "KO"}
    assert labels.groupby("session").size().eq(18000).all()
    t = stats.animal_table(labels, sessions, 8)
    u = t[t["metric"] == "usage"].pivot_table(index=["subject", "session"], columns="motif", values="value")
    within = u.groupby(level="subject").apply(lambda d: np.abs(d.iloc[0] - d.iloc[1]).sum()).mean()
    means = u.groupby(level="subject").mean()
    between = np.mean([np.abs(means.iloc[i] - means.iloc[j]).sum() for i in range(8) for j in range(i + 1, 8)])
    assert within < between


def test_error_rates_runs_and_reports():
    """error_rates returns one row per cohort with rates in [0, 1] and repertoire p-values in (0, 1]."""
    r = stats.error_rates(3, animals_per_group=4, duration_s=120, n_perm=99, target_motif=5, progress=False)
    assert len(r) == 3
    assert r[["animal_fp", "session_fp"]].stack().between(0, 1).all()
    assert r["repertoire_p"].between(0, 1).all() and "target_q" in r


def test_mixed_model_equals_statsmodels_and_falls_back():
    """The MixedLM row equals statsmodels called directly on the same logit-scale data; a singular fit falls back to
    a GEE with a DataWarning instead of a NaN."""

    import statsmodels.formula.api as smf

    from behavnb.errors import DataWarning
    from behavnb.stats.models import transform

    rng = np.random.default_rng(0)
    rows = []
    for g, shift in (("A", 0.0), ("B", 0.4)):
        for a in range(8):
            animal = rng.normal(0, 0.3)
            for s in range(3):
                rows.append({"session": f"{g}{a}_{s}", "subject": f"{g}{a}", "group": g, "metric": "usage", "motif": 0,
                             "value": 1 / (1 + np.exp(-(-1.5 + shift + animal + rng.normal(0, 0.1))))})
    t = pd.DataFrame(rows)
    res = stats.mixed_model(t, reference="A")
    d = t.assign(y=transform(t["value"].to_numpy(), "logit"))
    direct = smf.mixedlm("y ~ C(group, Treatment(reference='A'))", d, groups=d["subject"]).fit(reml=True)
    term = "C(group, Treatment(reference='A'))[T.B]"
    assert res["model"].item() == "MixedLM"
    assert res["estimate"].item() == pytest.approx(direct.params[term])
    assert res["p"].item() == pytest.approx(direct.pvalues[term])
    flat = t.assign(value=np.where(t["group"] == "A", 0.2, 0.3) + rng.normal(0, 1e-3, len(t)))  # no animal variance
    with pytest.warns(DataWarning, match="use a GEE with subject clusters instead"):
        fb = stats.mixed_model(flat, reference="A")
    assert fb["p"].notna().all() and "fallback" in fb["model"].item()


def test_not_estimable_ratios_are_nan_with_a_reason():
    """A group that never used a motif (zero counts) gives NaN, said in ``note``, not a log2 fold change of +-21 or
    a rate ratio of 1e10; a perfect GEE fit (no spread within groups) gives NaN, not p = 0; and no warning leaks."""
    import warnings

    assert np.isnan(stats.log2_fold_change([0.0, 0.0, 0.0], [0.2, 0.3, 0.1]))
    assert stats.effects.lfc_not_estimable([0.0, 0.0], [1.0, 2.0], ("WT", "KO")).startswith("log2 fold change not estimable")
    assert np.isnan(stats.bootstrap_ci([0.0, 0.0, 0.0], [0.2, 0.3, 0.1], "log2_fold_change", n_boot=200)[0])
    rows = [{"session": f"{g}{a}", "subject": f"{g}{a}", "group": g, "motif": m, "metric": "usage",
             "value": (0.0 if (g == "B" and m == 1) else 0.2 + 0.01 * a)} for g in "AB" for a in range(4) for m in (0, 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = stats.compare(pd.DataFrame(rows), groups=["A", "B"], n_boot=200).table.set_index("motif")
    assert np.isnan(res.loc[1, "effect"]) and np.isnan(res.loc[1, "ci_low"]) and "not estimable" in res.loc[1, "note"]
    assert np.isfinite(res.loc[1, "p"]) and np.isfinite(res.loc[0, "effect"]) and res.loc[0, "note"] == ""
    counts = pd.DataFrame({"motif": [0] * 4 + [1] * 4, "subject": list("abcd") * 2, "group": ["A", "A", "B", "B"] * 2,
                           "value": [3, 3, 1, 1, 4, 6, 0, 0], "minutes": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gee = stats.gee_counts(counts, reference="A").set_index("motif")
    assert gee["rate_ratio"].isna().all() and gee["p"].isna().all()
    assert "fit perfectly" in gee.loc[0, "note"] and "no bout in group(s) 'B'" in gee.loc[1, "note"]


def test_mixed_model_leaves_out_a_covariate_with_one_value():
    """One time bin (a short pilot): the group x time_bin term is not estimable, left out and said, no warning."""
    import warnings

    rng = np.random.default_rng(0)
    rows = [{"subject": f"{g}{a}", "session": f"{g}{a}s{s}", "group": g, "metric": "usage", "motif": 0, "time_bin": 0,
             "value": rng.uniform(0.1, 0.3)} for g in "AB" for a in range(4) for s in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", stats.models.DataWarning)
        out = stats.mixed_model(pd.DataFrame(rows), reference="A", covariates=["time_bin"], interaction="time_bin")
    assert len(out) == 1 and "time_bin has a single value" in out["note"].item()


def test_gee_counts_rate_ratio():
    """GEE on counts with exposure recovers a doubled bout rate (rate ratio ~2) with subject clusters."""
    rng = np.random.default_rng(1)
    rows = []
    for g, rate in (("A", 10.0), ("B", 20.0)):
        for a in range(10):
            for s in range(2):
                minutes = rng.uniform(4, 6)
                rows.append({"subject": f"{g}{a}", "group": g, "motif": 0, "minutes": minutes,
                             "value": rng.poisson(rate * minutes)})
    res = stats.gee_counts(pd.DataFrame(rows), reference="A")
    assert res["rate_ratio"].item() == pytest.approx(2.0, rel=0.1)
    assert res["ci_low"].item() < 2.0 < res["ci_high"].item() and res["p"].item() < 1e-6


def test_transition_test_finds_planted_edge_and_not_null():
    """A planted walk -> run effect (x3) is the most significant edge and the matrix test rejects; a null cohort
    gives no edge with q < 0.05. Animals are the unit (sessions are pooled per subject first)."""
    from behavnb import hierarchy, synth
    from behavnb.synth import MOTIFS, Effects

    walk, run = MOTIFS.index("walk"), MOTIFS.index("run")
    lab, meta = synth.label_cohort(effects={"KO": Effects(transition={("walk", "run"): 3.0})}, seed=7, duration_s=600)
    c = hierarchy.transition_counts(lab, 8, self_transitions=False)
    summary, edges = stats.transition_test(c, meta, ("WT", "KO"), n_perm=4999)  # min q = 56 edges x 1/5000
    assert summary["p"] < 0.01 and summary["n"] == {"WT": 8, "KO": 8}
    top = edges.sort_values("p").iloc[0]
    assert (top["from_motif"], top["to_motif"]) == (walk, run) and top["difference"] > 0 and top["q"] < 0.05
    assert edges.loc[edges["from_motif"] == edges["to_motif"], "p"].isna().all()  # no self-transitions at bout level
    lab0, meta0 = synth.label_cohort(effects="null", seed=8)
    _, edges0 = stats.transition_test(hierarchy.transition_counts(lab0, 8, self_transitions=False), meta0, n_perm=499)
    assert (edges0["q"] < 0.05).sum() == 0


def test_stats_figures_draw():
    """The group-statistics figures draw from compare's results (usage with stars, volcano, effect heatmap,
    significant transitions, time-bin trajectories)."""
    import matplotlib.pyplot as plt

    import behavnb as bn
    from behavnb import hierarchy

    labels, meta = cohort_labels(n_per_group=5, effect=1.0, seed=4)
    table = stats.animal_table(labels, meta, 4, bin_s=10.0)
    res = stats.compare(table, groups=["A", "B"], n_boot=100)
    subj = stats.per_subject(table)
    _, edges = stats.transition_test(hierarchy.transition_counts(labels, 4, self_transitions=False), meta, n_perm=199)
    figs = [bn.plot.group_values(subj, res.table[res.table["time_bin"] == 0], "usage"),
            bn.plot.volcano(res.table), bn.plot.effect_heatmap(res.table[res.table["time_bin"] == 0]),
            bn.plot.transition_differences(edges.assign(q=edges["p"]), np.ones(4), groups=("A", "B")),
            bn.plot.time_bin_trajectories(subj, "usage", 0, bin_s=10.0)]
    assert bn.plot.stars(0.0005) == "***" and bn.plot.stars(0.2) == "ns"
    for f in figs:
        assert f.axes
        plt.close(f)
    # a metric kept out of the FDR family has q NaN throughout (sessions of equal length): no stars, no IndexError
    one = res.table[res.table["time_bin"] == 0]
    out_of_family = one.assign(q=one["q"].where(one["metric"] != "bout_count"))
    fig = bn.plot.effect_heatmap(out_of_family)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == one["metric"].nunique() * one["motif"].nunique()
    plt.close(fig)


def test_stats_panel_widget(tmp_path):
    """The comparison panel: changing test, grouping column and metric updates the results; export writes a CSV."""
    import warnings

    import behavnb as bn

    labels, meta = cohort_labels(n_per_group=5, effect=1.0, seed=5)
    meta["sex"] = np.where(np.arange(len(meta)) % 4 < 2, "F", "M")
    table = stats.animal_table(labels, meta, 4)
    panel = bn.widgets.StatsPanel({"motif": table}, export_dir=tmp_path, n_boot=50)
    first = panel.results.copy()
    assert "Mann-Whitney" in panel.status_w.value and panel.figure_w.value
    panel.test_w.value = "Welch t (animals)"
    assert (panel.results["test"] == "Welch t").all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel.test_w.value = "mixed model (sessions, random intercept per animal)"
    assert {"effect", "p", "q", "model"} <= set(panel.results.columns)
    panel.test_w.value = "Mann-Whitney (animals)"
    panel.column_w.value = "sex"
    assert set(panel.reference_w.options) == {"F", "M"} and not panel.results.equals(first)
    panel.metric_w.value = "mean_bout_s"
    assert "mean_bout_s" in panel.status_w.value
    path = panel.export()
    assert pd.read_csv(path).shape[0] == len(panel.results)
    assert "<img" in panel._repr_mimebundle_()["text/html"]


def test_labels_from_another_tool(shared):
    """BehaviorFlow's labels (cluster ids 1..25, NA for the first frames) go straight into animal_table and compare:
    NA frames count as unlabelled, the time column comes from the dataset's fps."""
    import os

    os.environ["BEHAVNB_DATA_DIR"] = str(shared)
    from behavnb import manifest

    labels = manifest.load_labels("behaviorflow-csi-labels")
    assert labels["time"].iloc[25] == pytest.approx(1.0)  # 25 fps
    meta = manifest.sessions("behaviorflow-csi-labels", check_keypoints=False)
    t = stats.animal_table(labels, meta)
    u = t[t["metric"] == "usage"]
    assert sorted(u["motif"].unique()) == list(range(1, 26))  # ids 1..25: no empty motif 0
    np.testing.assert_allclose(u.groupby("session")["value"].sum(), 1.0)
    res = stats.compare(t, groups=["Control", "CSI"], metrics=["usage"], n_boot=100)
    assert res.info["n"] == {"Control": 29, "CSI": 30}


def test_kinematics_and_transition_tables():
    """Kinematic means per motif and per-session transition probabilities / entropy rate come in animal_table's
    long format, so compare tests them the same way (a planted speed difference within motif 1 is found)."""
    import xarray as xr

    from behavnb import hierarchy

    labels, meta = cohort_labels(n_per_group=5, seed=6)
    rng = np.random.default_rng(0)
    feats = {}
    for s, g in labels.groupby("session"):
        fast = 2.0 if s.startswith("B") else 1.0
        speed = rng.gamma(4, 1, len(g)) * np.where(g["motif"].to_numpy() == 1, fast, 1.0)
        feats[s] = xr.Dataset({"speed": (("time", "individual"), speed[:, None])},
                              coords={"time": g["time"].to_numpy(), "individual": ["m"]})
    kin = stats.kinematics_table(feats, labels, meta, names=("speed",))
    assert set(kin["metric"]) == {"speed_mean"} and {"subject", "group"} <= set(kin.columns)
    res = stats.compare(kin, groups=["A", "B"], n_boot=100).table.set_index("motif")
    assert res.loc[1, "q"] < 0.05 and res.loc[1, "effect"] > 0 and (res.drop(index=1)["q"] > 0.05).all()
    tr = stats.transition_table(hierarchy.transition_counts(labels, 4, self_transitions=False), meta)
    assert "entropy_rate" in set(tr["metric"]) and (tr.loc[tr["metric"] == "entropy_rate", "motif"] == -1).all()
    rows = tr[tr["metric"].str.startswith("P(")].groupby(["session", "motif"])["value"].sum()
    np.testing.assert_allclose(rows, 1.0)
    assert len(stats.compare(tr, groups=["A", "B"], n_boot=50).table)


def test_pilot_cohort_one_animal_per_group():
    """A 2-animal pilot (1 per group, 2 sessions each): the per-animal tables build, every test says why it is
    skipped, and every result table keeps its columns (group means filled, tests NaN), never a crash."""
    import warnings

    from behavnb import hierarchy
    from behavnb.errors import DataWarning

    labels, meta = cohort_labels(n_per_group=1, sessions=2, effect=1.0, seed=5)
    table = stats.animal_table(labels, meta, 4)  # descriptive: any group size
    assert set(table["subject"]) == {"A0", "B0"}
    why = stats.untestable_reason(table, ["A", "B"])
    assert "fewer than 2 animals" in why and "'A' n = 1" in why
    res = stats.compare(table, groups=["A", "B"], n_boot=50, small="skip")
    t = res.table
    assert len(t) == 4 * 4 and set(stats.RESULT_COLUMNS) | {"n_A", "n_B", "mean_A", "mean_B"} <= set(t.columns)
    assert t["p"].isna().all() and t["effect"].isna().all() and t["q"].isna().all()
    assert (t["n_A"] == 1).all() and t["mean_A"].notna().all() and t["test"].str.startswith("not tested").all()
    assert res.info["skipped"] == why and "No group comparison was tested" in res.methods()
    with pytest.raises(ParameterError, match="small='skip'"):
        stats.compare(table, groups=["A", "B"])
    rep = stats.repertoire_test(pd.DataFrame(np.full((2, 4), 0.25)), ["A", "B"], small="skip")
    assert np.isnan(rep["p"]) and rep["n"] == {"A": 1, "B": 1} and "PERMANOVA" in rep["skipped"]
    counts = hierarchy.transition_counts(labels, 4, self_transitions=False, warn=False)
    summary, edges = stats.transition_test(counts, meta, ("A", "B"), n_perm=99, small="skip")
    assert np.isnan(summary["p"]) and "2 animals" in summary["skipped"]
    assert list(edges.columns) == ["from_motif", "to_motif", "mean_A", "mean_B", "difference", "p", "q"]
    assert edges["p"].isna().all() and edges["mean_A"].notna().any() and len(edges) == 16
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        mixed = stats.mixed_model(table[table["metric"] == "usage"], reference="A")
        bout = table[table["metric"] == "bout_count"].assign(minutes=1.0)
        gee = stats.gee_counts(bout, reference="A")
    assert mixed.empty and {"estimate", "ci_low", "ci_high", "p", "model"} <= set(mixed.columns)
    assert gee.empty and list(gee.columns) == ["motif", "term", "rate_ratio", "ci_low", "ci_high", "p", "model", "note"]
    assert any("fewer than 2" in str(w.message) for w in caught) and any("not modelled" in str(w.message) for w in caught)


def test_single_group_and_rows_without_enough_values():
    """One group only (e.g. real clips without conditions): described, not tested; and a two-group cohort whose
    every row lacks values in one group (the old KeyError) still has every result column."""
    labels, meta = cohort_labels(n_per_group=2, seed=6)
    one = meta.assign(group="unknown")
    table = stats.animal_table(labels, one, 4)
    assert "only one group" in stats.untestable_reason(table)
    res = stats.compare(table, small="skip")
    assert res.table["p"].isna().all() and {"n_unknown", "mean_unknown", "effect", "ci_low", "ci_high"} <= set(res.table.columns)
    with pytest.raises(ParameterError, match="only one group"):
        stats.compare(table)
    assert "only one group" in stats.repertoire_test(pd.DataFrame(np.full((4, 4), 0.25)), ["u"] * 4, small="skip")["skipped"]
    two = stats.animal_table(labels, meta, 4)
    two.loc[two["subject"] == "B1", "value"] = np.nan  # group B has one animal with values in every row
    t = stats.compare(two, groups=["A", "B"], n_boot=20).table
    assert (t["test"] == "too few animals with a value").all()
    assert set(stats.RESULT_COLUMNS) <= set(t.columns) and t[["effect", "ci_low", "ci_high", "p", "q"]].isna().all().all()
