"""All-layer-pairs CKA over 10,000 inputs: labkit's minibatch path against n x n Gram matrices.

Two "networks" of 6 layers each, with 64, 128, 256, 512, 1024 and 2048 features, see the
same ``n`` inputs (synthetic features driven by a shared latent code, generated batch by
batch from fixed seeds, so every variant sees the same numbers). Debiased linear CKA of
all 6 x 6 layer pairs, measured in this one run, each variant in a fresh subprocess:

* ``labkit_minibatch``: :class:`labkit.analysis.cka.MinibatchCKA`, batches of ``--batch`` inputs
  streamed in (Nguyen et al., 2021): only ``batch x batch`` Grams, all 36 pairs;
* ``labkit_exact``: :func:`labkit.analysis.cka.linear_cka` (``debiased=True``, form chosen
  automatically: feature space here) on the full ``n`` inputs;
* ``gram``: the straightforward Gram-matrix implementation, Kornblith et al.'s reference
  code (``cka(gram_linear(x), gram_linear(y), debiased=True)``) in torch float64, with
  ``n x n`` Grams (800 MB each at n = 10,000).

To keep the run short, ``labkit_exact`` and ``gram`` compute only the 6 diagonal pairs
(i, i), which contain every layer once on each side, and their times are scaled by 6 to
36 pairs. For ``gram`` this scaling is exact in operation count (the Gram products cost
``n^2 (d_i + d_j)`` and the centring ``n^2`` per pair); for ``labkit_exact`` it is an
upper bound (feature space costs ``n (d_i^2 + d_j^2 + d_i d_j)`` per pair, and
``6 * sum(d_i^2) >= (sum d_i)^2``). Timings exclude generating the features. Peak memory is the child process's
peak resident set (``ru_maxrss``) and its growth over the RSS after imports, which for
the full-data variants includes the ``n x 8064`` float32 features they need at once.

The last line is machine-readable: ``speedup_vs_gram=<ratio>`` (``gram`` scaled time over
``labkit_minibatch`` time).

Usage::

    python benchmarks/cka.py [--n 10000] [--batch 500] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

DIMS = (64, 128, 256, 512, 1024, 2048)
LATENT = 32


def _weights(net: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(100 + net)
    return [torch.randn(LATENT, d, generator=g) / LATENT ** 0.5 for d in DIMS]


def chunk(k: int, size: int, weights: tuple[list[torch.Tensor], list[torch.Tensor]]):
    """Features ``[size, d]`` of both networks for input chunk ``k`` (float32, like recorded activations)."""
    g = torch.Generator().manual_seed(10_000 + k)
    z = torch.randn(size, LATENT, generator=g)
    feats_x = [torch.relu(z @ w + 0.5 * torch.randn(size, w.shape[1], generator=g)) for w in weights[0]]
    feats_y = [torch.tanh(z @ w) + 0.5 * torch.randn(size, w.shape[1], generator=g) for w in weights[1]]
    return feats_x, feats_y


def _chunks(n: int, batch: int):
    weights = (_weights(0), _weights(1))
    for k, lo in enumerate(range(0, n, batch)):
        yield chunk(k, min(batch, n - lo), weights)


def _full(n: int, batch: int):
    parts = list(_chunks(n, batch))
    return ([torch.cat([p[0][i] for p in parts]) for i in range(len(DIMS))],
            [torch.cat([p[1][i] for p in parts]) for i in range(len(DIMS))])


# ---- the straightforward Gram implementation (Kornblith et al.'s Demo.ipynb, in torch) -----------

def gram_linear(x: torch.Tensor) -> torch.Tensor:
    return x @ x.T


def center_gram(gram: torch.Tensor, unbiased: bool = False) -> torch.Tensor:
    """Centre an n x n Gram matrix (U-centring from labkit when unbiased, as in Kornblith's notebook)."""
    from labkit.analysis.cka import unbiased_center_gram

    if unbiased:
        return unbiased_center_gram(gram)
    means = gram.mean(0)
    means = means - means.mean() / 2
    return gram - means[:, None] - means[None, :]


def gram_cka(gram_x: torch.Tensor, gram_y: torch.Tensor, debiased: bool = False) -> float:
    gram_x = center_gram(gram_x, unbiased=debiased)
    gram_y = center_gram(gram_y, unbiased=debiased)
    scaled_hsic = gram_x.flatten().dot(gram_y.flatten())
    return float(scaled_hsic / (gram_x.norm() * gram_y.norm()))


# ---- variants -----------------------------------------------------------------------------------

def _largest_intermediate(fn) -> int:
    """Most elements of any tensor that torch creates while ``fn()`` runs."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Largest(TorchDispatchMode):
        largest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor):
                    Largest.largest = max(Largest.largest, t.numel())
            return out

    with Largest():
        fn()
    return Largest.largest


def run_minibatch(n: int, batch: int) -> dict:
    from labkit.analysis.cka import MinibatchCKA

    acc, seconds = MinibatchCKA(len(DIMS), len(DIMS)), 0.0
    for feats_x, feats_y in _chunks(n, batch):
        began = time.perf_counter()
        acc.update(feats_x, feats_y)
        seconds += time.perf_counter() - began
    began = time.perf_counter()
    out = acc.compute()
    seconds += time.perf_counter() - began
    return {"seconds": seconds, "pairs": out.numel(), "scale": 1, "diag": out.diagonal().tolist()}


def run_exact(n: int, batch: int) -> dict:
    from labkit.analysis.cka import linear_cka

    xs, ys = _full(n, batch)
    began = time.perf_counter()
    diag = [float(linear_cka(x, y, debiased=True)) for x, y in zip(xs, ys)]
    return {"seconds": time.perf_counter() - began, "pairs": len(diag), "scale": len(DIMS), "diag": diag}


def run_gram(n: int, batch: int) -> dict:
    xs, ys = _full(n, batch)
    began = time.perf_counter()
    diag = [gram_cka(gram_linear(x.double()), gram_linear(y.double()), debiased=True) for x, y in zip(xs, ys)]
    return {"seconds": time.perf_counter() - began, "pairs": len(diag), "scale": len(DIMS), "diag": diag}


VARIANTS = {"labkit_minibatch": run_minibatch, "labkit_exact": run_exact, "gram": run_gram}


def measure(variant: str, n: int, batch: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    import labkit.analysis.cka  # noqa: F401  (imports before the baseline RSS)

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = VARIANTS[variant](n, batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if variant == "labkit_minibatch":  # after the peak was read: the check itself costs memory
        from labkit.analysis.cka import MinibatchCKA

        first = next(_chunks(batch, batch))
        result["largest_elems"] = _largest_intermediate(
            lambda: MinibatchCKA(len(DIMS), len(DIMS)).update(*first))
    return {"variant": variant, "peak_mb": peak / 1024, "growth_mb": (peak - rss0) / 1024, **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of inputs (default 10,000)")
    parser.add_argument("--batch", type=int, default=500, help="minibatch size (default 500)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.n < 4 or args.batch < 4:
        parser.error("--n and --batch must be at least 4")
    if args.child:
        print(json.dumps(measure(args.child, args.n, args.batch, args.threads)))
        return 0

    results = {}
    for variant in VARIANTS:
        out = subprocess.run([sys.executable, __file__, "--child", variant, "--n", str(args.n),
                              "--batch", str(args.batch), "--threads", str(args.threads)],
                             capture_output=True, text=True, check=True)
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    mini, exact, gram = results["labkit_minibatch"], results["labkit_exact"], results["gram"]
    nn_mb = args.n * args.n * 8 / 2**20
    print(f"n={args.n} inputs, 6 x 6 layer pairs, dims {list(DIMS)}, debiased CKA, batch {args.batch}, "
          f"{args.threads} threads")
    print("labkit_exact and gram ran the 6 diagonal pairs; their times are scaled x6 to 36 pairs.")
    print(f"{'variant':17s} {'pairs run':>9s} {'s (36 pairs)':>12s} {'x gram':>7s} {'peak MB':>8s} {'growth MB':>9s}")
    for name, r in results.items():
        scaled = r["seconds"] * r["scale"]
        print(f"{name:17s} {r['pairs']:9d} {scaled:12.2f} {gram['seconds'] * gram['scale'] / scaled:7.1f} "
              f"{r['peak_mb']:8.0f} {r['growth_mb']:9.0f}")
    agree_exact = max(abs(a - b) for a, b in zip(exact["diag"], gram["diag"]))
    agree_mini = max(abs(a - b) for a, b in zip(mini["diag"], gram["diag"]))
    print(f"max |labkit_exact - gram| on the diagonal pairs: {agree_exact:.1e} (same estimator)")
    print(f"max |labkit_minibatch - gram| on the diagonal pairs: {agree_mini:.3f} "
          f"(minibatch estimator, batch {args.batch})")
    print(f"largest tensor in labkit_minibatch's update: {mini['largest_elems']:,} elements "
          f"(an n x n matrix: {args.n * args.n:,} elements, {nn_mb:.0f} MB in float64)")
    print(f"speedup_exact_vs_gram={gram['seconds'] * gram['scale'] / (exact['seconds'] * exact['scale']):.1f}")
    print(f"speedup_vs_gram={gram['seconds'] * gram['scale'] / mini['seconds']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
