
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from labkit.analysis import regression as reg
from labkit.data import RandomCropFlip
from labkit.models import cifar_cnn, cifar_snn


def test_metrics_on_known_vectors():
    pred = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    true = torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    assert reg.mse(pred, true) == pytest.approx((9 + 16) / 4)
    assert reg.mean_euclidean(pred, true) == pytest.approx(2.5)
    assert reg.mean_cosine(pred, true) == pytest.approx(0.5)  # zero vector counts as cosine 0
    assert reg.mean_cosine(torch.tensor([[1.0, 1.0]]), torch.tensor([[-2.0, -2.0]])) == pytest.approx(-1.0)
    assert reg.r2_score(true, true) == 1.0
    assert reg.r2_score(reg.mean_baseline(true, 2), true) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="same shape"):
        reg.mse(pred, true[:1])


def test_ridge_recovers_linear_map_and_shrinks_with_alpha():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 6, generator=g, dtype=torch.float64)
    w_true = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = x @ w_true + 0.5
    w, b = reg.ridge_map(x, y, alpha=0.0)
    torch.testing.assert_close(w, w_true)
    torch.testing.assert_close(b, torch.full((3,), 0.5, dtype=torch.float64))
    w_big, _ = reg.ridge_map(x, y, alpha=100.0)
    assert w_big.norm() < 0.1 * w.norm()
    with pytest.raises(ValueError, match="alpha"):
        reg.ridge_map(x, y, alpha=-1)


def test_trained_linear_map_agrees_with_ridge():
    torch.manual_seed(0)
    x = torch.randn(400, 5)
    y = x @ torch.randn(5, 4) + 0.1 * torch.randn(400, 4)
    model, hist = reg.train_map(x, y, epochs=60, batch_size=50, lr=0.02, x_val=x, y_val=y)
    w, b = reg.ridge_map(x, y, alpha=0.0)
    with torch.no_grad():
        trained = model(x)
    ridge = (x.double() @ w + b).float()
    assert reg.r2_score(trained, ridge) > 0.999
    assert hist.val["loss"][-1] < hist.val["loss"][0]
    assert "acc" not in hist.val


def test_mlp_map_fits_nonlinear_relation_better_than_linear():
    torch.manual_seed(0)
    x = torch.rand(600, 2) * 4 - 2
    y = (x ** 2).sum(1, keepdim=True)
    lin, _ = reg.train_map(x, y, epochs=40, batch_size=64, lr=0.02)
    mlp, _ = reg.train_map(x, y, epochs=40, batch_size=64, lr=0.02, hidden=64)
    with torch.no_grad():
        assert reg.r2_score(mlp(x), y) > reg.r2_score(lin(x), y) + 0.5


def test_standardizer():
    x = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
    z = reg.standardizer(x)(x)
    torch.testing.assert_close(z.mean(0), torch.zeros(2))
    torch.testing.assert_close(z.std(0), torch.ones(2))
    silent_in_training = reg.standardizer(torch.tensor([[0.0, 1.0], [0.0, 2.0]]))
    assert silent_in_training(torch.tensor([[0.5, 1.5]])).tolist() == [[0.0, 0.0]]


def test_extract_features_from_twins():
    torch.manual_seed(0)
    data = TensorDataset(torch.rand(10, 3, 32, 32), torch.arange(10))
    loader = DataLoader(data, batch_size=4)
    cnn, snn = cifar_cnn(channels=(4, 8), hidden=16), cifar_snn(3, channels=(4, 8), hidden=16)
    fc, labels = reg.extract_features(cnn, loader)
    fs, _ = reg.extract_features(snn, loader)
    assert fc.shape == fs.shape == (10, 16) and labels.tolist() == list(range(10))
    assert (fc >= 0).all()  # ReLU features
    assert ((fs >= 0) & (fs <= 1)).all()  # firing rates
    assert torch.allclose(fs * 3, (fs * 3).round())  # rates are counts / T
    with pytest.raises(ValueError, match="empty"):
        reg.extract_features(cnn, [])


@pytest.mark.parametrize("spiking", [False, True], ids=["cnn", "snn"])
def test_extract_features_reads_the_body_through_the_recorder(spiking):
    torch.manual_seed(0)
    model = cifar_snn(4, channels=(4, 8), hidden=16) if spiking else cifar_cnn(channels=(4, 8), hidden=16)
    model.train()
    x = torch.rand(7, 3, 32, 32)
    loader = DataLoader(TensorDataset(x, torch.arange(7)), batch_size=3)
    feats, _ = reg.extract_features(model, loader)
    assert model.training  # mode restored
    with torch.no_grad():
        expected = torch.cat([model.eval().features(xb) for xb in x.split(3)])
    assert torch.equal(feats, expected)
    # another layer by name: the second convolution block's activation, flattened (rates for the SNN)
    act, _ = reg.extract_features(model, loader, layer="body.layers.7" if spiking else "body.7")
    assert act.shape == (7, 8 * 16 * 16) and (act >= 0).all()
    with pytest.raises(ValueError, match="layer: .* no submodule 'features'"):
        reg.extract_features(model, loader, layer="features")


def test_random_crop_flip_keeps_pixels_and_is_identity_in_eval():
    torch.manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8) + 1
    aug = RandomCropFlip(padding=2)
    out = aug(x)
    assert out.shape == x.shape
    assert set(out.unique().tolist()) <= set(x.unique().tolist()) | {0.0}
    assert torch.equal(aug.eval()(x), x)
    with pytest.raises(ValueError, match="padding"):
        RandomCropFlip(padding=-1)


def test_dead_units_marks_units_silent_on_every_image():
    x = torch.tensor([[0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 1e-9, 0.0], [0.0, 2.0, 0.0, 0.0]])
    assert reg.dead_units(x).tolist() == [True, False, False, True]
    assert reg.dead_units(x, tol=1e-6).tolist() == [True, False, True, True]
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        reg.dead_units(torch.zeros(3))


def test_r2_bootstrap_matches_r2_and_resolves_only_real_differences():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(800, 4, generator=g)
    good = y + 0.5 * torch.randn(800, 4, generator=g)
    same = y + 0.5 * torch.randn(800, 4, generator=g)  # as good as `good`, other noise
    one = reg.r2_bootstrap([(good, y)], n_boot=500)
    assert one.estimate == pytest.approx(reg.r2_score(good, y))
    assert one.low < one.estimate < one.high
    assert one.method == "bootstrap over 800 test images"
    diff = reg.r2_bootstrap([(good, y), (y + 2 * torch.randn(800, 4, generator=g), y)], n_boot=500)
    assert diff.low > 0
    tie = reg.r2_bootstrap([(good, y), (same, y)], n_boot=500)
    assert tie.low < 0 < tie.high
    # a contrast of four maps, and targets of different widths (the two directions of a map)
    y2 = torch.randn(800, 2, generator=g)
    four = reg.r2_bootstrap([(good, y), (y2, y2), (same, y), (y2, y2)], combine=lambda r: (r[0] - r[1]) - (r[2] - r[3]),
                            n_boot=200)
    assert four.estimate == pytest.approx(reg.r2_score(good, y) - reg.r2_score(same, y))
    with pytest.raises(ValueError, match="same images"):
        reg.r2_bootstrap([(good, y), (good[:10], y[:10])])
    with pytest.raises(ValueError, match="combine"):
        reg.r2_bootstrap([(good, y)] * 3)


def test_participation_ratio_bootstrap_ignores_dead_units_and_orders_spaces():
    g = torch.Generator().manual_seed(0)
    wide = torch.randn(300, 6, generator=g)
    narrow = torch.randn(300, 1, generator=g) * torch.ones(1, 6) + 0.1 * torch.randn(300, 6, generator=g)
    padded = torch.cat([wide, torch.zeros(300, 10)], dim=1)  # ten dead units add no dimension
    single = reg.participation_ratio_bootstrap([padded], n_boot=100)
    assert single.estimate == pytest.approx(reg.participation_ratio(wide))
    diff = reg.participation_ratio_bootstrap([wide, narrow], n_boot=100)
    assert diff.low > 3


def test_gap_verdict_words_follow_the_intervals():
    from labkit.stats import Interval

    def iv(e, lo, hi):
        return Interval(e, lo, hi, 0.95, 100, "toy")

    positive, negative, unclear = iv(0.1, 0.05, 0.15), iv(-0.1, -0.15, -0.05), iv(0.01, -0.02, 0.04)
    assert reg.gap_verdict(positive, negative, iv(0.0, -0.01, 0.01)) == "reverses"
    assert reg.gap_verdict(positive, unclear, iv(-0.09, -0.12, -0.06)) == "narrows"
    assert reg.gap_verdict(positive, iv(0.2, 0.15, 0.25), iv(0.1, 0.05, 0.15)) == "widens"
    assert reg.gap_verdict(positive, positive, iv(0.0, -0.03, 0.03)) == "does not measurably change"
