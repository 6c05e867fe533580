"""Random image transforms for feature visualisation ("transformation robustness").

An image optimised for one exact pixel grid exploits the network with
high-frequency patterns. Asking it to excite the network under small random
shifts, zooms and rotations ("transformation robustness", Olah et al., 2017)
gives cleaner pictures. Every transform here is a
callable ``t(images, generator=None)`` on ``[B, C, H, W]`` tensors, differentiable
with respect to the images, and draws its random choices from the optional
:class:`torch.Generator`, so a seeded generator reproduces the same sequence.
Scaling and rotation use :func:`torch.nn.functional.affine_grid` and
:func:`~torch.nn.functional.grid_sample` (no kornia needed) and keep the size.

Examples
--------
>>> t = Compose([Pad(2), Jitter(3), RandomRotate([-10, 0, 10])])
>>> x = torch.rand(1, 3, 16, 16)
>>> t(x, torch.Generator().manual_seed(0)).shape, t.out_size(16, 16)
(torch.Size([1, 3, 17, 17]), (17, 17))
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "Transform",
    "Pad",
    "Jitter",
    "RandomScale",
    "RandomRotate",
    "Compose",
    "standard_transforms",
]


def _choice(options: Sequence[float], generator: torch.Generator | None) -> float:
    index = int(torch.randint(len(options), (1,), generator=generator))
    return float(options[index])


class Transform:
    """Base class: ``t(x, generator)`` returns the transformed batch (same transform for all images)."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def out_size(self, height: int, width: int) -> tuple[int, int]:
        """Size of the output for an input of ``height x width`` pixels."""
        return height, width

    def mean_shift(self) -> float:
        """Average shift (pixels, both axes) of image content from input to output.

        A point at ``(y, x)`` of the input lands on average at
        ``(y + shift, x + shift)`` of the output: use it to map output positions
        (e.g. a unit's receptive field) back onto the optimised image.
        """
        return 0.0

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Pad(Transform):
    """Pad every side by ``width`` pixels (constant ``value``, or ``mode="reflect"``).

    Examples
    --------
    >>> Pad(1)(torch.zeros(1, 1, 2, 2))[0, 0, 0].tolist()
    [0.5, 0.5, 0.5, 0.5]
    """

    def __init__(self, width: int, mode: str = "constant", value: float = 0.5) -> None:
        if width < 0:
            raise ValueError(f"width must be >= 0, got {width}.")
        self.width, self.mode, self.value = int(width), mode, float(value)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.width == 0:
            return x
        pad = [self.width] * 4
        if self.mode == "constant":
            return F.pad(x, pad, mode="constant", value=self.value)
        return F.pad(x, pad, mode=self.mode)

    def out_size(self, height: int, width: int) -> tuple[int, int]:  # noqa: D102
        return height + 2 * self.width, width + 2 * self.width

    def mean_shift(self) -> float:  # noqa: D102
        return float(self.width)


class Jitter(Transform):
    """Random crop that removes ``d`` pixels in each direction (a random shift of up to ``d - 1``).

    Examples
    --------
    >>> Jitter(4)(torch.zeros(1, 3, 10, 10)).shape
    torch.Size([1, 3, 6, 6])
    """

    def __init__(self, d: int) -> None:
        if d < 1:
            raise ValueError(f"d must be >= 1, got {d}.")
        self.d = int(d)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h <= self.d or w <= self.d:
            raise ValueError(f"Jitter({self.d}) needs images larger than {self.d} px, got {h}x{w}.")
        dy, dx = (int(v) for v in torch.randint(self.d, (2,), generator=generator))
        return x[..., dy:dy + h - self.d, dx:dx + w - self.d]

    def out_size(self, height: int, width: int) -> tuple[int, int]:  # noqa: D102
        return height - self.d, width - self.d

    def mean_shift(self) -> float:  # noqa: D102
        return -(self.d - 1) / 2


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    theta = theta.to(x).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class RandomScale(Transform):
    """Zoom by a factor drawn from ``scales`` about the image centre, keeping the size.

    A factor above 1 magnifies (the borders are cropped), below 1 shrinks (the
    border pixels are repeated).

    Examples
    --------
    >>> x = torch.rand(1, 3, 8, 8)
    >>> torch.allclose(RandomScale([1.0])(x), x, atol=1e-6)
    True
    """

    def __init__(self, scales: Sequence[float]) -> None:
        if not scales or min(scales) <= 0:
            raise ValueError(f"scales must be positive factors, got {scales!r}.")
        self.scales = [float(s) for s in scales]

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        s = _choice(self.scales, generator)
        if s == 1.0:
            return x
        theta = torch.tensor([[[1.0 / s, 0.0, 0.0], [0.0, 1.0 / s, 0.0]]])
        return _affine(x, theta)


class RandomRotate(Transform):
    """Rotate about the image centre by an angle (degrees) drawn from ``angles``, keeping the size.

    The rotation is exact in pixel space also for non-square images.

    Examples
    --------
    >>> x = torch.zeros(1, 1, 5, 5); x[0, 0, 2, 4] = 1.0  # a dot right of the centre
    >>> y = RandomRotate([90])(x)
    >>> divmod(int(y.flatten().argmax()), 5)  # moved below the centre (y axis points down)
    (4, 2)
    """

    def __init__(self, angles: Sequence[float]) -> None:
        if not angles:
            raise ValueError("angles must not be empty.")
        self.angles = [float(a) for a in angles]

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        angle = _choice(self.angles, generator)
        if angle == 0.0:
            return x
        h, w = x.shape[-2:]
        a = math.radians(angle)
        c, s = math.cos(a), math.sin(a)
        # output pixel p samples input R^-1 p; in normalised coordinates x/(W/2), y/(H/2).
        theta = torch.tensor([[[c, s * h / w, 0.0], [-s * w / h, c, 0.0]]])
        return _affine(x, theta)


class Compose(Transform):
    """Apply transforms in order, all drawing from the same generator."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for t in self.transforms:
            x = t(x, generator)
        return x

    def out_size(self, height: int, width: int) -> tuple[int, int]:  # noqa: D102
        for t in self.transforms:
            height, width = t.out_size(height, width)
        return height, width

    def mean_shift(self) -> float:  # noqa: D102
        return sum(t.mean_shift() for t in self.transforms)

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


def standard_transforms(size: int = 224) -> Compose:
    """Lucent's ``standard_transforms``, with pad and jitter scaled to an image of ``size`` px.

    At 224 px: pad 12 (grey), jitter 8, zoom in 0.9 to 1.1, rotate -10 to 10 degrees
    (0 more often), jitter 4. Smaller images get proportionally smaller shifts.

    Examples
    --------
    >>> standard_transforms(224).out_size(224, 224)
    (236, 236)
    """
    k = size / 224.0
    pad, jitter1, jitter2 = (max(1, round(v * k)) for v in (12, 8, 4))
    return Compose([
        Pad(pad),
        Jitter(jitter1),
        RandomScale([1 + (i - 5) / 50 for i in range(11)]),
        RandomRotate(list(range(-10, 11)) + 5 * [0]),
        Jitter(jitter2),
    ])
