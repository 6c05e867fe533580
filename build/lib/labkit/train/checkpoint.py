"""Checkpoints: one atomic writer, one safe reader, the random state a resumed run needs, and fingerprints.

:func:`~labkit.train.save_checkpoint` writes with :func:`labkit.io.atomic_write` (a temporary
file, ``fsync``, then a rename), so a crash or a Colab disconnect never leaves a
half-written file and never loses the previous checkpoint.

Three guarantees on reading, each with an error that names the file and the fix:

* **a checkpoint never runs code**: :func:`~labkit.train.load_checkpoint` uses
  ``torch.load(weights_only=True)``, which builds only tensors and plain values
  (a pickle that would call a function is refused, and nothing in it runs);
  so everything saved is a tensor, a number, a string or a container of them,
  random states included (:func:`rng_state`);
* **flipped bytes are detected**: the file stores a sha256 of its content
  (every tensor's dtype, shape and bytes, and every plain value), checked on load;
* **a stale checkpoint is never reused silently**: :func:`labkit.train.fit`
  stores a fingerprint of the model and the recipe (:func:`model_fingerprint`,
  :func:`recipe_fingerprint`) and compares it on resume (:func:`fingerprint_changes`).

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "c.pt"
>>> _ = save_checkpoint(path, {"w": torch.ones(2), "epoch": 3})
>>> load_checkpoint(path)["epoch"]
3
"""

from __future__ import annotations

import collections
import difflib
import functools
import hashlib
import pickle
import random
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..io import atomic_write

__all__ = [
    "CheckpointError",
    "CheckpointMismatchError",
    "save_checkpoint",
    "load_checkpoint",
    "epoch_weights",
    "rng_state",
    "set_rng_state",
    "model_fingerprint",
    "recipe_fingerprint",
    "fingerprint_changes",
    "content_digest",
]

#: Marks a file written by :func:`~labkit.train.save_checkpoint` (content, digest and format together).
FORMAT = "labkit-checkpoint/1"
_PLAIN = (str, bytes, int, float, bool, complex, type(None), torch.dtype, torch.device, torch.Size)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: unreadable, refused (it would run code) or corrupt."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint written for another model or recipe than the one given to :func:`labkit.train.fit`."""


# ------------------------------------------------------------------ content digest
def _tensor_bytes(t: torch.Tensor) -> memoryview:
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    t = t.cpu().contiguous().reshape(-1)
    if t.is_conj():
        t = t.resolve_conj()
    return memoryview(t.view(torch.uint8).numpy())


def _walk(value: Any, where: str, digest: Any) -> None:
    """Feed ``value`` to ``digest`` in a canonical form, refusing what a weights-only load cannot build."""
    if isinstance(value, torch.Tensor):
        digest.update(f"T{value.dtype}{tuple(value.shape)};".encode())
        digest.update(_tensor_bytes(value))
    elif type(value) in (dict, collections.OrderedDict):
        digest.update(f"D{len(value)};".encode())
        for key, item in value.items():
            _walk(key, f"{where}[{key!r}] (key)", digest)
            _walk(item, f"{where}[{key!r}]", digest)
    elif type(value) in (list, tuple, set):
        items = sorted(value, key=repr) if isinstance(value, set) else value
        digest.update(f"{type(value).__name__[0]}{len(items)};".encode())
        for i, item in enumerate(items):
            _walk(item, f"{where}[{i}]", digest)
    elif isinstance(value, _PLAIN) and type(value) in _PLAIN:
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise TypeError(
            f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which a safe "
            "(weights_only) load cannot rebuild. Store tensors, numbers, strings, None and "
            "lists/tuples/dicts of them (e.g. torch.from_numpy(array), float(x), str(obj))."
        )


def content_digest(state: Any) -> str:
    """sha256 of a checkpoint's content: every tensor's dtype, shape and bytes, every plain value.

    Raises
    ------
    TypeError
        If ``state`` holds an object that ``torch.load(weights_only=True)``
        would refuse (a numpy array, a custom class), naming where it is.

    Examples
    --------
    >>> content_digest({"a": torch.zeros(2)}) == content_digest({"a": torch.zeros(2)})
    True
    >>> content_digest({"a": torch.zeros(2)}) == content_digest({"a": torch.tensor([0.0, 1e-30])})
    False
    """
    digest = hashlib.sha256()
    _walk(state, "state", digest)
    return digest.hexdigest()


def _to_device(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_to_device(v, device) for v in value)
    return value


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically (temp file, fsync, rename) with a sha256 of its content.

    Parameters
    ----------
    path
        Destination file; its folder is created if needed.
    state
        Tensors, numbers, strings, ``None`` and lists/tuples/dicts of them
        (what :func:`~labkit.train.load_checkpoint` can rebuild without running code).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    TypeError
        Before anything is written, if ``state`` holds another kind of object.
    """
    path = Path(path)
    record = {"format": FORMAT, "sha256": content_digest(state), "state": state}
    with atomic_write(path) as handle:
        torch.save(record, handle)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`~labkit.train.save_checkpoint` (or by :func:`labkit.train.fit`), safely.

    The file is read with ``torch.load(weights_only=True)``: only tensors and
    plain values are built and no code in the file ever runs. Its content is
    then checked against the sha256 stored with it.

    Parameters
    ----------
    path
        The checkpoint file.
    map_location
        Device for the tensors (they are read and checked on the CPU first).

    Raises
    ------
    CheckpointError
        If the file cannot be read, is refused (it holds objects other than
        tensors and plain values, e.g. a checkpoint of an older labkit or a
        crafted file), is not a labkit checkpoint, or fails its checksum; the
        message names the path and the fix (delete it to train from scratch).
    """
    fix = "Delete the file to train from scratch (or pass another checkpoint path)."
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a crafted, truncated, corrupt or foreign file
        text = " ".join(str(exc).split())
        refused = re.search(r"Unsupported (?:global: GLOBAL \S+|class \S+)", text)
        if isinstance(exc, pickle.UnpicklingError) and refused:
            raise CheckpointError(
                f"Refused to load checkpoint {path}: it holds objects other than tensors and plain values, so "
                f"loading it could run code ({refused.group(0)}). It may come from an older labkit (whose checkpoints held numpy objects) or from elsewhere. "
                f"{fix} Only if you trust where it comes from, read it yourself with "
                "torch.load(path, weights_only=False)."
            ) from exc
        reason = re.sub(r"^Weights only load failed\..*?WeightsUnpickler error: ", "", text)
        reason = re.split(r" (?:Check the documentation|This is an internal)", reason)[0].rstrip(". ")[:300]
        raise CheckpointError(f"Could not read checkpoint {path}: {reason}. {fix}") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT or "state" not in record:
        raise CheckpointError(f"Checkpoint {path} was not written by labkit's save_checkpoint "
                              f"(no {FORMAT!r} record). {fix}")
    actual = content_digest(record["state"])
    if actual != record.get("sha256"):
        raise CheckpointError(
            f"Checkpoint {path} is corrupt: the sha256 of its content is {actual[:16]}..., not the "
            f"{str(record.get('sha256'))[:16]}... recorded when it was written (bytes changed on disk or "
            f"in a copy). {fix} Or restore it from a good copy."
        )
    state = record["state"]
    device = torch.device(map_location)
    return state if device.type == "cpu" else _to_device(state, device)


def epoch_weights(path: str | Path, epoch: int, map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The model's weights (``state_dict``) after ``epoch`` (1, 2 ...) of a run trained with ``keep_epochs=True``.

    Parameters
    ----------
    path
        A checkpoint written by :func:`labkit.train.fit` with ``keep_epochs=True``.
    epoch
        Which epoch, from 1 to the epochs done.
    map_location
        Device for the tensors.

    Raises
    ------
    ValueError
        When the checkpoint keeps no per-epoch weights, or ``epoch`` is outside the run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.pt"
    >>> _ = save_checkpoint(path, {"epoch": 2, "epoch_models": [{"w": torch.zeros(1)}, {"w": torch.ones(1)}]})
    >>> epoch_weights(path, 2)["w"].tolist()
    [1.0]
    """
    state = load_checkpoint(path, map_location)
    kept = state.get("epoch_models")
    if kept is None:
        raise ValueError(f"checkpoint {path} keeps only its last epoch's weights: train with keep_epochs=True "
                         "(labkit.train.fit, or keep_epochs=True in the catalogue entry) to keep every epoch's.")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch <= len(kept):
        raise ValueError(f"epoch must be an integer from 1 to {len(kept)} (the epochs kept in {path}), got {epoch!r}.")
    return kept[epoch - 1]


# ------------------------------------------------------------------ random state
def rng_state() -> dict[str, Any]:
    """The state of Python's, numpy's and torch's (CPU and CUDA) global generators, as tensors and numbers.

    Everything is a tensor or a plain value, so the state survives a
    weights-only load (:func:`~labkit.train.load_checkpoint`) and :func:`set_rng_state`
    restores it exactly.
    """
    version, internal, gauss_next = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    state = {
        "python": {"version": int(version), "state": torch.tensor(internal, dtype=torch.int64),
                   "gauss_next": gauss_next},
        "numpy": {"bit_generator": str(numpy_state["bit_generator"]),
                  "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
                  "pos": int(numpy_state["state"]["pos"]),
                  "has_gauss": int(numpy_state["has_gauss"]), "gauss": float(numpy_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generators saved by :func:`rng_state`.

    Examples
    --------
    >>> saved = rng_state(); a = (random.random(), np.random.rand(), torch.rand(1).item())
    >>> set_rng_state(saved); (random.random(), np.random.rand(), torch.rand(1).item()) == a
    True
    """
    py = state["python"]
    if isinstance(py, tuple):  # random.getstate() itself
        random.setstate(py)
    else:
        random.setstate((int(py["version"]), tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    npy = state["numpy"]
    if isinstance(npy, dict) and "key" in npy:
        np.random.set_state({"bit_generator": npy["bit_generator"],
                             "state": {"key": npy["key"].cpu().numpy().astype(np.uint32), "pos": int(npy["pos"])},
                             "has_gauss": int(npy["has_gauss"]), "gauss": float(npy["gauss"])})
    else:
        np.random.set_state(npy)
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


# ------------------------------------------------------------------ fingerprints
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# scheduler entries that change while training (the rest are its settings)
_SCHEDULER_STATE = {"last_epoch", "_step_count", "_last_lr", "_get_lr_called_within_step", "_is_initial",
                    "best", "num_bad_epochs", "cooldown_counter", "verbose", "_initial_step"}


def _settings(value: Any) -> Any:
    """A plain, comparable form of a setting (numbers, strings, lists), or ``None`` when it is not one."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else int(value)
    if isinstance(value, torch.Tensor):
        return value.tolist() if value.numel() <= 16 else None
    if isinstance(value, (list, tuple)):
        items = [_settings(v) for v in value]
        return None if any(i is None and v is not None for i, v in zip(items, value)) else items
    return None


def _tensor_sha(t: torch.Tensor) -> str:
    return hashlib.sha256(_tensor_bytes(t)).hexdigest()


def callable_name(fn: Callable) -> str:
    """A stable name for a loss function (module and qualified name; a module's ``repr``; a partial's arguments)."""
    if isinstance(fn, functools.partial):
        args = [repr(_settings(a)) for a in fn.args] + [f"{k}={_settings(v)!r}" for k, v in fn.keywords.items()]
        return f"partial({callable_name(fn.func)}, {', '.join(args)})"
    if isinstance(fn, torch.nn.Module):
        return _ADDRESS.sub("", repr(fn))
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    module = getattr(fn, "__module__", None) or type(fn).__module__
    return f"{module}.{name}"


def model_fingerprint(model: torch.nn.Module) -> dict[str, Any]:
    """What defines a model apart from its trained values: ``repr``, parameter shapes, buffer values.

    * ``repr``: the architecture as printed (memory addresses removed); for a
      :class:`labkit.spiking.LIF` it includes ``beta``, ``threshold`` and the
      surrogate with its slope (:func:`labkit.spiking.describe_surrogate`);
    * ``parameters``: name, shape and dtype of every parameter (not the values,
      which training changes);
    * ``buffers``: name, shape, dtype and sha256 of every buffer, e.g. a fixed
      per-neuron ``beta`` that ``repr`` shows only as ``'tensor'``.

    Not seen: settings a module keeps in plain attributes that its ``repr``
    does not print, and the slope of a surrogate that is neither a closure nor
    a callable with an informative ``repr``.
    """
    return {
        "repr": _ADDRESS.sub("", repr(model)),
        "parameters": {name: [list(p.shape), str(p.dtype)] for name, p in model.named_parameters()},
        "buffers": {name: [list(b.shape), str(b.dtype), _tensor_sha(b)] for name, b in model.named_buffers()},
    }


def recipe_fingerprint(optimizer: torch.optim.Optimizer, scheduler: Any, loss_fn: Callable, epochs: int,
                       batches: int | None = None, **extra: Any) -> dict[str, Any]:
    """What defines the training recipe: optimiser class and ``defaults``, parameter groups, scheduler settings, loss.

    ``epochs`` is recorded too; :func:`fingerprint_changes` lets a run grow
    (continue to more epochs) but not shrink below the epochs already done.
    ``batches`` is the number of batches per epoch, when the loader has a length.
    """
    recipe = {
        "optimizer": f"{type(optimizer).__module__}.{type(optimizer).__qualname__}",
        "optimizer defaults": {k: _settings(v) for k, v in sorted(optimizer.defaults.items())
                               if k != "params" and _settings(v) is not None or v is None},
        "parameter groups": [len(group["params"]) for group in optimizer.param_groups],
        "scheduler": None,
        "loss_fn": callable_name(loss_fn),
        "epochs": int(epochs),
        "batches per epoch": batches,
        **{k: _settings(v) for k, v in extra.items()},
    }
    if scheduler is not None:
        settings = {k: _settings(v) for k, v in sorted(scheduler.state_dict().items()) if k not in _SCHEDULER_STATE}
        recipe["scheduler"] = f"{type(scheduler).__module__}.{type(scheduler).__qualname__}"
        recipe["scheduler settings"] = {k: v for k, v in settings.items() if v is not None}
    return recipe


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fingerprint_changes(saved: dict[str, Any], model: torch.nn.Module, recipe: dict[str, Any],
                        saved_model_state: dict[str, torch.Tensor], epochs_done: int) -> list[str]:
    """Differences between a checkpoint's fingerprint and the ``model`` and ``recipe`` given now, in words.

    A buffer matches when it equals the value the checkpoint's run started from
    or the value saved in the checkpoint (the same model object, trained and
    given again). ``epochs`` may grow but not fall below ``epochs_done``. Keys of
    the optimiser's ``defaults`` that only one side has (a newer torch) are ignored.
    """
    changes: list[str] = []
    old_model, old_recipe = saved.get("model", {}), saved.get("recipe", {})
    now = model_fingerprint(model)
    if old_model.get("repr") != now["repr"]:
        diff = [line for line in difflib.unified_diff(str(old_model.get("repr")).splitlines(),
                                                      now["repr"].splitlines(), lineterm="", n=0)
                if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        shown = "; ".join(f"{'checkpoint' if line[0] == '-' else 'now'}: {line[1:].strip()}" for line in diff[:6])
        changes.append(f"the model's architecture/settings (repr) differ: {shown}"
                       + (f" (and {len(diff) - 6} more lines)" if len(diff) > 6 else ""))
    if old_model.get("parameters") != now["parameters"]:
        old_p, new_p = old_model.get("parameters", {}), now["parameters"]
        names = [n for n in sorted(set(old_p) | set(new_p)) if old_p.get(n) != new_p.get(n)]
        changes.append("parameters differ: " + "; ".join(
            f"{n}: checkpoint {old_p.get(n, 'absent')}, now {new_p.get(n, 'absent')}" for n in names[:5])
            + (f" (and {len(names) - 5} more)" if len(names) > 5 else ""))
    old_b = old_model.get("buffers", {})
    for name, (shape, dtype, sha) in now["buffers"].items():
        if name not in old_b:
            changes.append(f"buffer {name!r} is new")
            continue
        o_shape, o_dtype, o_sha = old_b[name]
        if (o_shape, o_dtype) != (shape, dtype):
            changes.append(f"buffer {name!r}: checkpoint {o_shape} {o_dtype}, now {shape} {dtype}")
        elif sha != o_sha and not (name in saved_model_state and _tensor_sha(saved_model_state[name]) == sha):
            changes.append(f"buffer {name!r} holds other values than the checkpoint's run started from "
                           "(a fixed setting such as beta or a threshold changed)")
    changes += [f"buffer {name!r} is gone" for name in old_b if name not in now["buffers"]]
    for key in sorted(set(old_recipe) | set(recipe)):
        old, new = old_recipe.get(key), recipe.get(key)
        if key == "epochs":
            if new is not None and new < epochs_done:
                changes.append(f"epochs={new}, but the checkpoint has {epochs_done} epochs done already")
        elif key == "optimizer defaults" and isinstance(old, dict) and isinstance(new, dict):
            changes += [f"optimizer {k}: checkpoint {_short(old[k])}, now {_short(new[k])}"
                        for k in sorted(set(old) & set(new)) if old[k] != new[k]]
        elif old != new:
            changes.append(f"{key}: checkpoint {_short(old)}, now {_short(new)}")
    return changes
