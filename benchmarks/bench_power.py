"""Power of the default group test against the oracle, the rate test, and minimum-detectable-effect tables (step 11).

    BEHAVNB_DATA_DIR=/work/shared/data python benchmarks/bench_power.py [--cohorts 200] [--oracle-cohorts 4000]
        [--n 8 16] [--sections oracle power small mde] [--out power.json]

Sections (``behavnb.stats.power``; every rate with its 95 % Wilson Monte Carlo interval):

- ``oracle``: power of a t-test on each simulated animal's *true* log usage of rear (and on its true log bout entry
  rate, and Mann-Whitney on true usage), for the generator's planted effect (``DEFAULT_EFFECTS``: rear entries
  x 1.8 in KO) and for rear entries x 1.3, at each ``--n``.
- ``power``: the default test (``compare``: Mann-Whitney on per-animal usage, 2 sessions of 5 min per animal), Welch
  on log usage, the rate tests (Welch on log entry rate, Mann-Whitney on entry rate, Poisson GEE with exposure) on
  ``--cohorts`` planted-effect cohorts and ``--cohorts`` null cohorts per n (all tests on the same cohorts); the
  goal check: default power >= 0.9 x the usage oracle, default FPR in [0.03, 0.07].
- ``small``: the same tests at rear entries x 1.3 (no null: it is the same as above), where the gap to the oracle
  shows; with the parametric prediction from the generator's observed between-animal SD.
- ``paired`` (not run by default): the default and the rate test alone on ``--paired-cohorts`` planted-effect and
  null cohorts per n, for tighter rates and McNemar's exact test on the cohorts where only one of them rejects.
- ``length`` (not run by default): the default test and Welch on log usage at n = 8 with 2 sessions of 5 and of
  20 min per animal: the part of the gap to the oracle that is recording noise.
- ``mde``: minimum detectable effects (80 % power, alpha 0.05, n = 8, 12, 16, 24) for usage and entry rate, from
  the generator's between-animal SD (one null cohort of 1,000 + 1,000 animals, 2 x 5 min) and from BehaviorFlow's
  CSI/Control labels (59 mice, one 9.75 min session each, 25 k-means clusters), for the default test
  (Mann-Whitney, by simulation) and the t-test (analytic).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import pandas as pd
from _machine import machine

from behavnb.errors import BehavnbError, DataWarning

TESTS = ["default", "welch-log-usage", "rate", "rate-mwu", "gee-poisson"]
GENERATOR_ANIMALS = 1000  # per group, for the generator's between-animal SD (500 left +-0.01 between seeds)


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", double_precision=4))


def oracle_section(out: dict, ns: list[int], cohorts: int) -> None:
    from behavnb.stats.power import oracle_power

    out["oracle"] = {}
    for label, effect in (("planted (DEFAULT_EFFECTS)", "default"), ("rear entries x 1.3", 1.3)):
        out["oracle"][label] = {n: _records(oracle_power(n, effect=effect, n_cohorts=cohorts, seed=100 + n)) for n in ns}


def power_section(out: dict, ns: list[int], cohorts: int) -> None:
    from behavnb.stats.power import power

    out["power"] = {}
    for n in ns:
        t0 = time.perf_counter()
        res = power(TESTS, n=n, effect="default", n_cohorts=cohorts, seed=1000 + n)
        out["power"][n] = {"seconds": round(time.perf_counter() - t0, 1), "rows": _records(res)}
        print(res.to_string(), flush=True)
    goal = {}
    for n in ns:
        rows = pd.DataFrame(out["power"][n]["rows"])
        d = rows[(rows["test"] == "default")].set_index("measure")
        orc = pd.DataFrame(out.get("oracle", {}).get("planted (DEFAULT_EFFECTS)", {}).get(n, []))
        if len(orc):
            o = float(orc.loc[orc["oracle"] == "usage (t on log)", "rate"].iloc[0])
            goal[n] = {"default_power": d.loc["power", "rate"], "ci": [d.loc["power", "ci_low"], d.loc["power", "ci_high"]],
                       "oracle_usage_t": o, "ratio": d.loc["power", "rate"] / o,
                       "ratio_ci": [d.loc["power", "ci_low"] / o, d.loc["power", "ci_high"] / o],
                       "met_power": bool(d.loc["power", "rate"] >= 0.9 * o),
                       "fpr_target": d.loc["fpr", "rate"], "fpr_all_motifs": d.loc["fpr_all_motifs", "rate"],
                       "met_fpr": bool(0.03 <= d.loc["fpr_all_motifs", "rate"] <= 0.07)}
    out["goal"] = goal


def small_section(out: dict, ns: list[int], cohorts: int) -> None:
    from behavnb.stats.power import generator_variability, oracle_power, power

    out["small"] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        sd = generator_variability(n_animals=GENERATOR_ANIMALS, seed=7).set_index("name")
        sd_rate = generator_variability(n_animals=GENERATOR_ANIMALS, seed=7, metric="bout_rate").set_index("name")
    for n in ns:
        t0 = time.perf_counter()
        res = power(TESTS, n=n, effect=1.3, null=False, n_cohorts=cohorts, seed=2000 + n)
        orc = oracle_power(n, effect=1.3, n_cohorts=2000, seed=300 + n)
        ratio = float(orc["true_ratio"].iloc[0])
        pred = power(["mann-whitney", "t"], n=n, effect=ratio, sd=float(sd.loc["rear", "sd"]), n_cohorts=20000,
                     null=False, seed=n)
        pred_rate = power(["t"], n=n, effect=float(orc["true_ratio"].iloc[2]), sd=float(sd_rate.loc["rear", "sd"]),
                          n_cohorts=20000, null=False, seed=n)
        out["small"][n] = {"seconds": round(time.perf_counter() - t0, 1), "rows": _records(res),
                           "true_usage_ratio": ratio, "observed_sd_log_usage_rear": float(sd.loc["rear", "sd"]),
                           "observed_sd_log_rate_rear": float(sd_rate.loc["rear", "sd"]),
                           "parametric_prediction_usage": _records(pred),
                           "parametric_prediction_rate_t": _records(pred_rate)}
        print(res.to_string(), flush=True)


def paired_section(out: dict, ns: list[int], cohorts: int) -> None:
    """The default and the rate test on the same, more numerous cohorts: tighter rates, and the discordant cohorts
    (one test rejects, the other not) with McNemar's exact test of "same power"."""
    from scipy.stats import binomtest

    from behavnb.stats.power import power
    from behavnb.synth.programs import MOTIFS

    out["paired"] = {}
    rear = MOTIFS.index("rear")
    for n in ns:
        t0 = time.perf_counter()
        res = power(["default", "rate"], n=n, effect="default", n_cohorts=cohorts, seed=5000 + n)
        pv = res.attrs["p_values"]
        wide = pv[pv["motif"] == rear].pivot_table(index=["scenario", "cohort"], columns="test", values="p") < 0.05
        disc = {}
        for scenario, w in wide.groupby(level="scenario"):
            only_rate, only_default = int((w["rate"] & ~w["default"]).sum()), int((~w["rate"] & w["default"]).sum())
            p = binomtest(only_rate, only_rate + only_default).pvalue if only_rate + only_default else 1.0
            disc[scenario] = {"only_rate": only_rate, "only_default": only_default, "mcnemar_exact_p": float(p)}
        out["paired"][n] = {"seconds": round(time.perf_counter() - t0, 1), "rows": _records(res), "discordant": disc}
        print(res.to_string(), "\n", disc, flush=True)


def length_section(out: dict, ns: list[int], cohorts: int) -> None:
    """The default test's power against recording length (2 sessions per animal): how much of its gap to the
    oracle is recording noise."""
    from behavnb.stats.power import power

    out["length"] = {}
    for n in ns:
        for minutes in (5, 20):
            res = power(["default", "welch-log-usage"], n=n, effect="default", duration_s=60.0 * minutes, null=False,
                        n_cohorts=cohorts, seed=3000 + n)
            out["length"][f"n={n}, 2 x {minutes} min"] = _records(res)
            print(n, minutes, res.to_string(), flush=True)


def _behaviorflow_labels() -> pd.DataFrame:
    import behavnb as bn

    return bn.manifest.load_labels("behaviorflow-csi-labels")


def mde_section(out: dict) -> None:
    from behavnb.stats.power import generator_variability, labels_variability, minimum_detectable_effect

    out["mde"] = {}
    sources = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for metric in ("usage", "bout_rate"):
            sources[("generator", metric)] = generator_variability(n_animals=GENERATOR_ANIMALS, seed=7, metric=metric)
        try:
            labels = _behaviorflow_labels()
        except BehavnbError as exc:  # the real labels are not on this machine
            print(f"BehaviorFlow labels not available ({exc}); skipping them")
            labels = None
        if labels is not None:
            for metric in ("usage", "bout_rate"):
                sources[("behaviorflow", metric)] = labels_variability(labels, metric=metric)
    for (source, metric), sd in sources.items():
        key = f"{source} {metric}"
        entry = {"sd_quantiles": {q: round(float(sd["sd"].quantile(q)), 4) for q in (0, 0.25, 0.5, 0.75, 1)},
                 "n_motifs": len(sd), "sd_per_motif": _records(sd)}
        for test in ("mann-whitney", "t"):
            table = minimum_detectable_effect(sd, test=test, n_sim=20000)
            entry[test] = {"table": json.loads(table.round(3).to_json(orient="index")),
                           "d": {int(k): round(v, 4) for k, v in table.attrs["d"].items()}}
            print(key, test, "\n", table.round(2).to_string(), flush=True)
        out["mde"][key] = entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cohorts", type=int, default=200, help="simulated cohorts per scenario and n")
    ap.add_argument("--oracle-cohorts", type=int, default=4000, help="oracle cohorts per effect and n")
    ap.add_argument("--n", type=int, nargs="+", default=[8, 16], help="animals per group")
    ap.add_argument("--paired-cohorts", type=int, default=1000, help="cohorts per scenario of the paired section")
    ap.add_argument("--sections", nargs="+", default=["oracle", "power", "small", "mde"],
                    choices=["oracle", "power", "small", "mde", "paired", "length"])
    ap.add_argument("--out", default=None, help="write the results as JSON here (also after each section)")
    args = ap.parse_args()
    out = {"machine": machine(), "args": vars(args)}
    print(out["machine"], flush=True)
    t0 = time.perf_counter()
    runs = {"oracle": lambda: oracle_section(out, args.n, args.oracle_cohorts),
            "power": lambda: power_section(out, args.n, args.cohorts),
            "small": lambda: small_section(out, args.n, args.cohorts),
            "mde": lambda: mde_section(out),
            "paired": lambda: paired_section(out, args.n, args.paired_cohorts),
            "length": lambda: length_section(out, [8], args.cohorts)}
    for name in args.sections:
        s0 = time.perf_counter()
        runs[name]()
        out.setdefault("seconds", {})[name] = round(time.perf_counter() - s0, 1)
        print(f"[{name}: {out['seconds'][name]} s]", flush=True)
        if args.out:
            with open(args.out, "w") as fh:
                json.dump(out, fh, indent=1, default=float)
    out["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    print(json.dumps({k: v for k, v in out.items() if k in ("goal", "seconds")}, indent=1, default=float))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
