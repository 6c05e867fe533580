"""labkit.spiking against snnTorch: same outputs, membranes and gradients (float64, 1e-6).

snnTorch's surrogate functions return ``(u > 0).float()``, so even in a float64 run the
gradients through its spikes pass through float32 (relative error ~1e-7). Gradients are
therefore compared to 1e-6 absolute *or* relative; spikes must be identical and
membranes equal to 1e-6 absolute.
"""

import pytest
import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

from labkit.analysis import record_features, spiking_layers
from labkit.models import resnet_snn
from labkit.spiking import (LIF, MeanOverTime, SpikingSequential, SumOverTime, default_channels_last, default_fold,
                            lif_multistep, lif_reference, stable_sigmoid, surrogate_derivative)
from labkit.spiking.surrogate import surrogate_inplace_vjp

SURROGATES = {
    "atan": lambda: surrogate.atan(alpha=2.0),
    "fast_sigmoid": lambda: surrogate.fast_sigmoid(slope=25),
    "sigmoid": lambda: surrogate.sigmoid(slope=5),
    "ste": lambda: surrogate.straight_through_estimator(),
    "triangular": lambda: surrogate.triangular(),
    "stable_sigmoid": lambda: stable_sigmoid(5.0),
}


def _snntorch_loop(x, beta, threshold, spike_grad, reset, reset_delay, learn_beta, learn_threshold):
    neuron = snn.Leaky(beta=beta, threshold=threshold, spike_grad=spike_grad, reset_mechanism=reset,
                       reset_delay=reset_delay, learn_beta=learn_beta, learn_threshold=learn_threshold)
    neuron = neuron.double()
    mem = neuron.reset_mem()
    spks, mems = [], []
    for t in range(x.shape[0]):
        spk, mem = neuron(x[t], mem)
        spks.append(spk)
        mems.append(mem)
    return torch.stack(spks).double(), torch.stack(mems), neuron


@pytest.mark.parametrize("surr", sorted(SURROGATES))
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("reset_delay", [True, False])
@pytest.mark.parametrize("learn", [False, True])
def test_lif_matches_snntorch_leaky(surr, reset, reset_delay, learn):
    torch.manual_seed(0)
    T, B, N = 12, 3, 7
    x_ref = (torch.randn(T, B, N, dtype=torch.float64) * 0.8 + 0.4).requires_grad_()
    x_lab = x_ref.detach().clone().requires_grad_()
    w_out = torch.randn(T, B, N, dtype=torch.float64)  # loss weights for spikes
    w_mem = torch.randn(T, B, N, dtype=torch.float64)  # and for membranes

    spk_ref, mem_ref, neuron = _snntorch_loop(x_ref, 0.8, 1.0, SURROGATES[surr](), reset, reset_delay, learn, learn)
    ((spk_ref * w_out).sum() + (mem_ref * w_mem).sum()).backward()

    lif = LIF(beta=0.8, threshold=1.0, spike_grad=SURROGATES[surr](), reset_mechanism=reset,
              reset_delay=reset_delay, learn_beta=learn, learn_threshold=learn).double()
    spk, mem = lif_multistep(x_lab, lif.beta, lif.threshold, lif.spike_grad, reset, reset_delay)
    ((spk * w_out).sum() + (mem * w_mem).sum()).backward()

    assert torch.equal(spk, spk_ref)
    torch.testing.assert_close(mem, mem_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(x_lab.grad, x_ref.grad, atol=1e-6, rtol=1e-6)
    assert x_lab.grad.abs().sum() > 0
    if learn:
        for name in ("beta", "threshold"):
            torch.testing.assert_close(getattr(lif, name).grad, getattr(neuron, name).grad, atol=1e-6, rtol=1e-6)


def test_lif_module_uses_the_same_kernel():
    x = torch.randn(8, 2, 3, dtype=torch.float64) + 0.6
    lif = LIF(beta=0.7).double()
    spk = lif(x)
    ref_spk, ref_mem = lif_multistep(x, lif.beta, lif.threshold, lif.spike_grad)
    assert torch.equal(spk, ref_spk)
    assert torch.equal(LIF(beta=0.7, output="membrane").double()(x), ref_mem)


def test_per_neuron_beta_gradient_matches_snntorch():
    torch.manual_seed(1)
    T, B, N = 9, 4, 5
    beta = torch.linspace(0.5, 0.95, N, dtype=torch.float64)
    x = (torch.randn(T, B, N, dtype=torch.float64) + 0.5).requires_grad_()
    spk_ref, _, neuron = _snntorch_loop(x, beta.clone(), 1.0, surrogate.atan(), "subtract", True, True, False)
    spk_ref.sum().backward()
    lif = LIF(beta=beta.clone(), learn_beta=True).double()
    lif(x.detach().clone()).sum().backward()
    torch.testing.assert_close(lif.beta.grad, neuron.beta.grad, atol=1e-6, rtol=1e-6)


def test_lif_reference_equals_fused_forward():
    x = torch.randn(10, 2, 3, dtype=torch.float64) + 0.5
    lif = LIF(beta=0.9).double()
    spk, mem = lif_reference(x, lif.beta, lif.threshold, surrogate.atan())
    assert torch.equal(lif(x), spk)
    torch.testing.assert_close(LIF(beta=0.9, output="membrane").double()(x), mem)


def _small_net(fold, static_input=True, num_steps=6):
    torch.manual_seed(3)
    return SpikingSequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), LIF(beta=0.8), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 5), LIF(beta=0.8, output="membrane"), MeanOverTime(),
        num_steps=num_steps, static_input=static_input, fold=fold,
    ).double()


@pytest.mark.parametrize("channels_last", [False, True])
def test_fold_and_per_step_execution_agree_including_gradients(channels_last):
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    outs, grads = [], []
    for fold in (True, False):
        net = _small_net(fold)
        net.channels_last = channels_last
        out = net(x)
        out.pow(2).sum().backward()
        outs.append(out.detach())
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    torch.testing.assert_close(outs[0], outs[1], atol=1e-10, rtol=0)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-10, rtol=0)


def test_static_input_equals_repeated_sequence():
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    static = _small_net(fold=False)(x)
    seq = _small_net(fold=False, static_input=False)(x.unsqueeze(0).repeat(6, 1, 1, 1, 1))
    torch.testing.assert_close(static, seq, atol=1e-10, rtol=0)


def test_two_networks_do_not_share_state():
    """snnTorch's class-wide utils.reset touches every Leaky; here state lives in one call only."""
    x1, x2 = torch.rand(2, 1, 8, 8, dtype=torch.float64), torch.rand(2, 1, 8, 8, dtype=torch.float64)
    alone1 = _small_net(True)(x1)
    alone2 = _small_net(True)(x2)
    net1, net2 = _small_net(True), _small_net(True)
    interleaved = [net1(x1), net2(x2), net1(x1)]
    torch.testing.assert_close(interleaved[0], alone1)
    torch.testing.assert_close(interleaved[1], alone2)
    torch.testing.assert_close(interleaved[2], alone1)


def test_time_regions_follow_the_time_axis():
    assert _small_net(False).time_regions() == ["static"] * 2 + ["time"] * 5 + ["reduced"]
    assert _small_net(False, static_input=False).time_regions() == ["time"] * 7 + ["reduced"]
    after = SpikingSequential(nn.Linear(3, 3), MeanOverTime(), nn.Linear(3, 2), num_steps=4, static_input=False)
    assert after.time_regions() == ["time", "reduced", "reduced"]
    assert after(torch.rand(4, 5, 3)).shape == (5, 2)  # the layer after the reduction runs once on [B, ...]
    stateless = SpikingSequential(nn.Linear(3, 2), num_steps=4)
    assert stateless.time_regions() == ["static"] and stateless(torch.rand(5, 3)).shape == (4, 5, 2)


def test_readouts_and_recorded_rates():
    net = _small_net(False)
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    with record_features(net, spiking_layers(net), time="steps") as rec:
        out = net(x)
    assert out.shape == (4, 5)
    assert list(rec) == ["layers.2"]  # the membrane-output LIF does not spike
    spikes = rec["layers.2"]
    assert spikes.shape == (6, 4, 4 * 8 * 8) and set(spikes.unique().tolist()) <= {0.0, 1.0}
    with record_features(net, ["layers.2"], time="rate") as rec:
        net(x)
    torch.testing.assert_close(SumOverTime()(spikes) / 6, rec["layers.2"])


def test_lif_validation():
    with pytest.raises(ValueError, match="reset_mechanism"):
        LIF(reset_mechanism="soft")
    with pytest.raises(ValueError, match="time-first"):
        LIF()(torch.rand(5))
    with pytest.raises(ValueError, match="num_steps"):
        SpikingSequential(nn.Identity(), num_steps=0)


def test_stable_sigmoid_matches_snntorch_where_finite_and_never_nans():
    from labkit.spiking import stable_sigmoid, surrogate_derivative

    u = torch.linspace(-3, 3, 61)
    torch.testing.assert_close(surrogate_derivative(stable_sigmoid(5.0), u),
                               surrogate_derivative(surrogate.sigmoid(slope=5), u))
    far = torch.tensor([-40.0, -18.0, 40.0])
    assert torch.isnan(surrogate_derivative(surrogate.sigmoid(slope=5), far)).any()  # snnTorch 1.0 overflows
    ours = surrogate_derivative(stable_sigmoid(5.0), far)
    assert torch.isfinite(ours).all() and (ours >= 0).all()
    assert torch.equal(stable_sigmoid(5.0)(torch.tensor([-1.0, 0.0, 2.0])), torch.tensor([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="slope"):
        stable_sigmoid(0)


@pytest.mark.parametrize("fold", [True, False])
def test_layers_after_a_time_reduction_see_batch_first_tensors(fold):
    torch.manual_seed(0)
    net = SpikingSequential(nn.Linear(4, 8), LIF(), MeanOverTime(), nn.Linear(8, 3), nn.BatchNorm1d(3),
                            num_steps=5, fold=fold)
    out = net(torch.rand(6, 4) * 3)
    assert out.shape == (6, 3)
    rates = SpikingSequential(*list(net.layers)[:3], num_steps=5, fold=fold)(torch.rand(6, 4))
    assert rates.shape == (6, 8)


# ------------------------------------------------------------------ the fused kernel against the reference
@pytest.mark.parametrize("surr", sorted(SURROGATES))
def test_inplace_surrogate_vjp_matches_the_surrogates_own_backward(surr):
    u = torch.linspace(-3, 3, 121, dtype=torch.float64)
    grad = torch.randn(121, dtype=torch.float64)
    out = torch.empty_like(u)
    surrogate_inplace_vjp(SURROGATES[surr]())(u.clone(), grad, out)
    torch.testing.assert_close(out, grad * surrogate_derivative(SURROGATES[surr](), u), atol=1e-12, rtol=1e-6)


def test_the_course_surrogates_get_written_out_kernels():
    for surr in ("atan", "fast_sigmoid", "ste", "stable_sigmoid"):
        assert surrogate_inplace_vjp(SURROGATES[surr]()).__name__ != "generic", surr
    assert surrogate_inplace_vjp(surrogate.triangular()).__name__ == "generic"
    assert surrogate_inplace_vjp(lambda u: (u > 0).float()).__name__ == "generic"


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
def test_per_neuron_beta_and_threshold_match_snntorch(reset):
    torch.manual_seed(2)
    T, B, N = 10, 3, 6
    beta = torch.linspace(0.5, 0.95, N, dtype=torch.float64)
    thr = torch.linspace(0.6, 1.4, N, dtype=torch.float64)
    x_ref = (torch.randn(T, B, N, dtype=torch.float64) + 0.6).requires_grad_()
    x_lab = x_ref.detach().clone().requires_grad_()
    w = torch.randn(T, B, N, dtype=torch.float64)
    spk_ref, mem_ref, neuron = _snntorch_loop(x_ref, beta.clone(), thr.clone(), surrogate.atan(), reset, True,
                                              True, True)
    ((spk_ref * w).sum() + mem_ref.sum()).backward()
    lif = LIF(beta=beta.clone(), threshold=thr.clone(), reset_mechanism=reset, learn_beta=True,
              learn_threshold=True).double()
    spk, mem = lif_multistep(x_lab, lif.beta, lif.threshold, lif.spike_grad, reset)
    ((spk * w).sum() + mem.sum()).backward()
    assert torch.equal(spk, spk_ref)
    torch.testing.assert_close(mem, mem_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(x_lab.grad, x_ref.grad, atol=1e-6, rtol=1e-6)
    for name in ("beta", "threshold"):
        torch.testing.assert_close(getattr(lif, name).grad, getattr(neuron, name).grad, atol=1e-6, rtol=1e-6)


def test_lif_keeps_channels_last_steps_and_static_inputs_expanded_over_time():
    torch.manual_seed(4)
    x = torch.randn(5, 2, 3, 4, 4, dtype=torch.float64) + 0.7
    nhwc = x.reshape(10, 3, 4, 4).contiguous(memory_format=torch.channels_last).view(x.shape)
    static = (torch.randn(2, 3, 4, 4, dtype=torch.float64) + 0.7).contiguous(memory_format=torch.channels_last)
    expanded = static.unsqueeze(0).expand(5, *static.shape)
    for inp, ref in ((nhwc, x), (expanded, expanded.contiguous())):
        inp = inp.detach().requires_grad_()
        ref = ref.detach().clone().requires_grad_()
        beta, thr = torch.tensor(0.9, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
        spk, mem = lif_multistep(inp, beta, thr, surrogate.atan())
        spk_ref, mem_ref = lif_reference(ref, beta, thr, surrogate.atan())
        assert spk[0].is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(spk, spk_ref) and torch.equal(mem, mem_ref)
        (spk.sum() + (mem ** 2).sum()).backward()
        (spk_ref.sum() + (mem_ref ** 2).sum()).backward()
        torch.testing.assert_close(inp.grad, ref.grad, atol=1e-12, rtol=1e-10)


def _reference_lif(x, beta, threshold, spike_fn, reset="subtract", reset_delay=True):
    return lif_reference(x, beta, threshold, spike_fn, reset, reset_delay)


def test_residual_snn_gradients_match_the_per_step_reference(monkeypatch):
    """The engine (channels-last, folded, fused LIF) against NCHW per-step runs with autograd through every step."""
    import labkit.spiking.neurons as neurons

    x = torch.rand(3, 3, 16, 16, dtype=torch.float64)
    y = torch.tensor([1, 4, 7])
    results = []
    for engine in (True, False):
        torch.manual_seed(5)
        net = resnet_snn(num_steps=4, width=4, depth=2, stem_stride=2).double()
        for module in net.modules():
            if isinstance(module, SpikingSequential):
                module.fold, module.channels_last = (None, None) if engine else (False, False)
        if not engine:
            monkeypatch.setattr(neurons, "lif_multistep", _reference_lif)
        with record_features(net, spiking_layers(net), time="steps", time_axis=True) as rec:
            loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        monkeypatch.undo()
        results.append((loss.detach(), dict(rec), {n: p.grad.clone() for n, p in net.named_parameters()}))
    (loss_e, spikes_e, grads_e), (loss_r, spikes_r, grads_r) = results
    torch.testing.assert_close(loss_e, loss_r, atol=1e-10, rtol=0)
    assert list(spikes_e) == list(spikes_r) and len(spikes_e) == 9
    for name in spikes_e:
        assert torch.equal(spikes_e[name], spikes_r[name]), name
        assert spikes_e[name].sum() > 0, name
    for name in grads_e:  # snnTorch's surrogates pass gradients through float32: ~1e-7 relative
        scale = grads_r[name].abs().max().item()
        torch.testing.assert_close(grads_e[name], grads_r[name], atol=1e-6 * scale, rtol=1e-6, msg=name)
    assert sum(g.abs().sum() for g in grads_e.values()) > 0


def test_devices_choose_folding_and_channels_last():
    assert default_fold("cpu") and default_fold("cuda")
    assert default_channels_last("cpu") and not default_channels_last("cuda")
    net = resnet_snn(num_steps=2, width=4, depth=1, stem_stride=2)
    with record_features(net, ["body.1"], time="steps", time_axis=True) as rec:
        net(torch.rand(2, 3, 16, 16))
    assert rec["body.1"].shape == (2, 2, 4 * 8 * 8)
    assert net.features(torch.rand(2, 3, 16, 16))[0].is_contiguous(memory_format=torch.channels_last)


def _saved_bytes(net, x):
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    seen = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(x).sum().backward()
    return sum(seen.values())


def test_activation_memory_grows_linearly_in_time_steps():
    x = torch.rand(2, 3, 16, 16)
    saved = {}
    for steps in (2, 4, 8):
        torch.manual_seed(0)
        saved[steps] = _saved_bytes(resnet_snn(num_steps=steps, width=4, depth=1, stem_stride=2), x)
    per_step_small, per_step_large = (saved[4] - saved[2]) / 2, (saved[8] - saved[4]) / 4
    assert per_step_small > 0
    assert abs(per_step_large / per_step_small - 1) < 0.02, saved
