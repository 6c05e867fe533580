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
