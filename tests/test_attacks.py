"""labkit.analysis.attacks: the L-infinity budget and [0, 1] range hold, the loss goes up, PGD(1 step) = FGSM."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labkit.analysis.attacks import fgsm, pgd
from labkit.spiking import LIF, MeanOverTime, SpikingSequential

EPS = 0.1


def _data(n=256, seed=0):
    """Two classes of 16-pixel 'images' in [0, 1]: a brighter left or right half, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.4 + 0.1 * torch.randn(n, 1, 4, 4, generator=g)
    x[y == 0, :, :, :2] += 0.2
    x[y == 1, :, :, 2:] += 0.2
    return x.clamp(0, 1), y


def _train(model, steps=150):
    x, y = _data()
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def ann():
    torch.manual_seed(0)
    return _train(nn.Sequential(nn.Flatten(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)))


@pytest.fixture(scope="module")
def snn():
    torch.manual_seed(0)
    return _train(SpikingSequential(nn.Flatten(), nn.Linear(16, 16), LIF(beta=0.8), nn.Linear(16, 2),
                                    LIF(beta=0.8, output="membrane"), MeanOverTime(), num_steps=6), steps=100)


def _loss(model, x, y):
    with torch.no_grad():
        return F.cross_entropy(model(x), y).item()


def _attacks():
    return {
        "fgsm": lambda m, x, y: fgsm(m, x, y, EPS),
        "pgd": lambda m, x, y: pgd(m, x, y, EPS, steps=10),
        "pgd_no_start": lambda m, x, y: pgd(m, x, y, EPS, step_size=0.02, steps=10, random_start=False),
    }


@pytest.mark.parametrize("attack", sorted(_attacks()))
@pytest.mark.parametrize("model_name", ["ann", "snn"])
def test_budget_range_and_loss_increase(attack, model_name, request):
    model = request.getfixturevalue(model_name)
    x, y = _data(n=64, seed=1)
    clean = _loss(model, x, y)
    assert clean < 0.5  # the toy model is trained
    x_adv = _attacks()[attack](model, x, y)
    assert x_adv.shape == x.shape and not x_adv.requires_grad
    assert (x_adv - x).abs().max() <= EPS + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert _loss(model, x_adv, y) > clean + 0.05


def test_pgd_beats_fgsm_and_parameters_are_untouched(ann):
    x, y = _data(n=64, seed=2)
    grads_before = [None if p.grad is None else p.grad.clone() for p in ann.parameters()]
    loss_fgsm = _loss(ann, fgsm(ann, x, y, EPS), y)
    loss_pgd = _loss(ann, pgd(ann, x, y, EPS, steps=20), y)
    assert loss_pgd >= loss_fgsm - 1e-6
    for before, p in zip(grads_before, ann.parameters()):
        assert (before is None and p.grad is None) or torch.equal(before, p.grad)


@pytest.mark.parametrize("model_name", ["ann", "snn"])
def test_one_step_pgd_without_random_start_is_fgsm(model_name, request):
    model = request.getfixturevalue(model_name)
    x, y = _data(n=32, seed=3)
    x[:4] = 1.0  # saturated pixels: both must clamp the same way
    x[4:8] = 0.0
    assert torch.equal(pgd(model, x, y, EPS, step_size=EPS, steps=1, random_start=False), fgsm(model, x, y, EPS))


def test_clean_input_near_bounds_stays_in_range_and_budget(ann):
    x, y = _data(n=16, seed=4)
    x = x.round()  # pixels at exactly 0 or 1
    for x_adv in (fgsm(ann, x, y, 0.3), pgd(ann, x, y, 0.3, steps=5)):
        assert x_adv.min() >= 0 and x_adv.max() <= 1 and (x_adv - x).abs().max() <= 0.3 + 1e-6


def test_random_start_is_deterministic_under_a_seed(ann):
    x, y = _data(n=16, seed=5)
    torch.manual_seed(123)
    a = pgd(ann, x, y, EPS, steps=3)
    torch.manual_seed(123)
    b = pgd(ann, x, y, EPS, steps=3)
    assert torch.equal(a, b)
    c = pgd(ann, x, y, EPS, steps=3, generator=torch.Generator().manual_seed(7))
    d = pgd(ann, x, y, EPS, steps=3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(c, d)
    starts = [pgd(ann, x, y, EPS, step_size=0.01, steps=1, generator=torch.Generator().manual_seed(s))
              for s in (7, 8)]
    assert not torch.equal(*starts)  # the start is random


def test_works_under_no_grad_and_keeps_mode(snn):
    x, y = _data(n=8, seed=6)
    with torch.no_grad():
        x_adv = fgsm(snn, x, y, EPS)
    assert (x_adv != x).any()  # surrogate gradients reached the input
    assert not snn.training


def test_validation():
    model = nn.Linear(2, 2)
    x, y = torch.rand(3, 2), torch.tensor([0, 1, 0])
    with pytest.raises(ValueError, match="epsilon"):
        fgsm(model, x, y, -0.1)
    with pytest.raises(ValueError, match=r"x must lie in \[0.0, 1.0\]"):
        fgsm(model, x + 2, y, 0.1)
    with pytest.raises(ValueError, match="steps"):
        pgd(model, x, y, 0.1, steps=0)
    with pytest.raises(ValueError, match="step_size"):
        pgd(model, x, y, 0.1, step_size=0.0)
    with pytest.raises(ValueError, match="floating-point"):
        fgsm(model, (x > 0.5).long(), y, 0.1)
