"""Choosing the number of motifs k: stability across seeds, the usage threshold, held-out likelihood.

Part of the segment room of the flow (... embed -> codes/**segment** -> hierarchy -> stats ...): run before the
motif model whose k it helps pick.

No single number picks k. Three views, side by side (``plot.choose_k``):

- **stability**: refit with different seeds; the mean ARI between their labels. Near 1 = the motifs
  are a property of the data, lower = the fit is arbitrary at that k;
- **usage rule**: how many motifs take at least ``min_usage`` (1 %) of the frames. Past the k where
  new motifs stay below it, extra motifs are slivers;
- **held-out log-likelihood** (hmm, gmm): fitted on the first part of every recording, scored on the
  rest. It keeps rising slowly with k; look for where it flattens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from behavnb.codes import usage
from behavnb.errors import ParameterError
from behavnb.segment.methods import ESTIMATORS, motif_model


def split_tail(latents: Mapping[str, object], held_out: float) -> tuple[dict, dict]:
    """Each recording's first ``1 - held_out`` of frames for fitting, the rest for scoring."""
    if not 0 < held_out < 1:
        raise ParameterError(f"held_out must be between 0 and 1, not {held_out}.")
    fit, test = {}, {}
    for s, da in latents.items():
        n = da.sizes["time"] if hasattr(da, "sizes") else len(da)
        cut = int(round(n * (1 - held_out)))
        fit[s] = da.isel(time=slice(0, cut)) if hasattr(da, "isel") else da[:cut]
        test[s] = da.isel(time=slice(cut, None)) if hasattr(da, "isel") else da[cut:]
    return fit, test


def choose_k(latents: Mapping[str, object], ks: Sequence[int], method: str = "hmm", *, n_seeds: int = 3,
             held_out: float = 0.2, min_usage: float = 0.01, seed: int = 0, progress: bool = True,
             **model_kwargs) -> pd.DataFrame:
    """Stability, the usage rule and held-out likelihood for each candidate number of motifs k.

    Every fit uses the first ``1 - held_out`` of each recording; labels for the ARI cover all frames.

    Parameters
    ----------
    latents : mapping
        ``{session: latents}``, as for the motif models' ``fit``.
    ks : sequence of int
        The k to try.
    method : {"kmeans", "hmm", "gmm"}
        The motif model (``motif_model``); VQ codes come with their k.
    n_seeds : int
        Refits per k (at least 2) for the stability ARI.
    held_out : float
        Share of each recording's end scored for the held-out likelihood.
    min_usage : float
        The usage rule's threshold (share of frames).
    seed : int
        First seed; refit i uses ``seed + i``.
    progress : bool
        Show a progress bar.
    **model_kwargs
        Further ``motif_model`` parameters (``covariance``, ``sticky``, ...).

    Returns
    -------
    DataFrame
        One row per k: ``stability_ari`` and ``stability_min`` (mean and min ARI between seed refits),
        ``motifs_above_usage``, ``min_usage``, ``seconds_per_fit`` and, for models with a likelihood,
        ``train_loglik`` and ``heldout_loglik`` per frame. ``attrs``: method, min_usage, n_seeds, held_out.

    Raises
    ------
    ParameterError
        VQ codes, fewer than two seeds, ``held_out`` outside (0, 1), or a bad model parameter.
    """
    import time

    from sklearn.metrics import adjusted_rand_score  # scikit-learn loads in ~1 s: only when k is chosen
    from tqdm.auto import tqdm

    if method in ESTIMATORS and not ESTIMATORS[method].takes_k:
        raise ParameterError("VQ codes come with their k (the codebook size); choose_k is for kmeans, hmm and gmm.")
    if n_seeds < 2:
        raise ParameterError("stability needs at least two seeds (n_seeds >= 2).")
    fit, test = split_tail(latents, held_out)
    rows = []
    for k in tqdm(list(ks), desc=f"choosing k ({method})", disable=not progress):
        labels, t0 = [], time.perf_counter()
        for i in range(n_seeds):
            m = motif_model(method, int(k), seed=seed + i, **model_kwargs).fit(fit)
            lab = m.predict(latents)
            labels.append(lab["motif"].to_numpy())
            if i == 0:
                first, u = m, usage(lab, int(k))
        ok = np.all([y >= 0 for y in labels], axis=0)
        aris = [adjusted_rand_score(labels[a][ok], labels[b][ok]) for a in range(n_seeds) for b in range(a + 1, n_seeds)]
        per_motif = u.groupby("motif")["frames"].sum()
        share = per_motif / per_motif.sum()
        row = {"k": int(k), "stability_ari": float(np.mean(aris)), "stability_min": float(np.min(aris)),
               "motifs_above_usage": int((share >= min_usage).sum()), "min_usage": float(share.min()),
               "seconds_per_fit": (time.perf_counter() - t0) / n_seeds}
        if first.has_likelihood:
            row["train_loglik"] = first.score(fit)
            row["heldout_loglik"] = first.score(test)
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update({"method": method, "min_usage": min_usage, "n_seeds": n_seeds, "held_out": held_out})
    return out


def suggest_k(table: pd.DataFrame, min_stability: float = 0.8) -> int:
    """The largest k whose motifs all pass the usage rule and whose stability is at least ``min_stability``.

    A starting point, not a verdict: look at the plot.

    Parameters
    ----------
    table : DataFrame
        ``choose_k``'s table.
    min_stability : float
        The least mean ARI between seed refits.

    Returns
    -------
    int
        That k, else the most stable k.
    """
    ok = table[(table["motifs_above_usage"] == table["k"]) & (table["stability_ari"] >= min_stability)]
    return int(ok["k"].max()) if len(ok) else int(table.loc[table["stability_ari"].idxmax(), "k"])
