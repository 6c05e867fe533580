"""``python -m labkit.zoo [--full] [--list]``: train (or check) the networks the labs use, and report them."""

from __future__ import annotations

import argparse
import time

from ..config import keep_freed_memory
from . import ENTRIES, course, get


def main(argv: list[str] | None = None) -> int:
    """Train every variant of :func:`labkit.zoo.course` that has no checkpoint yet; print a table."""
    parser = argparse.ArgumentParser(prog="python -m labkit.zoo", description=__doc__)
    parser.add_argument("--full", action="store_true", help="full sizes (default: quick sizes)")
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, spec in ENTRIES.items():
            print(f"{name:14s} {spec.summary}")
        return 0
    quick = not args.full
    keep_freed_memory()  # training steps reuse their memory instead of faulting it in again (labkit.config)
    began = time.perf_counter()
    print(f"{'network':14s} {'seed':>4s} {'variant':28s} {'test score':>14s} {'train s':>8s}")
    for name, seed, overrides in course(quick):
        start = time.perf_counter()
        net = get(name, seed=seed, quick=quick, progress=True, **overrides)
        variant = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "-"
        metric = "acc" if "acc" in net.test else next(k for k in net.test if k != "loss") if len(net.test) > 1 else "loss"
        score = f"acc {100 * net.test_acc:.1f}%" if metric == "acc" else f"{metric} {net.test[metric]:.3f}"
        print(f"{name:14s} {seed:4d} {variant:28s} {score:>14s} {time.perf_counter() - start:8.1f}", flush=True)
    print(f"catalogue ready in {time.perf_counter() - began:.0f} s ({'quick' if quick else 'full'} sizes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
