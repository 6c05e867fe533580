"""A small VQ-VAE for 28x28 digits: a discrete latent grid of codebook indices, and a decoder from indices to images.

The encoder maps an image to a 7x7 grid of ``dim``-dimensional vectors; each is
replaced by its nearest entry of a codebook of ``codes`` vectors (van den Oord
et al., 2017), so an image is described by 49 integers in ``{0..codes-1}``. The
decoder turns such an index grid back into an image in ``[0, 1]``. Searching the
index grid instead of the pixels restricts a search to images the decoder can
draw: strokes on a dark background rather than pixel noise
(:func:`labkit.maximise` does that for a spiking neuron).

Training (:func:`vqvae_loss`) adds to the reconstruction error the codebook
loss, which pulls the chosen codes towards the encoder's outputs, and the
commitment loss, which keeps the encoder near its codes; the gradient skips the
quantisation (straight-through). Codes that no image of a training batch chose
are restarted at random encoder outputs of that batch, so the whole codebook
stays in use (:func:`perplexity` measures how much is used).

Examples
--------
>>> import torch
>>> net = vqvae(codes=16, dim=4, channels=(8, 8))
>>> logits, loss, idx = net(torch.rand(2, 1, 28, 28))
>>> logits.shape, idx.shape, net.grid
(torch.Size([2, 1, 28, 28]), torch.Size([2, 49]), (7, 7))
>>> net.decode(torch.randint(0, 16, (3, 49))).shape
torch.Size([3, 1, 28, 28])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["VQVAE", "vqvae", "vqvae_loss", "reconstruction_error", "perplexity"]


class VQVAE(nn.Module):
    """Encoder, codebook and decoder; ``forward(x)`` returns ``(logits, vq_loss, indices)``.

    The images are the sigmoid of the logits (:meth:`reconstruct`, :meth:`decode`).

    Parameters
    ----------
    codes
        Codebook size ``n``: each latent position takes one of ``codes`` values.
    dim
        Dimension of a code vector.
    channels
        Channels of the two stride-2 convolutions (encoder) and transposed convolutions (decoder).
    beta
        Weight of the commitment loss.

    Attributes
    ----------
    grid
        The latent grid, ``(7, 7)`` for 28x28 images: ``d = 49`` positions.
    """

    def __init__(self, codes: int = 32, dim: int = 16, channels: tuple[int, int] = (32, 64), beta: float = 0.25) -> None:
        super().__init__()
        if codes < 2 or dim < 1:
            raise ValueError(f"codes must be >= 2 and dim >= 1, got codes={codes}, dim={dim}.")
        c1, c2 = channels
        self.codes, self.dim, self.beta, self.grid = int(codes), int(dim), float(beta), (7, 7)
        self.encoder = nn.Sequential(nn.Conv2d(1, c1, 4, 2, 1), nn.ReLU(), nn.Conv2d(c1, c2, 4, 2, 1), nn.ReLU(),
                                     nn.Conv2d(c2, dim, 1))
        self.codebook = nn.Embedding(codes, dim)
        nn.init.uniform_(self.codebook.weight, -1.0 / codes, 1.0 / codes)
        self.decoder = nn.Sequential(nn.Conv2d(dim, c2, 3, padding=1), nn.ReLU(),
                                     nn.ConvTranspose2d(c2, c1, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(c1, 1, 4, 2, 1))  # logits: images are their sigmoid

    def extra_repr(self) -> str:
        return f"codes={self.codes}, dim={self.dim}, beta={self.beta}, grid={self.grid}"

    def quantise(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Nearest codes of encoder outputs ``[B, dim, 7, 7]``: ``(quantised, indices [B, 49], vq_loss)``."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, self.dim)
        book = self.codebook.weight
        distance = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ book.t() + book.pow(2).sum(1)
        indices = distance.argmin(1)
        if self.training:
            indices = self._restart_unused(flat, indices)
        chosen = self.codebook(indices)
        loss = F.mse_loss(chosen, flat.detach()) + self.beta * F.mse_loss(flat, chosen.detach())
        chosen = flat + (chosen - flat).detach()  # straight-through: the decoder's gradient reaches the encoder
        quantised = chosen.reshape(z.shape[0], *self.grid, self.dim).permute(0, 3, 1, 2)
        return quantised, indices.reshape(z.shape[0], -1), loss

    @torch.no_grad()
    def _restart_unused(self, flat: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Move the codes no vector of this batch chose onto random vectors of the batch; the new nearest codes."""
        unused = torch.ones(self.codes, dtype=torch.bool, device=flat.device)
        unused[indices] = False
        if unused.any():
            picks = torch.randint(len(flat), (int(unused.sum()),), device=flat.device)
            self.codebook.weight[unused] = flat[picks].detach()
            book = self.codebook.weight
            indices = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ book.t() + book.pow(2).sum(1)).argmin(1)
        return indices

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The code indices ``[B, 49]`` of images ``[B, 1, 28, 28]``."""
        return self.quantise(self.encoder(images))[1]

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """Images ``[B, 1, 28, 28]`` in ``[0, 1]`` from code indices ``[B, 49]`` (or ``[B, 7, 7]``).

        Raises
        ------
        ValueError
            For indices outside ``0..codes-1`` or a grid of another size.
        """
        indices = torch.as_tensor(indices, device=self.codebook.weight.device).long()
        indices = indices.reshape(len(indices), -1)
        if indices.shape[1] != math.prod(self.grid):
            raise ValueError(f"decode needs {math.prod(self.grid)} indices per image (a {self.grid[0]}x{self.grid[1]} "
                             f"grid), got shape {tuple(indices.shape)}.")
        if indices.numel() and (indices.min() < 0 or indices.max() >= self.codes):
            raise ValueError(f"indices must lie in 0..{self.codes - 1}, got {int(indices.min())}..{int(indices.max())}.")
        z = self.codebook(indices).reshape(len(indices), *self.grid, self.dim).permute(0, 3, 1, 2)
        return torch.sigmoid(self.decoder(z))

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, 1, 28, 28]`` passed through the code grid: encode, quantise, decode."""
        return torch.sigmoid(self(images)[0])

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # noqa: D102
        quantised, indices, loss = self.quantise(self.encoder(images))
        return self.decoder(quantised), loss, indices


def vqvae(codes: int = 32, dim: int = 16, channels: tuple[int, int] = (32, 64)) -> VQVAE:
    """The VQ-VAE for 28x28 digits (see :class:`VQVAE`): a 7x7 grid of ``codes`` codes.

    >>> vqvae(codes=16).decode(torch.zeros(1, 49)).shape
    torch.Size([1, 1, 28, 28])
    """
    return VQVAE(codes, dim, tuple(channels))


def vqvae_loss(outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
    """Training loss: binary cross-entropy of the pixels plus the codebook and commitment losses.

    Cross-entropy on the logits rather than the squared error of the sigmoid:
    its gradient does not vanish where the sigmoid saturates (with the squared
    error, the mostly black digits push every pixel to 0 and training stalls).
    """
    logits, vq_loss, _ = outputs
    return F.binary_cross_entropy_with_logits(logits, targets) + vq_loss


def reconstruction_error(outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], targets: torch.Tensor) -> float:
    """Mean squared error per pixel between the reconstructions and the images (pixels in ``[0, 1]``)."""
    return F.mse_loss(torch.sigmoid(outputs[0]), targets).item()


def perplexity(outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], targets: torch.Tensor) -> float:
    """``exp`` of the entropy of the codes chosen in a batch: the number of codes effectively in use.

    >>> perplexity((None, None, torch.tensor([[0, 1, 2, 3]])), None)
    4.0
    """
    counts = torch.bincount(outputs[2].flatten()).double()
    p = counts[counts > 0] / counts.sum()
    return float(torch.exp(-(p * p.log()).sum()))
