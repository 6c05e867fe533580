"""The model catalogue: every network of the course by name, trained once and shared by the labs.

>>> import labkit.zoo as zoo
>>> sorted(zoo.ENTRIES)[:3]
['alexnet-cifar', 'cifar-cnn', 'cifar-snn']

``zoo.get(name, seed=...)`` returns a :class:`Trained` network: its checkpoint
is loaded when one exists under the key of everything that changes the result
(entry, sizes, recipe, architecture, seed, code version); otherwise the network
trains now, with a progress bar and a checkpoint every epoch, so an interrupted
run resumes. ``python -m labkit.zoo`` (``make zoo``) trains the variants the labs
use (:func:`course`) ahead of time. An entry that keeps every epoch's weights
(``mnist-snn``) also gives the network as it was after any epoch: ``zoo.at_epoch(name, k)``.

* :mod:`~labkit.zoo.catalogue`: the entries, their recipes and quick/full sizes;
* :mod:`~labkit.zoo.store`: :func:`get`, checkpoint keys and the code version;
* :mod:`~labkit.zoo.alexnet`: AlexNet with ImageNet weights, or the catalogue's CIFAR-10 variant.
"""

from __future__ import annotations

from .alexnet import LoadedAlexNet, load_alexnet
from .catalogue import ENTRIES, Entry, course
from .store import Trained, at_epoch, checkpoint_path, code_version, data, entry, get, initial, settings

__all__ = ["get", "data", "initial", "at_epoch", "Trained", "ENTRIES", "course", "Entry", "entry", "settings", "checkpoint_path", "code_version",
           "load_alexnet", "LoadedAlexNet"]
