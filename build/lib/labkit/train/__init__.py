"""Train: one loop (:func:`fit`), its history and evaluation, checkpoints, and the labs' recipes.

* :mod:`~labkit.train.loop`: :func:`fit` with any loss and a dict of metrics, :func:`evaluate`, :class:`History`;
* :mod:`~labkit.train.checkpoint`: atomic, checksummed checkpoints that never run code, the random
  state a resumed run restores, and the fingerprint that keeps a stale checkpoint from being reused;
* :mod:`~labkit.train.recipes`: :class:`Recipe` and :func:`train_model`, how the model catalogue
  (:mod:`labkit.zoo`) trains every classifier of the course.

Data splits are honest: ``fit`` evaluates a validation split of the training
data (for choosing epochs and settings); the test set is evaluated once, at the
end, with :func:`evaluate`, and every curve and table names the data it shows.
"""

from __future__ import annotations

from .checkpoint import CheckpointError, CheckpointMismatchError, epoch_weights, load_checkpoint, save_checkpoint
from .loop import History, NonFiniteError, accuracy, evaluate, fit
from .recipes import Recipe, train_model

__all__ = ["fit", "evaluate", "accuracy", "History", "Recipe", "train_model", "save_checkpoint", "load_checkpoint",
           "epoch_weights",
           "CheckpointError", "CheckpointMismatchError", "NonFiniteError"]
