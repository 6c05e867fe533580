"""labkit.analysis.receptive: receptive-field arithmetic on known stacks."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from labkit.analysis.receptive import conv_layers, receptive_fields, receptive_fields_of

# ImageNet AlexNet (torchvision's features): size, jump, start and map side per conv/pool layer.
ALEXNET_224 = [
    ("0", 11, 4, 3.0, 55), ("2", 19, 8, 7.0, 27), ("3", 51, 8, 7.0, 27), ("5", 67, 16, 15.0, 13),
    ("6", 99, 16, 15.0, 13), ("8", 131, 16, 15.0, 13), ("10", 163, 16, 15.0, 13), ("12", 195, 32, 31.0, 6),
]


def test_alexnet_known_values():
    fields = receptive_fields_of(torchvision.models.alexnet(weights=None).features, 224)
    assert [(f.name, f.size, f.jump, f.start, f.out_size) for f in fields] == ALEXNET_224


def test_vgg_like_stack_by_hand():
    # three 3x3 convs see 7x7 (the VGG argument); a 2x2 pool doubles the jump
    fields = receptive_fields([("a", 3, 1, 1), ("b", 3, 1, 1), ("c", 3, 1, 1), ("p", 2, 2, 0), ("d", 3, 1, 1)], 32)
    assert [f.size for f in fields] == [3, 5, 7, 8, 12]
    assert [f.jump for f in fields] == [1, 1, 1, 2, 2]
    assert [f.out_size for f in fields] == [32, 32, 32, 16, 16]
    assert fields[-1].start == 0.5


def test_dilation_and_padding():
    (f,) = receptive_fields([("d", 3, 1, 0, 2)], 10)  # dilated 3x3 = effective 5x5
    assert (f.size, f.start, f.out_size) == (5, 2.0, 6)
    (g,) = receptive_fields([("p", 5, 1, 2)], 10)
    assert (g.size, g.start, g.out_size) == (5, 0.0, 10)


def test_boxes_match_brute_force_gradients():
    """The arithmetic agrees with the pixels that really influence a unit."""
    net = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3, stride=2),
                        nn.Conv2d(1, 1, 2, dilation=2))
    for m in net:
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 1.0)
            nn.init.zeros_(m.bias)
    fields = receptive_fields_of(net, 24)
    x = torch.ones(1, 1, 24, 24, requires_grad=True)
    out = net(x)
    assert out.shape[-1] == fields[-1].out_size
    row, col = 1, 0
    out[0, 0, row, col].backward()
    ys, xs = torch.nonzero(x.grad[0, 0], as_tuple=True)
    top, left, bottom, right = fields[-1].box(row, col)
    # every influencing pixel lies in the box; the box is no larger than the span plus padding
    assert ys.min() >= top + 0.5 - 1e-9 and ys.max() <= bottom - 0.5 + 1e-9
    assert xs.min() >= max(left + 0.5, 0) - 1e-9 and xs.max() <= right - 0.5 + 1e-9
    assert bottom - top == fields[-1].size
    assert ys.max() - ys.min() + 1 == fields[-1].size  # row 1 is away from the padded border


def test_conv_layers_walk():
    net = nn.Sequential(nn.Conv2d(3, 4, 5, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Sequential(nn.MaxPool2d(3, 2), nn.Dropout()), nn.Flatten(), nn.Linear(4, 2),
                        nn.Conv2d(1, 1, 3))
    assert conv_layers(net) == [("0", 5, 2, 1, 1), ("3.0", 3, 2, 0, 1)]


def test_invalid_layers():
    with pytest.raises(ValueError):
        receptive_fields([("bad", 3, 0, 0)])
    with pytest.raises(ValueError):
        receptive_fields([("short", 3, 1)])
    with pytest.raises(ValueError, match="too small"):
        receptive_fields([("c", 5, 1, 0)], input_size=3)
    with pytest.raises(ValueError, match="square"):
        conv_layers(nn.Sequential(nn.Conv2d(1, 1, (3, 5))))
