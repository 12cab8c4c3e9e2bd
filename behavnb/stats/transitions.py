"""Group differences in transitions: permute group labels across *animals* (never sessions), test the whole
matrix (distance between the group mean matrices) and every edge (difference in probability), with FDR over
the edges.

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...): it
tests ``hierarchy``'s transition counts between groups.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError
from behavnb.stats.multitest import adjust


def subject_probabilities(counts, sessions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Pool each subject's sessions' counts ``(recording, from, to)`` and normalise: ``(P, seen, subjects, groups)``
    with ``seen[s, i]`` False where subject s never left motif i (no estimate there)."""
    meta = sessions.assign(session=sessions["session"].astype(str)).set_index("session")
    rec_sessions = [str(s) for s in counts["session"].values]
    missing = sorted(set(rec_sessions) - set(meta.index))
    if missing:
        raise ParameterError(f"sessions {missing[:10]} of the transition counts have no row in the sessions table.")
    subj = [str(meta.loc[s, "subject"]) if "subject" in meta else s for s in rec_sessions]
    subjects = sorted(set(subj))
    idx = np.array([subjects.index(s) for s in subj])
    c = np.zeros((len(subjects), *counts.shape[1:]))
    np.add.at(c, idx, counts.values.astype(float))
    rows = c.sum(axis=2, keepdims=True)
    p = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
    group_of = {str(meta.loc[s, "subject"]) if "subject" in meta else s: str(meta.loc[s, "group"]) for s in rec_sessions}
    return p, rows[..., 0] > 0, subjects, [group_of[s] for s in subjects]


def transition_test(counts, sessions: pd.DataFrame, groups: tuple[str, str] | None = None, *, n_perm: int = 10_000,
                    fdr: str = "bh", seed: int = 0, small: str = "raise") -> tuple[dict, pd.DataFrame]:
    """Transition probabilities compared between two groups, the animal as the unit.

    Parameters
    ----------
    counts : xarray.DataArray
        ``hierarchy.transition_counts`` (recording, from_motif, to_motif).
    sessions : DataFrame
        The sessions table (session, subject, group).
    groups : tuple of str, optional
        The two groups, reference first; None: the table's two.
    n_perm : int
        Permutations of the animals' group labels.
    fdr : {"bh", "by"}
        The correction over edges.
    seed : int
        Seed of the permutations.
    small : {"raise", "skip"}
        With fewer than 2 animals in a group: raise, or keep the edges' group means and difference (descriptive)
        with NaN p and q, the summary a NaN p and ``skipped`` saying why.

    Returns
    -------
    tuple of (dict, DataFrame)
        ``summary``: the matrix-level permutation test (Frobenius distance between the group means, p);
        ``edges``: from, to, mean per group, difference, p, q.

    Raises
    ------
    ParameterError
        Not exactly two groups, or (``small="raise"``) a group with fewer than 2 animals.
    """
    if small not in ("raise", "skip"):
        raise ParameterError(f"small must be 'raise' or 'skip', not {small!r}.")
    p, seen, subjects, g = subject_probabilities(counts, sessions)
    names = list(groups) if groups is not None else sorted(set(g))
    if len(names) != 2:
        raise ParameterError(f"the transition test compares two groups; got {names}. Pass groups=(reference, other).")
    keep = np.array([x in names for x in g])
    p, seen, labels = p[keep], seen[keep], np.array([names.index(x) for x in np.array(g)[keep]], dtype=int)
    n = np.bincount(labels, minlength=2)
    skipped = None
    if (n < 2).any():
        sizes = dict(zip(names, n.tolist(), strict=True))
        if small == "raise":
            raise ParameterError(f"group sizes {sizes}: the test needs at least 2 animals per group; pass small='skip' "
                                 f"for the group means alone.")
        skipped = f"group sizes {sizes}: the permutation test needs at least 2 animals per group"
        n_perm = 0
    k = p.shape[1]
    flat, mask = p.reshape(len(p), -1), np.repeat(seen, k, axis=1).astype(float)

    def diffs(lab: np.ndarray) -> np.ndarray:  # lab: (m, n_animals) 0/1 -> (m, k*k) mean_b - mean_a
        wb = lab.astype(float)
        wa = 1.0 - wb
        with np.errstate(invalid="ignore", divide="ignore"):
            mb = (wb @ (flat * mask)) / (wb @ mask)
            ma = (wa @ (flat * mask)) / (wa @ mask)
        return np.nan_to_num(mb - ma)

    obs = diffs(labels[None, :])[0] if len(labels) else np.zeros(k * k)
    rng = np.random.default_rng(seed)
    exceed_edge = np.zeros_like(obs)
    exceed_dist, dist = 0, float(np.sqrt((obs ** 2).sum()))
    done = 0
    while done < n_perm:
        m = min(2000, n_perm - done)
        perm = np.stack([rng.permutation(labels) for _ in range(m)])
        d = diffs(perm)
        exceed_edge += (np.abs(d) >= np.abs(obs) - 1e-12).sum(axis=0)
        exceed_dist += int((np.sqrt((d ** 2).sum(axis=1)) >= dist - 1e-12).sum())
        done += m
    p_edge = (1 + exceed_edge) / (1 + n_perm)
    i, j = np.divmod(np.arange(k * k), k)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a group without animals, or an edge nobody left: NaN mean
        mean = {nm: np.nanmean(np.where(seen[labels == gi][:, :, None], p[labels == gi], np.nan), axis=0).ravel()
                if (labels == gi).any() else np.full(k * k, np.nan) for gi, nm in enumerate(names)}
    edges = pd.DataFrame({"from_motif": i, "to_motif": j, f"mean_{names[0]}": mean[names[0]],
                          f"mean_{names[1]}": mean[names[1]], "difference": obs, "p": p_edge})
    tested = edges["from_motif"] != edges["to_motif"]
    if counts.attrs.get("self_transitions", 1):
        tested[:] = True
    edges.loc[~tested, "p"] = np.nan
    if skipped:
        edges["p"] = np.nan
    edges["q"] = adjust(edges["p"].to_numpy(), fdr)
    summary = {"distance": dist, "p": (1 + exceed_dist) / (1 + n_perm) if not skipped else float("nan"),
               "n_perm": n_perm, "n": dict(zip(names, n.tolist(), strict=True)), "groups": names, "fdr": fdr, "skipped": skipped}
    return summary, edges
