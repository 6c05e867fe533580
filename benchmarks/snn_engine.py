"""Training speed of labkit's SNN engine: distance from its floor, against snnTorch's loop, memory in T.

Two networks, all variants of each with the same initial weights, timed in this one process in
interleaved rounds (every variant once per round, so load from other processes hits all of them
alike); each round gives one ratio, and the table shows the median and the range over rounds.

**Residual SNN** (lab 07's :func:`labkit.models.resnet_snn`: width 16, depth 2, ``--stem-stride``
2 as in quick mode, T = 8, batch 128, 3x32x32 static input, cross-entropy on the mean readout
membrane, SGD step included):

* ``snn``: labkit's default execution for the device;
* ``snn_nchw_step``: stateless layers per time step in NCHW, the CPU default before 2026-11-29;
* the **floor**, the ANN twin (:func:`labkit.models.resnet_ann`) doing the same stateless work
  without neuron dynamics: the stem's convolution and batch norm once (the static input), then
  ReLU, blocks and head on every time step's input at batch 128, loss on the mean output:
  ``floor_step`` (one pass per step) and ``floor_fold`` (time folded into one batch of T x 128),
  each in NCHW and channels-last. The floor is the fastest of them in each round.

``overhead_vs_floor_resnet`` = ``snn`` time / floor time.

**Benchmark network** (2-conv + 2-linear SNN: conv(3->32) - maxpool - LIF - conv(32->64) -
maxpool - LIF - linear(4096->256) - LIF - linear(256->10) - non-spiking LIF readout, T = 8,
batch 128, Adam):

* ``snntorch_loop``: the per-time-step loop as in snnTorch's tutorials (baseline);
* ``labkit``: :class:`labkit.spiking.SpikingSequential`, default execution for the device;
* ``labkit_nchw_step``: per time step in NCHW (the CPU default before 2026-11-29);
* ``spikingjelly``: SpikingJelly multi-step mode (``SeqToANNContainer`` folding time into the
  batch, the image repeated over time), when importable (``pip install --no-deps spikingjelly
  loguru``). Its LIF differs from snnTorch's (reset timing, input scaling), so only throughput
  is comparable, not outputs.

``speedup_vs_snntorch_loop`` = ``snntorch_loop`` time / ``labkit`` time.

**Memory** (unless ``--no-memory``): for the residual SNN at T = 2, 4, 8, 16 (and the
benchmark network's variants at T = 8), each in a fresh subprocess, the growth of the peak
resident set over one training step (CPU; ``torch.cuda.max_memory_allocated`` on GPU), and the
bytes of activations autograd keeps for the backward pass (tensors saved for backward, each
storage counted once, parameters excluded), which is exact and free of allocator noise.

Like :func:`labkit.start`, the run first calls :func:`labkit.config.keep_freed_memory` (glibc
keeps freed memory for the next step instead of faulting it in again page by page; every variant
runs in this one process, so all get it); ``--malloc-default`` leaves glibc as it is.

The times are wall-clock seconds per training step; on CPU the table also gives process CPU
seconds per step (summed over threads, waiting threads' spinning included; with ``--threads 1``
the measure that other processes' load disturbs least). With two
threads on a machine whose cores other processes keep busy, every multi-threaded operation
waits for the second thread to be scheduled (measured here at load 11 on 2 cores: a LIF layer's
forward and backward took 476 ms with 2 threads, 13 ms with 1), so the wall-clock ratios then
count operations more than work: run it on an idle machine, or compare with ``--threads 1``.
The last two lines are machine-readable::

    overhead_vs_floor_resnet=<median ratio>
    speedup_vs_snntorch_loop=<median ratio>

Usage::

    python benchmarks/snn_engine.py [--device cpu|cuda] [--threads 2] [--rounds 3] [--iters 2]
                                    [--stem-stride 2] [--no-memory | --memory-only] [--malloc-default]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

T, BATCH, CLASSES, BETA = 8, 128, 10, 0.9
WIDTH, DEPTH = 16, 2
CL = torch.channels_last


def _configure(net: nn.Module, fold: bool | None, channels_last: bool | None) -> nn.Module:
    """Force an execution on every SpikingSequential inside ``net`` (``None``: the device default)."""
    from labkit.spiking import SpikingSequential

    for module in net.modules():
        if isinstance(module, SpikingSequential):
            module.fold = fold
            module.channels_last = channels_last  # an attribute older labkit versions ignore
    return net


# ----------------------------------------------------------------------------- benchmark network
def _layers():
    torch.manual_seed(0)
    return (nn.Conv2d(3, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1),
            nn.Linear(64 * 8 * 8, 256), nn.Linear(256, CLASSES))


def build_labkit(fold, channels_last, steps=T):
    from snntorch import surrogate

    from labkit.spiking import LIF, MeanOverTime, SpikingSequential

    c1, c2, l1, l2 = _layers()
    sg = surrogate.atan()
    net = SpikingSequential(
        c1, nn.MaxPool2d(2), LIF(BETA, spike_grad=sg), c2, nn.MaxPool2d(2), LIF(BETA, spike_grad=sg),
        nn.Flatten(), l1, LIF(BETA, spike_grad=sg), l2, LIF(BETA, spike_grad=sg, output="membrane"),
        MeanOverTime(), num_steps=steps)
    return _configure(net, fold, channels_last)


class SnntorchLoop(nn.Module):
    """The tutorial pattern: every layer called at every step, snn.Leaky with explicit state."""

    def __init__(self, steps=T):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        self.steps = steps
        self.c1, self.c2, self.l1, self.l2 = _layers()
        sg = surrogate.atan()
        self.lif1, self.lif2, self.lif3 = (snn.Leaky(beta=BETA, spike_grad=sg) for _ in range(3))
        self.lif4 = snn.Leaky(beta=BETA, spike_grad=sg, reset_mechanism="none")
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        mem1, mem2, mem3, mem4 = (lif.reset_mem() for lif in (self.lif1, self.lif2, self.lif3, self.lif4))
        out = []
        for _ in range(self.steps):
            spk1, mem1 = self.lif1(self.pool(self.c1(x)), mem1)
            spk2, mem2 = self.lif2(self.pool(self.c2(spk1)), mem2)
            spk3, mem3 = self.lif3(self.l1(spk2.flatten(1)), mem3)
            _, mem4 = self.lif4(self.l2(spk3), mem4)
            out.append(mem4)
        return torch.stack(out).mean(0)


class JellyNet(nn.Module):
    """SpikingJelly multi-step mode (time folded into the batch for stateless layers)."""

    def __init__(self, steps=T):
        super().__init__()
        from spikingjelly.activation_based import functional, layer, neuron, surrogate

        self.steps = steps
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
        self.net(x.unsqueeze(0).repeat(self.steps, 1, 1, 1, 1))
        return self._last.v_seq.mean(0)


# ----------------------------------------------------------------------------- residual networks
def build_resnet_snn(args, steps=T, fold=None, channels_last=None):
    from labkit.models import resnet_snn

    torch.manual_seed(0)
    return _configure(resnet_snn(steps, WIDTH, DEPTH, stem_stride=args.stem_stride), fold, channels_last)


class Floor(nn.Module):
    """The ANN twin doing the SNN's stateless work: stem conv + BN once, then every step's pass."""

    def __init__(self, args, fold: bool, channels_last: bool, steps=T):
        super().__init__()
        from labkit.models import resnet_ann

        torch.manual_seed(0)
        self.ann = resnet_ann(WIDTH, DEPTH, stem_stride=args.stem_stride)
        self.fold, self.channels_last, self.steps = fold, channels_last, steps

    def forward(self, x):
        if self.channels_last:
            x = x.contiguous(memory_format=CL)
        conv, bn, relu = self.ann.body[0]
        static = bn(conv(x))  # the static leading layers, once
        blocks = list(self.ann.body)[1:]

        def rest(h):
            h = relu(h)
            for block in blocks:
                h = block(h)
            return self.ann.head(h)

        if self.fold:
            batch = torch.cat([static] * self.steps)  # keeps the layout of static
            return rest(batch).reshape(self.steps, -1, CLASSES).mean(0)
        return torch.stack([rest(static) for _ in range(self.steps)]).mean(0)


def build(variant, args, steps=T):
    if variant == "snntorch_loop":
        return SnntorchLoop(steps)
    if variant == "spikingjelly":
        return JellyNet(steps)
    if variant == "labkit":
        return build_labkit(None, None, steps)
    if variant == "labkit_nchw_step":
        return build_labkit(False, False, steps)
    if variant == "snn":
        return build_resnet_snn(args, steps)
    if variant == "snn_nchw_step":
        return build_resnet_snn(args, steps, fold=False, channels_last=False)
    if variant.startswith("floor_"):
        _, how, layout = variant.split("_")
        return Floor(args, fold=how == "fold", channels_last=layout == "cl", steps=steps)
    raise ValueError(f"unknown variant {variant!r}")


RESNET = ["snn", "snn_nchw_step", "floor_step_nchw", "floor_step_cl", "floor_fold_nchw", "floor_fold_cl"]
ENGINE = ["snntorch_loop", "labkit", "labkit_nchw_step", "spikingjelly"]


def _available(variant):
    if variant != "spikingjelly":
        return True
    try:
        import spikingjelly.activation_based  # noqa: F401
    except Exception:
        return False
    return True


class Trainer:
    """One variant's model, optimiser and data; ``step()`` is one training step."""

    def __init__(self, variant, args, steps=T):
        torch.manual_seed(1)
        self.device = args.device
        self.x = torch.rand(BATCH, 3, 32, 32, device=args.device)
        self.y = torch.randint(0, CLASSES, (BATCH,), device=args.device)
        self.model = build(variant, args, steps).to(args.device)
        resnet = variant in RESNET
        self.opt = (torch.optim.SGD(self.model.parameters(), lr=1e-2, momentum=0.9) if resnet
                    else torch.optim.Adam(self.model.parameters(), lr=1e-3))
        self.loss_fn = nn.CrossEntropyLoss()

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def timed(self, iters):
        """Wall and process-CPU seconds per step over ``iters`` steps."""
        if self.device == "cuda":
            torch.cuda.synchronize()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(iters):
            loss = self.step()
        loss.item()
        if self.device == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - wall) / iters, (time.process_time() - cpu) / iters


# ----------------------------------------------------------------------------- memory (child process)
def saved_activation_bytes(trainer):
    """Bytes autograd saves for backward in one forward pass (each storage once, parameters excluded)."""
    params = {p.untyped_storage().data_ptr() for p in trainer.model.parameters()}
    seen = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = trainer.loss_fn(trainer.model(trainer.x), trainer.y)
    loss.backward()
    return sum(seen.values())


def _status_kb(key):
    """A ``/proc/self/status`` field in kB (Linux), else the peak RSS from ``getrusage``."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(key + ":"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_memory(variant, args, steps):
    torch.set_num_threads(args.threads)
    trainer = Trainer(variant, args, steps)
    if args.device == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        try:  # reset the peak resident set (VmHWM) to the current one: Linux >= 4.0
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")
        except OSError:
            pass
        base = _status_kb("VmRSS")
    trainer.step()
    if args.device == "cuda":
        torch.cuda.synchronize()
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak = (_status_kb("VmHWM") - base) / 1024
    saved = saved_activation_bytes(trainer) / 2**20
    return {"variant": variant, "steps": steps, "peak_mb": peak, "saved_mb": saved}


def _keep_freed_memory():
    try:
        from labkit.config import keep_freed_memory
    except ImportError:  # labkit before 2026-11-29
        return False
    return keep_freed_memory()


def _child(args, variant, steps):
    cmd = [sys.executable, __file__, "--child", variant, "--child-steps", str(steps), "--device", args.device,
           "--threads", str(args.threads), "--stem-stride", str(args.stem_stride)]
    if args.malloc_default:
        cmd.append("--malloc-default")
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"memory child {variant} T={steps} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- report
def _spread(values):
    return f"{statistics.median(values):5.2f} [{min(values):.2f}-{max(values):.2f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=2, help="timed steps per variant and round")
    parser.add_argument("--stem-stride", type=int, default=2, help="2: quick-mode size (16x16 maps); 1: full")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    parser.add_argument("--memory-only", action="store_true", help="only the memory measurements")
    parser.add_argument("--malloc-default", action="store_true",
                        help="leave glibc's malloc as it is (default: labkit.config.keep_freed_memory(), as labkit.start)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-steps", type=int, default=T, help=argparse.SUPPRESS)
    args = parser.parse_args()
    kept = False if args.malloc_default else _keep_freed_memory()
    if args.child:
        print(json.dumps(measure_memory(args.child, args, args.child_steps)))
        return 0

    torch.set_num_threads(args.threads)
    variants = [v for v in RESNET + ENGINE if _available(v)]
    if "spikingjelly" not in variants:
        print("spikingjelly  skipped (not installed: pip install --no-deps spikingjelly loguru)")
    print(f"freed memory kept for reuse (labkit.config.keep_freed_memory): {kept}")
    if not args.memory_only:
        overhead, speedup = timing(args, variants)
    if not args.no_memory:
        memory(args, variants)
    if not args.memory_only:
        print(f"\noverhead_vs_floor_resnet={statistics.median(overhead):.2f}")
        print(f"speedup_vs_snntorch_loop={statistics.median(speedup):.2f}")
    return 0


def timing(args, variants):
    """Time every variant in interleaved rounds, print the tables; return the per-round headline ratios."""
    trainers = {v: Trainer(v, args) for v in variants}
    for trainer in trainers.values():  # warm-up: allocations, oneDNN primitives
        trainer.step()
    times = {v: [] for v in variants}
    for r in range(args.rounds):
        for v in variants:
            times[v].append(trainers[v].timed(args.iters))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    cpu = args.device == "cpu"
    floors = [v for v in variants if v.startswith("floor_")]
    floor_wall = [min(times[f][r][0] for f in floors) for r in range(args.rounds)]
    floor_cpu = [min(times[f][r][1] for f in floors) for r in range(args.rounds)]
    print(f"\ndevice {args.device}, {args.threads} threads, batch {BATCH}, T={T}, {args.rounds} rounds x "
          f"{args.iters} timed steps; median [range] over rounds")
    print(f"\nresidual SNN (width {WIDTH}, depth {DEPTH}, stem stride {args.stem_stride}): seconds per training step")
    header = f"{'variant':17s} {'wall s':>6s} {'x floor (wall)':>20s}"
    print(header + (f" {'cpu s':>6s} {'x floor (cpu)':>20s}" if cpu else ""))
    for v in RESNET:
        wall = [t[0] for t in times[v]]
        line = f"{v:17s} {statistics.median(wall):6.3f} {_spread([w / f for w, f in zip(wall, floor_wall)]):>20s}"
        if cpu:
            c = [t[1] for t in times[v]]
            line += f" {statistics.median(c):6.3f} {_spread([a / f for a, f in zip(c, floor_cpu)]):>20s}"
        print(line)
    overhead = [times["snn"][r][0] / floor_wall[r] for r in range(args.rounds)]

    print("\nbenchmark network (2 conv + 2 linear, Adam): images per second")
    base = times["snntorch_loop"]
    print(f"{'variant':17s} {'img/s':>7s} {'x loop (wall)':>20s}" + (f" {'x loop (cpu)':>20s}" if cpu else ""))
    for v in [v for v in ENGINE if v in variants]:
        line = (f"{v:17s} {BATCH / statistics.median(t[0] for t in times[v]):7.1f} "
                f"{_spread([b[0] / t[0] for b, t in zip(base, times[v])]):>20s}")
        if cpu:
            line += f" {_spread([b[1] / t[1] for b, t in zip(base, times[v])]):>20s}"
        print(line)
    speedup = [b[0] / t[0] for b, t in zip(base, times["labkit"])]
    if "spikingjelly" in variants:
        jelly = [j[0] / t[0] for j, t in zip(times["spikingjelly"], times["labkit"])]
        print(f"labkit vs spikingjelly (wall): {_spread(jelly)}x")

    return overhead, speedup


def memory(args, variants):
    """Peak memory and saved activations of the residual SNN against T, and of the benchmark network's variants."""
    print("\nmemory: growth of the peak over one training step, and activations saved for backward (MB)")
    print(f"{'variant':17s} {'T':>3s} {'peak MB':>8s} {'saved MB':>9s}")
    saved = {}
    for steps in (2, 4, 8, 16):
        m = _child(args, "snn", steps)
        saved[steps] = m["saved_mb"]
        print(f"{'snn':17s} {steps:3d} {m['peak_mb']:8.0f} {m['saved_mb']:9.1f}")
    small, large = (saved[4] - saved[2]) / 2, (saved[16] - saved[8]) / 8
    growth = "linear in T" if abs(large / small - 1) < 0.05 else "NOT linear in T"
    print(f"saved activations per time step: {small:.1f} MB (T 2->4), {large:.1f} MB (T 8->16): {growth}")
    for v in [v for v in ENGINE if v in variants]:
        m = _child(args, v, T)
        print(f"{v:17s} {T:3d} {m['peak_mb']:8.0f} {m['saved_mb']:9.1f}")


if __name__ == "__main__":
    sys.exit(main())
