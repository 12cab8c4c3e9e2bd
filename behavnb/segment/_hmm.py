"""hmmlearn's ``GaussianHMM`` with a faster E-step for shared ("tied") and full covariances.

Part of the segment room of the flow (... embed -> codes/**segment** -> hierarchy -> stats ...): the engine of ``HMMMotifs``.

hmmlearn 0.3 handles a tied covariance as k copies of a full one: every E-step does k Cholesky
solves of the whole sequence for the emission densities and an ``einsum`` over (frames, k, d, d)
for the covariance statistics, although the tied M-step only needs their sum over states, which is
``X.T @ X`` (the state posteriors of a frame sum to 1). That einsum was 70 % of a tied fit. Here a
tied model whitens the frames once per E-step and reads the k densities off one matrix product; full
covariances get one BLAS product per state instead of the einsum. The fitted model is the same
(equal up to float rounding), the class is a ``GaussianHMM`` (``predict``, ``score``, pickling work as
before), and every other covariance type is left to hmmlearn.

``single_thread`` runs a fit on one BLAS/OpenMP thread: with d x d products (d ~ 10-50) there is nothing to
split, and on a shared 2-CPU machine two spinning threads made a 12k-frame tied fit 8x slower (3.3 s vs
0.43 s for the EM, 10.6 s vs 0.53 s for the k-means initialisation).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np
from hmmlearn.base import BaseHMM
from hmmlearn.hmm import GaussianHMM as _HmmlearnGaussianHMM
from scipy import linalg

_LOG_2PI = float(np.log(2 * np.pi))


def single_thread() -> AbstractContextManager:
    """A context in which BLAS and OpenMP (scikit-learn's k-means) use one thread."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _cholesky(cov: np.ndarray, min_covar: float = 1e-7) -> np.ndarray:
    """Lower Cholesky factor, retried with ``min_covar`` on the diagonal as hmmlearn does."""
    try:
        return linalg.cholesky(cov, lower=True)
    except linalg.LinAlgError:
        try:
            return linalg.cholesky(cov + min_covar * np.eye(len(cov)), lower=True)
        except linalg.LinAlgError:
            raise ValueError("'covars' must be symmetric, positive-definite") from None


def tied_log_density(x: np.ndarray, means: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Gaussian log-densities of every frame under every mean, with one shared covariance.

    One triangular solve whitens the frames and one more the means; the squared Mahalanobis
    distances then come from a single (frames x states) matrix product.

    Parameters
    ----------
    x : ndarray (n, d)
        Frames.
    means : ndarray (k, d)
        State means.
    cov : ndarray (d, d)
        The shared covariance.

    Returns
    -------
    ndarray (n, k)
        ``log N(x_t; mean_j, cov)``.
    """
    chol = _cholesky(cov)
    zx = linalg.solve_triangular(chol, x.T, lower=True, check_finite=False)  # (d, n)
    zm = linalg.solve_triangular(chol, means.T, lower=True, check_finite=False)  # (d, k)
    sq = (zx * zx).sum(axis=0)[:, None] - 2.0 * (zx.T @ zm) + (zm * zm).sum(axis=0)[None, :]
    np.maximum(sq, 0.0, out=sq)  # the expanded square can dip a rounding error below 0
    log_det = 2.0 * np.log(np.diagonal(chol)).sum()
    sq += x.shape[1] * _LOG_2PI + log_det
    sq *= -0.5
    return sq


class GaussianHMM(_HmmlearnGaussianHMM):
    """hmmlearn's ``GaussianHMM`` (same parameters, same fit) with the tied and full E-step vectorised."""

    def _compute_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        if self.covariance_type == "tied":
            return tied_log_density(X, self.means_, self._covars_)
        return super()._compute_log_likelihood(X)

    def _accumulate_sufficient_statistics(self, stats: dict, X: np.ndarray, lattice: np.ndarray,
                                          posteriors: np.ndarray, fwdlattice: np.ndarray,
                                          bwdlattice: np.ndarray) -> None:
        if self.covariance_type not in ("tied", "full"):
            return super()._accumulate_sufficient_statistics(stats, X, lattice, posteriors, fwdlattice, bwdlattice)
        # start and transition counts as hmmlearn's base class gathers them; means and covariances here
        BaseHMM._accumulate_sufficient_statistics(self, stats, X, lattice, posteriors, fwdlattice, bwdlattice)
        if self._needs_sufficient_statistics_for_mean():
            stats["post"] += posteriors.sum(axis=0)
            stats["obs"] += posteriors.T @ X
        if self._needs_sufficient_statistics_for_covars():
            if self.covariance_type == "tied":
                # the M-step sums the per-state second moments over states, and a frame's posteriors sum to 1
                stats["obs*obs.T"][0] += X.T @ X
            else:
                for c in range(self.n_components):
                    stats["obs*obs.T"][c] += (X * posteriors[:, c:c + 1]).T @ X
