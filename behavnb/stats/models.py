"""Subject-aware regression models: a linear mixed model per motif (random intercept per subject, repeated
sessions kept as sessions), and a GEE for counts with exposure; each falls back with a warning, never a
silent NaN.

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...).

Scales: usage fractions are analysed on the logit scale (empirical logit, zeros shifted by half the smallest
non-zero fraction), durations and rates on the log scale, counts by a GEE with a log link and the session's
minutes as exposure (Poisson mean with robust, subject-clustered errors; ``negative_binomial`` for the
NB2 family with dispersion 1; the robust errors keep the test valid when that dispersion is off).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from behavnb.errors import DataWarning, ParameterError
from behavnb.stats.nonparametric import mann_whitney

SCALES = {"usage": "logit", "mean_bout_s": "log", "bout_rate": "log", "bout_count": "log"}


def transform(values: np.ndarray, scale: str) -> np.ndarray:
    v = np.asarray(values, float)
    pos = v[v > 0]
    eps = 0.5 * pos.min() if len(pos) else 1e-6
    if scale == "logit":
        return np.log((v + eps) / (1 - v + eps))
    if scale == "log":
        return np.log(v + eps)
    return v


def _reraise_unexpected(caught: list, *expected: type[Warning]) -> list:
    """Warnings recorded around a fit: those of the ``expected`` categories (cases the caller handles) are
    returned; every other one is issued again, so that a real problem still shows."""
    handled = []
    for w in caught:
        if expected and issubclass(w.category, expected):
            handled.append(w)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return handled


def _formula(reference: str, covariates: Sequence[str], interaction: str | None) -> str:
    g = f"C(group, Treatment(reference={reference!r}))"
    terms = [g] + [f"C({c})" if c != "time_bin" else c for c in covariates]
    if interaction:
        terms.append(f"{g}:{interaction}")
    return "y ~ " + " + ".join(terms)


def mixed_model(table: pd.DataFrame, *, reference: str | None = None, covariates: Sequence[str] = (),
                interaction: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Per (metric, motif): a mixed model of the transformed per-session value, random intercept per subject.

    Parameters
    ----------
    table : DataFrame
        ``animal_table``'s long table (per session).
    reference : str, optional
        The reference group; None: the first.
    covariates : sequence of str
        Further fixed effects (columns of ``table``).
    interaction : str, optional
        A variable whose interaction with group is modelled (e.g. ``time_bin``).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        metric, motif, term, estimate, ci_low, ci_high, p, scale, model ("MixedLM" or the fallback used),
        n_subjects, n_sessions, note. A covariate (or the interaction variable) with a single value in a row's data
        is not estimable: it is left out of that row's model, and ``note`` says so.
    """
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    for c in ("group", "subject", "value", "metric", "motif", *covariates):
        if c not in table:
            raise ParameterError(f"the table has no {c!r} column (it has {list(table.columns)}).")
    groups = sorted(table["group"].astype(str).unique())
    reference = reference or groups[0]
    if reference not in groups:
        raise ParameterError(f"reference group {reference!r} is not among {groups}.")
    rows, fallbacks, skipped = [], [], []
    for (metric, motif), d in table.groupby(["metric", "motif"], sort=True):
        d = d.dropna(subset=["value"]).copy()
        scale = SCALES.get(metric, "identity")
        d["y"] = transform(d["value"].to_numpy(), scale)
        d["group"] = d["group"].astype(str)
        # a covariate with one value (e.g. one time bin in a short pilot) makes the design singular: left out, said
        constant = [c for c in dict.fromkeys([*covariates, *([interaction] if interaction else [])])
                    if c in d and d[c].nunique(dropna=True) < 2]
        formula = _formula(reference, [c for c in covariates if c not in constant],
                           interaction if interaction not in constant else None)
        base = {"metric": metric, "motif": motif, "scale": scale, "n_subjects": d["subject"].nunique(),
                "n_sessions": len(d),
                "note": (f"not estimable, left out of the model: {', '.join(constant)} has a single value"
                         + (f" (so no group x {interaction} term)" if interaction in constant else "")) if constant else ""}
        present = sorted(set(d["group"]))
        if reference not in present or len(present) < 2:  # e.g. a motif no animal of one group ever used
            skipped.append(f"{metric} motif {motif} (values only for {present or 'no group'})")
            continue
        n_subj = d.groupby("group")["subject"].nunique()
        if (n_subj < 2).any():  # one animal cannot show how animals of its group vary
            skipped.append(f"{metric} motif {motif} (animals per group {n_subj.to_dict()})")
            continue
        fit, why = None, ""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = smf.mixedlm(formula, d, groups=d["subject"]).fit(reml=True)
            except (np.linalg.LinAlgError, ValueError) as exc:
                why = f"{type(exc).__name__}: {exc}"
        bad = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        if fit is not None and not bad and np.isfinite(fit.bse).all() and fit.converged:
            ci = fit.conf_int(alpha=1 - level)
            for term in fit.params.index:
                if term.startswith("C(group"):
                    rows.append({**base, "term": term, "estimate": fit.params[term], "ci_low": ci.loc[term, 0],
                                 "ci_high": ci.loc[term, 1], "p": fit.pvalues[term], "model": "MixedLM"})
            continue
        why = why or ("did not converge" if fit is None or not fit.converged else
                      "singular fit (random-intercept variance at the boundary)" if bad else "non-finite standard errors")
        fallbacks.append(f"{metric} motif {motif} ({why})")
        try:
            gee = smf.gee(formula, "subject", d).fit()
            ci = gee.conf_int(alpha=1 - level)
            for term in gee.params.index:
                if term.startswith("C(group"):
                    rows.append({**base, "term": term, "estimate": gee.params[term], "ci_low": ci.loc[term, 0],
                                 "ci_high": ci.loc[term, 1], "p": gee.pvalues[term], "model": "GEE (fallback)"})
        except Exception as exc:  # the last resort: the animal-level rank test, still a real p-value
            per = d.groupby(["subject", "group"])["y"].mean().reset_index()
            for g in groups:
                if g == reference:
                    continue
                a, b = per.loc[per["group"] == reference, "y"], per.loc[per["group"] == g, "y"]
                _, p = mann_whitney(a, b)
                rows.append({**base, "term": f"group[{g}]", "estimate": float(b.mean() - a.mean()), "ci_low": np.nan,
                             "ci_high": np.nan, "p": p, "model": f"Mann-Whitney (fallback; GEE failed: {exc})"})
    if skipped:
        warnings.warn(f"{len(skipped)} row(s) have values in fewer than two groups, or a group with fewer than 2 "
                      f"animals, and get no group estimate: "
                      f"{'; '.join(skipped[:6])}{' …' if len(skipped) > 6 else ''}.", DataWarning, stacklevel=2)
    if fallbacks:
        warnings.warn(f"the mixed model failed for {len(fallbacks)} of {table.groupby(['metric', 'motif']).ngroups} "
                      f"rows, which use a GEE with subject clusters instead (column 'model'): "
                      f"{'; '.join(fallbacks[:6])}{' …' if len(fallbacks) > 6 else ''}. Singular fits are common with "
                      f"one or two sessions per animal (no measurable between-animal variance).", DataWarning, stacklevel=2)
    return pd.DataFrame(rows, columns=["metric", "motif", "scale", "n_subjects", "n_sessions", "term", "estimate",
                                       "ci_low", "ci_high", "p", "model", "note"])


def gee_counts(table: pd.DataFrame, *, reference: str | None = None, family: str = "poisson",
               exposure_column: str = "minutes", level: float = 0.95) -> pd.DataFrame:
    """Per motif: GEE of bout counts on group, log link, log(exposure) offset, subject clusters (exchangeable).

    A motif where a group has no bout at all is not fitted: its rate ratio is 0 or infinite (the fit would
    report an arbitrary 1e10 after warnings), so its row has NaN numbers and a ``note`` that says so.

    Parameters
    ----------
    table
        Per-session rows: motif, subject, group, ``value`` (bout count) and the exposure column.
    reference
        The reference group (default: the first name in sorted order).
    family
        "poisson" or "negative_binomial" (NB2, dispersion 1).
    exposure_column
        Minutes recorded per session.
    level
        Confidence level of the rate ratio's interval.

    Returns
    -------
    pandas.DataFrame
        motif, term, rate_ratio, ci_low, ci_high, p, model, note ("" or why the row is not estimable).
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    if exposure_column not in table:
        raise ParameterError(f"the count table needs an exposure column {exposure_column!r} (minutes per session).")
    if family not in ("poisson", "negative_binomial"):
        raise ParameterError(f"family must be 'poisson' or 'negative_binomial', not {family!r}.")
    fam = sm.families.Poisson() if family == "poisson" else sm.families.NegativeBinomial(alpha=1.0)
    groups = sorted(table["group"].astype(str).unique())
    reference = reference or (groups[0] if groups else None)
    columns = ["motif", "term", "rate_ratio", "ci_low", "ci_high", "p", "model", "note"]
    n_subj = table.groupby(table["group"].astype(str))["subject"].nunique()
    if len(groups) < 2 or (n_subj < 2).any():
        warnings.warn(f"bout counts are not modelled: animals per group {n_subj.to_dict()}; the GEE needs two or more "
                      f"groups of at least 2 animals.", DataWarning, stacklevel=2)
        return pd.DataFrame(columns=columns)
    rows = []
    for motif, d in table.groupby("motif", sort=True):
        d = d.assign(group=d["group"].astype(str), y=d["value"].astype(float))
        totals = d.groupby("group")["y"].sum()
        empty = [g for g in groups if totals.get(g, 0) <= 0]
        if empty:  # all-zero group: the rate ratio is 0 or infinite, not estimable
            model = f"GEE {family}, log link, exposure offset"
            note = (f"not estimable: no bout in group(s) {', '.join(map(repr, empty))}")
            for g in groups:
                if g != reference:
                    rows.append({"motif": motif, "term": f"C(group, Treatment(reference={reference!r}))[T.{g}]",
                                 "rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan,
                                 "model": model, "note": note})
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = smf.gee(_formula(reference, (), None), "subject", d, family=fam,
                          offset=np.log(d[exposure_column].to_numpy(float)),
                          cov_struct=sm.cov_struct.Exchangeable()).fit()
        expected = _reraise_unexpected(caught, PerfectSeparationWarning)
        terms = [t for t in fit.params.index if t.startswith("C(group")]
        if expected or not all(np.isfinite(fit.bse[t]) and fit.bse[t] > 0 for t in terms):
            # e.g. every animal of each group with the same count: a perfect fit, robust SE 0, p = 0 would be a lie
            for term in terms:
                rows.append({"motif": motif, "term": term, "rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                             "p": np.nan, "model": f"GEE {family}, log link, exposure offset",
                             "note": "not estimable: the counts fit perfectly (no spread within groups, robust SE 0)"})
            continue
        ci = fit.conf_int(alpha=1 - level)
        for term in terms:
            if term.startswith("C(group"):
                rows.append({"motif": motif, "term": term, "rate_ratio": float(np.exp(fit.params[term])),
                             "ci_low": float(np.exp(ci.loc[term, 0])), "ci_high": float(np.exp(ci.loc[term, 1])),
                             "p": float(fit.pvalues[term]), "model": f"GEE {family}, log link, exposure offset",
                             "note": ""})
    return pd.DataFrame(rows, columns=columns)
