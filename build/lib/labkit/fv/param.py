"""Image parameterisations for feature visualisation: Fourier space, decorrelated colour.

Optimising pixels directly gives high-frequency noise that excites a network but
tells a person little. Following Lucid/Lucent (Olah et al., 2017), the image
is described instead by

1. its **2-D Fourier spectrum**, scaled by ``1 / frequency`` so that every spatial
   frequency has about the same energy after scaling (natural images have a
   ``1/f`` amplitude spectrum), which makes gradient steps favour smooth images;
2. **decorrelated colour**: the optimised channels are mapped to RGB by the
   square root of the colour covariance of natural images (Lucid's ImageNet
   estimate, :data:`COLOR_CORRELATION_SVD_SQRT`), so each parameter channel is
   an independent colour direction;
3. a **sigmoid**, so the image always lies in ``(0, 1)``.

Every parameterisation is a :class:`torch.nn.Module` whose ``forward()`` takes no
input and returns the image ``[batch, 3, height, width]``; its parameters are what
the optimiser changes.

Examples
--------
>>> param = image(32, batch=2, generator=torch.Generator().manual_seed(0))
>>> param().shape
torch.Size([2, 3, 32, 32])
>>> bool(((param() > 0) & (param() < 1)).all())
True
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = [
    "COLOR_CORRELATION_SVD_SQRT",
    "color_correlation_normalized",
    "decorrelate_color",
    "rfft2d_freqs",
    "ImageParam",
    "FourierImage",
    "PixelImage",
    "image",
]

#: Square root (via SVD) of the RGB covariance of ImageNet images, from Lucid.
COLOR_CORRELATION_SVD_SQRT: torch.Tensor = torch.tensor(
    [[0.26, 0.09, 0.02],
     [0.27, 0.00, -0.05],
     [0.27, -0.09, 0.03]], dtype=torch.float32)

#: Lucent's Fourier-image damping constant: ``irfft`` output is divided by it.
_FFT_MAGIC = 4.0


def color_correlation_normalized() -> torch.Tensor:
    """Lucid's colour matrix divided by its largest column norm (``[3, 3]``).

    Examples
    --------
    >>> round(float(color_correlation_normalized().norm(dim=0).max()), 6)
    1.0
    """
    matrix = COLOR_CORRELATION_SVD_SQRT
    return matrix / matrix.norm(dim=0).max()


def decorrelate_color(x: torch.Tensor) -> torch.Tensor:
    """Map decorrelated colour channels ``[B, 3, H, W]`` to (pre-sigmoid) RGB.

    Each pixel's 3-vector ``v`` becomes ``M v`` with ``M`` =
    :func:`color_correlation_normalized`: the first parameter channel moves all of
    R, G and B together (luminance), the other two are colour-opponent directions.

    Examples
    --------
    >>> rgb = decorrelate_color(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1))
    >>> [round(v, 2) for v in rgb.flatten().tolist()]  # luminance: R, G, B about equal
    [0.56, 0.58, 0.58]
    """
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected [batch, 3, H, W], got shape {tuple(x.shape)}.")
    matrix = color_correlation_normalized().to(x)
    return torch.einsum("ij,bjhw->bihw", matrix, x)


def rfft2d_freqs(height: int, width: int) -> np.ndarray:
    """Spatial frequency magnitude (cycles per pixel) of every ``rfft2`` coefficient.

    Returns
    -------
    numpy.ndarray
        ``[height, width // 2 + 1]`` array of ``sqrt(fx**2 + fy**2)``.

    Examples
    --------
    >>> rfft2d_freqs(4, 4).shape
    (4, 3)
    >>> float(rfft2d_freqs(4, 4)[0, 2])  # the Nyquist frequency along x
    0.5
    """
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.abs(np.fft.fftfreq(width)[: width // 2 + 1])
    return np.sqrt(fx * fx + fy * fy)


class ImageParam(nn.Module):
    """Base class: a module whose ``forward()`` returns images ``[B, C, H, W]`` in ``(0, 1)`` (``C = 3``: RGB).

    Attributes
    ----------
    batch, height, width
        Shape of the images produced.
    channels
        3 for colour images, 1 for grey ones (e.g. MNIST digits).
    decorrelate
        Whether colour decorrelation is applied before the sigmoid (colour images only).
    """

    def __init__(self, batch: int, height: int, width: int, decorrelate: bool | None, channels: int = 3) -> None:
        super().__init__()
        if batch < 1 or height < 1 or width < 1:
            raise ValueError(f"batch, height and width must be >= 1, got {batch}, {height}, {width}.")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 3 (colour) or 1 (grey), got {channels}.")
        decorrelate = channels == 3 if decorrelate is None else bool(decorrelate)
        if decorrelate and channels != 3:
            raise ValueError("decorrelate=True maps three colour channels to RGB; a grey image (channels=1) "
                             "has none to decorrelate: pass decorrelate=False (or leave it None).")
        self.batch, self.height, self.width, self.channels = int(batch), int(height), int(width), int(channels)
        self.decorrelate = decorrelate

    def raw(self) -> torch.Tensor:
        """The unconstrained image before colour mapping and sigmoid."""
        raise NotImplementedError

    def forward(self) -> torch.Tensor:  # noqa: D102 - documented in the class
        x = self.raw()
        if self.decorrelate:
            x = decorrelate_color(x)
        return torch.sigmoid(x)


class FourierImage(ImageParam):
    """Image parameterised by its scaled 2-D Fourier spectrum (Lucid's ``fft_image``).

    The parameter ``spectrum`` (``[B, 3, H, W//2+1, 2]``: real and imaginary parts)
    is multiplied by ``1 / max(f, 1/max(H, W)) ** decay_power``, transformed with an
    orthonormal inverse real FFT and divided by 4 (Lucid's constant).

    Parameters
    ----------
    batch, height, width
        Image shape.
    sd
        Standard deviation of the random initial spectrum (0.01: near-grey noise).
    decay_power
        Exponent of the ``1/f`` scaling; 0 gives white (pixel-like) noise.
    decorrelate
        Apply :func:`decorrelate_color` (default: for colour images).
    generator
        Seeds the initial spectrum.
    channels
        3 (colour) or 1 (grey).
    """

    def __init__(self, batch: int, height: int, width: int, sd: float = 0.01,
                 decay_power: float = 1.0, decorrelate: bool | None = True,
                 generator: torch.Generator | None = None, channels: int = 3) -> None:
        super().__init__(batch, height, width, decorrelate, channels)
        freqs = rfft2d_freqs(height, width)
        scale = 1.0 / np.maximum(freqs, 1.0 / max(height, width)) ** decay_power
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32)[None, None, :, :, None])
        init = torch.randn(batch, channels, *freqs.shape, 2, generator=generator) * sd
        self.spectrum = nn.Parameter(init)

    def raw(self) -> torch.Tensor:  # noqa: D102
        spectrum = torch.view_as_complex((self.scale * self.spectrum).contiguous())
        image = torch.fft.irfftn(spectrum, s=(self.height, self.width), dim=(-2, -1), norm="ortho")
        return image / _FFT_MAGIC


class PixelImage(ImageParam):
    """Image parameterised directly by its (pre-sigmoid) pixels, for comparison.

    Parameters
    ----------
    batch, height, width
        Image shape.
    sd
        Standard deviation of the random initial pixels.
    decorrelate
        Apply :func:`decorrelate_color` (default: for colour images).
    generator
        Seeds the initial pixels.
    channels
        3 (colour) or 1 (grey).
    """

    def __init__(self, batch: int, height: int, width: int, sd: float = 0.01,
                 decorrelate: bool | None = True, generator: torch.Generator | None = None, channels: int = 3) -> None:
        super().__init__(batch, height, width, decorrelate, channels)
        self.pixels = nn.Parameter(torch.randn(batch, channels, height, width, generator=generator) * sd)

    def raw(self) -> torch.Tensor:  # noqa: D102
        return self.pixels


def image(size: int | tuple[int, int], batch: int = 1, fft: bool = True, decorrelate: bool | None = None,
          sd: float = 0.01, generator: torch.Generator | None = None, channels: int = 3) -> ImageParam:
    """Lucid's default image parameterisation: Fourier space, decorrelated colour, sigmoid.

    Parameters
    ----------
    size
        ``H`` (square) or ``(H, W)`` in pixels.
    batch
        Number of images optimised together.
    fft
        Fourier parameterisation (:class:`FourierImage`); ``False`` gives :class:`PixelImage`.
    decorrelate
        Decorrelated colour (:func:`decorrelate_color`); default: on for colour images.
    sd
        Scale of the random start.
    generator
        Seeds the random start.
    channels
        3 for colour (RGB) images, 1 for grey ones such as MNIST digits.

    Returns
    -------
    ImageParam
        Call it to get the image ``[batch, channels, H, W]`` in ``(0, 1)``.

    Examples
    --------
    >>> image((8, 12), fft=False)().shape
    torch.Size([1, 3, 8, 12])
    >>> image(28, channels=1)().shape  # a grey digit-sized image
    torch.Size([1, 1, 28, 28])
    """
    height, width = (size, size) if isinstance(size, int) else size
    if fft:
        return FourierImage(batch, height, width, sd=sd, decorrelate=decorrelate, generator=generator,
                            channels=channels)
    return PixelImage(batch, height, width, sd=sd, decorrelate=decorrelate, generator=generator, channels=channels)
