"""How well autoencoders reconstruct: nRMSE per sample, the noise floor of a rate code, embeddings and their UMAP.

The autoencoders of :mod:`labkit.models.autoencoder` return ``(output counts,
input counts)``. :func:`~labkit.analysis.sample_nrmse` scores every test sample separately, so
that :func:`labkit.stats.bootstrap` and :func:`~labkit.stats.paired_bootstrap`
can put intervals on the mean. A rate code is noisy: the spike count of a pixel
varies around its mean ``T p`` from one presentation to the next, and no network
can predict that noise from a bottleneck. :func:`~labkit.analysis.noise_floor` scores the
*expected* counts against the drawn ones: the nRMSE of a perfect denoiser, the
floor under every reconstruction of the same spikes. :func:`~labkit.analysis.knn_correct` asks how
well an embedding separates the classes it was never told about (a cross-validated
nearest-neighbour classifier), and :func:`~labkit.analysis.umap_2d` lays it out in two dimensions.

Examples
--------
>>> import torch
>>> from labkit.data import Pairs
>>> from labkit.models import conv_sae
>>> sae = conv_sae(kernel_size=3, embedding=4, channels=(2, 4), num_steps=4, f_on=100, dt=5e-3)
>>> x = torch.rand(6, 1, 28, 28)
>>> data = Pairs(x, x, torch.zeros(6, dtype=torch.long), ["0"], "toy")
>>> sample_nrmse(sae, data, "cpu").shape, embeddings(sae, data, "cpu").shape
((6,), (6, 4))
>>> bool((noise_floor(sae, data, "cpu") < 1).all())  # the mean count is a better guess than a constant
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..metrics import nrmse
from ..spiking.encoding import rate_probability
from .record import eval_mode

__all__ = ["sample_nrmse", "noise_floor", "embeddings", "knn_correct", "umap_2d"]


def _batches(data: Any, batch_size: int):
    if not hasattr(data, "loader"):
        raise TypeError(f"data must have a loader(batch_size) (an ImageSet or labkit.data.Pairs), got "
                        f"{type(data).__name__}.")
    return data.loader(batch_size=batch_size)


@torch.no_grad()
def sample_nrmse(model: nn.Module, data: Any, device: torch.device | str, batch_size: int = 250) -> np.ndarray:
    """nRMSE of every sample of ``data`` between the model's output and input counts, in eval mode.

    Parameters
    ----------
    model
        A :class:`~labkit.models.ConvAutoencoder` (anything whose forward gives
        ``(output counts, input counts)``).
    data
        Samples with ``loader(batch_size)``, batches ``(inputs, targets)``.
    device
        Where to run.
    batch_size
        Samples per batch. An autoencoder that rate-codes in eval mode draws the
        same spikes for the same batches: keep it the same to compare networks on
        the same spikes.

    Returns
    -------
    numpy.ndarray
        ``[N]`` nRMSE per sample, in the order of ``data``.
    """
    with eval_mode(model):
        out = [nrmse(*model(x.to(device)), reduction="none").cpu() for x, _ in _batches(data, batch_size)]
    return torch.cat(out).double().numpy()


@torch.no_grad()
def noise_floor(model: nn.Module, data: Any, device: torch.device | str, batch_size: int = 250) -> np.ndarray:
    """nRMSE per sample of a perfect denoiser: the expected counts ``T p(x)`` against the counts drawn for ``model``.

    The spikes are those ``model`` is shown in eval mode with the same
    ``batch_size`` (its :class:`~labkit.models.RateEncoder`), so the floor pairs
    with :func:`~labkit.analysis.sample_nrmse` sample by sample.

    Raises
    ------
    ValueError
        When the model does not rate-code its input (event frames have no known mean).
    """
    coder = getattr(model, "coder", None)
    if coder is None:
        raise ValueError("noise_floor needs an autoencoder that rate-codes images (model.coder); for inputs that are "
                         "spike trains already the expected counts are unknown.")
    out = []
    with eval_mode(model):
        for x, _ in _batches(data, batch_size):
            x = x.to(device)
            drawn = model.input_spikes(x).sum(0)
            expected = coder.num_steps * rate_probability(x, f_on=coder.f_on, f_off=coder.f_off, dt=coder.dt)
            out.append(nrmse(expected, drawn, reduction="none").cpu())
    return torch.cat(out).double().numpy()


@torch.no_grad()
def embeddings(model: nn.Module, data: Any, device: torch.device | str, batch_size: int = 250) -> np.ndarray:
    """The embedding of every sample ``[N, E]``: firing rates of the spiking embedding, or activations (eval mode)."""
    with eval_mode(model):
        out = [model.embed(x.to(device)).cpu() for x, _ in _batches(data, batch_size)]
    return torch.cat(out).double().numpy()


def knn_correct(points: np.ndarray, labels: np.ndarray | torch.Tensor, k: int = 5, folds: int = 5,
                seed: int = 0) -> np.ndarray:
    """Whether a k-nearest-neighbour classifier, cross-validated, gets each sample's class right from ``points``.

    The mean is the embedding's kNN accuracy; the 0/1 values per sample give
    bootstrap intervals (:func:`labkit.stats.bootstrap`) and paired comparisons
    of two embeddings of the same samples. Features are standardised first.

    Parameters
    ----------
    points
        ``[N, D]`` embeddings.
    labels
        ``[N]`` classes.
    k, folds, seed
        Neighbours, cross-validation folds (stratified, shuffled with ``seed``).

    Returns
    -------
    numpy.ndarray
        ``[N]`` 1.0 where the held-out prediction is right, else 0.0.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20); x = y[:, None] * 5.0 + rng.normal(size=(40, 3))
    >>> float(knn_correct(x, y).mean())
    1.0
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(points, dtype=np.float64)
    y = labels.cpu().numpy() if torch.is_tensor(labels) else np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"points must be [N, D] with one label each: shapes {x.shape} and {y.shape}.")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=k)), x, y,
                                  cv=splitter)
    return (predicted == y).astype(np.float64)


def umap_2d(points: np.ndarray, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """A 2-D UMAP (McInnes et al. 2018, package ``umap-learn``) of ``points`` ``[N, D]``, reproducible with ``seed``.

    UMAP runs on numba. Numba's default OpenMP thread pool shares the OpenMP
    runtime with torch and slowed every later torch computation of the process
    about tenfold on 2 CPU cores (measured: the nRMSE of 500 digits took 0.5 s
    before a UMAP and 8 s after). Unless a threading layer was chosen
    (``NUMBA_THREADING_LAYER``), this uses numba's ``workqueue`` layer, which
    does not.

    Raises
    ------
    ImportError
        When umap-learn is missing, saying how to install it.
    """
    try:
        import numba

        if numba.config.THREADING_LAYER == "default":
            numba.config.THREADING_LAYER = "workqueue"
        import umap
    except ImportError as exc:
        raise ImportError("umap_2d needs umap-learn: pip install umap-learn (or labkit[lab06]).") from exc
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or len(points) < 3:
        raise ValueError(f"points must be [N, D] with N >= 3, got shape {points.shape}.")
    if np.ptp(points, axis=0).max(initial=0) == 0:
        raise ValueError("points are all the same (a silent embedding?): UMAP has nothing to lay out.")
    reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, len(points) - 1), min_dist=min_dist,
                        random_state=seed, n_jobs=1)
    return reducer.fit_transform(points)
