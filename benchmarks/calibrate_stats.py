"""Calibration of the group statistics: error rates of the tests, and coverage of the effect-size intervals.

    python benchmarks/calibrate_stats.py rates [--cohorts 200]
    python benchmarks/calibrate_stats.py coverage [--sims 1000] [--boot 2000] [--n 8 16] [--out coverage.csv]

``rates``: the false-positive rate at alpha = 0.05 under the null (per-motif animal-level test, the same test with
sessions as units, and the repertoire PERMANOVA) on ``synth.label_cohort`` cohorts (8 animals per group, 2 sessions
each), and the power for a +30 % usage effect on one motif (rear: its entry probability x 1.3 in the second
group), each with its 95 % Monte Carlo interval (``stats.summarize_error_rates``) and the time taken.

``coverage``: how often the 95 % interval of each effect size (Hedges' g, log2 fold change, Cliff's delta) and
each method of ``stats.bootstrap_ci`` (percentile, BCa, t, bootstrap-t) contains the true value, over ``--sims``
simulated two-group samples per case: normal (mean 1, SD 0.3) and lognormal (log-SD 0.5, CV 0.53) per-animal
values, 8 and 16 animals per group, and the group ratios used in behavnb (1: null; 1.3: the calibration's
planted usage effect; 1.8: the demo's rearing effect). True values: log2 of the ratio of means; d = difference
of means / root mean square of the group SDs; delta = 2 Phi(shift / (scale sqrt 2)) - 1 on the (log) scale where
the groups differ by a shift. The Monte Carlo standard error of a coverage near 0.95 is 0.007 at 1,000 sims.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
from _machine import machine
from scipy.stats import norm

DISTRIBUTIONS = {"normal": 0.3, "lognormal": 0.5}   # SD (normal, mean 1) or log-SD (lognormal)
RATIOS = (1.0, 1.3, 1.8)


def truths(dist: str, ratio: float) -> dict[str, float]:
    """The population values that the three effect sizes estimate, for groups a (mean 1) and b (mean ``ratio``)."""
    s = DISTRIBUTIONS[dist]
    if dist == "normal":
        d = (ratio - 1) / s
        delta = 2 * norm.cdf((ratio - 1) / (s * np.sqrt(2))) - 1
    else:
        mu_a = -s**2 / 2                                          # mean of a = 1
        va = (np.exp(s**2) - 1) * np.exp(2 * mu_a + s**2)
        d = (ratio - 1) / np.sqrt((va + va * ratio**2) / 2)         # SD scales with the mean
        delta = 2 * norm.cdf(np.log(ratio) / (s * np.sqrt(2))) - 1
    return {"hedges_g": float(d), "log2_fold_change": float(np.log2(ratio)), "cliffs_delta": float(delta)}


def draw(rng: np.random.Generator, dist: str, ratio: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    s = DISTRIBUTIONS[dist]
    if dist == "normal":
        return rng.normal(1.0, s, n), rng.normal(ratio, s, n)
    mu = -s**2 / 2
    return rng.lognormal(mu, s, n), rng.lognormal(mu + np.log(ratio), s, n)


def coverage(n_sims: int = 1000, n_boot: int = 2000, sizes=(8, 16), seed: int = 0, level: float = 0.95,
             progress: bool = True) -> pd.DataFrame:
    """One row per (distribution, n, ratio, effect, method): coverage, misses below/above, median width."""
    from tqdm.auto import tqdm

    from behavnb.stats.effects import CI_METHODS, EFFECTS, bootstrap_ci

    rows = []
    cases = [(d, n, r) for d in DISTRIBUTIONS for n in sizes for r in RATIOS]
    for ci, (dist, n, ratio) in enumerate(tqdm(cases, desc="cases", disable=not progress)):
        truth = truths(dist, ratio)
        rng = np.random.default_rng([seed, ci])
        res = {(e, m): [] for e in EFFECTS for m in CI_METHODS}
        for s in range(n_sims):
            a, b = draw(rng, dist, ratio, n)
            for e in EFFECTS:
                for m in CI_METHODS:
                    res[(e, m)].append(bootstrap_ci(a, b, e, n_boot=n_boot, level=level, seed=s, method=m)[1:])
        for (e, m), ci_ in res.items():
            lo, hi = np.array(ci_).T
            t = truth[e]
            rows.append({"distribution": dist, "n": n, "ratio": ratio, "effect": e, "method": m, "truth": t,
                         "coverage": float(np.mean((lo <= t) & (t <= hi))), "below": float(np.mean(hi < t)),
                         "above": float(np.mean(lo > t)), "width": float(np.nanmedian(hi - lo)),
                         "no_interval": float(np.mean(~np.isfinite(lo) | ~np.isfinite(hi))), "sims": n_sims})
    return pd.DataFrame(rows)


def coverage_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per effect, method and n: the lowest and the mean coverage over the cases (distributions x ratios)."""
    return (table.groupby(["effect", "method", "n"])["coverage"].agg(["min", "mean"]).unstack("n")
            .round(3))


def markdown(table: pd.DataFrame, index: bool = True) -> str:
    """A DataFrame as a Markdown table (no tabulate needed); column tuples are joined with " "."""
    t = table.reset_index() if index else table
    cols = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in t.columns]
    fmt = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in t.itertuples(index=False)]
    return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + ["| " + " | ".join(r) + " |" for r in fmt])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command")
    r = sub.add_parser("rates", help="false-positive rate and power of the tests")
    r.add_argument("--cohorts", type=int, default=200)
    c = sub.add_parser("coverage", help="coverage of the effect-size intervals")
    c.add_argument("--sims", type=int, default=1000)
    c.add_argument("--boot", type=int, default=2000)
    c.add_argument("--n", type=int, nargs="+", default=[8, 16])
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", default=None, help="write the full table to this CSV")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    if args.command == "coverage":
        t0 = time.perf_counter()
        table = coverage(args.sims, args.boot, tuple(args.n), seed=args.seed)
        print(f"{args.sims} simulations per case, {args.boot} resamples, {time.perf_counter() - t0:.0f} s")
        if args.out:
            table.to_csv(args.out, index=False)
        wide = table.pivot_table(index=["effect", "method"], columns=["distribution", "n", "ratio"], values="coverage")
        print(markdown(wide))
        print()
        print(markdown(coverage_summary(table)))
        return
    rates(getattr(args, "cohorts", 200))


def rates(cohorts: int) -> None:
    from behavnb import stats
    from behavnb.synth import MOTIFS, Effects

    t0 = time.perf_counter()
    null = stats.error_rates(cohorts, effects="null", progress=False)
    t_null = time.perf_counter() - t0
    t0 = time.perf_counter()
    rear = MOTIFS.index("rear")
    power = stats.error_rates(cohorts, effects={"KO": Effects(usage={"rear": 1.3})}, target_motif=rear,
                              seed=10_000, progress=False)
    t_power = time.perf_counter() - t0
    summary = pd.concat([stats.summarize_error_rates(null).assign(scenario="null"),
                         stats.summarize_error_rates(power).assign(scenario="rear usage x 1.3")], ignore_index=True)
    print(markdown(summary, index=False))
    out = {"cohorts": cohorts, "seconds_null": round(t_null, 1), "seconds_power": round(t_power, 1)}
    out.update({f"{s}:{q}": [round(v, 4), round(lo, 4), round(hi, 4)] for s, q, v, lo, hi in
                summary[["scenario", "quantity", "rate", "ci_low", "ci_high"]].itertuples(index=False)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
