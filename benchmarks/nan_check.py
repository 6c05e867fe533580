"""Cost of :func:`labkit.train.fit`'s NaN/inf check: time spent in it, as a share of training time.

``fit`` checks every batch's loss, inputs and gradients for NaN and infinity
(one reduction to extremes, one host sync), and the weights and buffers before
every save. This script times that check inside ``fit`` (a wrapper around
``labkit.train.loop._finite``) for a toy MLP, a small convolutional SNN and two
of the labs' networks, on random data.

Usage::

    python benchmarks/nan_check.py [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("LABKIT_STATIC", "1")

import torch  # noqa: E402

import labkit  # noqa: E402
import labkit.train.loop as loop  # noqa: E402
from labkit.data import tensor_loader  # noqa: E402
from labkit.models import cifar_cnn, mnist_snn  # noqa: E402
from labkit.spiking import LIF, MeanOverTime, SpikingSequential  # noqa: E402


def _mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 2))


def _small_snn() -> torch.nn.Module:
    return SpikingSequential(torch.nn.Conv2d(1, 8, 3, padding=1), LIF(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                             torch.nn.Linear(8 * 14 * 14, 10), LIF(output="membrane"), MeanOverTime(), num_steps=4)


CASES = {  # name: (build, input shape, classes, samples, batch size)
    "toy MLP 4-64-64-2": (_mlp, (4,), 2, 4096, 64),
    "conv SNN, T=4": (_small_snn, (1, 28, 28), 10, 1024, 64),
    "models.mnist_snn(num_steps=8)": (lambda: mnist_snn(num_steps=8), (1, 28, 28), 10, 1024, 128),
    "models.cifar_cnn()": (cifar_cnn, (3, 32, 32), 10, 1024, 128),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    real = loop._finite
    spent = {"s": 0.0, "calls": 0}

    def timed(tensors):
        tensors = list(tensors)
        began = time.perf_counter()
        flag = real(tensors)
        bool(flag)  # include the host sync
        spent["s"] += time.perf_counter() - began
        spent["calls"] += 1
        return flag

    loop._finite = timed
    try:
        for name, (build, shape, classes, n, batch) in CASES.items():
            labkit.seed_everything(0)
            loader = tensor_loader(torch.rand(n, *shape), torch.randint(0, classes, (n,)), batch_size=batch)
            model = build()
            optimizer = torch.optim.Adam(model.parameters(), 1e-3)
            spent.update(s=0.0, calls=0)
            began = time.perf_counter()
            loop.fit(model, loader, optimizer, epochs=2, device=args.device, progress=False)
            total = time.perf_counter() - began
            print(f"{name:32s} training {total:6.2f} s, check {1e3 * spent['s']:7.1f} ms in {spent['calls']} calls "
                  f"({1e6 * spent['s'] / spent['calls']:.0f} us each) = {100 * spent['s'] / total:.2f} %")
    finally:
        loop._finite = real


if __name__ == "__main__":
    main()
