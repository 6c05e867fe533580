"""Feature visualisation by activation maximisation, organised like Lucent.

* :mod:`labkit.fv.param` - image parameterisations (Fourier space, decorrelated colour);
* :mod:`labkit.fv.transform` - random pad, jitter, scale and rotation, seeded;
* :mod:`labkit.fv.objectives` - layer, channel and neuron objectives on layers read by name;
* :mod:`labkit.fv.render` - the optimisation loop, snapshots and objective curve;
* :mod:`labkit.fv.evidence` - the optimised image against natural images (their maximum, not their mean).

Examples
--------
>>> import torch
>>> from labkit import fv
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
>>> out = fv.render(net, fv.objectives.channel("0", 3), fv.param.image(16),
...                 fv.transform.standard_transforms(16), steps=5, progress=False)
>>> out.image.shape
torch.Size([1, 3, 16, 16])
"""

from __future__ import annotations

from . import objectives, param, transform
from .evidence import Evidence, evidence
from .render import RenderResult, random_crops, render, score

__all__ = ["objectives", "param", "transform", "render", "score", "random_crops", "RenderResult", "evidence",
           "Evidence"]
