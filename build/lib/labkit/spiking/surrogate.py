"""Surrogate gradients: the derivative used in place of the Heaviside step's.

:func:`~labkit.spiking.surrogate_derivative` reads the derivative off any elementwise surrogate
from :mod:`snntorch.surrogate` (by running its backward pass), and
:func:`~labkit.spiking.stable_sigmoid` is snnTorch's sigmoid surrogate without its overflow.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Callable

import torch
from snntorch import surrogate as _snn_surrogate

__all__ = ["SpikeFn", "surrogate_derivative", "stable_sigmoid", "surrogate_from_name", "SURROGATE_NAMES",
           "describe_surrogate"]

#: A spike function: Heaviside forward, surrogate derivative backward.
SpikeFn = Callable[[torch.Tensor], torch.Tensor]


def surrogate_vjp(spike_fn: SpikeFn, u: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``grad * dS/du`` at ``u``, computed by the surrogate's own backward pass."""
    with torch.enable_grad():
        leaf = u.detach().requires_grad_(True)
        (out,) = torch.autograd.grad(spike_fn(leaf), leaf, grad)
    return out


def _closure_settings(spike_fn: SpikeFn) -> dict[str, object]:
    """The free variables of a surrogate closure (e.g. ``{"alpha": 2.0}`` for ``snntorch.surrogate.atan()``)."""
    code, closure = getattr(spike_fn, "__code__", None), getattr(spike_fn, "__closure__", None)
    settings = {}
    for var, cell in zip(code.co_freevars if code is not None else (), closure or ()):
        try:
            settings[var] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    return settings


def _atan_kernel(alpha: float):
    # snnTorch: alpha / 2 / (1 + (pi / 2 * alpha * u) ** 2) * g, as g / ((2 / alpha) (1 + (pi alpha u / 2) ** 2))
    scale, square = 2 / alpha, (math.pi / 2 * alpha) ** 2 * 2 / alpha

    def kernel(u: torch.Tensor, grad: torch.Tensor, out: torch.Tensor) -> None:
        torch.addcmul(u.new_tensor(scale), u, u, value=square, out=u)
        torch.div(grad, u, out=out)
    return kernel


def _fast_sigmoid_kernel(slope: float):
    # snnTorch: g / (slope * |u| + 1) ** 2
    def kernel(u: torch.Tensor, grad: torch.Tensor, out: torch.Tensor) -> None:
        u.abs_().mul_(slope).add_(1.0)
        u.mul_(u)
        torch.div(grad, u, out=out)
    return kernel


def _stable_sigmoid_kernel(slope: float):
    # k sigma(k u) (1 - sigma(k u)) g
    def kernel(u: torch.Tensor, grad: torch.Tensor, out: torch.Tensor) -> None:
        u.mul_(slope).sigmoid_()
        u.addcmul_(u, u, value=-1.0)
        torch.mul(grad, u, out=out).mul_(slope)
    return kernel


def _straight_through_kernel():
    def kernel(u: torch.Tensor, grad: torch.Tensor, out: torch.Tensor) -> None:
        out.copy_(grad)
    return kernel


#: ``surrogate_inplace_vjp``'s kernels: (module, qualname of the closure, its setting) -> kernel(setting).
_KERNELS = {
    ("snntorch.surrogate", "atan.<locals>.inner", "alpha"): _atan_kernel,
    ("snntorch.surrogate", "fast_sigmoid.<locals>.inner", "slope"): _fast_sigmoid_kernel,
    ("snntorch.surrogate", "straight_through_estimator.<locals>.inner", None): _straight_through_kernel,
    (__name__, "stable_sigmoid.<locals>.spike", "slope"): _stable_sigmoid_kernel,
}


def surrogate_inplace_vjp(spike_fn: SpikeFn) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]:
    """A function ``vjp(u, grad, out)`` that writes ``grad * dS/du`` into ``out`` (``u`` may be overwritten).

    For the surrogates the course uses (snnTorch's ``atan``, ``fast_sigmoid`` and
    ``straight_through_estimator``, and :func:`stable_sigmoid`) the derivative is
    written out in one to four in-place passes, recognised from the closure's name
    and setting; snnTorch's own backward passes allocate up to six temporaries
    (measured in :func:`labkit.spiking.lif_multistep`'s backward on 2 CPU cores: its
    ``atan`` took 20% of a residual SNN's training step). Any other surrogate goes
    through its own backward pass (:func:`surrogate_vjp`). Both agree to rounding
    (tests compare them).

    Examples
    --------
    >>> from snntorch import surrogate
    >>> u, grad, out = torch.tensor([0.0, 0.5]), torch.ones(2), torch.empty(2)
    >>> surrogate_inplace_vjp(surrogate.atan(alpha=2.0))(u.clone(), grad, out)
    >>> torch.allclose(out, surrogate_derivative(surrogate.atan(alpha=2.0), u))
    True
    """
    settings = _closure_settings(spike_fn)
    for (module, qualname, setting), make in _KERNELS.items():
        if getattr(spike_fn, "__module__", None) == module and getattr(spike_fn, "__qualname__", None) == qualname:
            if setting is None:
                return make()
            try:
                value = float(settings[setting])
            except (KeyError, TypeError, ValueError, RuntimeError):
                break
            if math.isfinite(value) and value > 0:
                return make(value)
            break

    def generic(u: torch.Tensor, grad: torch.Tensor, out: torch.Tensor) -> None:
        out.copy_(surrogate_vjp(spike_fn, u, grad))
    return generic


def surrogate_derivative(spike_fn: SpikeFn, u: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative that the surrogate ``spike_fn`` uses in place of the Heaviside's.

    Parameters
    ----------
    spike_fn
        A surrogate from :mod:`snntorch.surrogate`, e.g. ``surrogate.atan(alpha=2)``.
    u
        Membrane minus threshold, any shape.

    Returns
    -------
    torch.Tensor
        ``dS/du`` as the surrogate's backward pass computes it.

    Examples
    --------
    >>> from snntorch import surrogate
    >>> surrogate_derivative(surrogate.fast_sigmoid(slope=25), torch.tensor([0.0, 0.2])).tolist()
    [1.0, 0.02777777798473835]
    """
    return surrogate_vjp(spike_fn, u, torch.ones_like(u))


class _StableSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, slope):  # noqa: D102
        ctx.save_for_backward(u)
        ctx.slope = slope
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad_output):  # noqa: D102
        (u,) = ctx.saved_tensors
        sig = torch.sigmoid(ctx.slope * u)
        return grad_output * ctx.slope * sig * (1 - sig), None


def stable_sigmoid(slope: float = 25.0) -> SpikeFn:
    """Sigmoid surrogate (Heaviside forward, ``k sigma(k u) (1 - sigma(k u))`` backward), overflow-free.

    Same function as :func:`snntorch.surrogate.sigmoid`, whose backward computes
    ``exp(-k u)`` directly: for ``u < -88 / k`` in float32 that overflows and the
    gradient is NaN (measured with snnTorch 1.0: ``k = 5`` at ``u = -18`` gives
    NaN), which silently ruins training. This version uses ``torch.sigmoid``.

    Examples
    --------
    >>> surrogate_derivative(stable_sigmoid(5.0), torch.tensor([-30.0, 0.0])).tolist()
    [0.0, 1.25]
    """
    if slope <= 0:
        raise ValueError(f"slope must be > 0, got {slope}.")

    def spike(u: torch.Tensor) -> torch.Tensor:
        return _StableSigmoid.apply(u, slope)

    return spike


#: Surrogates by name, with the parameter and default of each: ``"name"`` or ``"name:value"``.
SURROGATE_NAMES: dict[str, tuple[str, float | None]] = {
    "atan": ("alpha", 2.0),
    "fast_sigmoid": ("slope", 25.0),
    "sigmoid": ("slope", 25.0),
    "snntorch_sigmoid": ("slope", 25.0),
    "straight_through": ("", None),
}


def surrogate_from_name(spec: str) -> SpikeFn:
    """A surrogate from a short text, e.g. ``"fast_sigmoid:25"``, ``"atan:2"`` or ``"straight_through"``.

    Naming a surrogate by text lets a checkpoint key, a catalogue entry or a
    table say exactly which one was used (a function's ``repr`` does not show its
    slope). ``"sigmoid"`` is :func:`~labkit.spiking.stable_sigmoid`, the overflow-free form of
    snnTorch's sigmoid surrogate, and ``"snntorch_sigmoid"`` snnTorch's own (NaN
    gradients far below threshold); the others are :mod:`snntorch.surrogate`'s.

    Parameters
    ----------
    spec
        ``"name"`` or ``"name:value"`` with a name of ``SURROGATE_NAMES``; the
        value is the slope (``alpha`` for ``atan``), else the default.

    Examples
    --------
    >>> surrogate_derivative(surrogate_from_name("fast_sigmoid:5"), torch.tensor([0.0])).tolist()
    [1.0]
    >>> surrogate_from_name("tanh")
    Traceback (most recent call last):
    ...
    ValueError: spec 'tanh' names no surrogate; use one of atan, fast_sigmoid, sigmoid, snntorch_sigmoid, straight_through, optionally with ':<value>' (e.g. 'fast_sigmoid:25').
    """
    name, _, value = spec.partition(":")
    if name not in SURROGATE_NAMES:
        raise ValueError(f"spec {spec!r} names no surrogate; use one of {', '.join(SURROGATE_NAMES)}, "
                         "optionally with ':<value>' (e.g. 'fast_sigmoid:25').")
    param, default = SURROGATE_NAMES[name]
    if value and not param:
        raise ValueError(f"spec {spec!r}: {name} takes no parameter.")
    try:
        number = float(value) if value else default
    except ValueError as error:
        raise ValueError(f"spec {spec!r}: {value!r} is not a number.") from error
    if name == "straight_through":
        return _snn_surrogate.straight_through_estimator()
    if name == "sigmoid":
        return stable_sigmoid(number)
    if name == "snntorch_sigmoid":
        return _snn_surrogate.sigmoid(slope=number)
    return getattr(_snn_surrogate, name)(**{param: number})


def _describe_value(value: object) -> str:
    if isinstance(value, (bool, str)) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(float(value))  # slope=7 and slope=7.0 are the same surrogate
    if torch.is_tensor(value):
        return repr(value.tolist()) if value.numel() <= 4 else f"tensor{tuple(value.shape)}"
    if callable(value):
        return describe_surrogate(value)
    return type(value).__name__


def describe_surrogate(spike_fn: SpikeFn) -> str:
    """The name and settings of a surrogate, e.g. ``"atan(alpha=2.0)"``, read off the function itself.

    snnTorch builds each surrogate as a closure (``atan(alpha)`` returns an
    ``inner`` function that keeps ``alpha``), so its ``repr`` shows neither the
    name nor the slope; both are recovered here from the closure's free
    variables. That covers every :mod:`snntorch.surrogate` factory and
    :func:`~labkit.spiking.stable_sigmoid`. A callable object is described by its ``repr``, and a
    plain function (no closure) by its name: settings it hides in globals or
    attributes are not visible. Memory addresses are dropped, so the text is
    the same in every process (:func:`labkit.train.fit` compares it on resume).

    Examples
    --------
    >>> from snntorch import surrogate
    >>> describe_surrogate(surrogate.fast_sigmoid(slope=5))
    'fast_sigmoid(slope=5.0)'
    >>> describe_surrogate(stable_sigmoid(25.0))
    'stable_sigmoid(slope=25.0)'
    """
    if isinstance(spike_fn, functools.partial):
        args = [_describe_value(a) for a in spike_fn.args]
        args += [f"{k}={_describe_value(v)}" for k, v in spike_fn.keywords.items()]
        return f"partial({describe_surrogate(spike_fn.func)}, {', '.join(args)})"
    code, qualname = getattr(spike_fn, "__code__", None), getattr(spike_fn, "__qualname__", None)
    if code is not None and qualname:
        name = qualname.split(".<locals>.")[0]
        if not spike_fn.__closure__:
            return name
        settings = []
        for var, cell in zip(code.co_freevars, spike_fn.__closure__):
            try:
                settings.append(f"{var}={_describe_value(cell.cell_contents)}")
            except ValueError:  # an empty cell
                continue
        return f"{name}({', '.join(settings)})"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(spike_fn))
