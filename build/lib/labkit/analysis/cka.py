"""Linear centered kernel alignment (CKA): how similar are two layers' representations?

Given features of the same ``n`` inputs in two layers, ``X`` ``[n, d1]`` and ``Y``
``[n, d2]`` (an ANN's activations, an SNN's firing rates, ...), linear CKA
(Kornblith et al., 2019) compares their Gram matrices ``K = X X^T`` and ``L = Y Y^T``
after centering:

.. math::

    \\mathrm{CKA}(X, Y) = \\frac{\\mathrm{HSIC}(K, L)}{\\sqrt{\\mathrm{HSIC}(K, K)\\,\\mathrm{HSIC}(L, L)}},
    \\qquad \\mathrm{HSIC}(K, L) \\propto \\operatorname{tr}(H K H L)
    = \\lVert \\tilde Y^\\top \\tilde X \\rVert_F^2,

where ``H`` centres and :math:`\\tilde X, \\tilde Y` are the column-centred features.
CKA lies in [0, 1], equals 1 for ``X`` and ``Y`` that differ by a rotation and a
scale, and is *not* invariant to arbitrary invertible linear maps.

* :func:`~labkit.analysis.linear_cka` computes it for one pair, biased or **debiased** (the
  unbiased HSIC estimator of Song et al., 2012, as used by Nguyen et al., 2021),
  in feature space (``d x d`` products) or with ``n x n`` Gram matrices, whichever
  is cheaper; both give the same number.
* :class:`MinibatchCKA` accumulates the unbiased HSIC over minibatches for many
  layers at once (Nguyen et al., 2021; used for SNNs by Li et al., 2023), so CKA
  over 10,000 images needs only ``batch x batch`` Gram matrices.

All arithmetic is in float64, whatever the input dtype.

Examples
--------
>>> import torch
>>> from labkit.analysis.cka import linear_cka
>>> X = torch.randn(100, 8)
>>> Q = torch.linalg.qr(torch.randn(8, 8)).Q  # a rotation
>>> round(float(linear_cka(X, 3 * X @ Q)), 6)
1.0
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch

__all__ = ["linear_cka", "MinibatchCKA", "choose_form", "unbiased_center_gram"]

Form = Literal["auto", "feature", "gram"]

_TINY = torch.finfo(torch.float64).tiny  # smallest positive normal float64, about 2.2e-308


def _features(name: str, x: torch.Tensor) -> torch.Tensor:
    """``x`` as a float64 ``[n, d]`` matrix, or a ValueError naming the argument."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor [n, d], got {type(x).__name__}.")
    if x.dim() != 2:
        raise ValueError(f"{name} must be 2-D [n, d] (samples x features), got shape {tuple(x.shape)}; "
                         "flatten each sample first, e.g. x.flatten(1).")
    if x.is_complex():
        raise ValueError(f"{name} must be real, got dtype {x.dtype}.")
    return x.to(torch.float64)


def _ratio(hsic_xy: torch.Tensor, hsic_xx: torch.Tensor, hsic_yy: torch.Tensor) -> torch.Tensor:
    """``hsic_xy / sqrt(hsic_xx * hsic_yy)`` that never divides by zero.

    Self-similarities below zero (possible for the unbiased estimator only through
    rounding) count as zero, and the product is clamped at the smallest positive
    float64, so a constant layer (e.g. a silent spiking layer) gets CKA 0, not NaN.
    """
    denom = (hsic_xx.clamp(min=0) * hsic_yy.clamp(min=0)).clamp(min=_TINY).sqrt()
    return hsic_xy / denom


def choose_form(n: int, d1: int, d2: int) -> Literal["feature", "gram"]:
    """The cheaper way to compute linear CKA for ``n`` samples of ``d1`` and ``d2`` features.

    Feature space costs about ``n (d1^2 + d2^2 + d1 d2)`` multiply-adds and ``d x d``
    memory; the Gram form ``n^2 (d1 + d2)`` and ``n x n`` memory.

    Examples
    --------
    >>> choose_form(10_000, 512, 64), choose_form(50, 4096, 4096)
    ('feature', 'gram')
    """
    feature_cost = n * (d1 * d1 + d2 * d2 + d1 * d2)
    gram_cost = n * n * (d1 + d2 + 3)
    return "feature" if feature_cost <= gram_cost else "gram"


def unbiased_center_gram(gram: torch.Tensor) -> torch.Tensor:
    """U-centre a symmetric Gram matrix ``[n, n]`` (Székely & Rizzo, 2014), ``n >= 4``.

    For U-centred ``A`` and ``B``, ``(A * B).sum() / (n (n - 3))`` is the unbiased
    HSIC estimator of Song et al. (2012). The diagonal is zero.

    Examples
    --------
    >>> g = unbiased_center_gram(torch.ones(5, 5, dtype=torch.float64))  # a constant kernel
    >>> float(g.abs().max())
    0.0
    """
    n = gram.shape[0]
    if gram.dim() != 2 or gram.shape[1] != n or n < 4:
        raise ValueError(f"gram must be square [n, n] with n >= 4, got shape {tuple(gram.shape)}.")
    gram = gram.clone()
    gram.fill_diagonal_(0)
    means = gram.sum(0) / (n - 2)
    means -= means.sum() / (2 * (n - 1))
    gram -= means[:, None]
    gram -= means[None, :]
    gram.fill_diagonal_(0)
    return gram


def _debiased_dot(xty: torch.Tensor, rows_x: torch.Tensor, rows_y: torch.Tensor, n: int) -> torch.Tensor:
    """Unbiased HSIC times ``n (n - 3)`` from centred features (Kornblith et al.'s helper)."""
    return xty - n / (n - 2) * rows_x.dot(rows_y) + rows_x.sum() * rows_y.sum() / ((n - 1) * (n - 2))


def _feature_form(x: torch.Tensor, y: torch.Tensor, debiased: bool) -> torch.Tensor:
    xy = (y.T @ x).square().sum()
    xx = (x.T @ x).square().sum()
    yy = (y.T @ y).square().sum()
    if debiased:
        n = x.shape[0]
        rows_x, rows_y = x.square().sum(1), y.square().sum(1)
        xy = _debiased_dot(xy, rows_x, rows_y, n)
        xx = _debiased_dot(xx, rows_x, rows_x, n)
        yy = _debiased_dot(yy, rows_y, rows_y, n)
    return _ratio(xy, xx, yy)


def _gram_form(x: torch.Tensor, y: torch.Tensor, debiased: bool) -> torch.Tensor:
    k, l = x @ x.T, y @ y.T  # Grams of centred features are already double-centred
    if debiased:
        k, l = unbiased_center_gram(k), unbiased_center_gram(l)
    return _ratio((k * l).sum(), k.square().sum(), l.square().sum())


def linear_cka(X: torch.Tensor, Y: torch.Tensor, debiased: bool = False, form: Form = "auto") -> torch.Tensor:
    """Linear CKA between features ``X`` ``[n, d1]`` and ``Y`` ``[n, d2]`` of the same ``n`` inputs.

    Parameters
    ----------
    X, Y
        Feature matrices, one row per input (any real dtype; computed in float64).
    debiased
        Use the unbiased HSIC estimator (Song et al., 2012; Nguyen et al., 2021),
        which removes the upward bias of CKA at small ``n`` or large ``d``;
        needs ``n >= 4`` and can give slightly negative values.
    form
        ``"feature"``: ``d x d`` products ``||Y^T X||_F^2`` of centred features;
        ``"gram"``: ``n x n`` Gram matrices; ``"auto"`` (default): the cheaper
        one (:func:`~labkit.analysis.cka.choose_form`). Both forms give the same value to rounding.

    Returns
    -------
    torch.Tensor
        A 0-d float64 tensor. The denominator is clamped as in
        :class:`MinibatchCKA`, so a constant layer gives 0 instead of NaN.

    Examples
    --------
    >>> X = torch.randn(50, 4, dtype=torch.float64)
    >>> round(float(linear_cka(X, X, debiased=True)), 12)
    1.0
    >>> torch.allclose(linear_cka(X, X[:, :2], form="feature"), linear_cka(X, X[:, :2], form="gram"))
    True
    """
    x, y = _features("X", X), _features("Y", Y)
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"X and Y must have the same number of samples (rows), got {n} and {y.shape[0]}.")
    if n < (4 if debiased else 2):
        raise ValueError(f"X and Y need at least {4 if debiased else 2} samples "
                         f"{'for debiased CKA ' if debiased else ''}(rows), got {n}.")
    if form not in ("auto", "feature", "gram"):
        raise ValueError(f"form must be 'auto', 'feature' or 'gram', got {form!r}.")
    if form == "auto":
        form = choose_form(n, x.shape[1], y.shape[1])
    x, y = x - x.mean(0), y - y.mean(0)
    return _feature_form(x, y, debiased) if form == "feature" else _gram_form(x, y, debiased)


class MinibatchCKA:
    """CKA between every pair of layers, accumulated over minibatches (Nguyen et al., 2021).

    For each batch of ``b`` inputs, :meth:`update` builds one ``b x b`` U-centred Gram
    matrix per layer and adds the unbiased HSIC estimate (Song et al., 2012) of every
    pair to running sums; :meth:`compute` returns

    .. math::

        \\mathrm{CKA}_{ij} = \\frac{\\sum_k \\mathrm{HSIC}_1(K^{(k)}_i, L^{(k)}_j)}
        {\\sqrt{\\sum_k \\mathrm{HSIC}_1(K^{(k)}_i, K^{(k)}_i)\\,\\sum_k \\mathrm{HSIC}_1(L^{(k)}_j, L^{(k)}_j)}}

    over batches ``k``. Memory is ``O(layers x b^2)`` whatever the number of inputs:
    no ``n x n`` matrix is ever built. Since each batch's estimate is unbiased, the
    result does not drift with the batch size as the biased estimate would; with a
    single batch it equals :func:`~labkit.analysis.linear_cka` with ``debiased=True``. Li et al. (2023)
    use this estimator to compare SNN and ANN layers.

    Parameters
    ----------
    n_layers_x, n_layers_y
        Number of layers of the first and of the second network.
    keep_batches
        Also keep each batch's HSIC terms, so that :meth:`compute` can recombine
        any (resampled) set of batches: a bootstrap over batches of images gives
        CKA an interval (:func:`labkit.analysis.similarity.cka_interval`).

    Notes
    -----
    The denominator product is clamped at the smallest positive float64 (and each
    self-similarity at 0), so a layer whose features are constant over every batch
    (e.g. a spiking layer that never fires) gets CKA 0 rather than NaN.

    Examples
    --------
    >>> cka = MinibatchCKA(2, 1)
    >>> for _ in range(3):
    ...     x = torch.randn(64, 10)
    ...     cka.update([x, torch.randn(64, 5)], [x @ torch.randn(10, 10)])
    >>> cka.compute().shape
    torch.Size([2, 1])

    With ``keep_batches=True``, :meth:`compute` takes the batches to combine; a
    resample with repetition is one bootstrap draw:

    >>> kept = MinibatchCKA(1, 1, keep_batches=True)
    >>> for _ in range(4):
    ...     x = torch.randn(32, 6)
    ...     kept.update([x], [x + torch.randn(32, 6)])
    >>> bool(torch.equal(kept.compute(), kept.compute(range(4)))), kept.compute([0, 0, 3, 3]).shape
    (True, torch.Size([1, 1]))
    """

    def __init__(self, n_layers_x: int, n_layers_y: int, keep_batches: bool = False) -> None:
        for name, value in (("n_layers_x", n_layers_x), ("n_layers_y", n_layers_y)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        self.n_layers_x, self.n_layers_y = n_layers_x, n_layers_y
        self.keep_batches = keep_batches
        self.reset()

    def reset(self) -> None:
        """Forget all batches."""
        self.hsic_xy = torch.zeros(self.n_layers_x, self.n_layers_y, dtype=torch.float64)
        self.hsic_xx = torch.zeros(self.n_layers_x, dtype=torch.float64)
        self.hsic_yy = torch.zeros(self.n_layers_y, dtype=torch.float64)
        self.batches = 0
        self.samples = 0
        self.per_batch: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (xy, xx, yy) if kept
        self._stacked: tuple[torch.Tensor, ...] | None = None

    @staticmethod
    def _grams(name: str, feats: Sequence[torch.Tensor], count: int,
               batch: int | None) -> tuple[torch.Tensor, int]:
        """U-centred Grams ``[layers, b * b]`` of one batch and ``b``, checking count and batch sizes."""
        if isinstance(feats, torch.Tensor) or len(feats) != count:
            got = "a tensor" if isinstance(feats, torch.Tensor) else f"{len(feats)} tensors"
            raise ValueError(f"{name} must be a list of {count} tensors [batch, features], got {got}.")
        grams = []
        for k, f in enumerate(feats):
            x = _features(f"{name}[{k}]", f)
            if x.shape[0] < 4:
                raise ValueError(f"{name}[{k}] has {x.shape[0]} samples; the unbiased HSIC needs at least 4.")
            if batch is not None and x.shape[0] != batch:
                raise ValueError(f"{name}[{k}] has {x.shape[0]} samples but the other layers of this batch "
                                 f"have {batch}; every layer must see the same inputs.")
            batch = x.shape[0]
            x = x - x.mean(0)  # U-centring ignores it; it only improves rounding
            grams.append(unbiased_center_gram(x @ x.T).flatten())
        return torch.stack(grams), batch

    def update(self, feats_x: Sequence[torch.Tensor], feats_y: Sequence[torch.Tensor]) -> None:
        """Add one batch: ``feats_x[i]`` ``[b, d_i]`` for every layer of the first network, ``feats_y`` likewise.

        All tensors hold the same ``b >= 4`` inputs in the same order; ``b`` may
        change from batch to batch.
        """
        gx, b = self._grams("feats_x", feats_x, self.n_layers_x, None)
        gy, _ = self._grams("feats_y", feats_y, self.n_layers_y, b)
        scale = 1.0 / (b * (b - 3))
        device = self.hsic_xy.device
        xy = (gx @ gy.T).to(device) * scale
        xx = gx.square().sum(1).to(device) * scale
        yy = gy.square().sum(1).to(device) * scale
        self.hsic_xy += xy
        self.hsic_xx += xx
        self.hsic_yy += yy
        if self.keep_batches:
            self.per_batch.append((xy, xx, yy))
            self._stacked = None
        self.batches += 1
        self.samples += b

    def compute(self, batches: Sequence[int] | None = None) -> torch.Tensor:
        """CKA ``[n_layers_x, n_layers_y]`` (float64, on the CPU) over all batches so far.

        Parameters
        ----------
        batches
            Indices of the batches to combine, repetitions allowed (a bootstrap
            resample); needs ``keep_batches=True``. ``None``: every batch.
        """
        if self.batches == 0:
            raise RuntimeError("MinibatchCKA.compute() called before any update(); add a batch first.")
        if batches is None:
            return _ratio(self.hsic_xy, self.hsic_xx[:, None], self.hsic_yy[None, :])
        if not self.keep_batches:
            raise ValueError("compute(batches=...) needs the per-batch terms: build MinibatchCKA(..., keep_batches=True).")
        index = torch.as_tensor(list(batches), dtype=torch.long)
        if index.numel() == 0 or index.min() < 0 or index.max() >= self.batches:
            raise ValueError(f"batches must be a non-empty list of indices in [0, {self.batches}), got {list(batches)}.")
        if self._stacked is None:
            self._stacked = tuple(torch.stack(terms) for terms in zip(*self.per_batch))
        xy, xx, yy = (terms[index].sum(0) for terms in self._stacked)
        return _ratio(xy, xx[:, None], yy[None, :])
