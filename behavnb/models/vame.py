"""A VAME-style recurrent variational autoencoder (Luxem et al. 2022), written for behavnb.

In the models room of the flow (... inputs -> windows -> **models** -> train -> embed ...): a config
dataclass and ``nn.Module``s only; ``inputs`` makes what it reads, ``windows`` cuts it, ``train`` fits it.

Shapes (B = batch, T = ``TEMPORAL_WINDOW``, F = ``NUM_FEATURES``, Z = ``ZDIMS``):

- ``Encoder``: (B, T, F) -> (B, 4 * hidden_size_layer_1), the final hidden states of a 2-layer
  bidirectional GRU (2 layers x 2 directions), concatenated.
- ``Lambda``: (B, 4 * hidden_size_layer_1) -> z, mu, logvar, each (B, Z); z is sampled with the
  reparameterisation trick while training and equals mu in eval mode.
- ``Decoder``: z (B, Z) -> reconstruction (B, T, F): z repeated T times into a one-layer
  bidirectional GRU whose initial hidden state is a linear map of z.
- ``Decoder_Future``: z -> the next ``FUTURE_STEPS`` frames, (B, FUTURE_STEPS, F), the same way.
- ``RNN_VAE.forward(seq)``: seq (B, T, F) -> (prediction, future, z, mu, logvar), or
  (prediction, z, mu, logvar) when ``FUTURE_DECODER`` is False.

The class and argument names follow the VAME seed so that its users recognise them; the code is ours.
"""

from __future__ import annotations

import math
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
    """z repeated over ``steps`` frames into a one-layer bidirectional GRU initialised from z, then a linear readout.

    One layer, as in the reference (its encoder has two). ``dropout`` is kept for the seed's signature
    (PyTorch applies GRU dropout only between layers, so with one layer it has no effect, as there).
    """

    def __init__(self, steps: int, ZDIMS: int, NUM_FEATURES: int, hidden: int, dropout: float):
        super().__init__()
        self.steps, self.hidden, self.dropout = steps, hidden, dropout
        self.rnn = nn.GRU(ZDIMS, hidden, num_layers=1, batch_first=True, bidirectional=True)
        self.latent_to_hidden = nn.Linear(ZDIMS, hidden * 2)
        self.out = nn.Linear(hidden * 2, NUM_FEATURES)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        h0 = self.latent_to_hidden(z).view(b, 2, self.hidden).permute(1, 0, 2).contiguous()
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
    """Architecture of ``RNN_VAE``; ``NUM_FEATURES`` comes from the data (``build``).

    Parameters
    ----------
    TEMPORAL_WINDOW : int, default 30
        Frames per window.
    ZDIMS : int, default 30
        Latent dimensions.
    FUTURE_DECODER : bool, default True
        Also predict the frames after the window.
    FUTURE_STEPS : int, default 15
        Frames the future decoder predicts.
    hidden_size_layer_1, hidden_size_layer_2 : int, default 256
        Encoder GRU width (the second is kept for the seed's signature; the GRU uses the first).
    hidden_size_rec, hidden_size_pred : int, default 256
        Decoder and future decoder GRU widths.
    dropout_encoder, dropout_rec, dropout_pred : float, default 0.0
        Dropout of the encoder, decoder and future decoder.
    softplus : bool, default False
        Pass the log-variance through a softplus.
    """

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
        """Make an ``RNN_VAE`` of this architecture.

        Parameters
        ----------
        NUM_FEATURES : int
            Input columns per frame (``len(windows.names)``).

        Returns
        -------
        RNN_VAE
        """
        return RNN_VAE(NUM_FEATURES=NUM_FEATURES, **asdict(self))


#: ``vame``: the reference's architecture. ``cpu_fast``: the cheapest setting we found whose held-out
#: reconstruction R^2 reaches the reference's after 50 epochs (benchmarks/bench_vame.py: 10.5 s against
#: 393 s on 2 CPU cores); hidden 32 never got there, hidden 128 was no faster.
PRESETS = {
    "vame": VAMEConfig(),
    "cpu_fast": VAMEConfig(hidden_size_layer_1=64, hidden_size_layer_2=64, hidden_size_rec=64, hidden_size_pred=64,
                           ZDIMS=16),
}

#: The optimiser settings that go with each preset (``TrainConfig`` fields): the reference's for ``vame``,
#: the time-to-quality winner for ``cpu_fast``.
PRESET_TRAINING = {"vame": {"lr": 5e-4, "batch_size": 256}, "cpu_fast": {"lr": 3e-3, "batch_size": 128}}


def kl_weight(epoch: int, start: int = 2, duration: int = 4, beta: float = 1.0, mode: str = "linear") -> float:
    """KL annealing over epochs counted from 1: 0 up to ``start``, then rising to ``beta`` over ``duration`` epochs.

    Linear: ``beta * min(1, (epoch - start) / duration)``; sigmoid: the same ramp through a logistic.
    With the defaults (VAME's kl_start 2, annealtime 4) epochs 1-2 train a plain autoencoder and the
    KL reaches full weight at epoch 6.
    """
    if mode not in ("linear", "sigmoid"):
        raise ValueError(f"mode={mode!r}: use 'linear' or 'sigmoid'.")
    if epoch <= start:
        return 0.0
    frac = 1.0 if duration <= 0 else min(1.0, (epoch - start) / duration)
    if mode == "sigmoid":
        frac = 1.0 / (1.0 + math.exp(-12.0 * (frac - 0.5)))
    return float(beta) * frac


def cluster_penalty(z: torch.Tensor, n_clusters: int, mode: str = "kmeans") -> torch.Tensor:
    """A low-rank penalty on the batch's latents, from the small Z x Z Gram matrix ``z^T z / B``.

    ``"kmeans"``: the sum of the Z - n_clusters smallest eigenvalues (the spectral relaxation of
    k-means: 0 when the latents span only ``n_clusters`` directions). ``"vame"``: the reference's
    term, the sum of the square roots of the ``n_clusters`` largest eigenvalues. The reference takes
    them from the B x B matrix ``z z^T / B``; its non-zero eigenvalues are the same, so the value is
    identical at a fraction of the cost (30 x 30 instead of 256 x 256).
    """
    if z.dtype in (torch.float16, torch.bfloat16):  # eigvalsh needs float32 (AMP)
        z = z.float()
    gram = z.T @ z / z.shape[0]
    eig = torch.linalg.eigvalsh(gram)  # ascending
    if mode == "kmeans":
        return eig[: max(0, z.shape[1] - n_clusters)].sum()
    if mode == "vame":
        return eig.flip(0)[:n_clusters].clamp_min(1e-12).sqrt().sum()
    raise ValueError(f"cluster mode {mode!r}: use 'kmeans' or 'vame'.")


def vame_loss(outputs, target: torch.Tensor, future: torch.Tensor | None = None, *, kl_beta: float = 1.0,
              cluster_weight: float = 0.0, n_clusters: int = 15, cluster: str = "kmeans",
              reduction: str = "mean") -> dict[str, torch.Tensor]:
    """Reconstruction + future-prediction MSE + beta * KL (+ optional low-rank "cluster" penalty).

    ``reduction="mean"`` (default) is the negative ELBO per data element: both squared errors are
    averaged over batch, time and features, and the KL (summed over latent dimensions, averaged over
    the batch) is divided by the number of reconstructed elements per window, T x F. With
    ``kl_beta=1`` this is a proper VAE with a Gaussian decoder of variance 1/2 (in z-scored units); no
    term changes size with batch size, window length or the number of keypoints, so ``kl_beta`` keeps
    its meaning when those change.

    ``reduction="vame"`` reproduces the reference's weighting: squared errors *summed* over batch,
    time and features, KL *averaged* over batch and latent dimensions. Against the per-sample ELBO
    that shrinks the KL by B x Z (~7,700 at the defaults), so such runs are near-deterministic
    autoencoders whatever ``kl_beta`` says. The reported ``kl`` is the term as used in the loss.

    Returns a dict of 0-d tensors: loss, reconstruction, future, kl, cluster (only ``loss`` has a graph).
    """
    if reduction not in ("mean", "vame"):
        raise ValueError(f"reduction={reduction!r}: use 'mean' or 'vame'.")
    if len(outputs) == 5:
        prediction, fut, z, mu, logvar = outputs
    else:
        (prediction, z, mu, logvar), fut = outputs, None
    prediction, mu, logvar = prediction.float(), mu.float(), logvar.float()
    agg = torch.sum if reduction == "vame" else torch.mean
    rec = agg((prediction - target) ** 2)
    fut_loss = agg((fut.float() - future) ** 2) if fut is not None and future is not None else rec.new_zeros(())
    kl_terms = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
    if reduction == "vame":
        kl = kl_terms.mean()
    else:
        kl = kl_terms.sum(dim=1).mean() / (target.shape[1] * target.shape[2])
    penalty = cluster_penalty(z, n_clusters, cluster) if cluster_weight > 0 else rec.new_zeros(())
    loss = rec + fut_loss + kl_beta * kl + cluster_weight * penalty
    return {"loss": loss, "reconstruction": rec.detach(), "future": fut_loss.detach(), "kl": kl.detach(),
            "cluster": penalty.detach()}


@dataclass
class VAMELoss:
    """The training objective of ``RNN_VAE`` for ``behavnb.train.fit``: ``loss(model, batch, epoch)``.

    Each sample of ``batch`` is ``TEMPORAL_WINDOW + FUTURE_STEPS`` frames (``windows.build(...,
    future=FUTURE_STEPS)``): the model sees the window and predicts the frames after it. The KL and
    the cluster penalty are annealed together, as in the reference (``kl_weight``). The reference's
    own default objective is ``VAMELoss(cluster_weight=0.1, n_clusters=30, cluster="vame",
    reduction="vame")`` (summed MSE, mean KL, cluster penalty over 30 singular values). Calling it
    returns ``vame_loss``'s dict plus ``kl_weight``.

    Parameters
    ----------
    beta : float, default 1.0
        KL weight at full annealing (notebook 04 uses 0.1, which keeps more detail in the latent).
    future_to_encoder : bool, default True
        False stops the future-prediction error at the latent: the future decoder still learns to predict
        from z (so prediction can be evaluated), but z is shaped by the reconstruction and the KL alone.
        Predicting the next half second makes the latent of a window carry what comes *after* it, which
        blurs the boundary between behaviours (benchmarks/notes/v1_cohort.md, "VAME (step 4)").
    kl_start : int, default 2
        Epochs with the KL and cluster penalty off.
    anneal_time : int, default 4
        Epochs over which they rise to full weight.
    anneal : {"linear", "sigmoid"}, default "linear"
        Shape of the rise.
    cluster_weight : float, default 0.0
        Weight of the low-rank cluster penalty (``cluster_penalty``); 0 switches it off.
    n_clusters : int, default 15
        Its number of clusters.
    cluster : {"kmeans", "vame"}, default "kmeans"
        Which penalty (see ``cluster_penalty``).
    reduction : {"mean", "vame"}, default "mean"
        The per-element ELBO, or the reference's weighting (see ``vame_loss``).
    """

    beta: float = 1.0
    future_to_encoder: bool = True  # False: the future decoder learns from z.detach(), a probe of the latent
    kl_start: int = 2
    anneal_time: int = 4
    anneal: str = "linear"
    cluster_weight: float = 0.0
    n_clusters: int = 15
    cluster: str = "kmeans"
    reduction: str = "mean"

    def __call__(self, model: RNN_VAE, batch: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        T = model.TEMPORAL_WINDOW
        if batch.shape[1] < T:
            raise ValueError(f"samples of {batch.shape[1]} frames are shorter than the model window ({T}).")
        x = batch[:, :T]
        future = None
        if model.FUTURE_DECODER:
            future = batch[:, T:T + model.FUTURE_STEPS]
            if future.shape[1] != model.FUTURE_STEPS:
                raise ValueError(f"samples carry {batch.shape[1] - T} future frames, the model predicts "
                                 f"{model.FUTURE_STEPS}: build windows with future={model.FUTURE_STEPS}.")
        w = kl_weight(epoch, self.kl_start, self.anneal_time, 1.0, self.anneal)
        if model.FUTURE_DECODER and not self.future_to_encoder:
            z, mu, logvar = model.lmbda(model.encoder(x))
            outputs = (model.decoder(z), model.decoder_future(z.detach()), z, mu, logvar)
        else:
            outputs = model(x)
        out = vame_loss(outputs, x, future, kl_beta=self.beta * w, cluster_weight=self.cluster_weight * w,
                        n_clusters=self.n_clusters, cluster=self.cluster, reduction=self.reduction)
        out["kl_weight"] = out["loss"].new_tensor(w)
        return out
