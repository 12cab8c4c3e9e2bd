"""Motif models: the interface every motif method shares (per-frame latents -> one motif label per frame).

The heart of the segment room of the flow (... embed -> codes/**segment** -> hierarchy -> stats ...).

scikit-learn conventions: ``__init__`` only stores the parameters, ``fit`` checks them and learns, fitted
attributes end with an underscore (``n_motifs_``, ``means_``, ``source_``, ...), ``predict`` returns the labels
table (session, individual, frame, time, motif). Every class shares the ``MotifModel`` base: ``fit_predict``,
``save``/``load`` (a pickle next to the labels) and ``name``. ``motif_model(method, ...)`` builds one from a
method string (notebook 06's ``method`` parameter).

The four methods, ``KMeansMotifs``, ``HMMMotifs``, ``GMMMotifs`` and ``VQMotifs``, are in ``segment.methods``.

``fit_on="session"`` (k-means, HMM, GMM) fits one model per session and animal (each recording its own
motifs, as when animals differ a lot) and then renumbers each one's motifs to a consensus, by Hungarian
matching of its motif means to k-means centres of all sessions' means, so motif 3 means roughly the same
thing everywhere. Frames without a latent get motif -1.
"""

from __future__ import annotations

import inspect
import pickle
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from behavnb.errors import ParameterError
from behavnb.parallel import map_items, raise_failures
from behavnb.segment._data import Sequence, labels_frame, sequences
from behavnb.utils import atomic_path

COVARIANCES = ("tied", "diag", "full", "spherical")
FIT_ON = ("pooled", "session")
LEVELS = ("motif", "type", "subtype")


class MotifModel:
    """Base class of the motif models: per-frame latents in, one motif label per frame out.

    Not used directly: build ``KMeansMotifs``, ``HMMMotifs``, ``GMMMotifs`` or ``VQMotifs``, or
    ``motif_model(method, ...)``. ``MotifModel.load`` reads any of them back.

    Attributes
    ----------
    method : str
        The method's name in ``motifs/<model>-<method>-<k>/`` (class attribute).
    takes_k : bool
        Whether k is a parameter (False: the codebook sets it).
    has_likelihood : bool
        Whether ``score`` is a log-likelihood.
    """

    method: str = ""
    takes_k: bool = True
    has_likelihood: bool = False

    def __init__(self, *args, **kwargs):
        raise ParameterError("MotifModel is the base class of the motif models: build one with "
                             "segment.motif_model(method, n_motifs, ...) or KMeansMotifs / HMMMotifs / GMMMotifs / "
                             "VQMotifs(...).")

    # parameters (scikit-learn's get_params / set_params) ---------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD
                and p.kind != p.VAR_POSITIONAL]

    def get_params(self, deep: bool = True) -> dict:
        """The parameters given to ``__init__``, by name.

        Parameters
        ----------
        deep : bool
            Unused (no nested estimators); kept for scikit-learn's signature.

        Returns
        -------
        dict
            ``{name: value}``.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> MotifModel:
        """Set parameters by name (checked, like the others, by ``fit``).

        Parameters
        ----------
        **params
            Parameters of this class's ``__init__``.

        Returns
        -------
        MotifModel
            ``self``.

        Raises
        ------
        ParameterError
            A name this class does not take.
        """
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise ParameterError(f"{type(self).__name__} has no parameter(s) {unknown}; it takes {self._param_names()}.")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k, inspect.Parameter.empty) != v
                 or k == "n_motifs"]
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def name(self) -> str:
        """``<model>-<method>-<k>``: the folder name under ``motifs/`` (``<model>-<method>`` before ``fit``)."""
        src = getattr(self, "source_", {}).get("model", "latents")
        return f"{src}-{self.method}-{self.n_motifs_}" if hasattr(self, "n_motifs_") else f"{src}-{self.method}"

    # fitting -------------------------------------------------------------------------------------------------
    def fit(self, latents: Mapping[str, object], *, scheduler: str | None = None) -> MotifModel:
        """Check the parameters and learn the motifs from ``{session: latents}``.

        Parameters
        ----------
        latents : mapping
            ``{session: DataArray (time, latent[, individual])}`` as ``project.read_latents`` gives, all from
            one model.
        scheduler : str, optional
            With ``fit_on="session"``, fit the recordings in parallel with Dask (see :mod:`behavnb.parallel`);
            a pooled fit is one model and runs here.

        Returns
        -------
        MotifModel
            ``self``, fitted.

        Raises
        ------
        ParameterError
            An invalid parameter, latents of mixed models, or k above the frames with a latent.
        """
        self._check_params()
        seqs, source = sequences(latents)
        t0 = time.perf_counter()
        self.source_ = source
        self._fit(seqs, scheduler)
        self.n_frames_fit_ = sum(len(q.x) for q in seqs)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _check_params(self) -> None:
        raise NotImplementedError

    def _fit(self, seqs: list[Sequence], scheduler: str | None) -> None:
        raise NotImplementedError

    # labelling -----------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "n_motifs_"):
            raise ParameterError(f"this {type(self).__name__} is not fitted yet: call .fit(latents) first.")

    def _check_source(self, source: dict) -> None:
        mine = self.source_
        if source != mine:
            diff = {k: (mine.get(k), source.get(k)) for k in set(mine) | set(source) if mine.get(k) != source.get(k)}
            raise ParameterError(f"these latents come from a different model than the one this {type(self).__name__} "
                                 f"was fitted on (fitted vs given: {diff}). Predict on latents of the same model.")

    def _label_one(self, q: Sequence) -> np.ndarray:
        raise NotImplementedError

    def frame_labels(self, latents: Mapping[str, object], *, scheduler: str | None = None,
                     progress: bool = False) -> list[tuple[Sequence, np.ndarray]]:
        """Each sequence (session and animal) with its labels: one per frame, -1 where there is no latent.

        Parameters
        ----------
        latents : mapping
            ``{session: latents}`` of the model the fit used.
        scheduler : str, optional
            Label the recordings in parallel with Dask (see :mod:`behavnb.parallel`).
        progress : bool
            Show a progress bar.

        Returns
        -------
        list of (Sequence, numpy.ndarray)
            One pair per recording.

        Raises
        ------
        ParameterError
            Not fitted, or latents of another model.
        """
        self._check_fitted()
        seqs, source = sequences(latents)
        self._check_source(source)
        outcomes = map_items(self._label_one, [(f"{q.session}/{q.individual}", q) for q in seqs],
                             scheduler=scheduler, desc="labelling", progress=progress)
        raise_failures(outcomes, "recordings")
        return [(q, o.value) for q, o in zip(seqs, outcomes, strict=True)]

    def _extra_columns(self, seqs: list[Sequence]) -> dict | None:
        return None

    def metadata(self) -> dict:
        """What the labels carry about this fit: name, model, method, n_motifs and the motif ids.

        Returns
        -------
        dict
            ``name``, ``model`` (the latents' model), ``method``, ``n_motifs`` (k) and ``motifs`` (the label ids
            0 .. k-1; -1 = no label). ``predict`` puts it in the labels' ``attrs``; ``segment.write_motifs``
            writes it (with the frame rate) to ``segmentation.json``.

        Raises
        ------
        ParameterError
            Not fitted.
        """
        self._check_fitted()
        k = int(self.n_motifs_)
        return {"name": self.name, "model": str(self.source_.get("model", "latents")), "method": self.method,
                "n_motifs": k, "motifs": list(range(k))}

    def predict(self, latents: Mapping[str, object], *, scheduler: str | None = None):
        """The labels table: one row per frame of every session and animal.

        Parameters
        ----------
        latents : mapping
            ``{session: latents}`` of the model the fit used.
        scheduler : str, optional
            Label the recordings in parallel with Dask (see :mod:`behavnb.parallel`).

        Returns
        -------
        DataFrame
            session, individual, frame, time, motif (-1: no latent)[, type, subtype for VQ codes]; ``attrs``
            holds :meth:`metadata` (k, method, ...), which ``codes.usage`` and the other tables read.

        Raises
        ------
        ParameterError
            Not fitted, or latents of another model (or sessions a per-session fit did not see).
        """
        pairs = self.frame_labels(latents, scheduler=scheduler)
        seqs, labels = [p[0] for p in pairs], [p[1] for p in pairs]
        table = labels_frame(seqs, labels, self._extra_columns(seqs))
        table.attrs.update(self.metadata())
        return table

    def fit_predict(self, latents: Mapping[str, object]):
        """``fit(latents)`` then ``predict(latents)``.

        Parameters
        ----------
        latents : mapping
            ``{session: latents}``.

        Returns
        -------
        DataFrame
            The labels table (see :meth:`predict`).
        """
        return self.fit(latents).predict(latents)

    def score(self, latents: Mapping[str, object]) -> float:
        """Mean log-likelihood per frame (HMM, GMM) or minus the mean squared distance to the centre (k-means).

        Higher is better; on held-out sessions it measures how well the motifs generalise.

        Parameters
        ----------
        latents : mapping
            ``{session: latents}`` of the model the fit used.

        Returns
        -------
        float

        Raises
        ------
        ParameterError
            Not fitted, latents of another model, or a model without a score (VQ codes).
        """
        self._check_fitted()
        seqs, source = sequences(latents)
        self._check_source(source)
        total, n = 0.0, 0
        for q in seqs:
            t, m = self._score_one(q)
            total, n = total + t, n + m
        return total / max(n, 1)

    def _score_one(self, q: Sequence) -> tuple[float, int]:
        raise NotImplementedError

    # persistence ---------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Pickle to ``path`` atomically (``motifs/<name>/model.pkl``).

        Parameters
        ----------
        path : str or Path
            The file to write (its folder is created).

        Returns
        -------
        Path
            ``path``.
        """
        path = Path(path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                pickle.dump(self, fh)
        return path

    @staticmethod
    def load(path: str | Path) -> MotifModel:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
            A ``model.pkl``.

        Returns
        -------
        MotifModel
            The fitted ``KMeansMotifs``, ``HMMMotifs``, ``GMMMotifs`` or ``VQMotifs``.

        Raises
        ------
        ParameterError
            No file, a pickle of something else, or a model saved by an older behavnb (rerun notebook 06).
        """
        path = Path(path)
        if not path.exists():
            raise ParameterError(f"{path}: no saved MotifModel; run notebook 06_segment first.")
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
        if type(obj) is MotifModel:
            raise ParameterError(f"{path} was saved by an older behavnb (one MotifModel class for every method), which "
                                 f"this version cannot use; rerun notebook 06_segment to fit and save the motifs again.")
        if not isinstance(obj, MotifModel):
            raise ParameterError(f"{path} holds a {type(obj).__name__}, not a MotifModel.")
        return obj


class _LearnedMotifs(MotifModel):
    """k motifs learned from the latents (k-means, HMM, GMM): one pooled model, or one per recording.

    Subclasses give ``_fit_one`` (an estimator on some sequences), ``_means`` (its motif means),
    ``_predict_finite`` (labels of one recording's frames) and ``_score_finite``.
    """

    def _check_params(self) -> None:
        k = self.n_motifs
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 2:
            raise ParameterError(f"n_motifs must be an integer >= 2 for {self.method!r}, not {k!r}.")
        if self.fit_on not in FIT_ON:
            raise ParameterError(f"fit_on must be 'pooled' or 'session', not {self.fit_on!r}.")
        covariance = getattr(self, "covariance", None)
        if covariance is not None and covariance not in COVARIANCES:
            raise ParameterError(f"covariance must be one of {list(COVARIANCES)}, not {covariance!r}.")

    def _fit(self, seqs: list[Sequence], scheduler: str | None) -> None:
        n_ok = sum(int(np.isfinite(q.x).all(axis=1).sum()) for q in seqs)
        k = int(self.n_motifs)
        smallest = min(int(np.isfinite(q.x).all(axis=1).sum()) for q in seqs)
        if k > n_ok or (self.fit_on == "session" and k > smallest):
            where = "all sessions together" if k > n_ok else "the shortest session (fit_on='session')"
            raise ParameterError(f"n_motifs={k} is more than the {n_ok if k > n_ok else smallest} frames with a "
                                 f"latent in {where}: choose k below that.")
        self.n_motifs_ = k
        for stale in ("means_", "transmat_", "permutations_"):
            self.__dict__.pop(stale, None)
        if self.fit_on == "pooled":
            self.model_ = self._fit_one(seqs, int(self.seed))
            self.models_ = None
            self.means_ = np.asarray(self._means(self.model_))
        else:
            outcomes = map_items(lambda q: self._fit_one([q], int(self.seed)),
                                 [(f"{q.session}/{q.individual}", q) for q in seqs],
                                 scheduler=scheduler, desc="fitting per recording", progress=False)
            raise_failures(outcomes, "recordings")
            self.models_ = {(q.session, q.individual): o.value for q, o in zip(seqs, outcomes, strict=True)}
            self.model_ = None
            self.permutations_ = self._consensus()

    def _fit_one(self, seqs: list[Sequence], seed: int):
        raise NotImplementedError

    def _means(self, est) -> np.ndarray:
        raise NotImplementedError

    def _kmeans(self, x: np.ndarray, seed: int):
        from sklearn.cluster import KMeans  # scikit-learn loads in ~1 s: only when a model is fitted

        return KMeans(self.n_motifs_, n_init=int(self.n_init), random_state=seed).fit(self._subsample(x, seed))

    def _subsample(self, x: np.ndarray, seed: int) -> np.ndarray:
        if len(x) <= int(self.max_fit_frames):
            return x
        return x[np.sort(np.random.default_rng(seed).choice(len(x), int(self.max_fit_frames), replace=False))]

    @staticmethod
    def _finite(seqs: list[Sequence]) -> np.ndarray:
        return np.concatenate([q.x[np.isfinite(q.x).all(axis=1)] for q in seqs])

    def _consensus(self) -> dict:
        """Per-session motif numbers -> consensus numbers (Hungarian matching of means to pooled centres)."""
        from scipy.optimize import linear_sum_assignment
        from sklearn.cluster import KMeans

        means = {key: self._means(est) for key, est in self.models_.items()}
        centres = KMeans(self.n_motifs_, n_init=10, random_state=int(self.seed)).fit(
            np.concatenate(list(means.values()))).cluster_centers_
        perms = {}
        for key, m in means.items():
            cost = ((m[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
            rows, cols = linear_sum_assignment(cost)
            perm = np.empty(self.n_motifs_, np.int64)
            perm[rows] = cols
            perms[key] = perm
        return perms

    def _estimator(self, q: Sequence):
        if self.models_ is None:
            return self.model_, None
        key = (q.session, q.individual)
        if key not in self.models_:
            raise ParameterError(f"session {q.session!r} ({q.individual}) was not in the fit; a per-session "
                                 f"{type(self).__name__} (fit_on='session') labels only the sessions it was fitted on.")
        return self.models_[key], self.permutations_[key]

    def _label_one(self, q: Sequence) -> np.ndarray:
        est, perm = self._estimator(q)
        y = self._predict_finite(est, q.x)
        if perm is not None:
            y = np.where(y >= 0, perm[np.clip(y, 0, None)], -1)
        return y

    def _predict_finite(self, est, x: np.ndarray) -> np.ndarray:
        """Labels of the frames with a latent (-1 elsewhere), every frame on its own."""
        y = np.full(len(x), -1, np.int64)
        ok = np.isfinite(x).all(axis=1)
        if ok.any():
            y[ok] = est.predict(x[ok])
        return y

    def _score_one(self, q: Sequence) -> tuple[float, int]:
        est, _ = self._estimator(q)
        x = q.x[np.isfinite(q.x).all(axis=1)]
        if not len(x):
            return 0.0, 0
        return self._score_finite(est, x), len(x)

    def _score_finite(self, est, x: np.ndarray) -> float:
        raise NotImplementedError
