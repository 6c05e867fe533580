"""Single-object localisation: canvases and boxes, box checks, IoU, the localisers, their loss, AP and size bins."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

from labkit.analysis.boxes import (
    COCO_THRESHOLDS,
    BoxPredictions,
    _single_object_ap,
    average_precision_interval,
    iou_by_size,
    mean_average_precision,
    mean_box_baseline,
    predict,
)
from labkit.data import ImageSet, LocalisationSet, check_boxes, localisation_set, paired_iou
from labkit.models import localisation_loss, localiser_ann, localiser_snn, mean_iou


def _objects(n: int = 24, channels: int = 1, seed: int = 0) -> ImageSet:
    """Toy 28x28 objects: a bright rectangle of random size somewhere inside a dark square."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, channels, 28, 28)
    for i in range(n):
        h, w = (int(v) for v in torch.randint(6, 20, (2,), generator=g))
        y, x = (int(v) for v in torch.randint(0, 28 - 20, (2,), generator=g))
        images[i, :, y:y + h, x:x + w] = 0.5 + 0.5 * torch.rand(1, generator=g)
    return ImageSet(images, torch.arange(n) % 10, [str(d) for d in range(10)], "Toy", "test", "rectangles")


# ------------------------------------------------------------------------------------------------ data
def test_boxes_lie_in_the_canvas_and_wrap_the_objects_pixels():
    task = localisation_set(_objects(), canvas=48, scale=(14, 28), clutter=0, seed=3, ink=0.25)
    assert isinstance(task, LocalisationSet) and task.images.shape == (24, 1, 48, 48)
    b = task.boxes
    assert bool((b[:, :2] >= 0).all() and (b[:, 2:] <= 48).all() and (b[:, 2:] > b[:, :2]).all())
    for image, box in zip(task.images[:, 0], b.long()):
        ink = image > 0.25
        rows, cols = ink.any(1).nonzero()[:, 0], ink.any(0).nonzero()[:, 0]
        # continuous convention: the box's edges are the first ink pixel and one past the last
        assert [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1] == box.tolist()


def test_colour_objects_get_their_whole_patch():
    task = localisation_set(_objects(channels=3), canvas=40, scale=(16, 16), clutter=2, seed=0)
    assert task.images.shape[1] == 3
    assert torch.allclose(task.boxes[:, 2:] - task.boxes[:, :2], torch.full((24, 2), 16.0))


def test_same_seed_same_canvases_and_splits_differ():
    objects = _objects()
    a, b = localisation_set(objects, seed=1), localisation_set(objects, seed=1)
    assert torch.equal(a.images, b.images) and torch.equal(a.boxes, b.boxes)
    assert not torch.equal(a.boxes, localisation_set(objects, seed=2).boxes)
    other_split = ImageSet(objects.images, objects.labels, objects.classes, "Toy", "validation", "rectangles")
    assert not torch.equal(a.boxes, localisation_set(other_split, seed=1).boxes)


def test_clutter_adds_pixels_outside_the_box_but_keeps_the_box():
    objects = _objects()
    clean, cluttered = localisation_set(objects, clutter=0), localisation_set(objects, clutter=6)
    assert torch.equal(clean.boxes, cluttered.boxes)
    assert cluttered.images.sum() > clean.images.sum()


def test_scales_follow_the_range():
    task = localisation_set(_objects(channels=3), canvas=64, scale=(14, 20), clutter=0)
    side = task.boxes[:, 2] - task.boxes[:, 0]
    assert side.min() >= 14 and side.max() <= 20


@pytest.mark.parametrize("kwargs, message", [
    (dict(canvas=24, scale=(14, 28)), "does not fit on a canvas of 24"),
    (dict(scale=(20, 10)), "smallest <= largest"),
    (dict(scale=14), "pair"),
    (dict(canvas=4), "canvas must be an integer"),
    (dict(clutter=-1), "clutter must be"),
])
def test_bad_sizes_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        localisation_set(_objects(), **kwargs)


def test_empty_objects_are_refused():
    with pytest.raises(ValueError, match="images is empty"):
        localisation_set(_objects().subset([]))


def test_loader_batches_classes_and_boxes():
    task = localisation_set(_objects(), canvas=32, scale=(10, 20))
    loader = task.loader(batch_size=10, shuffle=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 3 and list(loader) and sum(len(x) for x, _ in batches) == 24
    x, (y, boxes) = batches[0]
    assert x.shape == (10, 1, 32, 32) and y.dtype == torch.int64 and boxes.shape == (10, 4)
    with pytest.raises(ValueError, match="batch_size"):
        task.loader(batch_size=0)


# ----------------------------------------------------------------------------------------------- boxes
def test_worked_example_by_hand_and_by_torchvision():
    pred, truth = torch.tensor([[20.0, 20, 40, 40]]), torch.tensor([[10.0, 10, 30, 30]])
    by_hand = (10 * 10) / (20 * 20 + 20 * 20 - 10 * 10)
    assert paired_iou(pred, truth).item() == pytest.approx(by_hand) == pytest.approx(box_iou(pred, truth).item())


def test_paired_iou_is_the_diagonal_of_box_iou():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(700, 2, generator=g) * 30
    a = torch.cat([a, a + 1 + 20 * torch.rand(700, 2, generator=g)], 1)
    b = a + torch.randn(700, 4, generator=g)
    b[:, 2:] = torch.maximum(b[:, 2:], b[:, :2])
    assert torch.allclose(paired_iou(b, a, chunk=128), box_iou(b, a).diagonal())


def test_xywh_boxes_degenerate_truths_and_empty_sets_get_clear_errors():
    with pytest.raises(ValueError, match="xywh"):
        paired_iou(torch.tensor([[20.0, 20, 5, 5]]), torch.tensor([[10.0, 10, 30, 30]]))
    with pytest.raises(ValueError, match="zero width or height"):
        paired_iou(torch.tensor([[20.0, 20, 40, 40]]), torch.tensor([[10.0, 10, 10, 30]]))
    with pytest.raises(ValueError, match="empty"):
        paired_iou(torch.zeros(0, 4), torch.zeros(0, 4))
    with pytest.raises(ValueError, match="shape"):
        check_boxes(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="pair up"):
        paired_iou(torch.tensor([[0.0, 0, 1, 1]] * 2), torch.tensor([[0.0, 0, 1, 1]]))
    # a degenerate prediction is allowed: it overlaps nothing
    assert paired_iou(torch.tensor([[15.0, 15, 15, 20]]), torch.tensor([[10.0, 10, 30, 30]])).item() == 0.0


# ---------------------------------------------------------------------------------------------- models
@pytest.mark.parametrize("build", [lambda: localiser_ann(channels=(4, 8, 8), width=8),
                                   lambda: localiser_snn(2, channels=(4, 8, 8), width=8)])
def test_localisers_return_scores_and_valid_boxes_and_train(build):
    torch.manual_seed(0)
    net = build()
    x = torch.rand(6, 1, 64, 64)
    target = (torch.arange(6) % 10, torch.tensor([[10.0, 12, 30, 36]]).repeat(6, 1))
    scores, boxes = net(x)
    assert scores.shape == (6, 10) and boxes.shape == (6, 4) and bool((boxes[:, 2:] > boxes[:, :2]).all())
    loss = localisation_loss((scores, boxes), target)
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads[:2])  # the gradient reaches the first convolution
    maps = net.locate(x)["weights"]
    assert [tuple(m.shape[1:]) for m in maps] == [(16, 16), (8, 8), (4, 4)]
    assert torch.allclose(sum(m.sum((1, 2)) for m in maps), torch.ones(6))


def test_loss_choices():
    scores, box = torch.zeros(2, 10), torch.tensor([[10.0, 10, 30, 30], [0, 0, 8, 8]])
    truth = (torch.tensor([1, 2]), box + 2)
    giou, l1 = (localisation_loss((scores, box), truth, box_loss=b) for b in ("giou", "smooth_l1"))
    assert giou > np.log(10) and l1 == pytest.approx(np.log(10) + 1.5)
    with pytest.raises(ValueError, match="box_loss"):
        localisation_loss((scores, box), truth, box_loss="iou")
    assert mean_iou((scores, box), truth) == pytest.approx(paired_iou(box, box + 2).mean().item())


def test_snn_records_spikes_per_layer():
    from labkit.analysis import record_features, spiking_layers

    net = localiser_snn(2, channels=(4, 8, 8), width=8)
    names = spiking_layers(net)
    assert len(names) == 6  # three encoder stages, three pyramid levels
    with torch.no_grad(), record_features(net, names, time="rate") as rec:
        net(torch.rand(3, 1, 64, 64))
    assert all(rec[n].shape[0] == 3 and 0 <= rec[n].min() and rec[n].max() <= 1 for n in names)


# ---------------------------------------------------------------------------------------------- scores
def _random_predictions(n: int, seed: int) -> BoxPredictions:
    g = torch.Generator().manual_seed(seed)
    truth = torch.rand(n, 2, generator=g) * 40
    truth = torch.cat([truth, truth + 8 + 12 * torch.rand(n, 2, generator=g)], 1)
    pred = truth + torch.randn(n, 4, generator=g) * 3
    pred[:, 2:] = torch.maximum(pred[:, 2:], pred[:, :2] + 0.5)
    labels = torch.randint(0, 5, (n,), generator=g)
    guess = torch.where(torch.rand(n, generator=g) < 0.8, labels, torch.randint(0, 5, (n,), generator=g))
    return BoxPredictions(pred, torch.rand(n, generator=g), guess, truth, labels)


@pytest.mark.parametrize("seed", [0, 1])
def test_fast_ap_matches_torchmetrics(seed):
    p = _random_predictions(300, seed)
    library = mean_average_precision(p)
    args = (p.iou.numpy(), p.correct.numpy(), p.scores.numpy(), p.labels.numpy(), p.true_labels.numpy())
    assert _single_object_ap(*args, (0.5,))[0] == pytest.approx(library["map_50"], abs=1e-6)
    assert _single_object_ap(*args, (0.75,))[0] == pytest.approx(library["map_75"], abs=1e-6)
    assert _single_object_ap(*args, COCO_THRESHOLDS).mean() == pytest.approx(library["map"], abs=1e-6)


def test_ap_interval_surrounds_the_estimate_and_empty_sets_are_refused():
    p = _random_predictions(200, 2)
    interval = average_precision_interval(p, "map_50", n_boot=200)
    assert interval.low <= interval.estimate <= interval.high and interval.n == 200
    with pytest.raises(ValueError, match="empty"):
        p.subset([])
    with pytest.raises(ValueError, match="which"):
        average_precision_interval(p, "map_30")


def test_predict_baseline_and_size_bins():
    task = localisation_set(_objects(40), canvas=64, scale=(14, 28), clutter=1)
    net = localiser_ann(channels=(4, 8, 8), width=8)
    p = predict(net, task, batch_size=16)
    assert len(p) == 40 and p.scores.min() > 0 and p.iou.shape == (40,)
    base = mean_box_baseline(task, task)
    assert torch.allclose(base.boxes, task.boxes.mean(0).expand(40, 4))
    bins, gap = iou_by_size(base.iou, task.sizes, bins=2, n_boot=100)
    assert len(bins) == 2 and sum(b.n for b in bins) == 40 and bins[0].high == bins[1].low
    assert gap.estimate == pytest.approx(bins[0].iou.estimate - bins[1].iou.estimate)
    with pytest.raises(ValueError, match="increasing"):
        iou_by_size(base.iou, task.sizes, bins=[10, 10])
