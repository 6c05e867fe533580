"""Batch data augmentation as a module, so it runs inside any model (ANN or SNN) on any device.

Examples
--------
>>> import torch
>>> aug = RandomCropFlip(padding=4)
>>> aug.eval()(torch.ones(2, 3, 8, 8)).equal(torch.ones(2, 3, 8, 8))  # identity when evaluating
True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["RandomCropFlip"]


class RandomCropFlip(nn.Module):
    """Random crop after zero padding and random horizontal flip, per image, in training mode only.

    The standard CIFAR-10 augmentation (pad 4, crop 32, flip). Draws from torch's
    global generator, so :func:`labkit.config.seed_everything` makes it
    reproducible and :func:`labkit.train.fit` checkpoints restore it.

    Parameters
    ----------
    padding
        Pixels of zero padding on each side before cropping back to the input size.
    flip
        Also flip half of the images left-right.
    """

    def __init__(self, padding: int = 4, flip: bool = True) -> None:
        super().__init__()
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}.")
        self.padding, self.flip = padding, flip

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if not self.training:
            return x
        if x.dim() != 4:
            raise ValueError(f"RandomCropFlip expects images [B, C, H, W], got shape {tuple(x.shape)}.")
        b, _, h, w = x.shape
        p = self.padding
        padded = F.pad(x, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (b,), device=x.device)
        dx = torch.randint(0, 2 * p + 1, (b,), device=x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        if self.flip:
            flipped = torch.rand(b, device=x.device) < 0.5
            cols = torch.where(flipped[:, None, None, None], cols.flip(-1), cols)
        batch = torch.arange(b, device=x.device)[:, None, None, None]
        channels = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
        return padded[batch, channels, rows, cols]
