"""The motif methods, one estimator class each, and ``motif_model``, which builds one from a method name.

Part of the segment room (... embed -> codes/**segment** -> hierarchy -> stats ...); the interface they share,
``MotifModel``, is in ``segment.model``.

- ``KMeansMotifs``: scikit-learn ``KMeans`` on the pooled frames (every frame on its own, no time).
- ``HMMMotifs``: hmmlearn's ``GaussianHMM`` (with the faster tied/full E-step of ``segment._hmm``, on one thread)
  fitted with per-sequence ``lengths``: each session (and animal) is its own sequence, so the last frame of one
  session is never a transition into the next; runs of frames without a latent split a sequence the same way.
  Initialised from k-means (means, covariances and transitions of the k-means labels); ``sticky`` adds a
  self-transition prior.
- ``GMMMotifs``: scikit-learn ``GaussianMixture`` (soft k-means with covariances; no time).
- ``VQMotifs``: the codes VQ-MAP already gave (``level`` = motif, type or subtype); nothing to fit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from behavnb.errors import ParameterError
from behavnb.segment._data import Sequence, finite_runs
from behavnb.segment.model import LEVELS, MotifModel, _LearnedMotifs


class KMeansMotifs(_LearnedMotifs):
    """k-means on the pooled frames: every frame on its own, no time.

    Parameters
    ----------
    n_motifs : int
        k, at least 2.
    fit_on : {"pooled", "session"}
        One model for all sessions (motifs comparable everywhere) or one per session and animal, renumbered
        to a consensus.
    n_init : int
        k-means restarts. The k-means objective is flat on VAE latents: restarts reach near-equal inertia with
        different partitions, so keep this at 10 or more.
    max_fit_frames : int
        Fit on a seeded subsample of this many frames (labels cover all frames).
    seed : int
        Random seed of the fit.

    Attributes
    ----------
    n_motifs_ : int
        k.
    means_ : numpy.ndarray
        ``(k, latent)`` centres (pooled fits).
    model_ : sklearn.cluster.KMeans or None
        The pooled estimator; ``models_`` and ``permutations_`` hold the per-recording ones.
    source_ : dict
        The latents' model (``model``, ``model_id``, ``window``, ..., ``n_latent``); prediction checks it.
    n_frames_fit_, fit_seconds_ : int, float
        Frames seen and time taken by ``fit``.

    Examples
    --------
    >>> labels = KMeansMotifs(8).fit_predict(latents)  # doctest: +SKIP
    """

    method = "kmeans"

    def __init__(self, n_motifs: int = 15, *, fit_on: str = "pooled", n_init: int = 10,
                 max_fit_frames: int = 200_000, seed: int = 0):
        self.n_motifs = n_motifs
        self.fit_on = fit_on
        self.n_init = n_init
        self.max_fit_frames = max_fit_frames
        self.seed = seed

    def _fit_one(self, seqs: list[Sequence], seed: int):
        return self._kmeans(self._finite(seqs), seed)

    def _means(self, est) -> np.ndarray:
        return est.cluster_centers_

    def _score_finite(self, est, x: np.ndarray) -> float:
        return est.score(x)


class GMMMotifs(_LearnedMotifs):
    """A Gaussian mixture: soft k-means with covariances, no time.

    Parameters
    ----------
    n_motifs : int
        k, at least 2.
    covariance : {"tied", "diag", "full", "spherical"}
        "tied" shares one covariance across motifs; per-motif covariances let a broad motif swallow its
        narrower neighbours (see ``HMMMotifs``).
    fit_on : {"pooled", "session"}
        As for ``KMeansMotifs``.
    n_iter, tol : int, float
        EM budget; ``tol`` is the gain in log-likelihood per frame below which EM stops.
    max_fit_frames : int
        Fit on a seeded subsample of this many frames (labels cover all frames).
    seed : int
        Random seed of the fit.

    Attributes
    ----------
    n_motifs_, means_, model_, source_, n_frames_fit_, fit_seconds_
        As for ``KMeansMotifs``; ``model_`` is a ``sklearn.mixture.GaussianMixture``.
    """

    method = "gmm"
    has_likelihood = True

    def __init__(self, n_motifs: int = 15, *, covariance: str = "tied", fit_on: str = "pooled", n_iter: int = 50,
                 tol: float = 1e-4, max_fit_frames: int = 200_000, seed: int = 0):
        self.n_motifs = n_motifs
        self.covariance = covariance
        self.fit_on = fit_on
        self.n_iter = n_iter
        self.tol = tol
        self.max_fit_frames = max_fit_frames
        self.seed = seed

    def _fit_one(self, seqs: list[Sequence], seed: int):
        from sklearn.mixture import GaussianMixture  # scikit-learn loads in ~1 s: only when a model is fitted

        x = self._finite(seqs)
        return GaussianMixture(self.n_motifs_, covariance_type=self.covariance, max_iter=int(self.n_iter),
                               tol=float(self.tol), reg_covar=1e-4, random_state=seed).fit(self._subsample(x, seed))

    def _means(self, est) -> np.ndarray:
        return est.means_

    def _score_finite(self, est, x: np.ndarray) -> float:
        return est.score(x) * len(x)


class HMMMotifs(_LearnedMotifs):
    """A Gaussian hidden Markov model: motifs with time (a transition matrix smooths the labels).

    Parameters
    ----------
    n_motifs : int
        k, at least 2.
    covariance : {"tied", "diag", "full", "spherical"}
        "tied" (one covariance shared by all motifs) behaves like k-means plus time and recovers known motifs
        best on VAE latents (see Notes); "diag" is the fastest per-motif choice, "full" the most flexible and
        slowest.
    sticky : float
        Strength of a Dirichlet prior on staying in a motif, in units of each motif's expected frame count
        (n_frames / k): 0 = none, 1 = as many pseudo-counts as the data give, 10 = strongly sticky
        (self-transition ~0.995). Per-frame emissions of a many-dimensional latent outweigh weak priors, so
        values below ~1 change little; 10 lengthens bouts towards the true ones on the synthetic cohort (bout
        ratio 0.69 -> 0.74, ARI 0.65 -> 0.68) and makes EM converge faster.
    fit_on : {"pooled", "session"}
        As for ``KMeansMotifs``. Per-session fits cannot label sessions they were not fitted on.
    n_init : int
        k-means restarts of the initialisation.
    n_iter, tol : int, float
        EM budget; ``tol`` is the gain in log-likelihood per frame below which EM stops.
    max_fit_frames : int
        The k-means initialisation fits on a seeded subsample of this many frames.
    seed : int
        Random seed of the fit.

    Attributes
    ----------
    n_motifs_, means_, model_, source_, n_frames_fit_, fit_seconds_
        As for ``KMeansMotifs``; ``model_`` is a ``GaussianHMM``.
    transmat_ : numpy.ndarray
        ``(k, k)`` transition matrix (pooled fits).
    converged_ : bool
        Whether EM converged (the last recording's, for per-session fits).

    Notes
    -----
    With a covariance per motif ("diag", "full"), a broad motif can swallow its narrower neighbours:
    on the synthetic cohort's VAME latents a diagonal HMM recovers the true motifs worse than k-means
    (ARI 0.54 vs 0.58-0.65), a tied one as well or better (0.65; benchmarks/RESULTS.md). k-means and the
    GMM ignore time, so on fast-changing latents they give short, flickering bouts; the HMM's transition
    matrix smooths them.
    """

    method = "hmm"
    has_likelihood = True

    def __init__(self, n_motifs: int = 15, *, covariance: str = "tied", sticky: float = 0.0, fit_on: str = "pooled",
                 n_init: int = 10, n_iter: int = 50, tol: float = 1e-4, max_fit_frames: int = 200_000, seed: int = 0):
        self.n_motifs = n_motifs
        self.covariance = covariance
        self.sticky = sticky
        self.fit_on = fit_on
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.max_fit_frames = max_fit_frames
        self.seed = seed

    def _check_params(self) -> None:
        super()._check_params()
        if self.sticky < 0:
            raise ParameterError(f"sticky must be >= 0, not {self.sticky}.")

    def _fit(self, seqs: list[Sequence], scheduler: str | None) -> None:
        super()._fit(seqs, scheduler)
        if self.model_ is not None:
            self.transmat_ = self.model_.transmat_

    def _fit_one(self, seqs: list[Sequence], seed: int):
        from behavnb.segment import _hmm  # it imports hmmlearn (~1.5 s): only when an HMM is used

        with _hmm.single_thread():  # small d x d products: threads only add waiting (see segment._hmm)
            return self._fit_hmm_one_thread(seqs, seed)

    def _fit_hmm_one_thread(self, seqs: list[Sequence], seed: int):
        from behavnb.segment import _hmm  # it imports hmmlearn (~1.5 s): only when an HMM is used

        runs = [q.x[a:b] for q in seqs for a, b in finite_runs(q.x, 2)]
        if not runs:
            raise ParameterError("no run of two or more consecutive frames with latents: the HMM has nothing to learn from.")
        x, lengths = np.concatenate(runs), np.array([len(r) for r in runs])
        k = self.n_motifs_
        if len(x) < k:
            raise ParameterError(f"n_motifs={k} is more than the {len(x)} frames in runs of two or more consecutive "
                                 f"frames with a latent (the HMM learns from those only): choose k below that.")
        km = self._kmeans(x, seed)
        y = km.predict(x)
        d = x.shape[1]
        reg = 1e-3 * float(np.mean(np.var(x, axis=0)))
        if self.covariance == "tied":
            covars = np.cov((x - km.cluster_centers_[y]).T) + reg * np.eye(d)
        elif self.covariance == "spherical":
            covars = np.array([x[y == j].var(axis=0).mean() + reg if (y == j).sum() > 1 else x.var(axis=0).mean()
                               for j in range(k)])
        elif self.covariance == "diag":
            covars = np.stack([x[y == j].var(axis=0) + reg if (y == j).sum() > 1 else x.var(axis=0) for j in range(k)])
        else:
            covars = np.stack([np.cov(x[y == j].T) + reg * np.eye(d) if (y == j).sum() > d else np.cov(x.T)
                               for j in range(k)])
        # transitions of the k-means labels, counted within runs only
        ends = np.cumsum(lengths)
        inside = np.ones(len(y) - 1, bool)
        inside[ends[:-1] - 1] = False
        counts = np.ones((k, k))
        np.add.at(counts, (y[:-1][inside], y[1:][inside]), 1)
        prior = np.ones((k, k))
        sticky = float(self.sticky)
        if sticky > 0:
            prior += np.eye(k) * sticky * len(x) / k
        hmm = _hmm.GaussianHMM(k, covariance_type=self.covariance, n_iter=int(self.n_iter), tol=float(self.tol) * len(x),
                               random_state=seed, init_params="", params="stmc", transmat_prior=prior, min_covar=reg)
        hmm.startprob_ = np.bincount(y[np.concatenate([[0], ends[:-1]])], minlength=k) + 1.0
        hmm.startprob_ /= hmm.startprob_.sum()
        hmm.transmat_ = counts / counts.sum(axis=1, keepdims=True)
        hmm.means_ = km.cluster_centers_
        hmm.covars_ = covars
        log = logging.getLogger("hmmlearn.base")
        level = log.level
        log.setLevel(logging.ERROR)  # it logs float-noise decreases (1e-9 relative) as "not converging"
        try:
            hmm.fit(x, lengths)
        finally:
            log.setLevel(level)
        self.converged_ = bool(hmm.monitor_.converged)
        return hmm

    def _means(self, est) -> np.ndarray:
        return est.means_

    def _predict_finite(self, est, x: np.ndarray) -> np.ndarray:
        """Viterbi labels of each run of frames with a latent (-1 elsewhere)."""
        from behavnb.segment import _hmm  # it imports hmmlearn (~1.5 s): only when an HMM is used

        y = np.full(len(x), -1, np.int64)
        with _hmm.single_thread():
            for a, b in finite_runs(x, 1):
                y[a:b] = est.predict(x[a:b]) if b - a > 1 else est.predict(np.repeat(x[a:b], 2, 0))[:1]
        return y

    def _score_one(self, q: Sequence) -> tuple[float, int]:
        from behavnb.segment import _hmm  # it imports hmmlearn (~1.5 s): only when an HMM is used

        est, _ = self._estimator(q)
        runs = [q.x[a:b] for a, b in finite_runs(q.x, 1)]
        if not runs:
            return 0.0, 0
        with _hmm.single_thread():
            total = est.score(np.concatenate(runs), [len(r) for r in runs])
        return total, sum(len(r) for r in runs)


class VQMotifs(MotifModel):
    """The codes VQ-MAP already gave each frame: nothing to learn, k is the codebook's.

    Parameters
    ----------
    level : {"motif", "type", "subtype"}
        Which code: "motif" (type x subtype, ``n_types * n_subtypes`` motifs), "type" or "subtype".

    Attributes
    ----------
    n_motifs_ : int
        The codebook size at ``level``.
    n_types_, n_subtypes_ : int
        VQ-MAP's codebooks (from the latents' attributes).
    source_, n_frames_fit_, fit_seconds_
        As for ``KMeansMotifs``.
    """

    method = "vq"
    takes_k = False

    def __init__(self, level: str = "motif"):
        self.level = level

    def _check_params(self) -> None:
        if self.level not in LEVELS:
            raise ParameterError(f"level must be 'motif', 'type' or 'subtype', not {self.level!r}.")

    def _fit(self, seqs: list[Sequence], scheduler: str | None) -> None:
        missing = [q.session for q in seqs if self.level not in q.codes]
        if missing:
            raise ParameterError(f"method 'vq' needs VQ-MAP codes (a {self.level!r} coordinate on the latents, as "
                                 f"latents/vqmap/ has); sessions {missing[:5]} have none. Use kmeans/hmm/gmm for them.")
        nt, ns = self.source_.get("n_types"), self.source_.get("n_subtypes")
        if nt is None or ns is None:
            raise ParameterError("method 'vq' needs the n_types/n_subtypes attributes embed writes on VQ-MAP latents.")
        self.n_types_, self.n_subtypes_ = int(nt), int(ns)
        self.n_motifs_ = {"motif": nt * ns, "type": nt, "subtype": ns}[self.level]

    def _label_one(self, q: Sequence) -> np.ndarray:
        if self.level not in q.codes:
            raise ParameterError(f"session {q.session!r} has no {self.level!r} codes.")
        return q.codes[self.level].copy()

    def _extra_columns(self, seqs: list[Sequence]) -> dict | None:
        return {c: [q.codes[c] for q in seqs] for c in ("type", "subtype") if all(c in q.codes for q in seqs)}

    def metadata(self) -> dict:
        """As ``MotifModel.metadata``, plus ``n_subtypes`` for motif codes (motif = type * n_subtypes + subtype).

        Returns
        -------
        dict
        """
        meta = super().metadata()
        if self.level == "motif":
            meta["n_subtypes"] = int(self.n_subtypes_)
        return meta

    def score(self, latents: Mapping[str, object]) -> float:
        """VQ codes have no likelihood.

        Raises
        ------
        ParameterError
            Always: score the VQ-MAP model's reconstruction instead.
        """
        raise ParameterError("a 'vq' motif model has no likelihood; score the VQ-MAP model's reconstruction instead.")


#: The motif methods (notebook 06's ``method`` parameter) and their estimator classes.
ESTIMATORS: dict[str, type[MotifModel]] = {"kmeans": KMeansMotifs, "hmm": HMMMotifs, "gmm": GMMMotifs, "vq": VQMotifs}
METHODS = tuple(ESTIMATORS)


def motif_model(method: str = "hmm", n_motifs: int | None = 15, **params) -> MotifModel:
    """A motif model from a method name: one set of parameters for every method.

    Each method's class takes only its own parameters; those another method uses (``covariance`` or ``sticky``
    for k-means, ``n_motifs`` for VQ codes, ...) are left out here, so notebook 06 passes its parameters
    whatever the method. The values are checked by ``fit``.

    Parameters
    ----------
    method : {"kmeans", "hmm", "gmm", "vq"}
        ``KMeansMotifs``, ``HMMMotifs``, ``GMMMotifs`` or ``VQMotifs``.
    n_motifs : int, optional
        k (not used for VQ codes, whose codebook sets it).
    **params
        ``covariance``, ``sticky``, ``fit_on``, ``n_init``, ``n_iter``, ``tol``, ``max_fit_frames``, ``level``,
        ``seed`` (see the classes).

    Returns
    -------
    MotifModel
        The unfitted estimator.

    Raises
    ------
    ParameterError
        An unknown method or parameter name.

    Examples
    --------
    >>> motif_model("hmm", 8, covariance="tied", sticky=10.0)
    HMMMotifs(n_motifs=8, sticky=10.0)
    >>> motif_model("kmeans", 8, covariance="tied", sticky=10.0)
    KMeansMotifs(n_motifs=8)
    """
    cls = ESTIMATORS.get(method)
    if cls is None:
        raise ParameterError(f"unknown motif method {method!r}; use one of {list(METHODS)}.")
    params = {"n_motifs": n_motifs, **params}
    known = {name for c in ESTIMATORS.values() for name in c._param_names()}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ParameterError(f"unknown motif model parameter(s) {unknown}; the motif models take {sorted(known)}.")
    mine = set(cls._param_names())
    return cls(**{k: v for k, v in params.items() if k in mine})
