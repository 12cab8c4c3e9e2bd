"""Discrete codes as data: usage, perplexity, dead codes, transitions, agreement with known motifs.

The codes half of the room after ``embed`` in the flow (... train -> embed -> **codes**/segment -> hierarchy
-> stats ...): the hierarchy and the statistics count motifs through it.

Used for VQ-MAP's codebooks (notebook 05), the sequences the code GPT generates and the motif labels of
notebook 06 onwards. Codes are integers; -1 marks a frame or step without a code and is ignored everywhere.

- ``usage``: the fraction of frames each code (motif) takes, per recording of a labels table or pooled over
  an array of codes; ``perplexity`` = exp(entropy of usage), the number of codes in effective use (n_codes if
  used uniformly, 1 if one code takes all);
- ``motif_count``: the number of motifs k, from an explicit argument or the labels' metadata (never the
  largest label + 1); ``check_labels``: a labels table checked and sorted;
- ``dead_fraction``: the share of codes never used;
- ``transitions``: row-normalised code-to-code transition matrix, within sessions only;
- ``js_divergence``: Jensen-Shannon divergence (base 2: 0 = identical, 1 = disjoint);
- ``compare_sequences``: usage and transition statistics of generated against real sequences;
- ``purity``, ``per_motif_usage`` and ``coembedding_similarity``: codes against true motifs (synthetic data);
  ``segment.truth_agreement`` scores a labels table against them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError

KEYS = ["session", "individual"]


def _valid(codes) -> np.ndarray:
    c = np.asarray(codes).ravel()
    return c[c >= 0].astype(np.int64)


def _fractions(codes, n_codes: int) -> np.ndarray:
    """Fraction of (valid) steps taken by each of ``n_codes`` codes (the pooled ``usage``, as an array)."""
    return usage(codes, n_codes)["fraction"].to_numpy()


def motif_count(labels, n_motifs: int | None = None, column: str = "motif") -> int:
    """The number of motifs k of a labels table: ``n_motifs`` when given, else the labels' metadata.

    Parameters
    ----------
    labels : DataFrame or array-like
        A labels table; its ``attrs["n_motifs"]`` (set by ``segment.read_segmentation`` and by a motif
        model's ``predict``) is used when ``n_motifs`` is None and ``column`` is "motif".
    n_motifs : int, optional
        k, explicitly.
    column : str
        The label column the count is for.

    Returns
    -------
    int
        k.

    Raises
    ------
    ParameterError
        Neither ``n_motifs`` nor metadata (k is never guessed from the largest label), or k < 0.
    """
    if n_motifs is None and column == "motif":
        n_motifs = getattr(labels, "attrs", {}).get("n_motifs")
    if n_motifs is None:
        raise ParameterError(f"the number of motifs is not known: pass n_motifs=k for the {column!r} column (a "
                             f"segmentation's k is segment.read_segmentation(folder).n_motifs); it is never taken "
                             f"from the largest label.")
    if int(n_motifs) < 0:
        raise ParameterError(f"n_motifs must be >= 0, not {n_motifs}.")
    return int(n_motifs)


def check_labels(labels: pd.DataFrame, column: str = "motif") -> pd.DataFrame:
    """A labels table checked (session, individual, frame and ``column``) and sorted by recording and frame.

    Parameters
    ----------
    labels : DataFrame
        One row per frame; NA in ``column`` (unlabelled frames of other tools) becomes -1.
    column : str
        The label column.

    Returns
    -------
    DataFrame
        The table sorted by session, individual and frame (a new index).

    Raises
    ------
    ParameterError
        Not a DataFrame, or a missing column.
    """
    need = set(KEYS) | {"frame", column}
    if not isinstance(labels, pd.DataFrame) or not need <= set(labels.columns):
        missing = sorted(need - set(getattr(labels, "columns", [])))
        raise ParameterError(f"not a labels table: missing columns {missing} (need session, individual, frame, {column}).")
    if labels[column].hasnans:  # labels from other tools mark unlabelled frames with NA: -1 here
        labels = labels.assign(**{column: labels[column].fillna(-1).astype(np.int64)})
    return labels.sort_values(KEYS + ["frame"], kind="stable").reset_index(drop=True)


def usage(labels, n_motifs: int | None = None, column: str = "motif") -> pd.DataFrame:
    """Fraction of the labelled frames in each motif (code): per recording of a labels table, or pooled.

    Every motif 0 .. k-1 is listed, with 0 where a recording never uses it, so group statistics see the zeros.
    Frames labelled -1 (or NA) are not counted.

    Parameters
    ----------
    labels : DataFrame or array-like
        A labels table (session, individual, frame, ``column``): one block of rows per recording (session and
        animal). Or an array of codes (any shape): one pooled block.
    n_motifs : int, optional
        k; None: the labels' metadata (``motif_count``). Never the largest label + 1.
    column : str
        The label column of a labels table (``motif``, ``type``, ``community``, ...).

    Returns
    -------
    DataFrame
        Columns session, individual (labels tables only), motif, frames, fraction. The fractions of a recording
        with labelled frames sum to 1 (all 0 without any).

    Raises
    ------
    ParameterError
        A table without the labels columns, k unknown, or labels at k or above.

    Examples
    --------
    >>> usage(np.array([0, 0, 1, -1]), 3)["fraction"].tolist()
    [0.6666666666666666, 0.3333333333333333, 0.0]
    """
    if not isinstance(labels, pd.DataFrame):
        c = _valid(labels)
        k = motif_count(labels, n_motifs, column)
        if len(c) and int(c.max()) >= k:
            raise ParameterError(f"the codes use {int(c.max())} but n_motifs={k}: pass n_motifs above it.")
        counts = np.bincount(c, minlength=k)[:k]
        total = counts.sum()
        frac = counts / total if total else np.zeros(k)
        return pd.DataFrame({"motif": np.arange(k, dtype=np.int64), "frames": counts.astype(np.int64),
                             "fraction": frac.astype(float)})
    k = motif_count(labels, n_motifs, column)
    labels = check_labels(labels, column)
    ok = labels[labels[column] >= 0]
    if len(ok) and int(ok[column].max()) >= k:
        raise ParameterError(f"the labels use motif {int(ok[column].max())} but n_motifs={k}: pass n_motifs above it.")
    counts = ok.groupby(KEYS + [column]).size().unstack(column, fill_value=0)
    groups = labels[KEYS].drop_duplicates()
    counts = counts.reindex(columns=range(k), fill_value=0).reindex(
        pd.MultiIndex.from_frame(groups), fill_value=0)
    total = counts.sum(axis=1).replace(0, np.nan)
    frac = counts.div(total, axis=0).fillna(0.0)
    out = counts.stack().rename("frames").to_frame().join(frac.stack().rename("fraction"))
    out.index.names = KEYS + ["motif"]
    return out.reset_index()


def perplexity(codes, n_codes: int) -> float:
    """exp(entropy) of the code usage: the effective number of codes in use."""
    p = _fractions(codes, n_codes)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum())) if len(p) else 0.0


def dead_fraction(codes, n_codes: int) -> float:
    """Share of the codebook never used by ``codes``."""
    return float((_fractions(codes, n_codes) == 0).mean())


def codebook_table(types, subtypes, n_types: int, n_subtypes: int) -> pd.DataFrame:
    """Usage, perplexity and dead fraction of the type, subtype and combined (motif) codes.

    Parameters
    ----------
    types : array-like of int
        The type code of each step (-1: none); any shape, flattened.
    subtypes : array-like of int
        The subtype code of each step, the same shape as ``types``. A step without a type or a subtype has no
        motif code.
    n_types : int
        Size of the type codebook.
    n_subtypes : int
        Size of the subtype codebook; motif = type * ``n_subtypes`` + subtype.

    Returns
    -------
    DataFrame
        One row per codebook (index ``codebook``: type, subtype, motif) with ``codes`` (its size), ``used``,
        ``perplexity`` and ``dead_fraction``.

    Raises
    ------
    ParameterError
        A code at or above its codebook's size.
    """
    t, s = np.asarray(types).ravel(), np.asarray(subtypes).ravel()
    ok = (t >= 0) & (s >= 0)
    motif = np.where(ok, t * n_subtypes + s, -1)
    rows = []
    for name, c, n in (("type", t, n_types), ("subtype", s, n_subtypes), ("motif", motif, n_types * n_subtypes)):
        rows.append({"codebook": name, "codes": n, "used": int((_fractions(c, n) > 0).sum()),
                     "perplexity": perplexity(c, n), "dead_fraction": dead_fraction(c, n)})
    return pd.DataFrame(rows).set_index("codebook")


def transitions(sequences: Iterable, n_codes: int, *, self_transitions: bool = True) -> np.ndarray:
    """Transition counts -> row-normalised matrix (n_codes, n_codes), counted within each sequence.

    Steps without a code (-1) break the chain (no transition across them). Rows of unused codes are 0.

    Parameters
    ----------
    sequences : iterable of array-like of int
        Code sequences (e.g. one per session); no transition is counted from one sequence to the next.
    n_codes : int
        Number of codes.
    self_transitions : bool
        Count a code followed by itself (True) or only changes of code (False).

    Returns
    -------
    numpy.ndarray
        ``(n_codes, n_codes)`` probabilities of the next code (columns) given the current one (rows).
    """
    counts = _bigrams(sequences, n_codes, self_transitions).reshape(n_codes, n_codes)
    rows = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)


def js_divergence(p, q) -> float:
    """Jensen-Shannon divergence (bits) between two distributions (normalised here)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a, b):
        nz = a > 0
        return float((a[nz] * np.log2(a[nz] / b[nz])).sum())

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def _bigrams(sequences, n_codes: int, self_transitions: bool) -> np.ndarray:
    """Counts of code a followed by code b (flat index a * n_codes + b), within each sequence, skipping -1."""
    counts = np.zeros(n_codes * n_codes)
    for seq in sequences:
        s = np.asarray(seq).ravel().astype(np.int64)
        a, b = s[:-1], s[1:]
        ok = (a >= 0) & (b >= 0) & (self_transitions | (a != b))
        np.add.at(counts, a[ok] * n_codes + b[ok], 1)
    return counts


def compare_sequences(real: Iterable, generated: Iterable, n_codes: int) -> dict[str, float]:
    """How closely generated code sequences match real ones.

    Parameters
    ----------
    real : iterable of array-like of int
        Real code sequences (-1: no code).
    generated : iterable of array-like of int
        Generated code sequences.
    n_codes : int
        Number of codes.

    Returns
    -------
    dict of str to float
        ``usage_js``: JS divergence of code usage; ``transition_js``: of the distribution of code pairs
        (bigrams) that change code, i.e. which code follows which; ``self_transition_real`` and
        ``self_transition_generated``: the share of steps that repeat the previous code (how long codes last).
    """
    real, generated = [np.asarray(s) for s in real], [np.asarray(s) for s in generated]
    bi_r, bi_g = _bigrams(real, n_codes, False), _bigrams(generated, n_codes, False)

    def stay(seqs):
        same = sum(int(((s[1:] == s[:-1]) & (s[1:] >= 0)).sum()) for s in seqs)
        total = sum(int(((s[1:] >= 0) & (s[:-1] >= 0)).sum()) for s in seqs)
        return same / max(total, 1)

    return {"usage_js": js_divergence(_fractions(np.concatenate(real), n_codes) + 1e-12,
                                      _fractions(np.concatenate(generated), n_codes) + 1e-12),
            "transition_js": js_divergence(bi_r + 1e-12, bi_g + 1e-12),
            "self_transition_real": stay(real), "self_transition_generated": stay(generated)}


def purity(codes, truth) -> float:
    """Share of frames whose code's most common true motif is their own (1 = every code is one motif)."""
    c, y = np.asarray(codes).ravel(), np.asarray(truth).ravel()
    ok = c >= 0
    table = pd.crosstab(c[ok], y[ok])
    return float(table.max(axis=1).sum() / table.values.sum()) if table.size else float("nan")


def _with_truth(labels: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Labels joined to the true motif of their (session[, individual], frame).

    Animals are matched by name when both tables name the same ones; otherwise (one animal per
    session, named differently) by session and frame alone.
    """
    keys = ["session", "frame"]
    if "individual" in labels and "individual" in truth and \
            set(labels["individual"].astype(str)) & set(truth["individual"].astype(str)):
        keys = ["session", "individual", "frame"]
        truth = truth.assign(individual=truth["individual"].astype(str))
        labels = labels.assign(individual=labels["individual"].astype(str))
    elif "individual" in truth and (truth.groupby("session")["individual"].nunique() > 1).any():
        raise ValueError("the truth has several animals per session but names none of the labels' animals; "
                         "rename the labels' individuals to the truth's.")
    merged = labels.merge(truth[keys + ["motif"]].rename(columns={"motif": "true_motif"}), on=keys, how="inner")
    if merged.empty:
        raise ValueError("no (session, frame) of the labels is in the truth table.")
    return merged


def per_motif_usage(labels: pd.DataFrame, truth: pd.DataFrame, n_codes: int, column: str = "motif") -> pd.DataFrame:
    """Code usage within each true motif: rows = true motif, columns = code, each row sums to 1.

    Parameters
    ----------
    labels : DataFrame
        A labels table (session, individual, frame, ``column``).
    truth : DataFrame
        The true motifs (session, frame, motif; individual when there are several animals per session).
    n_codes : int
        Number of codes.
    column : str
        The label column of ``labels``.

    Returns
    -------
    DataFrame
        One row per true motif, one column per code 0 .. ``n_codes`` - 1: the fraction of the true motif's
        labelled frames that got each code.

    Raises
    ------
    ValueError
        No frame of ``labels`` is in ``truth``, or the animals of the two tables cannot be matched.
    ParameterError
        A code at or above ``n_codes``.
    """
    merged = _with_truth(labels, truth)
    merged = merged[merged[column] >= 0]
    return pd.DataFrame({m: _fractions(g[column], n_codes) for m, g in merged.groupby("true_motif")}).T


def coembedding_similarity(usage_a: pd.DataFrame, usage_b: pd.DataFrame, *, n_shuffles: int = 200,
                           seed: int = 0) -> pd.DataFrame:
    """JS divergence between two datasets' code usage for the same true motif, against a shuffled baseline.

    ``matched`` compares motif m in A with motif m in B; ``shuffled`` is the mean over random pairings of
    different motifs (how far apart unrelated behaviours are). Matched well below shuffled means the same
    behaviour lands on the same codes in both skeletons.

    Parameters
    ----------
    usage_a : DataFrame
        Code usage per true motif of dataset A (``per_motif_usage``; rows = true motifs).
    usage_b : DataFrame
        The same for dataset B, over the same codes.
    n_shuffles : int
        About how many random pairings in all (spread evenly over the motifs).
    seed : int
        Seed of the random pairings.

    Returns
    -------
    DataFrame
        One row per true motif the two share (index ``true_motif``): ``matched_js`` and ``shuffled_js``.

    Raises
    ------
    ValueError
        The two datasets share fewer than two true motifs.
    """
    common = [m for m in usage_a.index if m in usage_b.index]
    if len(common) < 2:
        raise ValueError("the two datasets share fewer than two true motifs.")
    A, B = usage_a.loc[common].to_numpy() + 1e-12, usage_b.loc[common].to_numpy() + 1e-12
    rng = np.random.default_rng(seed)
    rows = []
    for i, m in enumerate(common):
        others = [j for j in range(len(common)) if j != i]
        shuffled = np.mean([js_divergence(A[i], B[rng.choice(others)]) for _ in range(n_shuffles // len(common) + 1)])
        rows.append({"true_motif": m, "matched_js": js_divergence(A[i], B[i]), "shuffled_js": shuffled})
    return pd.DataFrame(rows).set_index("true_motif")


def step_codes(latents: Mapping[str, object], downsample: int) -> dict[str, np.ndarray]:
    """Per-frame motif codes -> one code per ``downsample``-frame step (the GPT's tokens), per session and animal.

    Parameters
    ----------
    latents : mapping of str to xarray.DataArray or array-like
        Per session: the VQ-MAP embedding with a ``motif`` coordinate (``embed.embed_codes_sessions``), or
        the per-frame motif codes themselves.
    downsample : int
        Frames per step: every ``downsample``-th frame's code is kept.

    Returns
    -------
    dict of str to numpy.ndarray
        int64 codes per step (-1: none), keyed by session, or by ``"session/individual"`` when an embedding has
        an ``individual`` dimension.
    """
    out = {}
    for s, da in latents.items():
        if hasattr(da, "dims") and "individual" in da.dims:  # one sequence per animal
            for ind in da["individual"].values:
                out[f"{s}/{ind}"] = np.asarray(da["motif"].sel(individual=ind).values)[::downsample].astype(np.int64)
        else:
            motif = np.asarray(da["motif"].values if hasattr(da, "coords") else da)
            out[s] = motif[::downsample].astype(np.int64)
    return out
