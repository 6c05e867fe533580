"""The VQ-VAE of the catalogue: index grids in, images out; straight-through training that uses the codebook."""

from __future__ import annotations

import pytest
import torch

from labkit.models.vqvae import VQVAE, perplexity, reconstruction_error, vqvae, vqvae_loss


def test_decode_maps_index_vectors_to_images_in_unit_range():
    net = vqvae(codes=16, dim=4, channels=(8, 8)).eval()
    idx = torch.randint(0, 16, (5, 49))
    images = net.decode(idx)
    assert images.shape == (5, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, net.decode(idx.reshape(5, 7, 7)))  # a 7x7 grid is the same vector
    assert torch.equal(net.decode(idx.numpy()), images)


def test_encode_then_decode_is_the_reconstruction():
    torch.manual_seed(0)
    net = vqvae(codes=16, dim=4, channels=(8, 8)).eval()
    x = torch.rand(3, 1, 28, 28)
    codes = net.encode(x)
    assert codes.shape == (3, 49) and codes.min() >= 0 and codes.max() < 16
    assert torch.allclose(net.decode(codes), net.reconstruct(x), atol=1e-6)


@pytest.mark.parametrize("bad, match", [
    (torch.full((1, 49), 16), "indices must lie in 0..15"),
    (torch.zeros(1, 48, dtype=torch.long), "decode needs 49 indices per image"),
])
def test_bad_indices_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        vqvae(codes=16).decode(bad)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="codes must be >= 2"):
        VQVAE(codes=1)


def test_gradients_reach_encoder_decoder_and_codebook():
    torch.manual_seed(0)
    net = vqvae(codes=8, dim=4, channels=(8, 8))
    x = torch.rand(4, 1, 28, 28)
    vqvae_loss(net(x), x).backward()
    for part in (net.encoder, net.decoder, net.codebook):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters()), part


def test_training_lowers_the_error_and_restarts_unused_codes():
    torch.manual_seed(0)
    x = (torch.rand(64, 1, 28, 28) > 0.8).float()
    net = vqvae(codes=32, dim=4, channels=(8, 16))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        out = net(x)
        loss = vqvae_loss(out, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else reconstruction_error(out, x)
    net.eval()
    out = net(x)
    assert reconstruction_error(out, x) < first
    # every code was chosen in the last training batch: unused codes are moved onto the encoder's outputs
    assert perplexity(out, x) > 4


def test_perplexity_counts_codes_in_use():
    assert perplexity((None, None, torch.zeros(2, 49, dtype=torch.long)), None) == pytest.approx(1.0)
    assert perplexity((None, None, torch.arange(32).reshape(1, 32)), None) == pytest.approx(32.0)
