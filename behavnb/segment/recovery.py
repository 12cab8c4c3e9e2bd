"""How well found motifs recover known ones (synthetic data): ``truth_agreement`` (ARI, NMI, purity, matched
accuracy), the Hungarian ``matching`` and ``confusion``, bout durations, names from the truth.

Part of the segment room of the flow (... embed -> codes/**segment** -> hierarchy -> stats ...): a check of
the labels against known motifs, not a step the later rooms need.

Recovery is never perfect, even for a perfect model: true motifs blend into each other at their
boundaries, a window-based latent mixes the frames on both sides of a switch, and two motifs that
look alike in posture (e.g. rearing and a pause with the head up) can only be told apart by context.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from behavnb.codes import _with_truth, purity
from behavnb.segment.tables import bouts as _bouts, fps_of


def matching(confusion: pd.DataFrame) -> dict[int, int]:
    """Found motif -> true motif, one-to-one by the Hungarian algorithm on the frame counts.

    With more found than true motifs, the extra found motifs go to the true motif they overlap most.
    """
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-confusion.to_numpy())  # rows: true, cols: found
    mapping = {int(confusion.columns[c]): int(confusion.index[r]) for r, c in zip(rows, cols, strict=True)}
    for c in confusion.columns:
        if int(c) not in mapping:
            mapping[int(c)] = int(confusion[c].idxmax())
    return mapping


def confusion(labels: pd.DataFrame, truth: pd.DataFrame, column: str = "motif", normalize: bool = True) -> pd.DataFrame:
    """True motifs (rows) x found motifs (columns), found columns reordered to follow their Hungarian match.

    Parameters
    ----------
    labels : DataFrame
        A labels table (session, individual, frame, ``column``).
    truth : DataFrame
        The true motifs (session, frame, motif; individual when there are several animals per session).
    column : str
        The label column of ``labels``.
    normalize : bool
        Divide each row by its frame count (each row sums to 1: where the frames of one true motif ended
        up); False: frame counts.

    Returns
    -------
    DataFrame
        Index ``true motif``, columns ``found motif``; frames labelled -1 are left out.

    Raises
    ------
    ValueError
        No frame of ``labels`` is in ``truth``, or the animals of the two tables cannot be matched.
    """
    merged = _with_truth(labels, truth)
    merged = merged[merged[column] >= 0]
    table = pd.crosstab(merged["true_motif"], merged[column])
    mapping = matching(table)
    order = sorted(table.columns, key=lambda c: (mapping[int(c)], -table.loc[mapping[int(c)], c]))
    table = table[order]
    table.index.name, table.columns.name = "true motif", "found motif"
    return table.div(table.sum(axis=1), axis=0) if normalize else table


def truth_agreement(labels: pd.DataFrame, truth: pd.DataFrame, column: str = "motif") -> dict:
    """How well one label column agrees with the true motifs (synthetic data).

    Scored on the frames the truth has whose label is a code (>= 0): ``evaluate.scored_frames`` picks the
    same frames, so ``evaluate.scalar_baseline`` scores its baseline on them.

    Parameters
    ----------
    labels : DataFrame
        (session[, individual], frame, ``column``): a motif model's labels, VQ-MAP codes
        (``embed.labels_table``) or ``evaluate.kmeans_labels``.
    truth : DataFrame
        The truth table of ``manifest.load_truth`` (session, frame, motif[, individual]).
    column : str
        The label column to score (``motif``, ``type``, ``subtype``, ...).

    Returns
    -------
    dict
        ``ari`` and ``nmi`` (1 = the true partition, ARI 0 = chance), ``purity`` (share of frames whose label's
        most common true motif is their own), ``matched_accuracy`` (share of frames whose label is
        Hungarian-matched to their true motif), ``n_true`` and ``n_found`` (distinct true motifs and labels),
        ``frames`` (scored).

    Raises
    ------
    ValueError
        No frame of the labels is in the truth, or a multi-animal truth names none of the labels' animals.

    Examples
    --------
    >>> scores = pd.DataFrame({name: truth_agreement(lab, truth) for name, lab in labels.items()}).T  # doctest: +SKIP
    """
    merged = _with_truth(labels, truth)
    merged = merged[merged[column] >= 0]
    return agreement(merged["true_motif"].to_numpy(), merged[column].to_numpy())


def agreement(y: np.ndarray, c: np.ndarray) -> dict:
    """The scores ``truth_agreement`` gives, for true labels ``y`` and found labels ``c`` of the same frames.

    Parameters
    ----------
    y, c : numpy.ndarray
        True and found label of each scored frame (found labels >= 0).

    Returns
    -------
    dict
        ``ari``, ``nmi``, ``purity``, ``matched_accuracy`` (after Hungarian matching), ``n_true``, ``n_found``,
        ``frames``.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    mapping = matching(pd.crosstab(y, c))
    matched = pd.Series(c).map(mapping).to_numpy() == y
    return {"ari": float(adjusted_rand_score(y, c)), "nmi": float(normalized_mutual_info_score(y, c)),
            "purity": purity(c, y), "matched_accuracy": float(matched.mean()) if len(c) else float("nan"),
            "n_true": int(len(np.unique(y))), "n_found": int(len(np.unique(c))), "frames": int(len(c))}


def bout_comparison(labels: pd.DataFrame, truth: pd.DataFrame, fps: float | None = None, column: str = "motif") -> pd.DataFrame:
    """Mean bout duration of each true motif against that of the found motif(s) matched to it.

    Bouts cut by the recording's ends are included on both sides alike.

    Parameters
    ----------
    labels : DataFrame
        A labels table (session, individual, frame, time, ``column``).
    truth : DataFrame
        The true motifs (session, frame, motif; individual when there are several animals per session).
    fps : float, optional
        Frame rate; None: from the labels' ``time`` column.
    column : str
        The label column of ``labels``.

    Returns
    -------
    DataFrame
        One row per true motif (index ``true_motif``): ``true_mean_s``, ``found_mean_s`` (bouts of the found
        motifs Hungarian-matched to it, extra found motifs merged into their best true motif first),
        ``true_bouts``, ``found_bouts`` and ``ratio`` = found / true; plus a row ``all`` over every bout.

    Raises
    ------
    ParameterError
        No ``fps`` and no usable ``time`` column.
    ValueError
        No frame of ``labels`` is in ``truth``, or the animals of the two tables cannot be matched.
    """
    fps = float(fps) if fps else fps_of(labels)
    merged = _with_truth(labels, truth)  # the frames both tables have, with the labels' session/individual
    ok = merged[column] >= 0
    mapping = matching(pd.crosstab(merged.loc[ok, "true_motif"], merged.loc[ok, column]))
    found = merged.assign(motif=merged[column].map(mapping).fillna(-1).astype(np.int64))
    fb = _bouts(found, fps)
    tb = _bouts(merged.assign(motif=merged["true_motif"].astype(np.int64)), fps)
    rows = []
    for m in sorted(tb["motif"].unique()):
        tm, fm = tb.loc[tb["motif"] == m, "duration_s"], fb.loc[fb["motif"] == m, "duration_s"]
        rows.append({"true_motif": str(m), "true_mean_s": tm.mean(), "found_mean_s": fm.mean() if len(fm) else np.nan,
                     "true_bouts": len(tm), "found_bouts": len(fm)})
    rows.append({"true_motif": "all", "true_mean_s": tb["duration_s"].mean(), "found_mean_s": fb["duration_s"].mean(),
                 "true_bouts": len(tb), "found_bouts": len(fb)})
    out = pd.DataFrame(rows).set_index("true_motif")
    out["ratio"] = out["found_mean_s"] / out["true_mean_s"]
    return out


def names_from_truth(labels: pd.DataFrame, truth: pd.DataFrame, true_names: dict | None = None,
                     column: str = "motif") -> dict[int, str]:
    """``{found motif: "<true behaviour> (<motif>)"}``: each found motif named after the true behaviour most of
    its frames belong to (synthetic data), as a starting point for ``motif_names.csv``.

    Parameters
    ----------
    labels : DataFrame
        A labels table (session, individual, frame, ``column``).
    truth : DataFrame
        The true motifs (session, frame, motif; individual when there are several animals per session).
    true_names : dict, optional
        ``{true motif: behaviour name}``; default the true motif's id.
    column : str
        The label column of ``labels``.

    Returns
    -------
    dict of int to str
        A name for every found motif that shares frames with the truth.

    Raises
    ------
    ValueError
        No frame of ``labels`` is in ``truth``, or the animals of the two tables cannot be matched.
    """
    counts = confusion(labels, truth, column, normalize=False)
    best = counts.idxmax(axis=0)
    return {int(m): f"{(true_names or {}).get(int(t), str(t))} ({int(m)})" for m, t in best.items()}
