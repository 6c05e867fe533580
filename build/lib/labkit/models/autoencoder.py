"""Convolutional autoencoders: a spiking one (LIF neurons throughout) and its non-spiking twin with the same layers.

Both take an image, rate-code it into spikes (:class:`RateEncoder`, the code of
:func:`labkit.spiking.encoding.rate`), or take a spike train directly (event
frames), and return ``(output counts, input counts)``: what the network emits and
what it was shown, summed over the ``T`` time steps, so that
:func:`labkit.nrmse` scores one against the other.

* the **spiking** autoencoder (:func:`~labkit.models.conv_sae`) runs on the spikes, step by
  step: strided convolutions with batch norm and :class:`~labkit.spiking.LIF`
  neurons, a fully connected **embedding** layer of spiking neurons, and a
  decoder of transposed convolutions that mirrors the encoder and ends in spiking
  output neurons, whose spike counts are the reconstruction. Explicit recurrent
  connections (snnTorch's :class:`snntorch.RLeaky`, :class:`RecurrentLIF`) can
  replace the implicit memory of the membrane in the layers next to the embedding;
* the **non-spiking** twin (:func:`~labkit.models.conv_ae`) has the same layers with ReLU in
  place of every LIF; it sees the input counts divided by ``T`` and predicts the
  counts as ``T`` times a sigmoid.

Examples
--------
>>> import torch
>>> sae = conv_sae(kernel_size=3, embedding=8, channels=(4, 8), num_steps=4)
>>> out, shown = sae(torch.rand(2, 1, 28, 28))
>>> out.shape, shown.shape, sae.embed(torch.rand(2, 1, 28, 28)).shape
(torch.Size([2, 1, 28, 28]), torch.Size([2, 1, 28, 28]), torch.Size([2, 8]))
>>> int(out.max()) <= 4  # at most one spike per step
True
"""

from __future__ import annotations

from typing import Any

import torch
from snntorch import RLeaky
from torch import nn

from ..checks import check_int
from ..metrics import nrmse
from ..spiking import LIF, SpikeFn, SpikingSequential
from ..spiking.encoding import rate_probability

__all__ = ["RateEncoder", "RecurrentLIF", "ConvAutoencoder", "conv_sae", "conv_ae", "reconstruction_loss",
           "reconstruction_nrmse"]


class RateEncoder(nn.Module):
    r"""Images ``[B, C, H, W]`` in [0, 1] to Bernoulli spikes ``[T, B, C, H, W]`` with :math:`p = dt\,((f_{on}-f_{off})x + f_{off})`.

    The probability is :func:`labkit.spiking.encoding.rate_probability`, with its
    errors (a probability above 1, ``f_off > f_on``, intensities outside [0, 1]),
    checked when the encoder is built. In training mode every call draws fresh
    spikes from torch's global generator (seeded by
    :func:`labkit.config.seed_everything`); in eval mode the draws come from a
    generator seeded with ``eval_seed`` at every call, so evaluating twice, or two
    networks on the same batches, shows the same spikes.

    Parameters
    ----------
    num_steps
        Time steps ``T``.
    f_on, f_off
        Rates in Hz of intensity 1 and 0.
    dt
        Step in seconds.
    eval_seed
        Seed of the spikes drawn in eval mode.
    """

    def __init__(self, num_steps: int, f_on: float = 100.0, f_off: float = 0.0, dt: float = 5e-3,
                 eval_seed: int = 0) -> None:
        super().__init__()
        self.num_steps = check_int(num_steps, "num_steps")
        rate_probability(torch.tensor([0.0, 1.0]), f_on=f_on, f_off=f_off, dt=dt)  # the errors, now
        self.f_on, self.f_off, self.dt, self.eval_seed = float(f_on), float(f_off), float(dt), int(eval_seed)

    def extra_repr(self) -> str:
        return f"num_steps={self.num_steps}, f_on={self.f_on}, f_off={self.f_off}, dt={self.dt}"

    def forward(self, images: torch.Tensor) -> torch.Tensor:  # noqa: D102
        p = rate_probability(images, f_on=self.f_on, f_off=self.f_off, dt=self.dt)
        p = p.unsqueeze(0).expand(self.num_steps, *p.shape)
        if self.training:
            return torch.bernoulli(p)
        return torch.bernoulli(p, generator=torch.Generator(p.device).manual_seed(self.eval_seed))


class RecurrentLIF(nn.Module):
    """A layer of LIF neurons with all-to-all recurrent connections: snnTorch's :class:`snntorch.RLeaky` over time.

    At each step the input current is the feed-forward input plus a learned
    linear map of the layer's own spikes at the previous step. Runs the
    ``[T, B, size]`` sequence step by step (``temporal = True``, like
    :class:`~labkit.spiking.LIF`); the state starts at zero in every call and is
    not kept between calls.

    Parameters
    ----------
    size
        Number of neurons (the last dimension of the input).
    beta, threshold, spike_grad
        As in :class:`~labkit.spiking.LIF` (default surrogate: snnTorch's atan).
    """

    temporal = True

    def __init__(self, size: int, beta: float = 0.9, threshold: float = 1.0, spike_grad: SpikeFn | None = None) -> None:
        super().__init__()
        self.size = check_int(size, "size")
        self.cell = RLeaky(beta=beta, threshold=threshold, linear_features=self.size, all_to_all=True,
                           spike_grad=spike_grad)

    def extra_repr(self) -> str:
        return f"size={self.size}, beta={float(self.cell.beta)}, threshold={float(self.cell.threshold)}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if x.dim() != 3 or x.shape[-1] != self.size:
            raise ValueError(f"RecurrentLIF({self.size}) takes [T, B, {self.size}], got shape {tuple(x.shape)}.")
        spk, mem = torch.zeros_like(x[0]), torch.zeros_like(x[0])
        out = []
        try:
            for step in x.unbind(0):
                spk, mem = self.cell(step, spk, mem)
                out.append(spk)
        finally:  # snnTorch keeps the last state in buffers: empty them so that state_dicts stay the same
            self.cell.spk, self.cell.mem = x.new_zeros(0), x.new_zeros(0)
        return torch.stack(out)


class ConvAutoencoder(nn.Module):
    """An encoder, an embedding of ``embedding_size`` units and a decoder; spiking or not.

    Build one with :func:`~labkit.models.conv_sae` or :func:`~labkit.models.conv_ae`.

    Parameters
    ----------
    encoder
        Input to embedding: a :class:`~labkit.spiking.SpikingSequential` on
        spikes ``[T, B, C, H, W] -> [T, B, E]`` (spiking), or an ``nn.Sequential``
        on rates ``[B, C, H, W] -> [B, E]``; its last ``nn.Linear`` makes the embedding.
    decoder
        Embedding to output, the same kind; its first ``nn.Linear`` reads the
        embedding. A spiking decoder emits spikes ``[T, B, C, H, W]``, a
        non-spiking one values in [0, 1] (``[B, C, H, W]``), read as the firing
        probability per step.
    embedding_size
        ``E``: what the encoder emits and the decoder reads.
    num_steps
        Time steps ``T``.
    coder
        The :class:`RateEncoder` for image inputs; ``None`` for inputs that are
        spike trains already, ``[B, T, C, H, W]`` (batch first, as loaders give them).

    Raises
    ------
    ValueError
        When the encoder's embedding and the decoder's input differ in size (the
        message names both).
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, embedding_size: int, num_steps: int,
                 coder: RateEncoder | None = None) -> None:
        super().__init__()
        self.embedding_size = check_int(embedding_size, "embedding_size")
        self.num_steps = check_int(num_steps, "num_steps")
        produced = [m.out_features for m in encoder.modules() if isinstance(m, nn.Linear)][-1:]
        read = [m.in_features for m in decoder.modules() if isinstance(m, nn.Linear)][:1]
        if produced != [self.embedding_size] or read != [self.embedding_size]:
            raise ValueError(f"the embedding does not fit: the encoder makes embeddings of size "
                             f"{produced[0] if produced else '?'} and the decoder reads embeddings of size "
                             f"{read[0] if read else '?'} (embedding_size={self.embedding_size}). Build the encoder's "
                             "last Linear and the decoder's first Linear with the same size.")
        self.coder, self.encoder, self.decoder = coder, encoder, decoder
        self.spiking = isinstance(encoder, SpikingSequential)

    def input_spikes(self, x: torch.Tensor) -> torch.Tensor:
        """The spikes the network is shown, time first ``[T, B, C, H, W]``: ``x`` rate-coded, or ``x`` itself."""
        if self.coder is not None:
            if x.dim() != 4:
                raise ValueError(f"x must be images [B, C, H, W] (this autoencoder rate-codes them), got shape "
                                 f"{tuple(x.shape)}.")
            return self.coder(x)
        if x.dim() != 5 or x.shape[1] != self.num_steps:
            raise ValueError(f"x must be spike trains [B, T={self.num_steps}, C, H, W] (batch first), got shape "
                             f"{tuple(x.shape)}.")
        return x.transpose(0, 1).float()

    def encode(self, spikes: torch.Tensor) -> torch.Tensor:
        """Embedding of input spikes ``[T, B, ...]``: spikes ``[T, B, E]`` (spiking) or activations ``[B, E]``."""
        return self.encoder(spikes) if self.spiking else self.encoder(spikes.mean(0))

    def decode(self, embedding: torch.Tensor) -> torch.Tensor:
        """Output of an embedding: spikes ``[T, B, C, H, W]`` (spiking) or per-step firing probabilities ``[B, C, H, W]``.

        Raises
        ------
        ValueError
            When the embedding's size (last dimension) is not the decoder's.
        """
        if embedding.shape[-1] != self.embedding_size:
            raise ValueError(f"the embedding has size {embedding.shape[-1]} but this decoder reads embeddings of size "
                             f"{self.embedding_size}.")
        return self.decoder(embedding)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """One vector per input ``[B, E]``: the embedding's firing rates (spikes per step) or its activations."""
        z = self.encode(self.input_spikes(x))
        return z.mean(0) if self.spiking else z

    def run(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything along the way: ``input`` spikes, ``embedding``, ``output`` (spikes, or probabilities per step)."""
        spikes = self.input_spikes(x)
        z = self.encode(spikes)
        return {"input": spikes, "embedding": z, "output": self.decode(z)}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(output counts, input counts)``, both ``[B, C, H, W]``, summed over the ``T`` steps."""
        spikes = self.input_spikes(x)
        out = self.decode(self.encode(spikes))
        return (out.sum(0) if self.spiking else self.num_steps * out), spikes.sum(0)


def _check_shape(kernel_size: int, embedding: int, channels: Any, image_size: int) -> tuple[int, int, int, int]:
    kernel_size = check_int(kernel_size, "kernel_size")
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (3, 5, 7 ...), got {kernel_size}: with padding kernel_size // 2 an "
                         "odd kernel halves the image exactly at every stride-2 layer.")
    embedding = check_int(embedding, "embedding")
    if len(tuple(channels)) != 2:
        raise ValueError(f"channels must be two numbers (first and second convolution), got {channels!r}.")
    image_size = check_int(image_size, "image_size", minimum=4)
    if image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4 (two stride-2 layers), got {image_size}.")
    return kernel_size, embedding, image_size // 4, image_size


def _layers(kernel_size: int, embedding: int, channels: tuple[int, int], in_channels: int, side: int,
            act: Any, embed_act: Any, hidden_act: Any, out_act: nn.Module) -> tuple[list[nn.Module], list[nn.Module]]:
    """The encoder and decoder layers, with ``act()`` after every hidden layer (LIF or ReLU)."""
    c1, c2 = (check_int(c, "channels") for c in channels)
    k, pad, flat = kernel_size, kernel_size // 2, c2 * side * side
    encoder = [nn.Conv2d(in_channels, c1, k, stride=2, padding=pad), nn.BatchNorm2d(c1), act(),
               nn.Conv2d(c1, c2, k, stride=2, padding=pad), nn.BatchNorm2d(c2), act(),
               nn.Flatten(), nn.Linear(flat, embedding), embed_act]
    decoder = [nn.Linear(embedding, flat), hidden_act, nn.Unflatten(1, (c2, side, side)),
               nn.ConvTranspose2d(c2, c1, k, stride=2, padding=pad, output_padding=1), nn.BatchNorm2d(c1), act(),
               nn.ConvTranspose2d(c1, in_channels, k, stride=2, padding=pad, output_padding=1), out_act]
    return encoder, decoder


def conv_sae(
    kernel_size: int = 5,
    embedding: int = 32,
    channels: tuple[int, int] = (16, 32),
    num_steps: int = 10,
    f_on: float = 100.0,
    f_off: float = 0.0,
    dt: float = 5e-3,
    beta: float = 0.9,
    recurrent: int = 0,
    in_channels: int = 1,
    image_size: int = 28,
    rate_coded: bool = True,
    spike_grad: SpikeFn | None = None,
) -> ConvAutoencoder:
    """The convolutional spiking autoencoder: LIF neurons throughout, output spike counts over ``num_steps``.

    Encoder: two stride-2 convolutions (``kernel_size``, padding ``kernel_size // 2``)
    with batch norm and LIF, then a fully connected layer into ``embedding``
    spiking neurons. Decoder: a fully connected layer back to the feature map, two
    stride-2 transposed convolutions (batch norm and LIF between them), and LIF
    output neurons, one per input pixel and channel. An ``image_size`` of 28 runs
    at 28, 14 and 7 pixels.

    Parameters
    ----------
    kernel_size
        Odd kernel size of every (transposed) convolution.
    embedding
        Number of embedding neurons.
    channels
        Channels of the two convolutions (and of the decoder, mirrored).
    num_steps
        Time steps ``T``.
    f_on, f_off, dt
        The rate code of the input (:class:`RateEncoder`); ignored when
        ``rate_coded=False``.
    beta
        Membrane decay per step of every neuron.
    recurrent
        How many layers, counted from the embedding, get explicit all-to-all
        recurrent connections (:class:`RecurrentLIF`): 0 (implicit membrane
        memory only), 1 (the embedding) or 2 (the embedding and the decoder's
        first layer).
    in_channels, image_size
        Input channels (1 for grey images, 2 for ON/OFF event frames) and side.
    rate_coded
        Inputs are images to rate-code (``True``) or spike trains ``[B, T, C, H, W]``.
    spike_grad
        Surrogate for every spiking layer (default: snnTorch's atan).

    Raises
    ------
    ValueError
        For an even kernel, a side that is not a multiple of 4, a ``recurrent``
        outside 0-2, or a rate code whose probability exceeds 1.
    """
    kernel_size, embedding, side, image_size = _check_shape(kernel_size, embedding, channels, image_size)
    recurrent = check_int(recurrent, "recurrent", minimum=0)
    if recurrent > 2:
        raise ValueError(f"recurrent counts recurrent layers next to the embedding: 0, 1 or 2, got {recurrent}.")
    flat = tuple(channels)[1] * side * side

    def lif(**kw: Any) -> LIF:
        return LIF(beta=beta, spike_grad=spike_grad, **kw)

    embed = RecurrentLIF(embedding, beta=beta, spike_grad=spike_grad) if recurrent >= 1 else lif()
    hidden = RecurrentLIF(flat, beta=beta, spike_grad=spike_grad) if recurrent >= 2 else lif()
    encoder, decoder = _layers(kernel_size, embedding, tuple(channels), in_channels, side, lif, embed, hidden, lif())
    coder = RateEncoder(num_steps, f_on, f_off, dt) if rate_coded else None
    return ConvAutoencoder(SpikingSequential(*encoder, num_steps=num_steps, static_input=False),
                           SpikingSequential(*decoder, num_steps=num_steps, static_input=False),
                           embedding, num_steps, coder)


def conv_ae(
    kernel_size: int = 5,
    embedding: int = 32,
    channels: tuple[int, int] = (16, 32),
    num_steps: int = 10,
    f_on: float = 100.0,
    f_off: float = 0.0,
    dt: float = 5e-3,
    in_channels: int = 1,
    image_size: int = 28,
    rate_coded: bool = True,
) -> ConvAutoencoder:
    """The non-spiking twin of :func:`~labkit.models.conv_sae`: the same layers with ReLU for LIF, on spike counts.

    It is shown the same spikes (the same rate code) and sees their counts divided
    by ``T`` (firing rates); its sigmoid output times ``T`` predicts the counts.
    There is no time axis inside, so there is no recurrent variant.

    Parameters
    ----------
    kernel_size, embedding, channels, num_steps, f_on, f_off, dt, in_channels, image_size, rate_coded
        As in :func:`~labkit.models.conv_sae`.
    """
    kernel_size, embedding, side, image_size = _check_shape(kernel_size, embedding, channels, image_size)
    encoder, decoder = _layers(kernel_size, embedding, tuple(channels), in_channels, side, nn.ReLU, nn.ReLU(),
                               nn.ReLU(), nn.Sigmoid())
    coder = RateEncoder(num_steps, f_on, f_off, dt) if rate_coded else None
    return ConvAutoencoder(nn.Sequential(*encoder), nn.Sequential(*decoder), embedding, num_steps, coder)


def reconstruction_loss(outputs: tuple[torch.Tensor, torch.Tensor], targets: Any = None) -> torch.Tensor:
    """The training loss of the autoencoders: :func:`labkit.nrmse` of ``(output counts, input counts)``.

    ``targets`` (the images) is not used: the reference is the input spike counts
    the network was shown, which it returns with its output.
    """
    output_counts, input_counts = outputs
    return nrmse(output_counts, input_counts)


def reconstruction_nrmse(outputs: tuple[torch.Tensor, torch.Tensor], targets: Any = None) -> float:
    """:func:`reconstruction_loss` as a number, for the metrics of :func:`labkit.train.fit`."""
    return float(reconstruction_loss(outputs, targets))
