"""Power, false-positive rates, the oracle, entry-rate tests and minimum detectable effects (stats.power, stats.rates)."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from behavnb.errors import BehavnbError, DataWarning, ParameterError
from behavnb.stats.rates import entry_rates, rate_test

# the module, even if ``behavnb.stats`` one day exports the function ``power`` under the same name
pw = importlib.import_module("behavnb.stats.power")


def _contains(frame: pd.DataFrame) -> None:
    assert ((frame["ci_low"] <= frame["rate"]) & (frame["rate"] <= frame["ci_high"])).all()
    assert ((frame["ci_low"] >= 0) & (frame["ci_high"] <= 1)).all()


def test_power_on_generator_cohorts_has_cis_and_is_reproducible():
    kw = dict(n=3, n_cohorts=3, sessions_per_animal=1, duration_s=60.0, seed=5, progress=False)
    a = pw.power(["default", "rate"], **kw)
    b = pw.power(["default", "rate"], **kw)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a.attrs["p_values"], b.attrs["p_values"])
    assert set(a["measure"]) == {"power", "fpr", "fpr_all_motifs"}
    assert set(a["test"]) == {"default", "rate"}
    _contains(a)
    # every cohort tested every motif once per scenario and test
    pv = a.attrs["p_values"]
    assert len(pv) == 2 * 3 * 2 * 8
    assert pv["p"].between(0, 1).all()
    c = pw.power("default", **{**kw, "seed": 6})
    assert not np.allclose(c.attrs["p_values"]["p"], a.attrs["p_values"].query("test == 'default'")["p"])


def test_power_from_sd_matches_noncentral_t_and_null_is_calibrated():
    n, sd, fold = 8, 0.25, 1.3
    res = pw.power(["t", "default"], n=n, effect=fold, sd=sd, n_cohorts=4000, seed=1).set_index(["test", "measure"])
    _contains(res.reset_index())
    nc = np.log(fold) / (sd * np.sqrt(2 / n))
    crit = st.t.ppf(0.975, 2 * n - 2)
    exact = st.nct.sf(crit, 2 * n - 2, nc) + st.nct.cdf(-crit, 2 * n - 2, nc)
    assert res.loc[("t", "power"), "ci_low"] - 0.01 <= exact <= res.loc[("t", "power"), "ci_high"] + 0.01
    # the exact Mann-Whitney at n = 8 is a little conservative, never above alpha's MC band
    assert 0.02 <= res.loc[("mann-whitney", "fpr"), "rate"] <= 0.065
    assert 0.035 <= res.loc[("t", "fpr"), "rate"] <= 0.065
    again = pw.power(["t", "default"], n=n, effect=fold, sd=sd, n_cohorts=4000, seed=1).set_index(["test", "measure"])
    pd.testing.assert_frame_equal(res, again)


def test_proportion_ci_methods():
    lo_w, hi_w = pw.proportion_ci(10, 200)
    lo_c, hi_c = pw.proportion_ci(10, 200, method="clopper-pearson")
    assert lo_w < 0.05 < hi_w and lo_c < 0.05 < hi_c
    assert lo_c <= lo_w and hi_c >= hi_w  # the exact interval is the wider one here
    assert pw.proportion_ci(0, 50)[0] == 0.0
    with pytest.raises(ParameterError):
        pw.proportion_ci(5, 4)
    with pytest.raises(ParameterError):
        pw.proportion_ci(1, 10, method="jeffreys-ish")


def test_true_rates_and_oracle():
    from behavnb.synth.programs import MOTIFS, animal_program

    rng = np.random.default_rng(0)
    progs = [animal_program(None, rng) for _ in range(5)]
    usage, rate = pw.true_rates(progs)
    assert usage.shape == rate.shape == (5, len(MOTIFS))
    np.testing.assert_allclose(usage.sum(axis=1), 1.0)
    # usage = entries per second x mean bout duration
    np.testing.assert_allclose(usage, rate / 60 * np.stack([p.duration_mean for p in progs]), rtol=1e-10)
    null = pw.oracle_power(8, effect=1.0, n_cohorts=1000, seed=1).set_index("oracle")
    assert (null["ci_low"] <= 0.05).all() and (null["ci_high"] >= 0.03).all()
    np.testing.assert_allclose(null["true_ratio"], 1.0, atol=0.03)
    big = pw.oracle_power(8, effect="default", n_cohorts=500, seed=1).set_index("oracle")
    assert (big["rate"] > null["rate"]).all() and (big["true_ratio"] > 1.2).all()
    _contains(big)


def test_mde_decreases_with_n_and_matches_the_t_approximation():
    sd = 0.3
    t_an = pw.minimum_detectable_effect(sd, test="t")
    assert t_an.index.tolist() == [8, 12, 16, 24]
    assert (np.diff(t_an.iloc[:, 0].to_numpy()) < 0).all() and (t_an.iloc[:, 0] > 1).all()
    # the analytic t answer: two-sample noncentral t at 80 % power
    n = 16
    d = t_an.attrs["d"][n]
    nc = d * np.sqrt(n / 2)
    crit = st.t.ppf(0.975, 2 * n - 2)
    assert st.nct.sf(crit, 2 * n - 2, nc) + st.nct.cdf(-crit, 2 * n - 2, nc) == pytest.approx(0.8, abs=1e-6)
    # ... and the normal approximation (z_0.975 + z_0.8) sqrt(2 / n), within the t correction
    assert d == pytest.approx((st.norm.ppf(0.975) + st.norm.ppf(0.8)) * np.sqrt(2 / n), rel=0.05)
    assert t_an.iloc[:, 0].loc[n] == pytest.approx(np.exp(d * sd))
    t_sim = pw.minimum_detectable_effect(sd, test="t", method="simulation", n_sim=20000, seed=2)
    np.testing.assert_allclose(t_sim.to_numpy(), t_an.to_numpy(), rtol=0.02)
    mwu = pw.minimum_detectable_effect(sd, n=(8, 16, 24), n_sim=8000)
    assert (np.diff(mwu.iloc[:, 0].to_numpy()) < 0).all()
    ratio = np.log(mwu.iloc[:, 0].to_numpy()) / np.log(t_an.loc[[8, 16, 24]].iloc[:, 0].to_numpy())
    assert ((ratio > 1.0) & (ratio < 1.12)).all()  # Mann-Whitney needs a little more (ARE 0.955, exact p at n = 8)


def test_mde_from_a_variability_table():
    sds = pd.DataFrame({"motif": range(5), "sd": [0.1, 0.2, 0.3, 0.4, 0.5]})
    t = pw.minimum_detectable_effect(sds, n=(8, 16), test="t")
    assert list(t.attrs["sd"]) == ["low", "median", "high"]
    assert t.attrs["sd"]["median"] == pytest.approx(0.3)
    row = t.loc[8].to_numpy()
    assert (np.diff(row) > 0).all()  # more variable motifs need larger effects
    named = pw.minimum_detectable_effect({"a": 0.2}, n=8, test="t")
    assert named.columns.tolist() == ["a (SD 0.20)"]


def _table(n_per_group: int, sd: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for g in ("A", "B"):
        for a in range(n_per_group):
            for s in range(2):
                rows.append({"session": f"{g}{a}_{s}", "subject": f"{g}{a}", "group": g, "motif": 0, "metric": "usage",
                             "value": float(np.exp(rng.normal(np.log(0.1), sd)))})
    return pd.DataFrame(rows)


def test_between_animal_sd_recovers_a_known_spread():
    table = _table(200, 0.3)
    out = pw.between_animal_sd(table)
    # two sessions of one animal are independent draws here, so the animal mean has ~sd / sqrt(2) on the log scale
    assert out.loc[0, "sd"] == pytest.approx(0.3 / np.sqrt(2), rel=0.12)
    assert {"sd_A", "sd_B", "n_animals", "geo_mean", "zeros"} <= set(out.columns)
    zero = table.copy()
    zero.loc[zero["subject"] == "A0", "value"] = 0.0
    with pytest.warns(DataWarning, match="were 0"):
        assert pw.between_animal_sd(zero).loc[0, "zeros"] == 1
    with pytest.raises(ParameterError, match="no rows of metric"):
        pw.between_animal_sd(table, metric="bout_rate")


def test_labels_variability_uses_the_label_set():
    from behavnb.synth.labels import label_cohort

    labels, sessions = label_cohort(animals_per_group=4, sessions_per_animal=1, duration_s=60.0, seed=2)
    lab = labels.merge(sessions[["session", "subject", "group"]], on="session")
    lab["motif"] = lab["motif"] + 1  # numbered 1..8, as BehaviorFlow's clusters are
    lab.loc[lab["frame"] < 10, "motif"] = -1  # missing frames
    out = pw.labels_variability(lab)
    assert set(out["motif"]) <= set(range(1, 9)) and 0 not in set(out["motif"])
    assert (out["sd"] > 0).all()


def test_rate_test_shape_and_detects_more_entries():
    from behavnb.stats.tables import animal_table
    from behavnb.synth.labels import label_cohort
    from behavnb.synth.programs import Effects

    labels, sessions = label_cohort(animals_per_group=6, sessions_per_animal=2, duration_s=120.0,
                                    effects={"KO": Effects(usage={"rear": 3.0})}, seed=4)
    table = animal_table(labels, sessions, 8, fps=30.0)
    res = rate_test(table, groups=["WT", "KO"])
    assert len(res) == 8 and res["motif"].tolist() == list(range(8))
    from behavnb.stats.compare import RESULT_COLUMNS

    for c in ("metric", "n_WT", "n_KO", "mean_WT", "mean_KO", "rate_WT", "rate_KO", "rate_ratio", *RESULT_COLUMNS):
        assert c in res
    assert (res["metric"] == "entry_rate").all() and (res["n_WT"] == 6).all()
    assert (res["rate_KO"] <= res["mean_KO"] + 1e-12).all()  # geometric <= arithmetic mean
    assert (res["ci_low"] <= res["effect"]).all() and (res["effect"] <= res["ci_high"]).all()
    rear = res.set_index("motif").loc[5]
    assert rear["rate_ratio"] > 1.5 and rear["p"] < 0.01
    mwu = rate_test(table, groups=["WT", "KO"], test="mann-whitney")
    assert mwu["test"].iloc[0].startswith("Mann-Whitney") and mwu["p"].between(0, 1).all()
    # pooled rate = all bouts over all minutes of the animal, counted from the labels themselves
    per = entry_rates(table)
    one = per[(per["subject"] == "KO_01") & (per["motif"] == 5)].iloc[0]
    lab = labels[labels["session"].str.startswith("KO_01_")].sort_values(["session", "frame"])
    m = lab["motif"].to_numpy()
    starts = np.r_[True, (m[1:] != m[:-1]) | (lab["session"].to_numpy()[1:] != lab["session"].to_numpy()[:-1])]
    assert one["bouts"] == int((starts & (m == 5)).sum())
    assert one["minutes"] == pytest.approx(4.0)


def test_compare_rate_option_is_rate_test_with_a_methods_paragraph():
    from behavnb.stats import compare, methods_text
    from behavnb.stats.tables import animal_table
    from behavnb.synth.labels import label_cohort
    from behavnb.synth.programs import Effects

    labels, sessions = label_cohort(animals_per_group=5, sessions_per_animal=2, duration_s=120.0,
                                    effects={"KO": Effects(usage={"rear": 3.0})}, seed=2)
    table = animal_table(labels, sessions, 8, fps=30.0)
    res = compare(table, groups=["WT", "KO"], test="rate")
    direct = rate_test(table, groups=["WT", "KO"])
    pd.testing.assert_series_equal(res.table["p"], direct["p"])
    pd.testing.assert_series_equal(res.table["q"], direct["q"])
    assert res.info["test"] == "rate" and res.info["metrics"] == ["entry_rate"] and res.info["n"] == {"WT": 5, "KO": 5}
    assert res.table["in_family"].all() and res.info["n_tests"] == 8
    text = methods_text(res)
    assert "log entry rates" in text and "log2 rate ratios" in text and "bout duration alone is not detected" in text
    assert "WT (n = 5)" in text and "8 tests" in text
    with pytest.raises(ParameterError, match="two groups"):
        compare(table.assign(group=table["subject"].str[:3].where(table["subject"] < "WT_03", "XX")), test="rate")
    with pytest.raises(ParameterError, match="'rate'"):
        compare(table, test="poisson")


@pytest.mark.parametrize("call", [
    lambda: pw.power(n=1, progress=False),
    lambda: pw.power(n=8, effect=0.0, progress=False),
    lambda: pw.power(n=8, effect=-1.5, progress=False),
    lambda: pw.power(n=8, motif="dance", progress=False),
    lambda: pw.power(n=8, motif=8, progress=False),
    lambda: pw.power("bayes", n=8, progress=False),
    lambda: pw.power(n=8, sd=0.2, effect=0, progress=False),
    lambda: pw.power(n=8, sd=-0.2, effect=1.2, progress=False),
    lambda: pw.power(n=8, n_cohorts=0, progress=False),
    lambda: pw.oracle_power(1),
    lambda: pw.oracle_power(8, motif="fly"),
    lambda: pw.minimum_detectable_effect(0.2, n=(1, 8)),
    lambda: pw.minimum_detectable_effect(0.0),
    lambda: pw.minimum_detectable_effect(0.2, power=0.01),
    lambda: pw.standardized_effect(8, test="mann-whitney", method="analytic"),
    lambda: rate_test(_table(3, 0.2), groups=["A", "B"]),
])
def test_bad_inputs_raise_behavnb_errors(call):
    with pytest.raises(BehavnbError):
        call()


def test_cohort_table_equals_animal_table():
    from behavnb.stats.tables import animal_table
    from behavnb.synth.labels import label_cohort

    labels, sessions = label_cohort(animals_per_group=3, sessions_per_animal=2, duration_s=60.0, effects="default",
                                    seed=9)
    a = animal_table(labels, sessions, 8, fps=30.0)
    b = pw.cohort_table(labels, sessions, 8, fps=30.0)
    assert sorted(a.columns) == sorted(b.columns)
    key = ["session", "motif", "metric"]
    m = a.merge(b, on=key, suffixes=("_a", "_b"), validate="one_to_one")
    assert len(m) == len(a) == len(b)
    np.testing.assert_allclose(m["value_a"], m["value_b"], rtol=1e-12, equal_nan=True)
    assert (m["subject_a"] == m["subject_b"]).all() and (m["group_a"] == m["group_b"]).all()
    with pytest.raises(ParameterError, match="label_cohort output"):
        pw.cohort_table(labels.assign(motif=-1), sessions, 8)
