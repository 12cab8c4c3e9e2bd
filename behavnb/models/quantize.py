"""Vector quantisation with an EMA codebook: the one VQ layer of behavnb (VQ-MAP uses two of them).

Part of the models room of the flow (... windows -> **models** -> train -> embed ...).

``VectorQuantizer(n_codes, dim)`` maps each input vector to its nearest code (Euclidean) and passes
gradients straight through. The codebook is learned by exponential moving averages of the vectors
assigned to each code (van den Oord et al. 2017, appendix; Razavi et al. 2019), not by gradients:

- the codebook is initialised from the data (random vectors of the first training batch), so no
  code starts far from every input;
- a code that stays unused (its EMA count of assigned vectors per batch below ``dead_threshold``,
  1 by default, as in Jukebox) is restarted at a random input vector of the current batch, so no code
  is wasted and the codebook cannot collapse onto a few codes;
- the commitment loss ``||z - sg(q)||^2`` keeps the encoder close to its codes;
- with ``cosine=True`` (default) inputs and codes are L2-normalised, so matching is by direction
  (Yu et al. 2022, "improved VQGAN"): the encoder cannot collapse the codebook by shrinking its
  outputs onto one code, which on small datasets otherwise happens within a few hundred steps.

All codebook state (codes, EMA counts and sums, whether it was initialised) lives in buffers, so it
travels in ``state_dict`` and so in every checkpoint. Distances and updates run in float32 even
under autocast. Updates happen only in training mode; evaluation never changes the codebook.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class VectorQuantizer(nn.Module):
    """Nearest-code quantiser with EMA updates, data-based init and dead-code restarts.

    Input ``(..., dim)``; ``forward`` returns ``(quantized, indices, commitment_loss, stats)`` where
    ``quantized`` has the input's shape (straight-through gradients), ``indices`` its leading shape and
    ``stats`` holds the batch's code ``perplexity`` and ``usage`` (fraction of codes used).
    """

    def __init__(self, n_codes: int, dim: int, *, decay: float = 0.99, eps: float = 1e-5, dead_threshold: float = 1.0,
                 commitment: float = 0.25, cosine: bool = True):
        super().__init__()
        if n_codes < 2 or dim < 1:
            raise ValueError(f"n_codes={n_codes}, dim={dim}: need at least 2 codes of dimension >= 1.")
        self.n_codes, self.dim = n_codes, dim
        self.decay, self.eps, self.dead_threshold, self.commitment = decay, eps, dead_threshold, commitment
        self.cosine = cosine
        self.register_buffer("codebook", torch.randn(n_codes, dim) * 0.1)
        self.register_buffer("ema_count", torch.ones(n_codes))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("initialised", torch.tensor(False))
        self.register_buffer("restarts", torch.tensor(0, dtype=torch.long))  # dead codes restarted so far

    def extra_repr(self) -> str:
        return (f"n_codes={self.n_codes}, dim={self.dim}, decay={self.decay}, commitment={self.commitment}, "
                f"cosine={self.cosine}")

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1) if self.cosine else x

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of ``flat`` (N, dim), in float32."""
        cb = self.codebook
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ cb.T + cb.pow(2).sum(1)[None]
        return d.argmin(dim=1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Code vectors for ``indices`` (any shape) -> ``(*indices.shape, dim)``."""
        return F.embedding(indices, self.codebook)

    def _random_rows(self, flat: torch.Tensor, n: int) -> torch.Tensor:
        idx = torch.randint(len(flat), (n,), device=flat.device)
        return flat[idx]

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, indices: torch.Tensor) -> None:
        if not bool(self.initialised):
            self.codebook.copy_(self._random_rows(flat, self.n_codes))
            self.ema_sum.copy_(self.codebook)
            self.ema_count.fill_(1.0)
            self.initialised.fill_(True)
            indices = self.nearest(flat)
        onehot = F.one_hot(indices, self.n_codes).type(flat.dtype)
        count = onehot.sum(0)
        self.ema_count.mul_(self.decay).add_(count, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(onehot.T @ flat, alpha=1 - self.decay)
        n = self.ema_count.sum()
        smoothed = (self.ema_count + self.eps) / (n + self.n_codes * self.eps) * n  # Laplace smoothing
        self.codebook.copy_(self._norm(self.ema_sum / smoothed[:, None]))
        dead = self.ema_count < self.dead_threshold
        n_dead = int(dead.sum())
        if n_dead:
            fresh = self._random_rows(flat, n_dead)
            self.codebook[dead] = fresh
            self.ema_sum[dead] = fresh
            self.ema_count[dead] = 1.0
            self.restarts += n_dead

    def forward(self, z: torch.Tensor):
        shape = z.shape
        flat = self._norm(z.reshape(-1, self.dim).float())
        with torch.autocast(device_type=flat.device.type, enabled=False):
            indices = self.nearest(flat)
            if self.training:
                self._update(flat, indices)
                indices = self.nearest(flat)  # after a (re)initialisation the codes moved
            q = self.lookup(indices)
            commit = F.mse_loss(flat, q.detach())
            q = flat + (q - flat).detach()  # straight-through estimator
            probs = torch.bincount(indices, minlength=self.n_codes).float() / max(len(indices), 1)
            perplexity = torch.exp(-(probs * torch.log(probs.clamp_min(1e-10))).sum())
        stats = {"perplexity": perplexity.detach(), "usage": (probs > 0).float().mean().detach()}
        return q.reshape(shape).to(z.dtype), indices.reshape(shape[:-1]), self.commitment * commit, stats
