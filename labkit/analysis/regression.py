"""Maps between two feature spaces (e.g. a CNN's and an SNN's) and how to score them.

Workflow: :func:`extract_features` from both networks on the same images, fit a
map in each direction with :func:`train_map` (gradient descent, identical settings
for both directions) and check it against the closed-form :func:`ridge_map`, then
score predictions with :func:`map_metrics` and compare with :func:`mean_baseline`.
Every comparison of two maps is a difference of scores measured on the same test
images, so :func:`r2_bootstrap` puts a bootstrap interval over those images around
it (:mod:`labkit.stats`), and :func:`gap_verdict` says in words what an experiment
did to the gap between two directions. :func:`dead_units` and
:func:`participation_ratio` describe how many dimensions a feature space uses.

Examples
--------
>>> import torch
>>> x = torch.randn(200, 5, dtype=torch.float64)
>>> y = x @ torch.randn(5, 3, dtype=torch.float64) + 1.0
>>> w, b = ridge_map(x, y, alpha=0.0)
>>> round(map_metrics(x @ w + b, y)["r2"], 6)
1.0
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import tensor_loader
from ..stats import Interval, bootstrap
from ..train import History, fit
from .record import eval_mode, record_features

__all__ = [
    "extract_features",
    "mse",
    "mean_euclidean",
    "mean_cosine",
    "r2_score",
    "map_metrics",
    "ridge_map",
    "train_map",
    "mean_baseline",
    "standardizer",
    "participation_ratio",
    "dead_units",
    "r2_bootstrap",
    "participation_ratio_bootstrap",
    "gap_verdict",
]


@torch.no_grad()
def extract_features(model: nn.Module, loader: Iterable, device: torch.device | str = "cpu",
                     layer: str = "body") -> tuple[torch.Tensor, torch.Tensor]:
    """Features of ``layer`` and labels for every batch of ``loader`` (eval mode), read by the recorder.

    Parameters
    ----------
    model
        The network, e.g. a :class:`~labkit.models.FeatureClassifier`, whose ``body``
        gives the penultimate features (``model.features(x)``).
    loader
        Batches ``(x, y)``.
    device
        Where the model runs; the features come back on the CPU.
    layer
        Name of the layer to read (as in ``model.named_modules()``); the default
        ``"body"`` is what ``model.features(x)`` returns. Read with
        :func:`~labkit.analysis.record_features`, ``time="rate"`` (spiking
        layers give firing rates); the forward pass stops after it.

    Returns
    -------
    tuple of torch.Tensor
        ``(features [N, D] as float32 on the CPU, labels [N])``.

    Examples
    --------
    >>> from labkit.models import cifar_cnn
    >>> cnn = cifar_cnn(channels=(4, 8), hidden=16)
    >>> data = [(torch.rand(5, 3, 32, 32), torch.arange(5))]
    >>> feats, labels = extract_features(cnn, data)
    >>> feats.shape, torch.equal(feats, cnn.eval().features(data[0][0]))
    (torch.Size([5, 16]), True)
    >>> extract_features(cnn, data, layer="body.3")[0].shape  # the first ReLU, flattened
    torch.Size([5, 4096])
    """
    if layer not in dict(model.named_modules()) or not layer:
        raise ValueError(f"layer: {type(model).__name__} has no submodule {layer!r}; pass layer= one of "
                         f"{[n for n, _ in model.named_modules() if n][:20]}.")
    feats, labels = [], []
    with eval_mode(model.to(device)), record_features(model, [layer], time="rate", stop_early=True) as rec:
        for x, y in loader:
            feats.append(rec.run(x.to(device))[layer].float().cpu())
            labels.append(y)
    if not feats:
        raise ValueError("loader is empty: no features to extract.")
    return torch.cat(feats), torch.cat(labels)


def _check_pair(pred: torch.Tensor, true: torch.Tensor) -> None:
    if pred.shape != true.shape or pred.dim() != 2:
        raise ValueError(f"pred and true must both be [N, D] with the same shape, got {tuple(pred.shape)} and {tuple(true.shape)}.")


def mse(pred: torch.Tensor, true: torch.Tensor) -> float:
    """Mean squared error over all samples and dimensions (squared feature units).

    >>> mse(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 4.0]]))
    2.0
    """
    _check_pair(pred, true)
    return F.mse_loss(pred.double(), true.double()).item()


def mean_euclidean(pred: torch.Tensor, true: torch.Tensor) -> float:
    """Mean over samples of the Euclidean distance between predicted and true feature vectors.

    >>> mean_euclidean(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[3.0, 4.0], [1.0, 1.0]]))
    2.5
    """
    _check_pair(pred, true)
    return (pred.double() - true.double()).norm(dim=1).mean().item()


def mean_cosine(pred: torch.Tensor, true: torch.Tensor, eps: float = 1e-12) -> float:
    """Mean over samples of the cosine similarity of predicted and true vectors (0 for a zero vector).

    >>> mean_cosine(torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[2.0, 0.0], [1.0, 0.0]]))
    0.5
    """
    _check_pair(pred, true)
    p, t = pred.double(), true.double()
    denom = (p.norm(dim=1) * t.norm(dim=1)).clamp_min(eps)
    return ((p * t).sum(1) / denom).mean().item()


def r2_score(pred: torch.Tensor, true: torch.Tensor) -> float:
    """Fraction of the target variance explained, ``1 - SSE / SST`` (pooled over dimensions).

    Unlike MSE it has no units, so the two directions of a map can be compared.

    >>> r2_score(torch.tensor([[2.0], [2.0]]), torch.tensor([[1.0], [3.0]]))
    0.0
    """
    _check_pair(pred, true)
    t = true.double()
    sse = ((pred.double() - t) ** 2).sum()
    sst = ((t - t.mean(0)) ** 2).sum()
    if sst == 0:
        raise ValueError("true has zero variance: R^2 is undefined.")
    return (1 - sse / sst).item()


def map_metrics(pred: torch.Tensor, true: torch.Tensor) -> dict[str, float]:
    """All scores of a predicted feature matrix: ``mse``, ``euclid``, ``cos`` and ``r2``."""
    return {"mse": mse(pred, true), "euclid": mean_euclidean(pred, true),
            "cos": mean_cosine(pred, true), "r2": r2_score(pred, true)}


def ridge_map(x: torch.Tensor, y: torch.Tensor, alpha: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed-form ridge regression ``y ~ x W + b`` (float64; the bias is not penalised).

    Parameters
    ----------
    x, y
        Training pairs ``[N, Dx]``, ``[N, Dy]``.
    alpha
        L2 penalty on ``W`` (>= 0), relative to ``N``: the solution minimises
        ``||x W + b - y||^2 / N + alpha ||W||^2``.

    Returns
    -------
    tuple of torch.Tensor
        ``W [Dx, Dy]`` and ``b [Dy]``, float64.
    """
    if x.dim() != 2 or y.dim() != 2 or len(x) != len(y):
        raise ValueError(f"x and y must be [N, D] with the same N, got {tuple(x.shape)} and {tuple(y.shape)}.")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}.")
    x, y = x.double(), y.double()
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    gram = xc.T @ xc / len(x) + alpha * torch.eye(x.shape[1], dtype=torch.float64)
    w = torch.linalg.lstsq(gram, xc.T @ yc / len(x)).solution
    return w, my - mx @ w


def train_map(
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    hidden: int | None = None,
    x_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
) -> tuple[nn.Module, History]:
    """Fit a linear map (or a one-hidden-layer MLP with ``hidden`` ReLU units) from ``x`` to ``y`` by MSE.

    Trained with Adam through :func:`labkit.train.fit`, so both directions of a
    comparison can use exactly the same epochs, batch size and learning rate.
    Seed with :func:`labkit.config.seed_everything` first for reproducible maps.

    Returns
    -------
    tuple
        ``(model, history)``; ``history.val['loss']`` is the validation MSE per epoch.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of rows, got {len(x)} and {len(y)}.")
    dx, dy = x.shape[1], y.shape[1]
    model: nn.Module = nn.Linear(dx, dy) if hidden is None else nn.Sequential(
        nn.Linear(dx, hidden), nn.ReLU(), nn.Linear(hidden, dy))
    loader = tensor_loader(x.float(), y.float(), batch_size=batch_size, shuffle=True)
    val = None
    if x_val is not None and y_val is not None:
        val = tensor_loader(x_val.float(), y_val.float(), batch_size=1024)
    history = fit(model, loader, torch.optim.Adam(model.parameters(), lr=lr), epochs=epochs,
                  loss_fn=F.mse_loss, val_loader=val, val_data="held-out feature pairs", device="cpu",
                      progress=False)
    return model.eval(), history


def mean_baseline(y_train: torch.Tensor, n: int) -> torch.Tensor:
    """Predict the mean training feature vector for ``n`` samples: the score a map must beat."""
    return y_train.float().mean(0, keepdim=True).expand(n, -1)


def standardizer(x_train: torch.Tensor, eps: float = 1e-6):
    """A function z-scoring features with the mean and standard deviation of ``x_train`` (per dimension).

    Dimensions that are constant in ``x_train`` (e.g. a neuron that never fired on
    the training images) carry no information to scale by: they map to 0 instead of
    being divided by a tiny number.

    >>> z = standardizer(torch.tensor([[1.0, 5.0], [3.0, 5.0]]))
    >>> z(torch.tensor([[3.0, 9.0]])).tolist()
    [[0.7071067690849304, 0.0]]
    """
    mean, std = x_train.mean(0), x_train.std(0)
    scale = torch.where(std > eps, 1 / std.clamp_min(eps), torch.zeros_like(std))

    def transform(x: torch.Tensor) -> torch.Tensor:
        return (x - mean) * scale

    return transform


def participation_ratio(x: torch.Tensor) -> float:
    """Effective dimensionality ``(sum lambda)^2 / sum lambda^2`` of the feature covariance.

    Equals ``D`` for isotropic features and 1 when all variance lies along one direction.

    >>> round(participation_ratio(torch.cat([torch.eye(4), -torch.eye(4)])), 6)
    4.0
    """
    if x.dim() != 2 or len(x) < 2:
        raise ValueError(f"x must be [N, D] with N >= 2, got shape {tuple(x.shape)}.")
    xc = x.double() - x.double().mean(0)
    eig = torch.linalg.eigvalsh(xc.T @ xc / (len(x) - 1)).clamp_min(0)
    if eig.sum() == 0:
        raise ValueError("x has zero variance: the participation ratio is undefined.")
    return (eig.sum() ** 2 / (eig ** 2).sum()).item()


def dead_units(x: torch.Tensor, tol: float = 0.0) -> torch.Tensor:
    """Which feature dimensions never respond: ``|x| <= tol`` for every sample (a ``[D]`` boolean mask).

    A ReLU unit whose input is negative for every image (a "dead" unit), or a
    spiking neuron that never fires, carries no information about the images;
    such units add dimensions to a feature space but no variance.

    >>> dead_units(torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])).tolist()
    [True, False, False]
    """
    if x.dim() != 2 or len(x) == 0:
        raise ValueError(f"x must be [N, D] features of N >= 1 samples, got shape {tuple(x.shape)}.")
    return (x.abs() <= tol).all(dim=0)


def _image_indices(n: int) -> np.ndarray:
    return np.arange(n, dtype=float)


def r2_bootstrap(
    maps: Sequence[tuple[torch.Tensor, torch.Tensor]],
    combine: Callable[[np.ndarray], float] | None = None,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Bootstrap interval over test images of an R² or of a combination of several measured on the same images.

    Each resample draws test images with replacement, recomputes every map's
    ``R² = 1 - SSE / SST`` on those images (the target mean stays that of all test
    images), and applies ``combine`` to the vector of R² values. Because all maps
    are scored on the same resampled images, what they share (easy and hard
    images) cancels in a difference.

    Parameters
    ----------
    maps
        ``(pred, true)`` pairs ``[N, D_k]``, one per map, the same ``N`` images in
        the same order (the ``D_k`` may differ: the two directions of a map).
    combine
        ``combine(r2s) -> float``. Default: the R² itself for one map, the
        difference ``r2s[0] - r2s[1]`` for two.
    n_boot, level, seed
        Resamples, confidence level and resampling seed (as in :func:`labkit.stats.bootstrap`).

    Returns
    -------
    labkit.stats.Interval
        ``estimate`` is ``combine`` on all test images.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> y = torch.randn(500, 3, generator=g)
    >>> good, poor = y + 0.3 * torch.randn(500, 3, generator=g), y + torch.randn(500, 3, generator=g)
    >>> diff = r2_bootstrap([(good, y), (poor, y)])
    >>> round(diff.estimate, 2), diff.low > 0
    (0.84, True)
    """
    if not maps:
        raise ValueError("maps is empty: give at least one (pred, true) pair.")
    n = len(maps[0][1])
    sse, sst = [], []
    for k, (pred, true) in enumerate(maps):
        _check_pair(pred, true)
        if len(true) != n:
            raise ValueError(f"maps[{k}] has {len(true)} images, maps[0] has {n}: score every map on the same images.")
        t = true.double()
        sse.append(((pred.double() - t) ** 2).sum(1).numpy())
        sst.append(((t - t.mean(0)) ** 2).sum(1).numpy())
    sse_m, sst_m = np.stack(sse), np.stack(sst)  # [maps, N]
    if np.any(sst_m.sum(1) == 0):
        raise ValueError("a target has zero variance: R^2 is undefined.")
    if combine is None:
        if len(maps) > 2:
            raise ValueError(f"{len(maps)} maps: say how to combine their R² values with combine=.")
        combine = (lambda r: r[0]) if len(maps) == 1 else (lambda r: r[0] - r[1])

    def statistic(idx: np.ndarray) -> float:
        i = idx.astype(int)
        return float(combine(1.0 - sse_m[:, i].sum(1) / sst_m[:, i].sum(1)))

    return bootstrap(_image_indices(n), statistic, n_boot=n_boot, level=level, seed=seed, unit="test images")


def _pr_from_cov(c: torch.Tensor) -> float:
    trace = torch.diagonal(c).sum()
    return (trace ** 2 / (c ** 2).sum()).item() if trace > 0 else float("nan")


def participation_ratio_bootstrap(
    xs: Sequence[torch.Tensor],
    combine: Callable[[np.ndarray], float] | None = None,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Bootstrap interval over images of a participation ratio, or of a difference of two on the same images.

    Uses ``PR = tr(C)^2 / ||C||_F^2`` (the same as :func:`participation_ratio`,
    without an eigendecomposition) on the units that respond at all.

    Parameters
    ----------
    xs
        Feature matrices ``[N, D_k]`` of the same ``N`` images.
    combine
        ``combine(prs) -> float``; default: the ratio for one matrix, the
        difference ``prs[0] - prs[1]`` for two.
    n_boot, level, seed
        As in :func:`labkit.stats.bootstrap`.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> wide, narrow = torch.randn(400, 8, generator=g), torch.randn(400, 1, generator=g) * torch.ones(1, 8)
    >>> pr = participation_ratio_bootstrap([wide, narrow], n_boot=200)
    >>> round(participation_ratio(wide), 1), pr.low > 5
    (7.8, True)
    """
    if not xs:
        raise ValueError("xs is empty: give at least one [N, D] feature matrix.")
    n = len(xs[0])
    live = []
    for k, x in enumerate(xs):
        if x.dim() != 2 or len(x) != n or n < 2:
            raise ValueError(f"xs[{k}] must be [N, D] with N = {n} >= 2 (the same images), got {tuple(x.shape)}.")
        live.append(x[:, ~dead_units(x)].double())
    if combine is None:
        if len(xs) > 2:
            raise ValueError(f"{len(xs)} matrices: say how to combine their ratios with combine=.")
        combine = (lambda r: r[0]) if len(xs) == 1 else (lambda r: r[0] - r[1])

    def statistic(idx: np.ndarray) -> float:
        i = torch.as_tensor(idx.astype(int))
        prs = []
        for x in live:
            xi = x[i]
            xc = xi - xi.mean(0)
            prs.append(_pr_from_cov(xc.T @ xc / (len(xi) - 1)))
        return float(combine(np.array(prs)))

    return bootstrap(_image_indices(n), statistic, n_boot=n_boot, level=level, seed=seed, unit="test images")


def gap_verdict(before: Interval, after: Interval, change: Interval) -> str:
    """What an experiment did to the gap between two directions, in words an interval supports.

    Parameters
    ----------
    before, after
        Intervals of the gap (e.g. R² of one direction minus the other) without
        and with the experiment, on the same test images.
    change
        Interval of ``|after| - |before|``, bootstrapped on the same images.

    Returns
    -------
    str
        ``"reverses"`` when both gaps are resolved and of opposite signs;
        ``"narrows"`` or ``"widens"`` when the change of its size is resolved;
        otherwise ``"does not measurably change"``.

    Examples
    --------
    >>> I = lambda e, lo, hi: Interval(e, lo, hi, 0.95, 100, "toy")
    >>> gap_verdict(I(0.15, 0.12, 0.18), I(-0.10, -0.13, -0.07), I(-0.05, -0.09, -0.01))
    'reverses'
    >>> gap_verdict(I(0.15, 0.12, 0.18), I(0.13, 0.10, 0.16), I(-0.02, -0.03, -0.01))
    'narrows'
    >>> gap_verdict(I(0.15, 0.12, 0.18), I(0.14, 0.10, 0.18), I(-0.01, -0.04, 0.02))
    'does not measurably change'
    """
    if before.excludes(0) and after.excludes(0) and (before.estimate > 0) != (after.estimate > 0):
        return "reverses"
    if change.high < 0:
        return "narrows"
    if change.low > 0:
        return "widens"
    return "does not measurably change"
