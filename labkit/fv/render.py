"""Activation maximisation: optimise an image parameterisation to maximise an objective.

:func:`~labkit.fv.render` runs Adam on the parameters of an :mod:`~labkit.fv.param` image
(the network's weights stay fixed), applying random
:mod:`~labkit.fv.transform` transforms before every forward pass, and records
the objective curve and snapshots of the image as the steps increase.
:func:`~labkit.fv.score` measures an objective on given images without transforms or
gradients, for fair comparisons (optimised image vs start vs natural images).

Examples
--------
>>> from labkit.fv import objectives, param, transform
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
>>> p = param.image(12, generator=torch.Generator().manual_seed(0))
>>> out = render(net, objectives.channel("0", 2), p, transform.Jitter(2), steps=10,
...              record_every=5, progress=False)
>>> out.image.shape, out.steps, len(out.curve)
(torch.Size([1, 3, 12, 12]), [0, 5, 10], 10)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..analysis.record import eval_mode, record_features
from ..config import is_static
from .objectives import Objective
from .param import ImageParam

__all__ = ["RenderResult", "render", "score", "random_crops"]


@dataclass
class RenderResult:
    """What :func:`~labkit.fv.render` returns.

    Attributes
    ----------
    image
        Final image ``[B, 3, H, W]`` in ``(0, 1)`` (CPU, detached).
    images
        Snapshots ``[B, 3, H, W]`` taken at ``steps`` (the first is the starting image).
    steps
        Optimisation step of each snapshot (0 = before any update).
    curve
        Objective (mean over the batch) at each step 1..``len(curve)``, measured on
        the transformed image that the step optimised.
    objective
        The objective's name.
    """

    image: torch.Tensor
    images: list[torch.Tensor] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    curve: list[float] = field(default_factory=list)
    objective: str = ""

    @property
    def start(self) -> torch.Tensor:
        """The starting image (snapshot at step 0)."""
        return self.images[0]


def _activations(model: nn.Module, objective: Objective, time: str | None = None):
    """Record the layers ``objective`` reads, in their own shape, with gradients, stopping after the last."""
    return record_features(model, sorted(objective.layers), time, flatten=False, detach=False, stop_early=True)


def render(
    model: nn.Module,
    objective: Objective,
    param: ImageParam,
    transforms: Callable[..., torch.Tensor] | None = None,
    steps: int = 256,
    lr: float = 0.05,
    record_every: int | None = None,
    generator: torch.Generator | int | None = None,
    progress: bool | None = None,
    time: str | None = None,
) -> RenderResult:
    """Maximise ``objective`` over the image ``param`` by gradient ascent (Adam).

    Parameters
    ----------
    model
        The network; put in eval mode and left unchanged (its parameters get no
        gradient during the call). Its layers named by the objective must be
        reachable by ``model(images)``.
    objective
        What to maximise (see :mod:`labkit.fv.objectives`); the loss is minus its
        sum over the batch.
    param
        The image parameterisation; moved to the model's device and optimised in place.
    transforms
        Random transform ``t(images, generator)`` applied before every forward pass
        (e.g. :func:`labkit.fv.transform.standard_transforms`); ``None`` for none.
    steps
        Number of optimisation steps.
    lr
        Adam learning rate.
    record_every
        Keep a snapshot of the image every this many steps (plus the start and the
        end); ``None`` keeps only the start and the end.
    generator
        Seed (``int``) or generator for the transforms' random choices; ``None``
        uses torch's global generator.
    progress
        Show a tqdm progress bar; defaults to off in static runs (book, CI).
    time
        For layers with a time axis (spiking layers): ``"rate"`` gives the
        objective each layer's output averaged over the time steps, i.e. firing
        rates ``[B, C, H, W]`` for a LIF layer, and the gradient flows through
        the surrogate derivative of every spike (see
        :func:`labkit.analysis.record_features`). ``None`` for ANNs.

    Returns
    -------
    RenderResult
        Final image, snapshots, and the objective curve.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}.")
    if isinstance(generator, int):
        generator = torch.Generator().manual_seed(generator)
    device = next(model.parameters()).device
    param.to(device)
    was_training = model.training
    grads = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in grads:
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(param.parameters(), lr=lr)
    with torch.no_grad():
        images, recorded = [param().detach().cpu()], [0]
    curve: list[float] = []
    show = (not is_static()) if progress is None else progress
    try:
        with _activations(model, objective, time) as rec:
            bar = tqdm(range(1, steps + 1), desc=objective.name, disable=not show, leave=False)
            for step in bar:
                optimizer.zero_grad(set_to_none=True)
                x = param()
                if transforms is not None:
                    x = transforms(x, generator)
                value = objective(rec.run(x))
                (-value.sum()).backward()
                optimizer.step()
                curve.append(float(value.detach().mean()))
                if step == steps or (record_every and step % record_every == 0):
                    with torch.no_grad():
                        images.append(param().detach().cpu())
                    recorded.append(step)
                if show:
                    bar.set_postfix(objective=f"{curve[-1]:.3g}")
    finally:
        for p, flag in grads:
            p.requires_grad_(flag)
        model.train(was_training)
    return RenderResult(images[-1], images, recorded, curve, objective.name)


@torch.no_grad()
def score(model: nn.Module, objective: Objective, images: torch.Tensor,
          batch_size: int = 256, time: str | None = None) -> torch.Tensor:
    """The objective for each image ``[N]``, without transforms or gradients (eval mode).

    ``time="rate"`` reads spiking layers as firing rates (as in :func:`render`).

    Examples
    --------
    >>> from labkit.fv.objectives import channel
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1))
    >>> score(net, channel("0", 0), torch.rand(5, 3, 4, 4)).shape
    torch.Size([5])
    """
    device = next(model.parameters()).device
    out = []
    with eval_mode(model), _activations(model, objective, time) as rec:
        for chunk in images.split(batch_size):
            out.append(objective(rec.run(chunk.to(device))).cpu())
    return torch.cat(out)


def random_crops(images: torch.Tensor, n: int, size: int, scale: tuple[float, float] = (0.5, 1.0),
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` random square crops of random images, resized to ``size x size`` (bilinear).

    Parameters
    ----------
    images
        Natural images ``[N, 3, H, W]`` in ``[0, 1]``.
    n
        Number of crops.
    size
        Output side in pixels.
    scale
        Range of the crop side as a fraction of ``min(H, W)``.
    generator
        Seeds the choice of images, sides and positions.

    Examples
    --------
    >>> random_crops(torch.rand(4, 3, 32, 32), n=3, size=20).shape
    torch.Size([3, 3, 20, 20])
    """
    h, w = images.shape[-2:]
    out = []
    for _ in range(n):
        i = int(torch.randint(len(images), (1,), generator=generator))
        frac = scale[0] + (scale[1] - scale[0]) * float(torch.rand(1, generator=generator))
        side = max(2, round(frac * min(h, w)))
        top = int(torch.randint(h - side + 1, (1,), generator=generator))
        left = int(torch.randint(w - side + 1, (1,), generator=generator))
        crop = images[i:i + 1, :, top:top + side, left:left + side]
        out.append(F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False,
                                 antialias=side > size))
    return torch.cat(out).clamp(0, 1)
