"""Discrete codes as data: usage, perplexity, dead codes, transitions, agreement with known motifs.

Used for VQ-MAP's codebooks (notebook 05) and for the sequences the code GPT generates. Codes are
integer arrays; -1 marks a frame or step without a code and is ignored everywhere.

- ``usage``: the fraction of steps each code takes; ``perplexity`` = exp(entropy of usage), the
  number of codes in effective use (n_codes if used uniformly, 1 if one code takes all);
- ``dead_fraction``: the share of codes never used;
- ``transitions``: row-normalised code-to-code transition matrix, within sessions only;
- ``js_divergence``: Jensen-Shannon divergence (base 2: 0 = identical, 1 = disjoint);
- ``compare_sequences``: usage and transition statistics of generated against real sequences;
- ``truth_agreement``: ARI, NMI and purity of codes against true motifs (synthetic data), and
  ``per_motif_usage`` / ``coembedding_similarity`` for codes of two datasets on shared true motifs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd


def _valid(codes) -> np.ndarray:
    c = np.asarray(codes).ravel()
    return c[c >= 0].astype(np.int64)


def usage(codes, n_codes: int) -> np.ndarray:
    """Fraction of (valid) steps taken by each of ``n_codes`` codes."""
    c = _valid(codes)
    counts = np.bincount(c, minlength=n_codes)[:n_codes].astype(float)
    return counts / counts.sum() if counts.sum() else counts


def perplexity(codes, n_codes: int) -> float:
    """exp(entropy) of the code usage: the effective number of codes in use."""
    p = usage(codes, n_codes)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum())) if len(p) else 0.0


def dead_fraction(codes, n_codes: int) -> float:
    """Share of the codebook never used by ``codes``."""
    return float((usage(codes, n_codes) == 0).mean())


def codebook_table(types, subtypes, n_types: int, n_subtypes: int) -> pd.DataFrame:
    """Usage, perplexity and dead fraction of the type, subtype and combined (motif) codes."""
    t, s = np.asarray(types).ravel(), np.asarray(subtypes).ravel()
    ok = (t >= 0) & (s >= 0)
    motif = np.where(ok, t * n_subtypes + s, -1)
    rows = []
    for name, c, n in (("type", t, n_types), ("subtype", s, n_subtypes), ("motif", motif, n_types * n_subtypes)):
        rows.append({"codebook": name, "codes": n, "used": int((usage(c, n) > 0).sum()),
                     "perplexity": perplexity(c, n), "dead_fraction": dead_fraction(c, n)})
    return pd.DataFrame(rows).set_index("codebook")


def transitions(sequences: Iterable, n_codes: int, *, self_transitions: bool = True) -> np.ndarray:
    """Transition counts -> row-normalised matrix (n_codes, n_codes), counted within each sequence.

    Steps without a code (-1) break the chain (no transition across them). Rows of unused codes are 0.
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

    ``usage_js``: JS divergence of code usage; ``transition_js``: of the distribution of code pairs
    (bigrams) that change code, i.e. which code follows which; ``self_transition``: the share of steps
    that repeat the previous code (how long codes last), real and generated.
    """
    real, generated = [np.asarray(s) for s in real], [np.asarray(s) for s in generated]
    bi_r, bi_g = _bigrams(real, n_codes, False), _bigrams(generated, n_codes, False)

    def stay(seqs):
        same = sum(int(((s[1:] == s[:-1]) & (s[1:] >= 0)).sum()) for s in seqs)
        total = sum(int(((s[1:] >= 0) & (s[:-1] >= 0)).sum()) for s in seqs)
        return same / max(total, 1)

    return {"usage_js": js_divergence(usage(np.concatenate(real), n_codes) + 1e-12,
                                      usage(np.concatenate(generated), n_codes) + 1e-12),
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


def truth_agreement(labels: pd.DataFrame, truth: pd.DataFrame, columns=("motif", "type", "subtype")) -> pd.DataFrame:
    """ARI, NMI and purity of each code column of a labels table against the true motifs.

    ``labels``: (session, frame, <columns>) as ``embed.labels_table`` gives; ``truth``: the synthetic
    truth table (session, frame, motif[, individual]). Frames without a code are left out.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    merged = _with_truth(labels, truth)
    rows = []
    for col in columns:
        ok = merged[col] >= 0
        y, c = merged.loc[ok, "true_motif"].to_numpy(), merged.loc[ok, col].to_numpy()
        rows.append({"codes": col, "n_codes_used": int(len(np.unique(c))), "ari": adjusted_rand_score(y, c),
                     "nmi": normalized_mutual_info_score(y, c), "purity": purity(c, y), "frames": int(ok.sum())})
    return pd.DataFrame(rows).set_index("codes")


def per_motif_usage(labels: pd.DataFrame, truth: pd.DataFrame, n_codes: int, column: str = "motif") -> pd.DataFrame:
    """Code usage within each true motif: rows = true motif, columns = code, each row sums to 1."""
    merged = _with_truth(labels, truth)
    merged = merged[merged[column] >= 0]
    return pd.DataFrame({m: usage(g[column], n_codes) for m, g in merged.groupby("true_motif")}).T


def coembedding_similarity(usage_a: pd.DataFrame, usage_b: pd.DataFrame, *, n_shuffles: int = 200,
                           seed: int = 0) -> pd.DataFrame:
    """JS divergence between two datasets' code usage for the same true motif, against a shuffled baseline.

    ``usage_a``/``usage_b`` come from ``per_motif_usage`` (rows = true motifs). ``matched`` compares
    motif m in A with motif m in B; ``shuffled`` is the mean over random pairings of different motifs
    (how far apart unrelated behaviours are). Matched well below shuffled means the same behaviour
    lands on the same codes in both skeletons.
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
    """Per-frame motif codes -> one code per ``downsample``-frame step (the GPT's tokens), per session and animal."""
    out = {}
    for s, da in latents.items():
        if hasattr(da, "dims") and "individual" in da.dims:  # one sequence per animal
            for ind in da["individual"].values:
                out[f"{s}/{ind}"] = np.asarray(da["motif"].sel(individual=ind).values)[::downsample].astype(np.int64)
        else:
            motif = np.asarray(da["motif"].values if hasattr(da, "coords") else da)
            out[s] = motif[::downsample].astype(np.int64)
    return out
