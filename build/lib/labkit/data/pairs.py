"""Data for tasks that are not classification: inputs paired with targets, e.g. an image with itself for an autoencoder.

A :class:`Pairs` behaves like an :class:`~labkit.data.ImageSet` for training
(``loader``, ``len``, ``title``) but its batches are ``(inputs, targets)`` of
any shapes; it keeps the class labels beside them for figures (an embedding
coloured by class).

Examples
--------
>>> import torch
>>> from labkit.data import ImageSet
>>> digits = ImageSet(torch.rand(5, 1, 4, 4), torch.arange(5), list("01234"), "Toy", "test", "made up")
>>> pairs = autoencoder_pairs(digits)
>>> inputs, targets = next(iter(pairs.loader(batch_size=2)))
>>> len(pairs), pairs.title, bool((inputs == targets).all()), len(pairs.subset(slice(0, 2)))
(5, 'Toy (official test split)', True, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader

from .datasets import ImageSet, tensor_loader

__all__ = ["Pairs", "autoencoder_pairs"]


@dataclass(eq=False, repr=False)
class Pairs:
    """Inputs and targets, one pair per sample, with the samples' class labels and a title.

    Attributes
    ----------
    inputs
        ``[N, ...]`` what the network is given.
    targets
        ``[N, ...]`` what it should produce (the same tensor for an autoencoder).
    labels
        ``[N]`` class of each sample (not used for training; for figures).
    classes
        Class names.
    title
        What the samples are, for figure titles (e.g. the split of MNIST).
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    title: str

    def __post_init__(self) -> None:
        if not len(self.inputs) == len(self.targets) == len(self.labels):
            raise ValueError(f"inputs, targets and labels must hold the same samples: {len(self.inputs)}, "
                             f"{len(self.targets)} and {len(self.labels)}.")

    def __len__(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        return (f"Pairs(n={len(self)}, inputs={tuple(self.inputs.shape[1:])}, targets={tuple(self.targets.shape[1:])}, "
                f"title={self.title!r})")

    def subset(self, indices: slice | torch.Tensor | list[int]) -> Pairs:
        """The samples at ``indices`` (a slice, e.g. ``slice(0, 500)``, or a list), same classes and title."""
        return Pairs(self.inputs[indices], self.targets[indices], self.labels[indices], list(self.classes), self.title)

    def loader(self, batch_size: int = 128, shuffle: bool = False,
               generator: torch.Generator | None = None) -> DataLoader:
        """Batches of ``(inputs, targets)``; shuffling follows torch's global seed unless ``generator`` is given."""
        return tensor_loader(self.inputs, self.targets, batch_size=batch_size, shuffle=shuffle, generator=generator)


def autoencoder_pairs(images: ImageSet) -> Pairs:
    """Each image paired with itself (no copy), for an autoencoder; labels and title kept."""
    return Pairs(images.images, images.images, images.labels, list(images.classes), images.title)
