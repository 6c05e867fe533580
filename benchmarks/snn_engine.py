"""Training throughput and peak memory of labkit's SNN engine against the usual alternatives.

Network: conv(3->32, 3x3) - maxpool - LIF - conv(32->64, 3x3) - maxpool - LIF - linear(4096->256) -
LIF - linear(256->10) - non-spiking LIF readout, T = 8 steps, batch 128, 3x32x32 static input
(an image shown at every step), cross-entropy on the mean output membrane, Adam.

Variants, all with the same initial weights, measured in this one run:

* ``snntorch_loop``: the per-time-step loop written as in snnTorch's tutorials (baseline);
* ``labkit``: :class:`labkit.spiking.SpikingSequential` with its default execution for the device;
* ``labkit_fold`` / ``labkit_step``: the engine forced to fold time into the batch / run per step;
* ``spikingjelly``: SpikingJelly multi-step mode (``pip install --no-deps spikingjelly loguru``),
  when importable. Its LIF differs from snnTorch's (reset timing, surrogate scale), so only
  throughput is comparable, not outputs.

Each variant runs in a fresh subprocess so its peak memory (CPU: peak RSS growth; GPU:
``torch.cuda.max_memory_allocated``) is its own. The last line is machine-readable:
``speedup_vs_snntorch_loop=<ratio>`` (labkit default vs the baseline).

Usage::

    python benchmarks/snn_engine.py [--device cpu|cuda] [--iters 6] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch
from torch import nn

T, BATCH, CLASSES, BETA = 8, 128, 10, 0.9


def _layers():
    torch.manual_seed(0)
    return (nn.Conv2d(3, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1),
            nn.Linear(64 * 8 * 8, 256), nn.Linear(256, CLASSES))


def build_labkit(fold):
    from snntorch import surrogate

    from labkit.spiking import LIF, MeanOverTime, SpikingSequential

    c1, c2, l1, l2 = _layers()
    sg = surrogate.atan()
    return SpikingSequential(
        c1, nn.MaxPool2d(2), LIF(BETA, spike_grad=sg), c2, nn.MaxPool2d(2), LIF(BETA, spike_grad=sg),
        nn.Flatten(), l1, LIF(BETA, spike_grad=sg), l2, LIF(BETA, spike_grad=sg, output="membrane"),
        MeanOverTime(), num_steps=T, fold=fold)


class SnntorchLoop(nn.Module):
    """The tutorial pattern: every layer called at every step, snn.Leaky with explicit state."""

    def __init__(self):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        self.c1, self.c2, self.l1, self.l2 = _layers()
        sg = surrogate.atan()
        self.lif1, self.lif2, self.lif3 = (snn.Leaky(beta=BETA, spike_grad=sg) for _ in range(3))
        self.lif4 = snn.Leaky(beta=BETA, spike_grad=sg, reset_mechanism="none")
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        mem1, mem2, mem3, mem4 = (lif.reset_mem() for lif in (self.lif1, self.lif2, self.lif3, self.lif4))
        out = []
        for _ in range(T):
            spk1, mem1 = self.lif1(self.pool(self.c1(x)), mem1)
            spk2, mem2 = self.lif2(self.pool(self.c2(spk1)), mem2)
            spk3, mem3 = self.lif3(self.l1(spk2.flatten(1)), mem3)
            _, mem4 = self.lif4(self.l2(spk3), mem4)
            out.append(mem4)
        return torch.stack(out).mean(0)


class JellyNet(nn.Module):
    """SpikingJelly multi-step mode (time folded into the batch for stateless layers)."""

    def __init__(self):
        super().__init__()
        from spikingjelly.activation_based import functional, layer, neuron, surrogate

        c1, c2, l1, l2 = _layers()
        tau = 1 / (1 - BETA)  # same decay per step, other input scaling

        def lif(**kw):
            return neuron.LIFNode(tau=tau, surrogate_function=surrogate.ATan(), detach_reset=True, **kw)

        self.net = nn.Sequential(
            layer.SeqToANNContainer(c1, nn.MaxPool2d(2)), lif(),
            layer.SeqToANNContainer(c2, nn.MaxPool2d(2)), lif(),
            layer.SeqToANNContainer(nn.Flatten(), l1), lif(),
            layer.SeqToANNContainer(l2), lif(v_threshold=float("inf"), store_v_seq=True),
        )
        functional.set_step_mode(self.net, "m")
        self._reset = functional.reset_net
        self._last = self.net[-1]

    def forward(self, x):
        self._reset(self.net)
        self.net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1))
        return self._last.v_seq.mean(0)


def build(variant):
    if variant == "snntorch_loop":
        return SnntorchLoop()
    if variant == "spikingjelly":
        return JellyNet()
    return build_labkit({"labkit": None, "labkit_fold": True, "labkit_step": False}[variant])


def measure(variant, device, iters, threads):
    """Train ``iters`` steps after two warm-up steps; return images/s and peak memory in MB."""
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.rand(BATCH, 3, 32, 32, device=device)
    y = torch.randint(0, CLASSES, (BATCH,), device=device)
    model = build(variant).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(2):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    began = time.perf_counter()
    for _ in range(iters):
        loss = step()
    loss.item()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - began
    if device == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    return {"variant": variant, "images_per_s": iters * BATCH / seconds, "peak_mb": peak_mb}


def _available(variant):
    if variant != "spikingjelly":
        return True
    try:
        import spikingjelly.activation_based  # noqa: F401
    except Exception:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--iters", type=int, default=6)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.device, args.iters, args.threads)))
        return 0

    variants = ["snntorch_loop", "labkit", "labkit_fold", "labkit_step", "spikingjelly"]
    results = {}
    for variant in variants:
        if not _available(variant):
            print(f"{variant:14s}  skipped (not installed: pip install --no-deps spikingjelly loguru)")
            continue
        out = subprocess.run([sys.executable, __file__, "--child", variant, "--device", args.device,
                              "--iters", str(args.iters), "--threads", str(args.threads)],
                             capture_output=True, text=True, check=True)
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["snntorch_loop"]
    print(f"device {args.device}, {args.threads} threads, T={T}, batch {BATCH}, {args.iters} timed steps")
    print(f"{'variant':14s} {'images/s':>9s} {'x loop':>7s} {'peak MB':>8s} {'x loop':>7s}")
    for name, r in results.items():
        print(f"{name:14s} {r['images_per_s']:9.1f} {r['images_per_s'] / base['images_per_s']:7.2f} "
              f"{r['peak_mb']:8.0f} {r['peak_mb'] / max(base['peak_mb'], 1e-9):7.2f}")
    if "spikingjelly" in results:
        ratio = results["labkit"]["images_per_s"] / results["spikingjelly"]["images_per_s"]
        print(f"speedup_vs_spikingjelly={ratio:.2f}")
    print(f"speedup_vs_snntorch_loop={results['labkit']['images_per_s'] / base['images_per_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
