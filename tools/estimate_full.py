"""Estimate the wall time of every lab's full-mode training on the machine at hand.

For each network the labs use (``labkit.zoo.course(quick=False)``) this builds
the full-size model, times a few training steps at the full batch size on random
inputs of the right shape, and multiplies by the steps of the full recipe
(``epochs * ceil(n_train / batch_size)``, plus one validation pass per epoch at a
third of a training step's cost per image). Networks are trained once and shared
by every lab that uses them, so a lab's time is the sum over the networks it
uses that no earlier lab trained.

Usage: ``python tools/estimate_full.py [--device cuda] [--steps 3]``; the last
line is ``total_hours=<estimate for all labs>``.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import torch

from labkit import seed_everything
from labkit.data import ImageSet
from labkit.train import Recipe
from labkit.zoo import ENTRIES, course, settings
from labkit.zoo.catalogue import RECIPE_KEYS, SIZE_KEYS
from labkit.zoo.events import EVENT_BINS

LAB_OF = {"mnist-snn": "02", "cifar-cnn": "03", "cifar-snn": "03", "alexnet-cifar": "04",
          "resnet-ann": "07", "resnet-snn": "07", "localiser-ann": "08", "localiser-snn": "08"}
LAB_OF.update({"mnist-sae": "06", "mnist-ae": "06", "event-sae": "06", "event-snn": "06"})
SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
# entries whose prepare turns images into other inputs: event recordings [T, 2, 28, 28]
INPUT_SHAPES = {"event-sae": (EVENT_BINS, 2, 28, 28), "event-snn": (EVENT_BINS, 2, 28, 28)}
TRAIN_SIZE = {"mnist": 60_000, "cifar10": 50_000}


def seconds_per_step(name: str, config: dict, device: torch.device, steps: int) -> float:
    """Median wall time of one training step (forward, backward, optimiser) at the full batch size."""
    arch = {k: v for k, v in config.items() if k not in SIZE_KEYS and k not in RECIPE_KEYS}
    recipe = Recipe(**{k: config[k] for k in RECIPE_KEYS if k in config})
    seed_everything(0)
    spec = ENTRIES[name]
    model = spec.build(**arch).to(device).train()
    optimizer = recipe.optimizer_for(model)
    x = torch.rand(recipe.batch_size, *INPUT_SHAPES.get(name, SHAPES[ENTRIES[name].dataset]), device=device)
    y = torch.randint(0, 10, (recipe.batch_size,), device=device)
    loss_fn = recipe.loss() if spec.loss is None else spec.loss
    if spec.prepare is not None and name not in INPUT_SHAPES:  # a task made from the images (e.g. canvases with boxes): one real batch, repeated
        toy = ImageSet(torch.rand(8, *SHAPES[spec.dataset]), torch.arange(8), [str(i) for i in range(10)], "toy",
                       "test", "random images")
        inputs, targets = next(iter(spec.prepare(toy).loader(batch_size=8)))
        repeat = lambda t: t.repeat_interleave(-(-recipe.batch_size // 8), dim=0)[:recipe.batch_size].to(device)  # noqa: E731
        x = repeat(inputs)
        y = tuple(repeat(t) for t in targets) if isinstance(targets, (tuple, list)) else repeat(targets)
    times = []
    for _ in range(steps + 1):  # the first step warms up
        if device.type == "cuda":
            torch.cuda.synchronize()
        began = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        (ENTRIES[name].loss or recipe.loss())(model(x), y).backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - began)
    return sorted(times[1:])[len(times[1:]) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    machine = (torch.cuda.get_device_name(device) if device.type == "cuda"
               else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    print(f"machine: {machine}")
    per_lab: dict[str, float] = {}
    print(f"{'lab':>3s} {'network':14s} {'variant':24s} {'s/step':>7s} {'steps':>7s} {'hours':>7s}")
    for name, seed, overrides in course(quick=False):
        config = settings(name, False, **overrides)
        n_train = config["n_train"] or TRAIN_SIZE[ENTRIES[name].dataset] - config["n_val"]
        batch = config.get("batch_size", Recipe(epochs=1).batch_size)
        steps = config["epochs"] * math.ceil(n_train / batch)
        step_s = seconds_per_step(name, config, device, args.steps)
        hours = steps * step_s * (1 + config["n_val"] / n_train / 3) / 3600
        lab = LAB_OF[name]
        per_lab[lab] = per_lab.get(lab, 0.0) + hours
        variant = ", ".join(f"{k}={v}" for k, v in overrides.items()) or f"seed {seed}"
        print(f"{lab:>3s} {name:14s} {variant:24s} {step_s:7.3f} {steps:7d} {hours:7.2f}", flush=True)
    for lab, hours in sorted(per_lab.items()):
        print(f"lab_{lab}_hours={hours:.2f}")
    print(f"total_hours={sum(per_lab.values()):.2f}")


if __name__ == "__main__":
    main()
