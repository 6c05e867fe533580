"""Single-object localisation data: objects pasted at random positions and scales on a canvas, with a class and a box.

:func:`~labkit.data.localisation_set` turns an :class:`~labkit.data.ImageSet` (MNIST digits,
CIFAR-10 images) into a :class:`~labkit.data.LocalisationSet`: one object per canvas, pasted
at a random place and scale, optionally among clutter, with its class and its
box. Batches are ``(canvases, (labels, boxes))``, the targets of a network that
predicts a class and a box.

**Box convention.** Boxes are ``xyxy`` in *continuous* pixel coordinates, as in
COCO and ``torchvision.ops``: pixel ``(row i, column j)`` covers the square
``[j, j + 1) x [i, i + 1)``, so an object whose ink spans columns ``j0 .. j1``
has ``x1 = j0`` and ``x2 = j1 + 1``, and a box's width is ``x2 - x1``. (The
*pixel-inclusive* convention of PASCAL VOC would write ``x2 = j1`` and count
``x2 - x1 + 1`` pixels.) :func:`~labkit.data.check_boxes` refuses boxes with ``x2 < x1`` or
``y2 < y1``, the usual sign of ``xywh`` boxes passed where ``xyxy`` is expected,
and :func:`~labkit.data.paired_iou` scores predictions against truths with
:func:`torchvision.ops.box_iou`.

Examples
--------
>>> import torch
>>> from labkit.data import ImageSet
>>> digits = torch.zeros(4, 1, 28, 28)
>>> digits[:, :, 8:20, 10:18] = 1.0                      # an 8 px wide, 12 px tall "object"
>>> objects = ImageSet(digits, torch.tensor([0, 1, 2, 3]), list("abcd"), "Toy", "test", "made up")
>>> task = localisation_set(objects, canvas=32, scale=(14, 28), seed=0)
>>> images, (labels, boxes) = next(iter(task.loader(batch_size=4)))
>>> images.shape, labels.tolist(), boxes.shape
(torch.Size([4, 1, 32, 32]), [0, 1, 2, 3], torch.Size([4, 4]))
>>> bool((boxes[:, 2:] > boxes[:, :2]).all() and (boxes >= 0).all() and (boxes <= 32).all())
True
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

from .datasets import ImageSet

__all__ = ["LocalisationSet", "localisation_set", "check_boxes", "paired_iou", "BOX_CONVENTION"]

#: The box convention of the whole package: continuous ``xyxy`` pixel coordinates (COCO, torchvision).
BOX_CONVENTION = "continuous"


def check_boxes(boxes: torch.Tensor, name: str = "boxes", allow_degenerate: bool = True) -> torch.Tensor:
    """``boxes`` as a float tensor ``[N, 4]`` in ``xyxy``, or a clear error naming ``name``.

    Parameters
    ----------
    boxes
        ``[N, 4]`` boxes ``(x1, y1, x2, y2)`` (a single box ``[4]`` is taken as ``[1, 4]``).
    name
        The argument name reported in errors.
    allow_degenerate
        Whether a box of zero width or height is accepted. A prediction may be
        degenerate (it then overlaps nothing: IoU 0); a ground-truth box may not,
        because the IoU of two empty boxes is 0/0.

    Raises
    ------
    ValueError
        For a wrong shape, an empty set, NaN or infinite values, ``x2 < x1`` or
        ``y2 < y1`` (most often ``xywh`` boxes where ``xyxy`` is expected), and
        degenerate boxes when they are not allowed.

    Examples
    --------
    >>> check_boxes(torch.tensor([10, 10, 30, 30])).tolist()
    [[10.0, 10.0, 30.0, 30.0]]
    >>> check_boxes(torch.tensor([[20.0, 20.0, 5.0, 5.0]]))
    Traceback (most recent call last):
    ...
    ValueError: boxes[0] = [20.0, 20.0, 5.0, 5.0] has x2 < x1 or y2 < y1: boxes must be xyxy (corners). If they are xywh (corner, width, height), convert them first: torchvision.ops.box_convert(boxes, "xywh", "xyxy").
    """
    if not torch.is_tensor(boxes):
        boxes = torch.as_tensor(np.asarray(boxes))
    boxes = boxes.reshape(1, -1) if boxes.dim() == 1 else boxes
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape [N, 4] (x1, y1, x2, y2), got {tuple(boxes.shape)}.")
    if len(boxes) == 0:
        raise ValueError(f"{name} is empty (0 boxes): there is nothing to score. Pass at least one box.")
    boxes = boxes.float() if not torch.is_floating_point(boxes) else boxes
    if not bool(torch.isfinite(boxes).all()):
        raise ValueError(f"{name} has NaN or infinite coordinates; fix the model's box output first.")
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"{name}[{i}] = {[round(v, 3) for v in boxes[i].tolist()]} has x2 < x1 or y2 < y1: boxes must be "
            "xyxy (corners). If they are xywh (corner, width, height), convert them first: "
            'torchvision.ops.box_convert(boxes, "xywh", "xyxy").')
    if not allow_degenerate:
        flat = (boxes[:, 2] == boxes[:, 0]) | (boxes[:, 3] == boxes[:, 1])
        if bool(flat.any()):
            i = int(flat.nonzero()[0, 0])
            raise ValueError(f"{name}[{i}] = {boxes[i].tolist()} has zero width or height: a ground-truth box "
                             "must cover some area (its IoU with anything would be 0/0).")
    return boxes


def paired_iou(pred: torch.Tensor, truth: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """IoU of each predicted box with its own ground-truth box, ``[N]``, by :func:`torchvision.ops.box_iou`.

    ``torchvision.ops.box_iou`` compares every box of one set with every box of
    the other (``[N, M]``); a localiser has one prediction per image, so only the
    diagonal is needed. It is taken chunk by chunk, so memory stays ``chunk**2``.
    Continuous convention (``BOX_CONVENTION``): a box's area is
    ``(x2 - x1) * (y2 - y1)``.

    Parameters
    ----------
    pred, truth
        ``[N, 4]`` boxes in ``xyxy`` (checked by :func:`check_boxes`; ground-truth
        boxes must not be degenerate).
    chunk
        Boxes per call of ``box_iou``.

    Examples
    --------
    >>> paired_iou(torch.tensor([[20.0, 20, 40, 40]]), torch.tensor([[10.0, 10, 30, 30]])).tolist()  # 100 / 700
    [0.1428571492433548]
    """
    from torchvision.ops import box_iou

    pred = check_boxes(pred, "pred")
    truth = check_boxes(truth, "truth", allow_degenerate=False)
    if pred.shape != truth.shape:
        raise ValueError(f"pred and truth must pair up one to one: got {len(pred)} predicted and {len(truth)} "
                         "ground-truth boxes.")
    return torch.cat([box_iou(pred[i:i + chunk], truth[i:i + chunk].to(pred)).diagonal()
                      for i in range(0, len(pred), chunk)])


class _Batches:
    """Batches ``(canvases, (labels, boxes))`` of a :class:`LocalisationSet`; re-iterable, with a length."""

    def __init__(self, data: LocalisationSet, batch_size: int, shuffle: bool,
                 generator: torch.Generator | None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}.")
        self.data = data
        order = RandomSampler(range(len(data)), generator=generator) if shuffle else SequentialSampler(range(len(data)))
        self.batches = BatchSampler(order, int(batch_size), drop_last=False)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]]:
        for idx in self.batches:
            i = torch.as_tensor(idx)
            yield self.data.images[i], (self.data.labels[i], self.data.boxes[i])


@dataclass(eq=False, repr=False)
class LocalisationSet:
    """Canvases, each with one object, its class and its box.

    Attributes
    ----------
    images
        float32 canvases ``[N, C, H, W]`` in ``[0, 1]``.
    labels
        int64 classes ``[N]`` of the objects, indices into ``classes``.
    boxes
        float32 ``[N, 4]`` boxes ``(x1, y1, x2, y2)`` in continuous pixel coordinates.
    classes
        Class names.
    name
        What the canvases are, e.g. ``"MNIST on 64x64 canvases"``.
    split
        The split of the objects (``ImageSet.split``).
    source
        Provenance of the objects and how the canvases were made.
    split_title
        The title of the objects' split, e.g. ``"MNIST (held-out part of the official test split)"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor
    classes: list[str]
    name: str
    split: str
    source: str
    split_title: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        return (f"LocalisationSet(name={self.name!r}, n={len(self)}, canvas={tuple(self.images.shape[1:])}, "
                f"classes={len(self.classes)}, split={self.split!r})")

    @property
    def title(self) -> str:
        """Short text for figure titles, naming the canvases and the split their objects come from."""
        return f"{self.name}: {self.split_title}"

    @property
    def sizes(self) -> torch.Tensor:
        """Object size per canvas ``[N]``: the side of a square with the box's area, ``sqrt(w h)`` in pixels."""
        wh = self.boxes[:, 2:] - self.boxes[:, :2]
        return (wh[:, 0] * wh[:, 1]).sqrt()

    def loader(self, batch_size: int = 128, shuffle: bool = False, generator: torch.Generator | None = None
               ) -> Iterable[tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]]:
        """Batches ``(canvases, (labels, boxes))``; shuffled by torch's global seed unless ``generator`` is given."""
        return _Batches(self, batch_size, shuffle, generator)

    def subset(self, indices: torch.Tensor | np.ndarray | list[int]) -> LocalisationSet:
        """The canvases at ``indices``, with the same metadata."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return LocalisationSet(self.images[idx], self.labels[idx], self.boxes[idx], list(self.classes), self.name,
                               self.split, self.source, self.split_title)


def _check_sizes(canvas: int, scale: tuple[int, int], clutter: int, images: ImageSet) -> tuple[int, int, int, int]:
    if isinstance(canvas, bool) or not isinstance(canvas, (int, np.integer)) or canvas < 8:
        raise ValueError(f"canvas must be an integer side in pixels >= 8, got canvas={canvas!r}.")
    try:
        low, high = (int(s) for s in scale)
    except (TypeError, ValueError) as error:
        raise ValueError(f"scale must be a pair (smallest, largest) object side in pixels, got {scale!r}.") from error
    if not 2 <= low <= high:
        raise ValueError(f"scale=({low}, {high}) must satisfy 2 <= smallest <= largest (object sides in pixels).")
    if high > canvas:
        raise ValueError(f"scale=({low}, {high}): the largest object ({high} px) does not fit on a canvas of "
                         f"{canvas} px; use a larger canvas or a smaller scale.")
    if isinstance(clutter, bool) or not isinstance(clutter, (int, np.integer)) or clutter < 0:
        raise ValueError(f"clutter must be a number of fragments >= 0, got clutter={clutter!r}.")
    if not isinstance(images, ImageSet):
        raise TypeError(f"images must be a labkit.data.ImageSet, got {type(images).__name__}.")
    if len(images) == 0:
        raise ValueError("images is empty: there is no object to paste.")
    if images.images.dim() != 4 or images.images.shape[1] not in (1, 3):
        raise ValueError(f"images must be [N, 1 or 3, H, W], got {tuple(images.images.shape)}.")
    return int(canvas), low, high, int(clutter)


def _generator_seed(seed: int, images: ImageSet) -> int:
    """The draw's seed: the user's ``seed`` mixed with the split, so train and test canvases differ."""
    return zlib.crc32(f"{int(seed)}:{images.name}:{images.split}:{len(images)}".encode())


def localisation_set(
    images: ImageSet,
    canvas: int = 64,
    scale: tuple[int, int] = (14, 28),
    clutter: int = 4,
    seed: int = 0,
    ink: float = 0.25,
) -> LocalisationSet:
    """Paste each object at a random position and scale on a blank canvas: a single-object localisation task.

    Each image of ``images`` becomes one canvas: the image is resized to a random
    side drawn uniformly from ``scale`` (bilinear, antialiased) and pasted at a
    random position where it fits whole. Clutter fragments are square crops
    (side ``min(scale[0], canvas // 8)``, 8 px on a 64 px canvas) from the central
    part of *other* objects of the set, at the size those objects have on their own
    canvases; they are drawn first, anywhere, and the object on top of them (the
    brighter pixel wins), so a fragment may touch or cross the object. The box is
    the tight box of the object's pixels brighter than ``ink`` for grey objects
    (digits on black), and the whole pasted image for colour ones (CIFAR-10 images
    have their own background), in continuous ``xyxy`` coordinates
    (``BOX_CONVENTION``).

    Parameters
    ----------
    images
        The objects and their classes, e.g. a split of :func:`~labkit.data.mnist_train_test`.
    canvas
        Side of the square canvas in pixels.
    scale
        ``(smallest, largest)`` side of the pasted image in pixels (inclusive).
    clutter
        Fragments of other objects per canvas (0: a clean background).
    seed
        Seed of the draw. The generator also depends on the split (its name,
        split and size), so the training and test canvases of one seed differ;
        the same call always gives the same canvases.
    ink
        Intensity above which a pixel of a grey object counts as the object (for its box).

    Returns
    -------
    LocalisationSet
        Canvases ``[N, C, canvas, canvas]``, the objects' classes, their boxes.

    Raises
    ------
    ValueError
        For a canvas smaller than the largest object, a bad ``scale``, negative
        ``clutter``, or an empty set of objects.
    """
    canvas, low, high, clutter = _check_sizes(canvas, scale, clutter, images)
    rng = np.random.default_rng(_generator_seed(seed, images))
    n, channels = len(images), images.images.shape[1]
    sides = rng.integers(low, high + 1, size=n)
    x0 = (rng.random(n) * (canvas - sides + 1)).astype(int)
    y0 = (rng.random(n) * (canvas - sides + 1)).astype(int)
    out = torch.zeros(n, channels, canvas, canvas)
    # every object resized to its own side, one interpolation per distinct side
    resized: list[torch.Tensor] = [torch.empty(0)] * n
    for side in np.unique(sides):
        pick = np.flatnonzero(sides == side)
        scaled = F.interpolate(images.images[torch.as_tensor(pick)], size=(int(side), int(side)), mode="bilinear",
                               antialias=True, align_corners=False).clamp_(0, 1)
        for i, patch in zip(pick, scaled):
            resized[int(i)] = patch
    frag = max(2, min(low, canvas // 8))
    if clutter:  # crops of other objects (as pasted on their own canvas), from their central part
        others = (np.arange(n)[:, None] + rng.integers(1, max(2, n), size=(n, clutter))) % n
        room = sides[others] - frag
        cx = (room / 4 + rng.random((n, clutter)) * (room / 2 + 1)).astype(int)
        cy = (room / 4 + rng.random((n, clutter)) * (room / 2 + 1)).astype(int)
        fx = rng.integers(0, canvas - frag + 1, size=(n, clutter))
        fy = rng.integers(0, canvas - frag + 1, size=(n, clutter))
    boxes = torch.zeros(n, 4)
    for i in range(n):
        for k in range(clutter):
            crop = resized[int(others[i, k])][:, cy[i, k]:cy[i, k] + frag, cx[i, k]:cx[i, k] + frag]
            region = out[i, :, fy[i, k]:fy[i, k] + frag, fx[i, k]:fx[i, k] + frag]
            torch.maximum(region, crop, out=region)
        obj, s = resized[i], int(sides[i])
        region = out[i, :, y0[i]:y0[i] + s, x0[i]:x0[i] + s]
        torch.maximum(region, obj, out=region)
        if channels == 1:
            mask = obj[0] > ink
            if not bool(mask.any()):  # a blank object: its whole patch is the box
                mask = torch.ones_like(mask)
            rows, cols = mask.any(1).nonzero()[:, 0].tolist(), mask.any(0).nonzero()[:, 0].tolist()
            boxes[i] = torch.tensor([x0[i] + cols[0], y0[i] + rows[0], x0[i] + cols[-1] + 1, y0[i] + rows[-1] + 1],
                                    dtype=torch.float32)
        else:
            boxes[i] = torch.tensor([x0[i], y0[i], x0[i] + s, y0[i] + s], dtype=torch.float32)
    where = f"{canvas}x{canvas} canvases"
    source = (f"{images.source}; each object pasted once at a random position and side {low}-{high} px on a "
              f"{canvas}x{canvas} canvas with {clutter} clutter fragments (seed {seed})")
    return LocalisationSet(out, images.labels.clone(), boxes, list(images.classes), f"{images.name} on {where}",
                           images.split, source, images.title)
