"""Does a feature visualisation work? Its unit's activation against natural images.

A picture is evidence only if the image excites the unit it claims to, and
more than natural images do. :func:`~labkit.fv.evidence` scores the starting image, the
optimised image and natural crops with one objective (usually the rectified
activation of the unit), and :class:`Evidence` compares them with the **most
exciting** natural crop rather than the mean: a unit that natural images hardly
drive (a nearly silent ReLU) has a natural mean close to 0, so any ratio to the
mean is huge and says more about the unit than about the picture.

Examples
--------
>>> import torch
>>> from labkit.fv.objectives import channel
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.ReLU())
>>> with torch.no_grad():
...     _ = net[0].weight.fill_(1.0), net[0].bias.fill_(-1.0)
>>> ev = evidence(net, channel("1", 0), torch.full((1, 3, 4, 4), 0.5), torch.ones(1, 3, 4, 4),
...               torch.rand(50, 3, 4, 4, generator=torch.Generator().manual_seed(0)))
>>> ev.optimised, ev.exceeds_all, round(ev.over_max, 2)
(2.0, True, 2.59)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .objectives import Objective
from .render import score

__all__ = ["Evidence", "evidence"]


@dataclass(frozen=True)
class Evidence:
    """A unit's activation for the starting image, the optimised image and natural crops.

    Attributes
    ----------
    start, optimised
        The activation for the starting and the optimised image.
    natural
        The activation for each natural crop ``[N]``.
    """

    start: float
    optimised: float
    natural: np.ndarray

    @property
    def natural_mean(self) -> float:
        """Mean activation over the natural crops."""
        return float(self.natural.mean())

    @property
    def natural_max(self) -> float:
        """Activation of the most exciting natural crop."""
        return float(self.natural.max())

    @property
    def active_fraction(self) -> float:
        """Fraction of natural crops that excite the unit at all (activation above 0)."""
        return float((self.natural > 0).mean())

    @property
    def exceeds_all(self) -> bool:
        """Whether the optimised image excites the unit more than every natural crop."""
        return bool(self.optimised > self.natural_max)

    @property
    def over_max(self) -> float:
        """``optimised / natural_max``; ``inf`` when no natural crop excites the unit, ``nan`` when neither does."""
        if self.natural_max > 0:
            return self.optimised / self.natural_max
        return float("inf") if self.optimised > 0 else float("nan")

    def over_max_text(self, digits: int = 1) -> str:
        """:attr:`over_max` for a table: a number, or why there is none."""
        if self.natural_max > 0:
            return f"{self.over_max:.{digits}f}"
        return "∞ (no natural crop excites it)" if self.optimised > 0 else "– (silent)"


def evidence(model: nn.Module, objective: Objective, start: torch.Tensor, optimised: torch.Tensor,
             natural: torch.Tensor) -> Evidence:
    """Score the starting image, the optimised image and natural crops with ``objective``.

    Parameters
    ----------
    model
        The network.
    objective
        What to measure, e.g. the channel's activation *after* its ReLU (the
        value the next layer sees), without transforms.
    start, optimised
        ``[1, 3, H, W]`` images (e.g. ``RenderResult.start`` and ``.image``).
    natural
        Natural-image crops ``[N, 3, H, W]`` of the same size (:func:`labkit.fv.random_crops`).
    """
    if start.shape != optimised.shape or start.shape[0] != 1:
        raise ValueError(f"start and optimised must be single images [1, 3, H, W] of one shape, "
                         f"got {tuple(start.shape)} and {tuple(optimised.shape)}.")
    if natural.ndim != 4 or natural.shape[1:] != start.shape[1:]:
        raise ValueError(f"natural must be crops [N, {', '.join(map(str, start.shape[1:]))}] like the images, "
                         f"got {tuple(natural.shape)}; make them with fv.random_crops(..., size=H).")
    values = score(model, objective, torch.cat([start, optimised]))
    return Evidence(float(values[0]), float(values[1]), score(model, objective, natural).numpy())
