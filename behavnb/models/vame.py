"""A VAME-style recurrent variational autoencoder (Luxem et al. 2022), written for behavnb.

Shapes (B = batch, T = ``TEMPORAL_WINDOW``, F = ``NUM_FEATURES``, Z = ``ZDIMS``):

- ``Encoder``: (B, T, F) -> (B, 4 * hidden_size_layer_1), the final hidden states of a 2-layer
  bidirectional GRU (2 layers x 2 directions), concatenated.
- ``Lambda``: (B, 4 * hidden_size_layer_1) -> z, mu, logvar, each (B, Z); z is sampled with the
  reparameterisation trick while training and equals mu in eval mode.
- ``Decoder``: z (B, Z) -> reconstruction (B, T, F): z repeated T times into a bidirectional GRU
  whose initial hidden state is a linear map of z.
- ``Decoder_Future``: z -> the next ``FUTURE_STEPS`` frames, (B, FUTURE_STEPS, F), the same way.
- ``RNN_VAE.forward(seq)``: seq (B, T, F) -> (prediction, future, z, mu, logvar), or
  (prediction, z, mu, logvar) when ``FUTURE_DECODER`` is False.

The class and argument names follow the VAME seed so that its users recognise them; the code is ours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


class Encoder(nn.Module):
    """2-layer bidirectional GRU over the window; returns its final hidden states, concatenated."""

    def __init__(self, NUM_FEATURES: int, hidden_size_layer_1: int, hidden_size_layer_2: int, dropout_encoder: float):
        super().__init__()
        self.hidden_size = hidden_size_layer_1
        self.hidden_size_layer_2 = hidden_size_layer_2  # kept for the seed's signature; the GRU uses layer 1's size
        self.rnn = nn.GRU(NUM_FEATURES, hidden_size_layer_1, num_layers=2, batch_first=True,
                          dropout=dropout_encoder, bidirectional=True)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(inputs)  # h: (layers * directions, B, H)
        return h.permute(1, 0, 2).reshape(inputs.shape[0], -1)


class Lambda(nn.Module):
    """Hidden state -> Gaussian posterior (mu, logvar) and a sample z."""

    def __init__(self, ZDIMS: int, hidden_size_layer_1: int, hidden_size_layer_2: int, softplus: bool = False):
        super().__init__()
        hid = 4 * hidden_size_layer_1
        self.mean = nn.Linear(hid, ZDIMS)
        self.logvar = nn.Linear(hid, ZDIMS)
        self.softplus = nn.Softplus() if softplus else None

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu = self.mean(hidden)
        logvar = self.logvar(hidden)
        if self.softplus is not None:  # a variance bounded away from 0 (log of softplus)
            logvar = torch.log(self.softplus(logvar) + 1e-6)
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        else:
            z = mu
        return z, mu, logvar


class _ZToSequence(nn.Module):
    """z repeated over ``steps`` frames into a bidirectional GRU initialised from z, then a linear readout."""

    def __init__(self, steps: int, ZDIMS: int, NUM_FEATURES: int, hidden: int, dropout: float):
        super().__init__()
        self.steps, self.hidden = steps, hidden
        self.rnn = nn.GRU(ZDIMS, hidden, num_layers=2, batch_first=True, dropout=dropout, bidirectional=True)
        self.latent_to_hidden = nn.Linear(ZDIMS, hidden * 4)
        self.out = nn.Linear(hidden * 2, NUM_FEATURES)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        h0 = self.latent_to_hidden(z).view(b, 4, self.hidden).permute(1, 0, 2).contiguous()
        seq, _ = self.rnn(z.unsqueeze(1).expand(b, self.steps, z.shape[1]), h0)
        return self.out(seq)


class Decoder(_ZToSequence):
    """Reconstructs the input window from z: (B, Z) -> (B, TEMPORAL_WINDOW, NUM_FEATURES)."""

    def __init__(self, TEMPORAL_WINDOW: int, ZDIMS: int, NUM_FEATURES: int, hidden_size_rec: int, dropout_rec: float):
        super().__init__(TEMPORAL_WINDOW, ZDIMS, NUM_FEATURES, hidden_size_rec, dropout_rec)


class Decoder_Future(_ZToSequence):  # noqa: N801 - the seed's public name
    """Predicts the frames after the window from z: (B, Z) -> (B, FUTURE_STEPS, NUM_FEATURES)."""

    def __init__(self, TEMPORAL_WINDOW: int, ZDIMS: int, NUM_FEATURES: int, FUTURE_STEPS: int, hidden_size_pred: int,
                 dropout_pred: float):
        super().__init__(FUTURE_STEPS, ZDIMS, NUM_FEATURES, hidden_size_pred, dropout_pred)
        self.TEMPORAL_WINDOW = TEMPORAL_WINDOW


class RNN_VAE(nn.Module):  # noqa: N801 - the seed's public name
    """Encoder -> Lambda -> Decoder (+ Decoder_Future). See the module docstring for shapes."""

    def __init__(self, TEMPORAL_WINDOW: int, ZDIMS: int, NUM_FEATURES: int, FUTURE_DECODER: bool, FUTURE_STEPS: int,
                 hidden_size_layer_1: int, hidden_size_layer_2: int, hidden_size_rec: int, hidden_size_pred: int,
                 dropout_encoder: float, dropout_rec: float, dropout_pred: float, softplus: bool):
        super().__init__()
        self.TEMPORAL_WINDOW, self.ZDIMS, self.NUM_FEATURES = TEMPORAL_WINDOW, ZDIMS, NUM_FEATURES
        self.FUTURE_DECODER, self.FUTURE_STEPS = FUTURE_DECODER, FUTURE_STEPS
        self.encoder = Encoder(NUM_FEATURES, hidden_size_layer_1, hidden_size_layer_2, dropout_encoder)
        self.lmbda = Lambda(ZDIMS, hidden_size_layer_1, hidden_size_layer_2, softplus)
        self.decoder = Decoder(TEMPORAL_WINDOW, ZDIMS, NUM_FEATURES, hidden_size_rec, dropout_rec)
        self.decoder_future = (Decoder_Future(TEMPORAL_WINDOW, ZDIMS, NUM_FEATURES, FUTURE_STEPS, hidden_size_pred,
                                              dropout_pred) if FUTURE_DECODER else None)

    def forward(self, seq: torch.Tensor):
        if seq.ndim != 3 or seq.shape[2] != self.NUM_FEATURES:
            raise ValueError(f"RNN_VAE expects (batch, time, {self.NUM_FEATURES}) input, got {tuple(seq.shape)}.")
        z, mu, logvar = self.lmbda(self.encoder(seq))
        prediction = self.decoder(z)
        if self.decoder_future is None:
            return prediction, z, mu, logvar
        return prediction, self.decoder_future(z), z, mu, logvar

    @torch.inference_mode()
    def embed(self, seq: torch.Tensor) -> torch.Tensor:
        """The posterior mean mu of each window, (B, Z), without sampling or decoding."""
        return self.lmbda.mean(self.encoder(seq))


@dataclass
class VAMEConfig:
    """Architecture of ``RNN_VAE``; ``NUM_FEATURES`` comes from the data."""

    TEMPORAL_WINDOW: int = 30
    ZDIMS: int = 30
    FUTURE_DECODER: bool = True
    FUTURE_STEPS: int = 15
    hidden_size_layer_1: int = 256
    hidden_size_layer_2: int = 256
    hidden_size_rec: int = 256
    hidden_size_pred: int = 256
    dropout_encoder: float = 0.0
    dropout_rec: float = 0.0
    dropout_pred: float = 0.0
    softplus: bool = False

    def build(self, NUM_FEATURES: int) -> RNN_VAE:
        return RNN_VAE(NUM_FEATURES=NUM_FEATURES, **asdict(self))


#: ``vame``: the reference's architecture. ``cpu_fast`` is provisional until the time-to-quality
#: benchmark of step 4 picks it.
PRESETS = {
    "vame": VAMEConfig(),
    "cpu_fast": VAMEConfig(hidden_size_layer_1=64, hidden_size_layer_2=64, hidden_size_rec=64, hidden_size_pred=64,
                           ZDIMS=16),
}


def kl_weight(epoch: int, start: int = 2, end: int = 4, beta: float = 1.0, mode: str = "linear") -> float:
    """KL annealing: 0 before ``start``, rising to ``beta`` at ``end`` (linear or sigmoid), then ``beta``."""
    if epoch < start:
        return 0.0
    if epoch >= end or end <= start:
        return float(beta)
    frac = (epoch - start) / (end - start)
    if mode == "sigmoid":
        frac = float(1 / (1 + torch.exp(torch.tensor(-12.0 * (frac - 0.5)))))
    return float(beta) * frac


def vame_loss(outputs, target: torch.Tensor, future: torch.Tensor | None = None, *, kl_beta: float = 1.0,
              cluster_weight: float = 0.0, n_clusters: int = 15, reduction: str = "mean") -> dict[str, torch.Tensor]:
    """Reconstruction + future-prediction MSE + beta * KL (+ optional low-rank "cluster" penalty).

    ``reduction="mean"`` (default): both MSE terms are means over batch, time and features, and the
    KL is summed over latent dimensions and averaged over the batch. Then the size of every term
    does not depend on batch size, window length or the number of keypoints, so ``kl_beta`` keeps its
    meaning when those change. ``reduction="vame"`` reproduces the reference's weighting: MSE
    *summed* over everything, KL *averaged* over batch and latent dimensions. That makes the KL
    ~T*F*B/Z times weaker than it reads, so those runs are near-deterministic autoencoders.

    The cluster penalty pushes the batch's latents towards ``n_clusters`` directions: the sum of the
    Z - n_clusters smallest eigenvalues of the Z x Z Gram matrix (z^T z / B), never the B x B one.
    Returns a dict of 0-d tensors: loss, reconstruction, future, kl, cluster.
    """
    if reduction not in ("mean", "vame"):
        raise ValueError(f"reduction={reduction!r}: use 'mean' or 'vame'.")
    if len(outputs) == 5:
        prediction, fut, z, mu, logvar = outputs
    else:
        (prediction, z, mu, logvar), fut = outputs, None
    agg = torch.sum if reduction == "vame" else torch.mean
    rec = agg((prediction - target) ** 2)
    fut_loss = agg((fut - future) ** 2) if fut is not None and future is not None else rec.new_zeros(())
    kl_terms = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
    kl = kl_terms.mean() if reduction == "vame" else kl_terms.sum(dim=1).mean()
    cluster = rec.new_zeros(())
    if cluster_weight > 0:
        gram = z.T @ z / z.shape[0]  # (Z, Z)
        eig = torch.linalg.eigvalsh(gram)  # ascending
        k = max(0, z.shape[1] - n_clusters)
        cluster = eig[:k].sum()
    loss = rec + fut_loss + kl_beta * kl + cluster_weight * cluster
    return {"loss": loss, "reconstruction": rec.detach(), "future": fut_loss.detach(), "kl": kl.detach(),
            "cluster": cluster.detach()}
