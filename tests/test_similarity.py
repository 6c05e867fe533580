import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from labkit.viz import plot
from labkit.models import block_names, resnet_ann, resnet_snn, set_static_input
from labkit.analysis import Net, layer_cka, time_step_cka


def _loader(n=24, batch=8):
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.rand(n, 3, 32, 32, generator=g), torch.zeros(n)), batch_size=batch)


def test_layer_cka_of_a_network_with_itself_has_unit_diagonal():
    torch.manual_seed(0)
    ann = resnet_ann(width=4, depth=1)
    m = layer_cka(Net(ann, block_names(ann)), Net(ann, block_names(ann)), _loader())
    assert m.shape == (3, 3)
    torch.testing.assert_close(m.diagonal(), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(m, m.T)


def test_ann_vs_snn_cka_is_bounded_and_snn_needs_spiking_flag():
    torch.manual_seed(0)
    ann, snn = resnet_ann(width=4, depth=1), resnet_snn(num_steps=3, width=4, depth=1)
    m = layer_cka(Net(ann, block_names(ann)), Net(snn, block_names(snn), spiking=True), _loader())
    assert m.shape == (3, 3) and torch.isfinite(m).all()
    assert (m <= 1 + 1e-9).all()


def test_time_step_cka_shape_and_diagonal():
    torch.manual_seed(0)
    snn = resnet_snn(num_steps=4, width=4, depth=1)
    m = time_step_cka(Net(snn, block_names(snn), spiking=True), _loader())
    assert m.shape == (3, 4, 4)
    for layer in m:
        fired = layer.diagonal() > 0  # a layer silent at some step has CKA 0 there (no NaN)
        torch.testing.assert_close(layer.diagonal()[fired], torch.ones(int(fired.sum()), dtype=torch.float64))
    with pytest.raises(ValueError, match="spiking"):
        time_step_cka(Net(resnet_ann(4, 1), ["body.0"]), _loader())


def test_residual_switch_and_sequence_input():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    with_res = resnet_snn(num_steps=3, width=4, depth=1)
    torch.manual_seed(0)
    without = resnet_snn(num_steps=3, width=4, depth=1, residual=False)
    with torch.no_grad():
        assert not torch.equal(with_res.eval()(x), without.eval()(x))
        static = with_res(x)
        set_static_input(with_res, False)
        seq = with_res(x.unsqueeze(0).repeat(3, 1, 1, 1, 1))
    torch.testing.assert_close(static, seq)
    with pytest.raises(TypeError, match="resnet_snn"):
        set_static_input(resnet_ann(4, 1), True)
    with pytest.raises(ValueError, match="width"):
        resnet_ann(width=0)


def test_heatmap_labels():
    fig = plot.heatmap(torch.eye(3), title="H", xlabel="a", ylabel="b", xticklabels=list("xyz"))
    ax = fig.axes[0]
    assert ax.get_title() == "H" and [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]


# ------------------------------------------------------------ intervals, patterns, residual layers
from labkit.analysis import record_features  # noqa: E402
from labkit.analysis.similarity import (  # noqa: E402
    cka_interval, diagonal_mean, layer_cka_batches, periodicity, residual_layers, step_similarity, time_step_cka_batches)


def test_layer_cka_batches_matches_layer_cka_and_gives_intervals():
    torch.manual_seed(0)
    a, b = resnet_ann(width=4, depth=1), resnet_ann(width=4, depth=1)
    na, nb = Net(a, block_names(a)), Net(b, block_names(b))
    acc = layer_cka_batches(na, nb, _loader(n=32, batch=8))
    assert acc.batches == 4
    torch.testing.assert_close(acc.compute(), layer_cka(na, nb, _loader(n=32, batch=8)))
    ci = cka_interval(diagonal_mean, acc, n_boot=200)
    assert ci.low <= ci.estimate <= ci.high and ci.n == 4 and "batches" in ci.method
    same = cka_interval(lambda x, y: diagonal_mean(x) - diagonal_mean(y), acc, acc, n_boot=50)
    assert same.low == same.high == 0.0  # paired: the same batches in every draw


def test_cka_interval_refuses_mismatched_or_single_batches():
    torch.manual_seed(0)
    a = resnet_ann(width=4, depth=1)
    na = Net(a, block_names(a))
    four, three = layer_cka_batches(na, na, _loader(32, 8)), layer_cka_batches(na, na, _loader(24, 8))
    with pytest.raises(ValueError, match="same loader"):
        cka_interval(lambda x, y: 0.0, four, three)
    with pytest.raises(ValueError, match="at least 2 batches"):
        cka_interval(diagonal_mean, layer_cka_batches(na, na, _loader(8, 8)))
    with pytest.raises(ValueError, match="at least one"):
        cka_interval(diagonal_mean)


def test_periodicity_sign_and_errors():
    chain = torch.tensor([[1.0, 0.8, 0.6], [0.8, 1.0, 0.8], [0.6, 0.8, 1.0]])  # similarity falls with distance
    assert periodicity(chain, [False, True, False]) == pytest.approx(-0.2)
    stripes = torch.tensor([[1.0, 0.3, 0.9], [0.3, 1.0, 0.3], [0.9, 0.3, 1.0]])
    assert periodicity(stripes, [False, True, False]) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="inside flag"):
        periodicity(chain, [False, True])
    with pytest.raises(ValueError, match="block output on each side"):
        periodicity(chain, [False, False, True])


def test_step_similarity_leaves_out_the_first_steps():
    m = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.5], [0.0, 0.5, 1.0]])
    assert step_similarity(m) == pytest.approx(1 / 6)
    assert step_similarity(m, first=1) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least 2 steps"):
        step_similarity(m, first=2)


def test_residual_layers_name_the_same_places_in_both_twins():
    ann, snn = resnet_ann(width=4, depth=2), resnet_snn(num_steps=3, width=4, depth=2)
    for net in (ann, snn):
        layers = residual_layers(net)
        assert len(layers.names) == len(layers.labels) == len(layers.inside) == 1 + 2 * 4
        assert layers.labels[:3] == ["stem", "1 mid", "1"] and layers.inside[:3] == [False, True, False]
        assert residual_layers(net, inside=False).names == block_names(net)
    with record_features(snn, residual_layers(snn).names, time="rate", time_axis=True) as rec:
        snn.eval()(torch.rand(2, 3, 32, 32))
    assert all(rec[name].shape[0] == 2 for name in rec)
    assert rec["body.1.path.layers.2"].unique().numel() <= 4  # spikes averaged over 3 steps: 0, 1/3, 2/3, 1
    with pytest.raises(TypeError, match="resnet_ann or resnet_snn"):
        residual_layers(torch.nn.Sequential(torch.nn.Linear(2, 2)))


def test_time_step_cka_batches_per_layer():
    torch.manual_seed(0)
    snn = resnet_snn(num_steps=3, width=4, depth=1)
    accs = time_step_cka_batches(Net(snn, block_names(snn), spiking=True), _loader(24, 8))
    assert len(accs) == 3 and all(acc.batches == 3 and acc.compute().shape == (3, 3) for acc in accs)
    torch.testing.assert_close(torch.stack([a.compute() for a in accs]),
                               time_step_cka(Net(snn, block_names(snn), spiking=True), _loader(24, 8)))


def _overlap(labels):
    boxes = [t.get_window_extent() for t in labels if t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_interval_bars_long_names_do_not_overlap():
    from labkit.stats import Interval, over_seeds
    values = {"event camera (emulated)": Interval(0.4, 0.3, 0.5, 0.95, 10, "toy"),
              "rate-coded spikes over four steps": over_seeds([0.7, 0.72, 0.75]),
              "PGD images (ε = 8/255)": (0.6, 0.55, 0.62), "clean": 0.8}
    fig = plot.interval_bars(values, title="T", xlabel="CKA", reference=0.5, reference_label="chance")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(values)
    assert not _overlap(ax.get_yticklabels()) and not _overlap(ax.get_xticklabels())
    assert ax.get_xlabel() == "CKA" and ax.get_title() == "T"
    bars = [p for p in ax.patches]
    assert [round(b.get_width(), 3) for b in bars] == [0.4, 0.723, 0.6, 0.8]


def test_heatmaps_grid_and_labels_per_panel():
    fig = plot.heatmaps({"a": torch.eye(3), "b": torch.eye(13), "c": torch.eye(3)}, title="H", xlabel="x",
                        ylabel="y", ticklabels={"a": list("pqr"), "b": [f"layer {i}" for i in range(13)]}, ncols=2)
    fig.canvas.draw()
    shown = [ax for ax in fig.axes if ax.get_visible() and ax.get_title() in ("a", "b", "c")]
    assert [ax.get_title() for ax in shown] == ["a", "b", "c"]
    assert [t.get_text() for t in shown[0].get_yticklabels()] == list("pqr")
    assert not _overlap(shown[1].get_yticklabels())
    assert len([ax for ax in fig.axes if not ax.get_visible()]) == 1  # the empty 4th cell of the 2 x 2 grid
