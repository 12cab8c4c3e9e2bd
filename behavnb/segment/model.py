"""``MotifModel``: per-frame latents -> one motif label per frame (k-means, Gaussian HMM, GMM or VQ codes).

scikit-learn style: configure in ``__init__``, learn in ``fit``, label with ``predict`` (which returns
the labels table: session, individual, frame, time, motif). Picklable; ``save``/``load`` write it next to
the labels.

- ``kmeans``: scikit-learn ``KMeans`` on the pooled frames (every frame on its own, no time).
- ``hmm``: hmmlearn's ``GaussianHMM`` (with the faster tied/full E-step of ``segment._hmm``, on one thread)
  fitted with per-sequence ``lengths``: each session (and animal) is its
  own sequence, so the last frame of one session is never a transition into the next; runs of frames
  without a latent split a sequence the same way. Initialised from k-means (means, covariances and
  transitions of the k-means labels); ``sticky`` adds a self-transition prior.
- ``gmm``: scikit-learn ``GaussianMixture`` (soft k-means with covariances; no time).
- ``vq``: the codes VQ-MAP already gave (``level`` = motif, type or subtype); nothing to fit.

``fit_on="session"`` fits one model per session and animal (each recording its own motifs, as when
animals differ a lot) and then renumbers each one's motifs to a consensus, by Hungarian matching of
its motif means to k-means centres of all sessions' means, so motif 3 means roughly the same thing
everywhere. Frames without a latent get motif -1.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from behavnb.errors import ParameterError
from behavnb.segment._data import Sequence, finite_runs, labels_frame, sequences

METHODS = ("kmeans", "hmm", "gmm", "vq")
COVARIANCES = ("tied", "diag", "full", "spherical")


class MotifModel:
    """Cut per-frame latents into ``n_motifs`` motifs.

    Parameters
    ----------
    method : "kmeans" | "hmm" | "gmm" | "vq"
    n_motifs : number of motifs k (ignored for ``vq``, whose codebook sets it).
    covariance : "tied" | "diag" | "full" | "spherical", for hmm and gmm. "tied" (one covariance shared by all
        motifs) behaves like k-means plus time and recovers known motifs best on VAE latents (see Notes);
        "diag" is the fastest per-motif choice, "full" the most flexible and slowest.
    sticky : hmm only. Strength of a Dirichlet prior on staying in a motif, in units of each motif's
        expected frame count (n_frames / k): 0 = none, 1 = as many pseudo-counts as the data give,
        10 = strongly sticky (self-transition ~0.995). Per-frame emissions of a many-dimensional latent
        outweigh weak priors, so values below ~1 change little; 10 lengthens bouts towards the true ones
        on the synthetic cohort (bout ratio 0.69 -> 0.74, ARI 0.65 -> 0.68) and makes EM converge faster.
    fit_on : "pooled" (one model for all sessions, motifs comparable everywhere) or "session".
    n_init : k-means restarts (also used to initialise the hmm). The k-means objective is flat on VAE latents:
        restarts reach near-equal inertia with different partitions, so keep this at 10 or more.
    n_iter, tol : EM budget of hmm and gmm; ``tol`` is the gain in log-likelihood per frame below which EM stops.
    max_fit_frames : kmeans/gmm fit on a seeded subsample of this many frames (labels cover all frames).
    level : vq only: "motif" (type x subtype), "type" or "subtype".
    seed : random seed of every fit.

    Notes
    -----
    With a covariance per motif ("diag", "full"), a broad motif can swallow its narrower neighbours:
    on the synthetic cohort's VAME latents a diagonal HMM recovers the true motifs worse than k-means
    (ARI 0.54 vs 0.58-0.65), a tied one as well or better (0.65; benchmarks/RESULTS.md). k-means and the GMM ignore time, so on fast-changing latents they give short, flickering bouts;
    the HMM's transition matrix smooths them. Per-session fits cannot label sessions they were not
    fitted on.
    """

    def __init__(self, method: str = "hmm", n_motifs: int | None = 15, *, covariance: str = "tied", sticky: float = 0.0,
                 fit_on: str = "pooled", n_init: int = 10, n_iter: int = 50, tol: float = 1e-4,
                 max_fit_frames: int = 200_000, level: str = "motif", seed: int = 0):
        if method not in METHODS:
            raise ParameterError(f"unknown motif method {method!r}; use one of {list(METHODS)}.")
        if covariance not in COVARIANCES:
            raise ParameterError(f"covariance must be one of {list(COVARIANCES)}, not {covariance!r}.")
        if fit_on not in ("pooled", "session"):
            raise ParameterError(f"fit_on must be 'pooled' or 'session', not {fit_on!r}.")
        if level not in ("motif", "type", "subtype"):
            raise ParameterError(f"level must be 'motif', 'type' or 'subtype', not {level!r}.")
        if method != "vq" and (n_motifs is None or int(n_motifs) < 2):
            raise ParameterError(f"n_motifs must be an integer >= 2 for {method!r}, not {n_motifs!r}.")
        if sticky < 0:
            raise ParameterError(f"sticky must be >= 0, not {sticky}.")
        self.method, self.n_motifs, self.covariance, self.sticky = method, n_motifs, covariance, float(sticky)
        self.fit_on, self.n_init, self.n_iter, self.tol = fit_on, int(n_init), int(n_iter), float(tol)
        self.max_fit_frames, self.level, self.seed = int(max_fit_frames), level, int(seed)

    def __repr__(self) -> str:
        k = self.n_motifs if self.method != "vq" else self.level
        return f"MotifModel(method={self.method!r}, n_motifs={k!r}, fit_on={self.fit_on!r})"

    @property
    def name(self) -> str:
        """``<model>-<method>-<k>``: the folder name under ``motifs/``."""
        src = getattr(self, "source_", {}).get("model", "latents")
        return f"{src}-{self.method}-{self.n_motifs_}" if hasattr(self, "n_motifs_") else f"{src}-{self.method}"

    # fitting ---------------------------------------------------------------------------------
    def fit(self, latents: Mapping[str, object], *, scheduler: str | None = None) -> MotifModel:
        """Learn the motifs from ``{session: latents}`` (DataArrays as ``project.read_latents`` gives).

        ``scheduler``: with ``fit_on="session"``, fit the recordings in parallel with Dask (see
        :mod:`behavnb.parallel`); a pooled fit is one model and runs here.
        """
        seqs, source = sequences(latents)
        t0 = time.perf_counter()
        self.source_ = source
        if self.method == "vq":
            self._fit_vq(seqs, source)
        else:
            n_ok = sum(int(np.isfinite(q.x).all(axis=1).sum()) for q in seqs)
            k = int(self.n_motifs)
            smallest = min(int(np.isfinite(q.x).all(axis=1).sum()) for q in seqs)
            if k > n_ok or (self.fit_on == "session" and k > smallest):
                where = "all sessions together" if k > n_ok else "the shortest session (fit_on='session')"
                raise ParameterError(f"n_motifs={k} is more than the {n_ok if k > n_ok else smallest} frames with a "
                                     f"latent in {where}: choose k below that.")
            self.n_motifs_ = k
            if self.fit_on == "pooled":
                self.model_ = self._fit_one(seqs, self.seed)
                self.models_ = None
            else:
                from behavnb.parallel import map_items, raise_failures

                outcomes = map_items(lambda q: self._fit_one([q], self.seed), [(f"{q.session}/{q.individual}", q) for q in seqs],
                                     scheduler=scheduler, desc="fitting per recording", progress=False)
                raise_failures(outcomes, "recordings")
                self.models_ = {(q.session, q.individual): o.value for q, o in zip(seqs, outcomes)}
                self.model_ = None
                self.permutations_ = self._consensus()
        self.n_frames_fit_ = sum(len(q.x) for q in seqs)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _fit_vq(self, seqs: list[Sequence], source: dict) -> None:
        missing = [q.session for q in seqs if self.level not in q.codes]
        if missing:
            raise ParameterError(f"method 'vq' needs VQ-MAP codes (a {self.level!r} coordinate on the latents, as "
                                 f"latents/vqmap/ has); sessions {missing[:5]} have none. Use kmeans/hmm/gmm for them.")
        nt, ns = source.get("n_types"), source.get("n_subtypes")
        if nt is None or ns is None:
            raise ParameterError("method 'vq' needs the n_types/n_subtypes attributes embed writes on VQ-MAP latents.")
        self.n_motifs_ = {"motif": nt * ns, "type": nt, "subtype": ns}[self.level]
        self.model_, self.models_ = None, None

    def _kmeans(self, x: np.ndarray, seed: int):
        from sklearn.cluster import KMeans

        return KMeans(self.n_motifs_, n_init=self.n_init, random_state=seed).fit(self._subsample(x, seed))

    def _subsample(self, x: np.ndarray, seed: int) -> np.ndarray:
        if len(x) <= self.max_fit_frames:
            return x
        return x[np.sort(np.random.default_rng(seed).choice(len(x), self.max_fit_frames, replace=False))]

    def _fit_one(self, seqs: list[Sequence], seed: int):
        """One estimator on the finite frames of ``seqs``."""
        if self.method == "hmm":
            return self._fit_hmm(seqs, seed)
        x = np.concatenate([q.x[np.isfinite(q.x).all(axis=1)] for q in seqs])
        if self.method == "kmeans":
            return self._kmeans(x, seed)
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(self.n_motifs_, covariance_type=self.covariance, max_iter=self.n_iter, tol=self.tol,
                               reg_covar=1e-4, random_state=seed).fit(self._subsample(x, seed))

    def _fit_hmm(self, seqs: list[Sequence], seed: int):
        from behavnb.segment._hmm import single_thread

        with single_thread():  # small d x d products: threads only add waiting (see segment._hmm)
            return self._fit_hmm_one_thread(seqs, seed)

    def _fit_hmm_one_thread(self, seqs: list[Sequence], seed: int):
        from behavnb.segment._hmm import GaussianHMM

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
        if self.sticky > 0:
            prior += np.eye(k) * self.sticky * len(x) / k
        hmm = GaussianHMM(k, covariance_type=self.covariance, n_iter=self.n_iter, tol=self.tol * len(x),
                          random_state=seed, init_params="", params="stmc", transmat_prior=prior, min_covar=reg)
        hmm.startprob_ = np.bincount(y[np.concatenate([[0], ends[:-1]])], minlength=k) + 1.0
        hmm.startprob_ /= hmm.startprob_.sum()
        hmm.transmat_ = counts / counts.sum(axis=1, keepdims=True)
        hmm.means_ = km.cluster_centers_
        hmm.covars_ = covars
        import logging

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
        return est.cluster_centers_ if self.method == "kmeans" else est.means_

    def _consensus(self) -> dict:
        """Per-session motif numbers -> consensus numbers (Hungarian matching of means to pooled centres)."""
        from scipy.optimize import linear_sum_assignment
        from sklearn.cluster import KMeans

        means = {key: self._means(est) for key, est in self.models_.items()}
        centres = KMeans(self.n_motifs_, n_init=10, random_state=self.seed).fit(np.concatenate(list(means.values()))).cluster_centers_
        perms = {}
        for key, m in means.items():
            cost = ((m[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
            rows, cols = linear_sum_assignment(cost)
            perm = np.empty(self.n_motifs_, np.int64)
            perm[rows] = cols
            perms[key] = perm
        return perms

    # labelling ---------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "n_motifs_"):
            raise ParameterError("this MotifModel is not fitted yet: call .fit(latents) first.")

    def _check_source(self, source: dict) -> None:
        mine = self.source_
        if source != mine:
            diff = {k: (mine.get(k), source.get(k)) for k in set(mine) | set(source) if mine.get(k) != source.get(k)}
            raise ParameterError(f"these latents come from a different model than the one this MotifModel was fitted on "
                                 f"(fitted vs given: {diff}). Predict on latents of the same model.")

    def _estimator(self, q: Sequence):
        if self.models_ is None:
            return self.model_, None
        key = (q.session, q.individual)
        if key not in self.models_:
            raise ParameterError(f"session {q.session!r} ({q.individual}) was not in the fit; a per-session "
                                 f"MotifModel (fit_on='session') labels only the sessions it was fitted on.")
        return self.models_[key], self.permutations_[key]

    def frame_labels(self, latents: Mapping[str, object], *, scheduler: str | None = None,
                     progress: bool = False) -> list[tuple[Sequence, np.ndarray]]:
        """Each sequence with its labels (one per frame, -1 where there is no latent).

        ``scheduler`` (see :mod:`behavnb.parallel`): label the recordings in parallel with Dask.
        """
        from behavnb.parallel import map_items, raise_failures

        self._check_fitted()
        seqs, source = sequences(latents)
        self._check_source(source)
        outcomes = map_items(self._label_one, [(f"{q.session}/{q.individual}", q) for q in seqs],
                             scheduler=scheduler, desc="labelling", progress=progress)
        raise_failures(outcomes, "recordings")
        return [(q, o.value) for q, o in zip(seqs, outcomes)]

    def _label_one(self, q: Sequence) -> np.ndarray:
        if self.method == "vq":
            if self.level not in q.codes:
                raise ParameterError(f"session {q.session!r} has no {self.level!r} codes.")
            return q.codes[self.level].copy()
        est, perm = self._estimator(q)
        y = np.full(len(q.x), -1, np.int64)
        if self.method == "hmm":
            from behavnb.segment._hmm import single_thread

            with single_thread():
                for a, b in finite_runs(q.x, 1):
                    y[a:b] = est.predict(q.x[a:b]) if b - a > 1 else est.predict(np.repeat(q.x[a:b], 2, 0))[:1]
        else:
            ok = np.isfinite(q.x).all(axis=1)
            if ok.any():
                y[ok] = est.predict(q.x[ok])
        if perm is not None:
            y = np.where(y >= 0, perm[np.clip(y, 0, None)], -1)
        return y

    def predict(self, latents: Mapping[str, object], *, scheduler: str | None = None):
        """The labels table (session, individual, frame, time, motif[, type, subtype]): one row per frame.

        ``scheduler``: label the recordings in parallel with Dask (see :mod:`behavnb.parallel`).
        """
        pairs = self.frame_labels(latents, scheduler=scheduler)
        seqs, labels = [p[0] for p in pairs], [p[1] for p in pairs]
        extra = None
        if self.method == "vq":
            extra = {c: [q.codes[c] for q in seqs] for c in ("type", "subtype") if all(c in q.codes for q in seqs)}
        return labels_frame(seqs, labels, extra)

    def fit_predict(self, latents: Mapping[str, object]):
        return self.fit(latents).predict(latents)

    def score(self, latents: Mapping[str, object]) -> float:
        """Mean log-likelihood per frame (hmm, gmm) or minus the mean squared distance to the centre (kmeans).

        Higher is better; on held-out sessions it measures how well the motifs generalise.
        """
        self._check_fitted()
        if self.method == "vq":
            raise ParameterError("a 'vq' MotifModel has no likelihood; score the VQ-MAP model's reconstruction instead.")
        seqs, source = sequences(latents)
        self._check_source(source)
        total, n = 0.0, 0
        for q in seqs:
            est, _ = self._estimator(q)
            if self.method == "hmm":
                from behavnb.segment._hmm import single_thread

                runs = [q.x[a:b] for a, b in finite_runs(q.x, 1)]
                if runs:
                    with single_thread():
                        total += est.score(np.concatenate(runs), [len(r) for r in runs])
                    n += sum(len(r) for r in runs)
            else:
                x = q.x[np.isfinite(q.x).all(axis=1)]
                if len(x):
                    total += est.score(x) * len(x) if self.method == "gmm" else est.score(x)
                    n += len(x)
        return total / max(n, 1)

    @property
    def transmat_(self) -> np.ndarray:
        """The HMM's fitted transition matrix (pooled fits)."""
        if self.method != "hmm" or self.model_ is None:
            raise AttributeError("transmat_ exists only for a pooled HMM")
        return self.model_.transmat_

    # persistence ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Pickle to ``path`` atomically (``motifs/<name>/model.pkl``)."""
        from behavnb.project import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                pickle.dump(self, fh)
        return path

    @staticmethod
    def load(path: str | Path) -> MotifModel:
        path = Path(path)
        if not path.exists():
            raise ParameterError(f"{path}: no saved MotifModel; run notebook 06_segment first.")
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
        if not isinstance(obj, MotifModel):
            raise ParameterError(f"{path} holds a {type(obj).__name__}, not a MotifModel.")
        return obj
