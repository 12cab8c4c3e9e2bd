"""Shapes of the VAME classes (the seed's documented surface) and basic behaviour."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from behavnb.models.vame import PRESETS, RNN_VAE, Decoder, Decoder_Future, Encoder, Lambda, VAMEConfig  # noqa: E402

B, T, F, Z, H = 4, 30, 12, 8, 16


def test_every_class_has_the_documented_shapes():
    x = torch.randn(B, T, F)
    hidden = Encoder(F, H, H, 0.0)(x)
    assert hidden.shape == (B, 4 * H)
    z, mu, logvar = Lambda(Z, H, H, softplus=True)(hidden)
    assert z.shape == mu.shape == logvar.shape == (B, Z)
    assert Decoder(T, Z, F, H, 0.0)(z).shape == (B, T, F)
    assert Decoder_Future(T, Z, F, 15, H, 0.0)(z).shape == (B, 15, F)
    model = RNN_VAE(T, Z, F, True, 15, H, H, H, H, 0.0, 0.0, 0.0, False)
    pred, fut, z, mu, logvar = model(x)
    assert pred.shape == (B, T, F) and fut.shape == (B, 15, F) and z.shape == (B, Z)
    no_future = RNN_VAE(T, Z, F, False, 15, H, H, H, H, 0.0, 0.0, 0.0, False)
    assert len(no_future(x)) == 4


def test_eval_mode_is_deterministic_and_embed_is_mu():
    model = VAMEConfig(hidden_size_layer_1=H, hidden_size_layer_2=H, hidden_size_rec=H, hidden_size_pred=H, ZDIMS=Z).build(F)
    x = torch.randn(B, T, F)
    model.eval()
    _, _, z1, mu, _ = model(x)
    _, _, z2, _, _ = model(x)
    assert torch.equal(z1, z2) and torch.equal(z1, mu)
    assert torch.allclose(model.embed(x), mu)
    model.train()
    _, _, z3, mu3, _ = model(x)
    assert not torch.equal(z3, mu3)


def test_presets_and_bad_input_shape():
    assert PRESETS["vame"].TEMPORAL_WINDOW == 30 and PRESETS["vame"].ZDIMS == 30
    assert PRESETS["vame"].hidden_size_layer_1 == 256 and PRESETS["vame"].FUTURE_STEPS == 15
    model = PRESETS["cpu_fast"].build(F)
    with pytest.raises(ValueError, match=r"\(batch, time, 12\)"):
        model(torch.randn(B, F, T))


def test_loss_reductions_and_terms():
    from behavnb.models.vame import kl_weight, vame_loss

    torch.manual_seed(0)
    model = RNN_VAE(T, Z, F, True, 5, H, H, H, H, 0.0, 0.0, 0.0, False)
    x, fut = torch.randn(B, T, F), torch.randn(B, 5, F)
    out = model(x)
    mean = vame_loss(out, x, fut, kl_beta=1.0)
    summed = vame_loss(out, x, fut, kl_beta=1.0, reduction="vame")
    assert torch.isclose(summed["reconstruction"], mean["reconstruction"] * B * T * F, rtol=1e-5)
    assert torch.isclose(summed["kl"] * Z, mean["kl"] * T * F, rtol=1e-5)
    assert mean["loss"].requires_grad and mean["cluster"] == 0
    with_cluster = vame_loss(out, x, fut, cluster_weight=1.0, n_clusters=3)
    assert with_cluster["cluster"] >= -1e-6 and with_cluster["loss"] >= mean["loss"] - 1e-6
    mean["loss"].backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    assert kl_weight(2) == 0 and kl_weight(4, 2, 4) == pytest.approx(0.5) and kl_weight(10, 2, 4, beta=2) == 2


def test_cluster_penalty_on_the_small_gram_equals_the_reference_big_one():
    from behavnb.models.vame import cluster_penalty

    torch.manual_seed(1)
    z = torch.randn(64, 10, dtype=torch.float64)
    big = torch.linalg.svdvals(z @ z.T / 64)  # the reference's B x B Gram matrix
    assert torch.isclose(cluster_penalty(z, 4, "vame"), big[:4].sqrt().sum(), rtol=1e-6)
    low_rank = torch.randn(64, 3, dtype=torch.float64) @ torch.randn(3, 10, dtype=torch.float64)
    assert cluster_penalty(low_rank, 3, "kmeans") < 1e-8 < cluster_penalty(z, 3, "kmeans")


def test_future_probe_does_not_train_the_encoder():
    from behavnb.models.vame import VAMELoss

    torch.manual_seed(0)
    model = VAMEConfig(TEMPORAL_WINDOW=T, hidden_size_layer_1=H, hidden_size_layer_2=H, hidden_size_rec=H,
                       hidden_size_pred=H, ZDIMS=Z, FUTURE_STEPS=5).build(F).eval()  # eval: z = mu, no sampling
    batch = torch.randn(B, T + 5, F)

    def encoder_grad(fn):
        model.zero_grad()
        fn().backward()
        return model.encoder.rnn.weight_ih_l0.grad.clone()

    x = batch[:, :T]
    rec_only = encoder_grad(lambda: torch.mean((model.decoder(model.lmbda(model.encoder(x))[0]) - x) ** 2))
    probe = encoder_grad(lambda: VAMELoss(beta=0.0, future_to_encoder=False)(model, batch, 1)["loss"])
    assert model.decoder_future.rnn.weight_ih_l0.grad.abs().sum() > 0  # the future decoder still learns
    joint = encoder_grad(lambda: VAMELoss(beta=0.0)(model, batch, 1)["loss"])
    torch.testing.assert_close(probe, rec_only)  # the encoder sees the reconstruction alone
    assert not torch.allclose(joint, rec_only)
