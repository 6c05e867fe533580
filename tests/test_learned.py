"""labkit.viz.learned: measures of kernels that the figures and the prose rest on."""

import numpy as np
import pytest
import torch

from labkit.viz import learned


def test_spatial_energy_splits_into_flat_ramp_and_finer_parts():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(20, 3, 5, 5, generator=g)
    parts = learned.spatial_energy(w)
    np.testing.assert_allclose(parts["flat"] + parts["ramp"] + parts["finer"], 1.0, atol=1e-9)
    # a vertical edge (light bottom rows) is all ramp, rising towards the bottom (90 degrees)
    edge = torch.linspace(-1, 1, 5).view(1, 1, 5, 1).expand(1, 3, 5, 5)
    one = learned.spatial_energy(edge)
    assert one["ramp"][0] == pytest.approx(1.0) and one["ramp_angle"][0] == pytest.approx(90.0)
    # a colour patch is all flat, whatever its colour; a checkerboard is all finer structure
    patch = torch.tensor([0.3, -0.2, 0.1]).view(1, 3, 1, 1).expand(1, 3, 5, 5)
    checker = ((torch.arange(5).view(5, 1) + torch.arange(5)) % 2 * 2 - 1.0).expand(1, 3, 5, 5)
    checker = checker - checker.mean()
    assert learned.spatial_energy(patch)["flat"][0] == pytest.approx(1.0)
    assert learned.spatial_energy(checker)["finer"][0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"\[N, C, k, k\]"):
        learned.spatial_energy(torch.zeros(3, 5, 5))
