"""Scoring localisers: predictions over a data set, mean IoU against a baseline, mAP, IoU by object size.

* :func:`predict` runs a localiser (``model(x) -> (class scores, boxes)``) over a
  :class:`~labkit.data.LocalisationSet` and keeps everything the scores need in
  :class:`BoxPredictions`;
* :func:`mean_box_baseline` predicts the mean training box everywhere: the
  yardstick a localiser must beat;
* :func:`mean_average_precision` is COCO's AP at IoU 0.5 and averaged over
  IoU 0.5:0.95, by ``torchmetrics.detection.MeanAveragePrecision`` with the
  ``faster_coco_eval`` backend; :func:`average_precision_interval` puts a
  bootstrap interval around it;
* :func:`iou_by_size` gives mean IoU per object-size bin with intervals, and the
  difference between the smallest and the largest objects.

IoU follows ``labkit.data.BOX_CONVENTION`` (continuous coordinates, as COCO
and ``torchvision.ops``) everywhere.

Examples
--------
>>> import torch
>>> truth = torch.tensor([[10.0, 10, 30, 30], [0, 0, 20, 20]])
>>> p = BoxPredictions(truth.clone(), torch.tensor([0.9, 0.8]), torch.tensor([1, 2]), truth, torch.tensor([1, 2]))
>>> p.iou.tolist(), round(mean_average_precision(p)["map_50"], 3)
([1.0, 1.0], 1.0)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..data.localisation import LocalisationSet, check_boxes, paired_iou
from ..stats import Interval, bootstrap
from .record import eval_mode

__all__ = ["BoxPredictions", "predict", "mean_box_baseline", "mean_average_precision", "average_precision_interval",
           "iou_by_size", "SizeBin"]

#: IoU thresholds of COCO's mAP@[.5:.95].
COCO_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2))


@dataclass
class BoxPredictions:
    """One predicted box and class per image, with the truth.

    Attributes
    ----------
    boxes
        Predicted boxes ``[N, 4]`` (``xyxy``, pixels).
    scores
        Confidence of each prediction ``[N]`` (the softmax probability of its
        class), which ranks detections for average precision.
    labels
        Predicted classes ``[N]``.
    true_boxes, true_labels
        The ground truth.
    """

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor
    true_boxes: torch.Tensor
    true_labels: torch.Tensor

    def __post_init__(self) -> None:
        n = len(self.true_labels)
        if n == 0:
            raise ValueError("BoxPredictions is empty (0 images): there is nothing to score.")
        for name in ("boxes", "scores", "labels", "true_boxes"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"BoxPredictions: {name} has {len(getattr(self, name))} rows but there are "
                                 f"{n} images; give one prediction per image.")
        check_boxes(self.boxes, "boxes")
        check_boxes(self.true_boxes, "true_boxes", allow_degenerate=False)

    def __len__(self) -> int:
        return len(self.true_labels)

    @property
    def iou(self) -> torch.Tensor:
        """IoU of each predicted box with its true box ``[N]`` (:func:`labkit.data.paired_iou`)."""
        return paired_iou(self.boxes, self.true_boxes)

    @property
    def correct(self) -> torch.Tensor:
        """Whether each predicted class is right ``[N]`` (bool)."""
        return self.labels == self.true_labels

    def subset(self, index: torch.Tensor | np.ndarray | Sequence[int]) -> BoxPredictions:
        """The predictions of the images at ``index``."""
        i = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return BoxPredictions(self.boxes[i], self.scores[i], self.labels[i], self.true_boxes[i], self.true_labels[i])


@torch.no_grad()
def predict(model: nn.Module, data: LocalisationSet, device: torch.device | str | None = None,
            batch_size: int = 500) -> BoxPredictions:
    """Run ``model`` (in eval mode) over every canvas of ``data``; ``model(x)`` returns ``(class scores, boxes)``."""
    device = torch.device(device) if device else next(model.parameters()).device
    parts: list[tuple[torch.Tensor, torch.Tensor]] = []
    with eval_mode(model):
        for images, _ in data.loader(batch_size=batch_size):
            scores, boxes = model(images.to(device))
            parts.append((scores.float().softmax(-1).cpu(), boxes.float().cpu()))
    probs = torch.cat([p for p, _ in parts])
    confidence, labels = probs.max(-1)
    return BoxPredictions(torch.cat([b for _, b in parts]), confidence, labels, data.boxes.clone(), data.labels.clone())


def mean_box_baseline(train: LocalisationSet, test: LocalisationSet) -> BoxPredictions:
    """Predict the mean training box for every test canvas (and the most common training class, confidence 1).

    A localiser that does not beat this has learned nothing about where objects are.
    """
    box = train.boxes.mean(0)
    common = int(torch.bincount(train.labels).argmax())
    n = len(test)
    return BoxPredictions(box.expand(n, 4).clone(), torch.ones(n), torch.full((n,), common), test.boxes.clone(),
                          test.labels.clone())


def mean_average_precision(pred: BoxPredictions) -> dict[str, float]:
    """COCO average precision by ``torchmetrics.detection.MeanAveragePrecision`` (``faster_coco_eval`` backend).

    Each image has one ground-truth object and one detection (its box, class and
    confidence). A detection is a true positive at IoU threshold ``t`` when its
    class is right and its IoU with the object is at least ``t``; the AP of a
    class is the area under its precision-recall curve as detections are
    accepted in order of confidence (COCO's 101-point interpolation), and mAP
    averages over classes.

    Returns
    -------
    dict
        ``{"map_50": AP at IoU 0.5 (PASCAL VOC's threshold), "map_75": ..., "map": mean over IoU 0.5:0.05:0.95 (COCO)}``.

    Raises
    ------
    ValueError
        For an empty set of predictions (mAP over nothing is undefined, and the
        library would return -1).
    ImportError
        Without ``torchmetrics`` and ``faster-coco-eval`` (``pip install "labkit[lab08]"``).
    """
    if not isinstance(pred, BoxPredictions):
        raise TypeError(f"pred must be BoxPredictions (from labkit.analysis.boxes.predict), got {type(pred).__name__}.")
    try:
        from torchmetrics.detection import MeanAveragePrecision
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError("mean_average_precision needs torchmetrics and faster-coco-eval: "
                          'pip install "labkit[lab08]" (or pip install torchmetrics faster-coco-eval).') from error
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", backend="faster_coco_eval")
    boxes, truth = pred.boxes.float(), pred.true_boxes.float()
    metric.update([{"boxes": boxes[i:i + 1], "scores": pred.scores[i:i + 1].float(), "labels": pred.labels[i:i + 1]}
                   for i in range(len(pred))],
                  [{"boxes": truth[i:i + 1], "labels": pred.true_labels[i:i + 1]} for i in range(len(pred))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # faster_coco_eval's chatter about the evaluation
        result = metric.compute()
    out = {k: float(result[k]) for k in ("map_50", "map_75", "map")}
    if any(v < 0 for v in out.values()):  # the library's "undefined"
        raise ValueError(f"mAP is undefined for these predictions (torchmetrics returned {out}).")
    return out


def _single_object_ap(iou: np.ndarray, correct: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                      true_labels: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """COCO AP per IoU threshold when every image has one object and one detection: ``[len(thresholds)]``.

    The same computation as pycocotools' ``evaluate`` and ``accumulate`` for this
    special case (101 recall points, precision envelope, classes without objects
    left out, a class with objects but no detection scoring 0), vectorised so
    that a bootstrap can call it thousands of times. The tests check it against
    :func:`mean_average_precision`.
    """
    thr = np.asarray(thresholds)[None, :]
    hits = (correct[:, None] & (iou[:, None] >= thr - 1e-12))  # [N, thresholds]
    recall_points = np.linspace(0, 1, 101)
    per_class = []
    for c in np.unique(true_labels):
        n_obj = int((true_labels == c).sum())
        mine = np.flatnonzero(labels == c)
        if len(mine) == 0:
            per_class.append(np.zeros(thr.shape[1]))
            continue
        order = mine[np.argsort(-scores[mine], kind="mergesort")]
        tp = np.cumsum(hits[order], axis=0)
        fp = np.cumsum(~hits[order], axis=0)
        rc = tp / n_obj
        pr = tp / np.maximum(tp + fp, np.finfo(float).eps)
        pr = np.maximum.accumulate(pr[::-1], axis=0)[::-1]  # precision envelope
        # for each recall point r: the first detection whose recall reaches r (searchsorted, side="left"),
        # one call for all thresholds: column t is shifted by 2 t, so the columns stay apart and sorted
        n, shift = len(order), 2.0 * np.arange(thr.shape[1])
        first = np.searchsorted((rc + shift).ravel(order="F"), (recall_points[:, None] + shift).ravel(order="F"))
        first = first.reshape(thr.shape[1], -1).T - n * np.arange(thr.shape[1])  # [101, thresholds]
        reached = np.take_along_axis(pr, np.minimum(first, n - 1), axis=0)
        ap = np.where(first < n, reached, 0.0).sum(0) / len(recall_points)
        per_class.append(ap)
    return np.mean(per_class, axis=0)


def average_precision_interval(pred: BoxPredictions, which: str = "map_50", n_boot: int = 1000, level: float = 0.95,
                               seed: int = 0) -> Interval:
    """A bootstrap interval over images for ``map_50``, ``map_75`` or ``map`` (COCO mAP@[.5:.95]).

    The estimate is :func:`mean_average_precision` (torchmetrics); the resamples
    use an exact vectorised form of the same computation for one object per
    image (a library call per resample would take hours).
    """
    thresholds = {"map_50": (0.5,), "map_75": (0.75,), "map": COCO_THRESHOLDS}
    if which not in thresholds:
        raise ValueError(f"which must be one of {sorted(thresholds)}, got {which!r}.")
    iou, correct = pred.iou.numpy(), pred.correct.numpy()
    scores, labels, true = pred.scores.numpy(), pred.labels.numpy(), pred.true_labels.numpy()

    def statistic(index: np.ndarray) -> float:
        i = index.astype(int)
        return float(_single_object_ap(iou[i], correct[i], scores[i], labels[i], true[i], thresholds[which]).mean())

    resampled = bootstrap(np.arange(len(pred), dtype=float), statistic, n_boot=n_boot, level=level, seed=seed)
    estimate = mean_average_precision(pred)[which]
    return Interval(estimate, resampled.low, resampled.high, level, len(pred), resampled.method)


@dataclass(frozen=True)
class SizeBin:
    """Mean IoU of the objects whose size lies in ``[low, high)`` pixels, with its bootstrap interval."""

    low: float
    high: float
    n: int
    iou: Interval

    @property
    def label(self) -> str:
        """``"14-18 px"``."""
        return f"{self.low:.0f}-{self.high:.0f} px"


def iou_by_size(iou: torch.Tensor | np.ndarray, sizes: torch.Tensor | np.ndarray, bins: int | Sequence[float] = 4,
                n_boot: int = 1000, seed: int = 0) -> tuple[list[SizeBin], Interval]:
    """Mean IoU per object-size bin, and the difference between the smallest and the largest objects.

    Parameters
    ----------
    iou
        IoU per image ``[N]``.
    sizes
        Object size per image ``[N]`` (e.g. :attr:`labkit.data.LocalisationSet.sizes`, ``sqrt(w h)`` in pixels).
    bins
        Number of bins with equal counts (quantiles), or the bin edges.
    n_boot, seed
        Bootstrap resamples and seed.

    Returns
    -------
    tuple
        ``(bins, difference)``: a :class:`SizeBin` per bin, and the bootstrap
        interval (over images) of mean IoU in the smallest bin minus the largest.
    """
    x, s = np.asarray(iou, dtype=float), np.asarray(sizes, dtype=float)
    if x.shape != s.shape or x.ndim != 1:
        raise ValueError(f"iou and sizes must be 1-D and of one length, got shapes {x.shape} and {s.shape}.")
    edges = (np.quantile(s, np.linspace(0, 1, int(bins) + 1)) if np.isscalar(bins) else np.asarray(bins, float))
    if len(edges) < 3 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must give at least two increasing bins, got edges {edges.tolist()}.")
    which = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, len(edges) - 2)
    out = []
    for b in range(len(edges) - 1):
        inside = x[which == b]
        if len(inside) < 2:
            raise ValueError(f"size bin {edges[b]:.1f}-{edges[b + 1]:.1f} px holds {len(inside)} images; use fewer bins.")
        out.append(SizeBin(float(edges[b]), float(edges[b + 1]), len(inside),
                           bootstrap(inside, n_boot=n_boot, seed=seed + b)))
    first, last = which == 0, which == len(edges) - 2

    def gap(index: np.ndarray) -> float:
        i = index.astype(int)
        small, large = x[i][first[i]], x[i][last[i]]
        return float(small.mean() - large.mean()) if len(small) and len(large) else 0.0

    difference = bootstrap(np.arange(len(x), dtype=float), gap, n_boot=n_boot, seed=seed)
    return out, difference

