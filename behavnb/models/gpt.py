"""A small causal transformer over motif-code sequences (the generative prior of VQ-MAP, COSYNE 2024).

In the models room of the flow (... inputs -> windows -> **models** -> train -> embed ...), trained
like the others by ``train.fit``. ``CodeGPT`` reads a sequence of VQ-MAP motif codes
(``type * n_subtypes + subtype``, one per ``downsample`` frames) and predicts the next code at every
position. Trained on windows of code sequences (``windows.build`` over ``(steps, 1)`` arrays of codes,
identity normalisation; ``code_windows``), it samples new sequences (``generate``), which the VQ-MAP
decoder turns into skeleton motion.

Shapes: tokens (B, L) with L <= ``context`` -> logits (B, L, vocab).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from behavnb.errors import ParameterError


@dataclass
class CodeGPTConfig:
    """The code GPT's sizes; ``build()`` makes the model.

    Parameters
    ----------
    vocab : int, default 128
        Number of motif codes (``n_types * n_subtypes``).
    context : int, default 32
        Code steps the model sees (32 steps of 8 frames = 256 frames).
    d_model : int, default 128
        Width of the embeddings and layers.
    n_layer : int, default 2
        Transformer layers.
    n_head : int, default 4
        Attention heads; must divide ``d_model``.
    dropout : float, default 0.1
        Dropout rate.
    """
    vocab: int = 128  # number of motif codes (n_types * n_subtypes)
    context: int = 32  # code steps the model sees (32 steps of 8 frames = 256 frames)
    d_model: int = 128
    n_layer: int = 2
    n_head: int = 4
    dropout: float = 0.1

    def build(self, num_features: int | None = None) -> CodeGPT:
        """Make a ``CodeGPT`` of these sizes.

        Parameters
        ----------
        num_features : int, optional
            Ignored (the input is one code per step); accepted so every config builds alike.

        Returns
        -------
        CodeGPT

        Raises
        ------
        ParameterError
            When ``n_head`` does not divide ``d_model``.
        """
        return CodeGPT(self)


class CodeGPT(nn.Module):
    """Token + position embeddings, pre-norm causal transformer layers, a linear head to the vocabulary.

    Parameters
    ----------
    config : CodeGPTConfig
        The sizes.

    Raises
    ------
    ParameterError
        When ``n_head`` does not divide ``d_model``.
    """

    def __init__(self, config: CodeGPTConfig):
        super().__init__()
        if config.d_model % config.n_head:
            raise ParameterError(f"d_model={config.d_model} must be divisible by n_head={config.n_head}.")
        self.config = config
        self.TEMPORAL_WINDOW = config.context + 1  # a training sample: context tokens + the next one
        self.tok = nn.Embedding(config.vocab, config.d_model)
        self.pos = nn.Embedding(config.context, config.d_model)
        layer = nn.TransformerEncoderLayer(config.d_model, config.n_head, 4 * config.d_model, config.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, config.n_layer, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-code logits at every position.

        Parameters
        ----------
        tokens : torch.Tensor
            ``(B, L)`` integer codes, L <= ``context``.

        Returns
        -------
        torch.Tensor
            ``(B, L, vocab)`` logits.

        Raises
        ------
        ParameterError
            When L exceeds the context.
        """
        length = tokens.shape[1]
        if length > self.config.context:
            raise ParameterError(f"{length} tokens exceed the context of {self.config.context}.")
        pos = torch.arange(length, device=tokens.device)
        h = self.drop(self.tok(tokens) + self.pos(pos)[None])
        causal = nn.Transformer.generate_square_subsequent_mask(length, device=tokens.device)
        h = self.blocks(h, mask=causal, is_causal=True)
        return self.head(self.ln(h))

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, steps: int, *, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue ``prompt`` by ``steps`` sampled codes.

        Parameters
        ----------
        prompt : torch.Tensor
            ``(B, L0)`` integer codes.
        steps : int
            Codes to sample.
        temperature : float, default 1.0
            Softmax temperature.
        top_k : int, optional
            Sample only among the ``top_k`` most likely codes.
        generator : torch.Generator, optional
            For reproducible samples.

        Returns
        -------
        torch.Tensor
            ``(B, L0 + steps)``.
        """
        was = self.training
        self.eval()
        seq = prompt
        for _ in range(steps):
            logits = self(seq[:, -self.config.context:])[:, -1].float() / max(temperature, 1e-6)
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = F.softmax(logits, dim=-1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator).to(seq.device)
            seq = torch.cat([seq, nxt], dim=1)
        self.train(was)
        return seq


@dataclass
class CodeGPTLoss:
    """Next-code cross-entropy for ``train.fit``: a batch (B, context + 1, 1) of codes stored as floats.

    Calling it with ``(model, batch, epoch)`` returns ``{"loss", "cross_entropy", "accuracy"}``.
    """

    def __call__(self, model: CodeGPT, batch: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        tokens = batch[..., 0].round().long()
        logits = model(tokens[:, :-1])
        ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
        acc = (logits.argmax(-1) == tokens[:, 1:]).float().mean()
        return {"loss": ce, "cross_entropy": ce.detach(), "accuracy": acc.detach()}
