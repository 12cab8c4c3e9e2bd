"""A VQ-MAP-style keypoint-agnostic VQ-VAE, written for behavnb.

In the models room of the flow (... inputs -> windows -> **models** -> train -> embed ...): a config
dataclass and ``nn.Module``s only; ``inputs`` makes what it reads, ``windows`` cuts it, ``train`` fits it.

Inputs. Each keypoint of each frame is described by its egocentric position and its velocity in
the world rotated into the body frame (``inputs.body_frame_velocity``). Egocentric poses alone hide
locomotion (a walking and a resting animal hold the same posture); the velocities show travel and
turning as motion of every keypoint while staying invariant to where the animal is and which way it
faces. The columns are the skeleton's ``<keypoint>_x, _y[, _z]`` then ``<keypoint>_vx, _vy[, _vz]``,
scaled by ``inputs.vqmap_normalizer`` (one scale for positions, one for velocities, which are first put on a
signed-log scale), not z-scored per column, which would distort the body's geometry. The decoder
reconstructs both.

Shapes (B = batch, T = ``window`` frames, K = keypoints of a skeleton, D = 2 or 3 coordinates,
C = ``hidden``, T' = T / ``downsample``):

- ``TemporalEncoder``: every keypoint's trajectory (B*K, D, T) through the *same* 1-D convolutions,
  strided ×2 per stage down to (B*K, C, T') with dilated residual blocks in between.
- ``KeypointMixer``: at each of the T' steps the K keypoint tokens (plus an optional body-region
  embedding: head, trunk, limb, tail) are mixed by induced-set attention: ``slots`` learned queries
  attend over the tokens and the tokens read them back; a second set of learned queries pools the
  tokens into ``slots`` vectors. No positional code exists for keypoints, so the result is the same
  for any order of the keypoints and for any number of them (dropped keypoints are masked).
- The flattened pooled slots -> latent (B, T', 2 * code_dim), split in two halves quantised by two
  EMA codebooks: ``type`` (8 codes) and ``subtype`` (16 codes); ``quantize="residual"`` instead
  quantises the whole latent by type and what is left by subtype (a coarse-to-fine hierarchy).
  The motif of a step is ``type * n_subtypes + subtype``.
- ``Decoder``: the quantised latent upsampled ×8 by convolutions back to (B, C, T), then one
  1×1 output head per skeleton (dataset) to (B, T, K_dataset, D).
- Type summary (``type_summary``, on by default): a linear head per skeleton reads the *type* code
  alone and predicts each step's mean input and mean absolute input per keypoint (where the body is
  and how much each part moves over the step's frames). The decoder still needs both codes for
  the details (the phase of a stride, of a head sweep), but the type must now say what the step is
  on average, so the types become a coarse ethogram and the subtypes refine it (synthetic-demo, v1
  cohort: type-code NMI 0.48 -> 0.55 over five seeds; benchmarks/notes/v1_cohort.md, "VQ-MAP (step 5)",
  "Third round").

One model can be trained on several datasets whose skeletons differ (co-embedding): they share
the encoder, the codebooks and the decoder trunk, and each has its own output head; encoding with
one skeleton and decoding with another's head converts motion between skeletons.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import torch
from torch import nn

from behavnb.errors import ParameterError
from behavnb.inputs import REGIONS, Skeleton
from behavnb.models import eval_mode
from behavnb.models.quantize import VectorQuantizer


def _head_key(name: str) -> str:
    """A ModuleDict-safe key for a dataset name."""
    return "ds_" + re.sub(r"\W", "_", name)


class ResBlock(nn.Module):
    """Dilated residual block over time: x + conv1x1(GELU(conv3_dilated(GELU(x))))."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.proj = nn.Conv1d(channels, channels, 1)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj(self.act(self.conv(self.act(x))))


class TemporalEncoder(nn.Module):
    """Shared per-keypoint temporal convolutions: (N, D, T) -> (N, C, T / 2**stages)."""

    def __init__(self, dims: int, hidden: int, stages: int, dilations: list[int]):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(dims, hidden, 3, padding=1)]
        for _ in range(stages):
            layers += [nn.GELU(), nn.Conv1d(hidden, hidden, 4, stride=2, padding=1)]
            layers += [ResBlock(hidden, d) for d in dilations]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _MAB(nn.Module):
    """Multihead attention block (Lee et al. 2019): H = LN(Q + MHA(Q, X)); LN(H + FF(H))."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, q: torch.Tensor, x: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        h = self.ln1(q + self.attn(q, x, x, key_padding_mask=pad, need_weights=False)[0])
        return self.ln2(h + self.ff(h))


class KeypointMixer(nn.Module):
    """Induced-set attention over keypoint tokens, then attention pooling into ``slots`` vectors.

    tokens (N, K, C) + padding mask (N, K) (True = missing keypoint) -> (N, slots * C). Invariant to
    the order and number of keypoints.
    """

    def __init__(self, dim: int, slots: int, heads: int):
        super().__init__()
        self.inducing = nn.Parameter(torch.randn(1, slots, dim) / math.sqrt(dim))
        self.seeds = nn.Parameter(torch.randn(1, slots, dim) / math.sqrt(dim))
        self.to_slots, self.read_back, self.pool = _MAB(dim, heads), _MAB(dim, heads), _MAB(dim, heads)

    def forward(self, tokens: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        n = tokens.shape[0]
        slots = self.to_slots(self.inducing.expand(n, -1, -1), tokens, pad)  # slots attend over keypoints
        tokens = self.read_back(tokens, slots)  # keypoints read the slots back
        pooled = self.pool(self.seeds.expand(n, -1, -1), tokens, pad)
        return pooled.reshape(n, -1)


class Decoder(nn.Module):
    """Quantised latent (B, Dq, T') -> shared trunk (B, C, T) -> per-skeleton head (B, T, K, features)."""

    def __init__(self, latent_dim: int, hidden: int, stages: int, dilations: list[int], skeletons: dict[str, Skeleton],
                 features: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(latent_dim, hidden, 3, padding=1)]
        for _ in range(stages):
            layers += [ResBlock(hidden, d) for d in reversed(dilations)]
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv1d(hidden, hidden, 3, padding=1), nn.GELU()]
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.ModuleDict({_head_key(n): nn.Conv1d(hidden, len(s.keypoints) * features, 1)
                                    for n, s in skeletons.items()})
        self.shapes = {n: (len(s.keypoints), features) for n, s in skeletons.items()}

    def forward(self, q: torch.Tensor, dataset: str) -> torch.Tensor:
        h = self.heads[_head_key(dataset)](self.trunk(q))  # (B, K*D, T)
        k, d = self.shapes[dataset]
        return h.transpose(1, 2).reshape(q.shape[0], -1, k, d)


class VQMAP(nn.Module):
    """Keypoint-agnostic VQ-VAE with type/subtype codebooks and one decoder head per skeleton.

    Parameters
    ----------
    config : VQMAPConfig
        The architecture (validated here).

    Raises
    ------
    ParameterError
        When the config is invalid (see ``VQMAPConfig.validate``).
    """

    def __init__(self, config: VQMAPConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.skeletons = config.skeleton_specs()
        self.TEMPORAL_WINDOW = config.window
        self.dims = config.dims
        self.in_dims = 2 * self.dims  # position and velocity per keypoint
        stages = int(math.log2(config.downsample))
        c = config.hidden
        self.encoder = TemporalEncoder(self.in_dims, c, stages, list(config.dilations))
        self.region = nn.Embedding(len(REGIONS), c) if config.use_regions else None
        self.mixer = KeypointMixer(c, config.slots, config.heads)
        n_out = 2 * config.code_dim if config.quantize == "split" else config.code_dim
        self.to_latent = nn.Linear(config.slots * c, n_out)
        # Centred, unit-variance latents before the codebooks: at initialisation the pooled slots are
        # dominated by the learned queries (the same for every input), and without this every input
        # falls on one code and the codebook collapses before the encoder has learned anything.
        # One per dataset: in co-embedding each skeleton's latents are centred and scaled on their own, the
        # same way in training and evaluation (a shared one would mix the datasets' statistics).
        # Its running statistics (used in evaluation) follow the last few batches (``norm_momentum``, 0.5): one
        # batch already holds batch_size x T' latents, so its mean and variance are precise, and a slow average
        # (PyTorch's 0.1) lags behind an encoder that is still moving. Early in training the latents' spread is a
        # few percent of their common offset, so a lagging mean puts every held-out step on one code (B-SOiD
        # clips, fast profile: held-out perplexity 1 of 8 types while training used 5.7).
        self.latent_norm = nn.ModuleDict({_head_key(n): nn.BatchNorm1d(n_out, affine=False,
                                                                       momentum=config.norm_momentum)
                                          for n in config.skeletons})
        vq = dict(decay=config.decay, commitment=config.commitment, dead_threshold=config.dead_threshold)
        self.vq_type = VectorQuantizer(config.n_types, config.code_dim, **vq)
        # residual: type matches directions (cosine); subtype quantises what is left of the unit vector, by distance
        self.vq_subtype = VectorQuantizer(config.n_subtypes, config.code_dim, cosine=config.quantize == "split", **vq)
        self.decoder = Decoder(n_out, c, stages, list(config.dilations), self.skeletons, self.in_dims)
        self.summary = None
        if config.type_summary:
            self.summary = nn.ModuleDict({_head_key(n): nn.Linear(config.code_dim, len(sk.keypoints) * 2 * self.in_dims)
                                          for n, sk in self.skeletons.items()})
        for name, sk in self.skeletons.items():
            self.register_buffer(f"regions_{_head_key(name)}", torch.tensor(sk.region_ids()), persistent=False)

    def _dataset(self, dataset: str | None) -> str:
        if dataset is None:
            if len(self.skeletons) != 1:
                raise ParameterError(f"this model knows {len(self.skeletons)} skeletons {sorted(self.skeletons)}: "
                                     f"say which one the data are (dataset=...).")
            return next(iter(self.skeletons))
        if dataset not in self.skeletons:
            raise ParameterError(f"dataset {dataset!r} is not one this model was built for: {sorted(self.skeletons)}.")
        return dataset

    def n_columns(self, dataset: str | None = None) -> int:
        sk = self.skeletons[self._dataset(dataset)]
        return len(sk.keypoints) * sk.dims * 2

    def prepare(self, x: torch.Tensor, dataset: str | None = None) -> torch.Tensor:
        """(B, T, columns) -> per-keypoint features (B, T, K, C_in): position and velocity; 4-D input is kept."""
        if x.dim() == 4:
            return x
        ds = self._dataset(dataset)
        sk = self.skeletons[ds]
        k, d = len(sk.keypoints), sk.dims
        if x.shape[-1] != self.n_columns(ds):
            raise ParameterError(f"input has {x.shape[-1]} columns; dataset {ds!r} needs {k} keypoints x {d} "
                                 f"x (position, velocity) = {self.n_columns(ds)}.")
        parts = x.reshape(*x.shape[:2], -1, k, d)  # (B, T, 1 or 2, K, D)
        return parts.permute(0, 1, 3, 2, 4).reshape(*x.shape[:2], k, -1)

    def encode(self, x: torch.Tensor, dataset: str | None = None, *, mask: torch.Tensor | None = None,
               regions: torch.Tensor | None = None) -> torch.Tensor:
        """Continuous latent (B, T', latent) of prepared poses (B, T, K, D) or input columns (B, T, F).

        ``mask`` (B, K), True where a keypoint is missing (it is ignored); ``regions`` (K,) region ids
        in the order of ``x``'s keypoints (default: the skeleton's).
        """
        ds = self._dataset(dataset)
        x = self.prepare(x, ds)
        b, t, k, d = x.shape
        if d != self.in_dims:
            raise ParameterError(f"input has {d} features per keypoint but the model takes {self.in_dims}.")
        if t % self.config.downsample:
            raise ParameterError(f"windows of {t} frames are not a multiple of the downsampling factor "
                                 f"{self.config.downsample}.")
        h = self.encoder(x.permute(0, 2, 3, 1).reshape(b * k, d, t))  # (B*K, C, T')
        tp = h.shape[-1]
        tokens = h.reshape(b, k, -1, tp).permute(0, 3, 1, 2)  # (B, T', K, C)
        if self.region is not None:
            ids = regions if regions is not None else getattr(self, f"regions_{_head_key(ds)}")
            tokens = tokens + self.region(ids)[None, None]
        pad = None
        if mask is not None:
            if bool(mask.all(dim=1).any()):
                raise ParameterError("a sample has every keypoint masked; at least one must remain.")
            pad = mask[:, None, :].expand(b, tp, k).reshape(b * tp, k)
        pooled = self.mixer(tokens.reshape(b * tp, k, -1), pad)
        return self.latent_norm[_head_key(ds)](self.to_latent(pooled)).reshape(b, tp, -1)

    def quantize(self, z: torch.Tensor):
        """(B, T', latent) -> quantised latent, type codes, subtype codes, commitment loss, stats."""
        if self.config.quantize == "split":
            zt, zs = z.chunk(2, dim=-1)
            qt, it, ct, st = self.vq_type(zt)
            qs, is_, cs, ss = self.vq_subtype(zs)
            q = torch.cat([qt, qs], dim=-1)
        else:
            qt, it, ct, st = self.vq_type(z)
            unit = torch.nn.functional.normalize(z.float(), dim=-1)
            qs, is_, cs, ss = self.vq_subtype(unit - qt.detach().float())
            q = qt + qs.to(qt.dtype)
        stats = {"perplexity_type": st["perplexity"], "perplexity_subtype": ss["perplexity"],
                 "usage_type": st["usage"], "usage_subtype": ss["usage"], "quantized_type": qt}
        return q, it, is_, ct + cs, stats

    def codes_to_latent(self, types: torch.Tensor, subtypes: torch.Tensor) -> torch.Tensor:
        """The quantised latent (..., latent) of given type and subtype codes."""
        qt, qs = self.vq_type.lookup(types), self.vq_subtype.lookup(subtypes)
        return torch.cat([qt, qs], dim=-1) if self.config.quantize == "split" else qt + qs

    def decode(self, q: torch.Tensor, dataset: str | None = None) -> torch.Tensor:
        """Quantised latent (B, T', latent) -> poses (B, T, K, D) in ``dataset``'s skeleton."""
        return self.decoder(q.transpose(1, 2), self._dataset(dataset))

    def forward(self, x: torch.Tensor, dataset: str | None = None, *, mask: torch.Tensor | None = None,
                regions: torch.Tensor | None = None, decode_as: str | None = None) -> dict[str, torch.Tensor]:
        ds = self._dataset(dataset)
        z = self.encode(x, ds, mask=mask, regions=regions)
        q, types, subtypes, commit, stats = self.quantize(z)
        recon = self.decode(q, decode_as or ds)
        out = {"reconstruction": recon, "latent": z, "quantized": q, "type": types, "subtype": subtypes,
               "motif": types * self.config.n_subtypes + subtypes, "commitment": commit, **stats}
        if self.summary is not None:
            out["summary"] = self.summary[_head_key(ds)](stats["quantized_type"].float()).reshape(
                *q.shape[:2], -1, 2 * self.in_dims)
        return out

    def convert(self, x: torch.Tensor, source: str, target: str) -> torch.Tensor:
        """Cross-skeleton conversion: encode with ``source``'s skeleton, decode with ``target``'s head (eval mode)."""
        with eval_mode(self), torch.inference_mode():
            return self.forward(x, source, decode_as=target)["reconstruction"]


@dataclass
class VQMAPConfig:
    """Architecture of ``VQMAP``; ``build()`` makes the model.

    Parameters
    ----------
    skeletons : dict of str to dict
        Dataset name -> ``{"keypoints": [...], "dims": 2, "regions": {...}}`` (see ``inputs.Skeleton``;
        ``skeleton_config`` makes it); lists, not tuples, so the config round-trips through YAML.
    window : int, default 32
        Frames per training window, a multiple of ``downsample``.
    downsample : int, default 8
        Frames per code step, a power of 2.
    hidden : int, default 64
        Channels of the temporal encoder and decoder (C).
    dilations : list of int, default [1, 3]
        Dilations of the residual blocks of each stage.
    slots : int, default 4
        Learned queries of the keypoint mixer.
    heads : int, default 4
        Attention heads; must divide ``hidden``.
    code_dim : int, default 16
        Dimensions per codebook.
    n_types : int, default 8
        Codes of the coarse (type) codebook.
    n_subtypes : int, default 16
        Codes of the fine (subtype) codebook.
    quantize : {"split", "residual"}, default "split"
        "split": two halves of the latent; "residual": subtype quantises what type leaves.
    use_regions : bool, default True
        Add a body-region embedding (head, trunk, limb, tail) to each keypoint token.
    commitment : float, default 0.25
        Weight of the commitment loss.
    decay : float, default 0.99
        EMA decay of the codebooks.
    dead_threshold : float, default 1.0
        EMA count (vectors per batch) below which a code is restarted.
    projection : {None, "xy"}, default None
        "xy": 3D datasets are projected onto x, y so they can join 2D ones.
    type_summary : bool, default True
        The type code alone also predicts each step's mean and mean absolute input (see the module docstring).
    norm_momentum : float, default 0.5
        Weight of each training batch in the latent normaliser's running statistics, in (0, 1].
    """

    skeletons: dict[str, dict] = field(default_factory=dict)
    window: int = 32  # frames per training window (a multiple of downsample)
    downsample: int = 8  # frames per code step (a power of 2)
    hidden: int = 64
    dilations: list[int] = field(default_factory=lambda: [1, 3])
    slots: int = 4
    heads: int = 4
    code_dim: int = 16  # per codebook
    n_types: int = 8
    n_subtypes: int = 16
    quantize: str = "split"  # "split": halves of the latent; "residual": subtype quantises type's residual
    use_regions: bool = True
    commitment: float = 0.25
    decay: float = 0.99
    dead_threshold: float = 1.0  # EMA count (vectors per batch) below which a code is restarted
    projection: str | None = None  # "xy": 3D datasets are projected onto x, y so they can join 2D ones
    type_summary: bool = True  # the type code alone also predicts each step's mean and mean |input| (see above)
    norm_momentum: float = 0.5  # weight of each training batch in the latent normaliser's running statistics

    @property
    def dims(self) -> int:
        return 2 if self.projection == "xy" else self.skeleton_specs_dims()

    def skeleton_specs_dims(self) -> int:
        dims = {int(s.get("dims", 2)) for s in self.skeletons.values()}
        return dims.pop() if len(dims) == 1 else 0

    def skeleton_specs(self) -> dict[str, Skeleton]:
        out = {}
        for name, s in self.skeletons.items():
            dims = 2 if self.projection == "xy" else int(s.get("dims", 2))
            out[name] = Skeleton(list(s["keypoints"]), dims, s.get("regions"))
        return out

    def validate(self) -> None:
        """Check the config; ``VQMAP`` calls it when built.

        Raises
        ------
        ParameterError
            On no skeletons, a ``downsample`` that is not a power of 2, a window that is not a multiple of it,
            an unknown ``quantize`` or ``projection``, ``norm_momentum`` outside (0, 1], ``heads`` not dividing
            ``hidden``, or 2D and 3D skeletons mixed without ``projection="xy"``.
        """
        if not self.skeletons:
            raise ParameterError("VQMAPConfig needs at least one skeleton (dataset name -> keypoints).")
        if self.downsample < 2 or self.downsample & (self.downsample - 1):
            raise ParameterError(f"downsample={self.downsample}: a power of 2 (default 8).")
        if self.window < self.downsample:
            raise ParameterError(f"window={self.window} frames is shorter than the downsampling factor "
                                 f"{self.downsample}: one code needs {self.downsample} frames. Use a longer window.")
        if self.window % self.downsample:
            raise ParameterError(f"window={self.window} must be a multiple of downsample={self.downsample}.")
        if self.quantize not in ("split", "residual"):
            raise ParameterError(f"quantize={self.quantize!r}: 'split' or 'residual'.")
        if self.projection not in (None, "xy"):
            raise ParameterError(f"projection={self.projection!r}: None or 'xy'.")
        if not 0 < self.norm_momentum <= 1:
            raise ParameterError(f"norm_momentum={self.norm_momentum}: a weight in (0, 1] (default 0.5).")
        if self.hidden % self.heads:
            raise ParameterError(f"hidden={self.hidden} must be divisible by heads={self.heads}.")
        if self.skeleton_specs_dims() == 0 and self.projection is None:
            dims = {n: int(s.get("dims", 2)) for n, s in self.skeletons.items()}
            raise ParameterError(f"datasets mix 2D and 3D skeletons {dims}: declare how to combine them "
                                 f"(projection='xy' drops z from the 3D ones) or train separate models.")

    def build(self, num_features: int | None = None) -> VQMAP:
        """Make a ``VQMAP`` of this architecture.

        Parameters
        ----------
        num_features : int, optional
            Ignored (the columns come from the skeletons); accepted so every config builds alike.

        Returns
        -------
        VQMAP

        Raises
        ------
        ParameterError
            When the config is invalid (see ``validate``).
        """
        return VQMAP(self)



def skeleton_config(skeletons: dict[str, Skeleton]) -> dict[str, dict]:
    """``{name: Skeleton}`` -> the plain dicts ``VQMAPConfig.skeletons`` holds.

    Parameters
    ----------
    skeletons : dict of str to inputs.Skeleton
        Dataset name -> its skeleton (``inputs.Skeleton.from_dataset``).

    Returns
    -------
    dict of str to dict
        ``{name: {"keypoints": [...], "dims": int, "regions": {...}}}``.
    """
    return {n: {"keypoints": list(s.keypoints), "dims": s.dims, "regions": dict(s.regions)} for n, s in skeletons.items()}


@dataclass
class VQMAPLoss:
    """Training objective for ``train.fit``: reconstruction MSE of the full skeleton + commitment.

    Plus ``summary_weight`` x the type summary's MSE when the model has that head. ``batch`` is a tensor
    (one dataset: the model's only skeleton, or ``dataset``) or a dict ``{dataset: tensor}`` from
    ``windows.MultiWindowSet`` (co-embedding); each dataset's error is weighted by its number of samples.
    While the model trains, inputs are augmented: each keypoint is dropped with probability
    ``keypoint_dropout`` (masked in attention) and the keypoint order is shuffled; the target stays the
    full skeleton in its own order.

    Parameters
    ----------
    keypoint_dropout : float, default 0.1
        Probability of dropping each keypoint of a training sample (at least one is kept).
    shuffle_keypoints : bool, default True
        Shuffle the keypoint order of training inputs.
    dataset : str, optional
        The skeleton of tensor batches (default: the model's only one).
    summary_weight : float, default 1.0
        Weight of the type summary's error.
    """

    keypoint_dropout: float = 0.1
    shuffle_keypoints: bool = True
    dataset: str | None = None
    summary_weight: float = 1.0

    def _one(self, model: VQMAP, x: torch.Tensor, ds: str | None):
        ds = model._dataset(ds)
        x = x[:, : model.TEMPORAL_WINDOW]
        target = model.prepare(x, ds)
        inp, mask, regions = target, None, None
        if model.training:
            b, _, k, _ = target.shape
            if self.keypoint_dropout > 0 and k > 1:
                mask = torch.rand(b, k, device=x.device) < self.keypoint_dropout
                mask[mask.all(dim=1), 0] = False  # keep at least one keypoint
                inp = inp.masked_fill(mask[:, None, :, None], 0.0)
            if self.shuffle_keypoints:
                perm = torch.randperm(k, device=x.device)
                inp = inp[:, :, perm]
                mask = mask[:, perm] if mask is not None else None
                regions = getattr(model, f"regions_{_head_key(ds)}")[perm]
        out = model(inp, ds, mask=mask, regions=regions)
        rec = torch.mean((out["reconstruction"].float() - target.float()) ** 2)
        if "summary" in out:
            b, _, k, f = target.shape
            steps = target.float().reshape(b, out["summary"].shape[1], -1, k, f)  # (B, T', frames of a step, K, F)
            goal = torch.cat([steps.mean(dim=2), steps.abs().mean(dim=2)], dim=-1)
            rec = rec + self.summary_weight * torch.mean((out["summary"] - goal) ** 2)
        return rec, out

    def __call__(self, model: VQMAP, batch, epoch: int) -> dict[str, torch.Tensor]:
        parts = batch.items() if isinstance(batch, dict) else [(self.dataset, batch)]
        total, terms = 0, {}
        for ds, x in parts:
            rec, out = self._one(model, x, ds)
            n = len(x)
            total += n
            for k, v in [("reconstruction", rec), ("commitment", out["commitment"])] + \
                        [(k, out[k]) for k in ("perplexity_type", "perplexity_subtype", "usage_type", "usage_subtype")]:
                terms[k] = terms.get(k, 0) + v * n
        terms = {k: v / total for k, v in terms.items()}
        loss = terms["reconstruction"] + terms["commitment"]
        return {"loss": loss, **{k: v.detach() for k, v in terms.items()}}
