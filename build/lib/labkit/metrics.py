"""Reconstruction metrics: the normalised RMSE between output and input spike counts (or any two maps).

:func:`~labkit.nrmse` is the loss and the score of the spiking autoencoders: the root
mean square error between what a network emits and what it was shown, divided by
the spread of what it was shown, so that 1 is what a constant guess of each
sample's mean count scores and 0 is a perfect copy.

Examples
--------
>>> import torch
>>> shown = torch.tensor([[0.0, 2.0, 4.0, 2.0]])   # mean 2, population s.d. sqrt(2)
>>> emitted = torch.tensor([[1.0, 2.0, 3.0, 2.0]])  # errors 1, 0, 1, 0: RMSE sqrt(1/2)
>>> nrmse(emitted, shown).item()
0.5
"""

from __future__ import annotations

import torch

__all__ = ["nrmse", "REDUCTIONS"]

#: What :func:`~labkit.nrmse` returns: the batch mean, or one value per sample.
REDUCTIONS = ("mean", "none")


def nrmse(output_counts: torch.Tensor, input_counts: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Normalised root mean square error: RMSE over the neurons of each sample, divided by the s.d. of its input.

    For a sample with input counts :math:`x_i` and output counts :math:`y_i` over
    its :math:`N` neurons (pixels),

    .. math::

        \mathrm{nRMSE} = \frac{\sqrt{\tfrac1N \sum_i (y_i - x_i)^2}}{\sqrt{\tfrac1N \sum_i (x_i - \bar x)^2}},

    the population form (:math:`1/N`) in both. Each sample is normalised by its
    own spread; the batch value is the mean over samples. The value is
    differentiable in ``output_counts`` (the input's spread is a constant), so it
    serves as the training loss too.

    Parameters
    ----------
    output_counts
        What the network emits, ``[B, ...]`` (e.g. spike counts over ``T``
        steps, ``[B, C, H, W]``); a 1-D tensor is one sample.
    input_counts
        What it was shown, the same shape.
    reduction
        ``"mean"`` (default): the mean over the batch, a 0-d tensor;
        ``"none"``: one value per sample, ``[B]`` (for bootstrap intervals over
        test images).

    Returns
    -------
    torch.Tensor
        The nRMSE (0 is a perfect copy; 1 is as far off as a constant guess of
        each sample's mean input count).

    Raises
    ------
    ValueError
        If the shapes differ, a tensor is empty, ``reduction`` is unknown, or a
        sample's input counts are all equal (zero spread: its nRMSE is undefined).
    TypeError
        If an argument is not a tensor.

    Examples
    --------
    >>> nrmse(torch.ones(2, 3), torch.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]]))
    Traceback (most recent call last):
    ...
    ValueError: input_counts of sample 1 are all equal (1): zero spread, so their nRMSE is undefined. Drop constant samples (e.g. blank images) or compare them by RMSE.
    """
    for name, value in (("output_counts", output_counts), ("input_counts", input_counts)):
        if not torch.is_tensor(value):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}.")
    if output_counts.shape != input_counts.shape:
        raise ValueError(f"output_counts has shape {tuple(output_counts.shape)} but input_counts has shape "
                         f"{tuple(input_counts.shape)}: compare counts of the same neurons (sum spikes over time "
                         "first, e.g. spikes.sum(0) for a time-first [T, B, ...] train).")
    if input_counts.numel() == 0:
        raise ValueError(f"the counts are empty (shape {tuple(input_counts.shape)}).")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}.")
    dtype = torch.promote_types(torch.promote_types(output_counts.dtype, input_counts.dtype), torch.float32)
    y, x = (t.to(dtype).reshape(1, -1) if t.dim() == 1 else t.to(dtype).flatten(1)
            for t in (output_counts, input_counts))
    spread = x.std(dim=1, correction=0)
    flat = spread == 0
    if bool(flat.any()):
        first = int(flat.nonzero()[0, 0])
        raise ValueError(f"input_counts of sample {first} are all equal ({x[first, 0].item():g}): zero spread, so "
                         "their nRMSE is undefined. Drop constant samples (e.g. blank images) or compare them by RMSE.")
    per_sample = (y - x).pow(2).mean(dim=1).sqrt() / spread
    return per_sample.mean() if reduction == "mean" else per_sample
