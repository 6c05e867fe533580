"""Convolution worked out by hand, to compare with :func:`torch.nn.functional.conv2d`.

Deep-learning "convolution" is cross-correlation: the kernel is slid over the
input *without* flipping it.

Examples
--------
>>> import torch
>>> x = torch.arange(9.0).reshape(3, 3)
>>> conv2d_loops(x, torch.ones(2, 2)).tolist()
[[8.0, 12.0], [20.0, 24.0]]
"""

from __future__ import annotations

import torch

__all__ = ["conv2d_loops", "output_size"]


def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a convolution: ``floor((size + 2 padding - kernel) / stride) + 1``."""
    if kernel > size + 2 * padding:
        raise ValueError(f"kernel {kernel} is larger than the padded input {size + 2 * padding}.")
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_loops(x: torch.Tensor, w: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """Single-channel 2-D cross-correlation with explicit loops (no padding, no bias).

    Parameters
    ----------
    x
        Input ``[H, W]``.
    w
        Kernel ``[kH, kW]``.
    stride
        Step between windows.

    Returns
    -------
    torch.Tensor
        ``out[i, j] = sum_{a, b} x[i*stride + a, j*stride + b] * w[a, b]``.
    """
    if x.dim() != 2 or w.dim() != 2:
        raise ValueError(f"x and w must be 2-D, got shapes {tuple(x.shape)} and {tuple(w.shape)}.")
    out_h, out_w = output_size(x.shape[0], w.shape[0], stride), output_size(x.shape[1], w.shape[1], stride)
    out = torch.zeros(out_h, out_w, dtype=torch.result_type(x, w))
    for i in range(out_h):
        for j in range(out_w):
            total = 0.0
            for a in range(w.shape[0]):
                for b in range(w.shape[1]):
                    total += x[i * stride + a, j * stride + b] * w[a, b]
            out[i, j] = total
    return out
