import pytest
import torch

from labkit.analysis import Net, inputs
from labkit.models import block_names, resnet_ann, resnet_snn
from labkit.spiking.events import emulate_events
from labkit.spiking.stimuli import saccade


def test_events_to_frames_bins_every_event_once():
    g = torch.Generator().manual_seed(0)
    counts = torch.randint(0, 3, (6, 2, 5, 4), generator=g).float()
    frames = inputs.events_to_frames(counts, num_steps=3)
    assert frames.shape == (3, 2, 5, 4)
    torch.testing.assert_close(frames, counts.reshape(3, 2, 2, 5, 4).sum(1))  # two fine frames per bin, ON first
    with pytest.raises(ValueError, match="split evenly"):
        inputs.events_to_frames(counts, num_steps=4)
    with pytest.raises(ValueError, match=r"\[F, 2"):
        inputs.events_to_frames(counts[:, :1], num_steps=3)
    assert inputs.events_to_frames(torch.zeros(4, 2, 3, 3), 2).abs().sum() == 0  # no events, empty frames


def test_event_view_is_the_emulator_binned():
    g = torch.Generator().manual_seed(1)
    images = torch.rand(2, 3, 12, 10, generator=g)
    view = inputs.event_view(images, num_steps=3, substeps=2, threshold=0.2)
    assert view.sequence.shape == (3, 2, 3, 12, 10) and len(view) == 2
    torch.testing.assert_close(view.still, view.sequence.mean(0))
    for i in range(2):  # one image at a time through the emulator gives the same signed counts
        scene = torch.nn.functional.pad(images[i:i + 1], (3, 3, 3, 3), mode="replicate")[0]
        counts = emulate_events(saccade(scene, 7, 2.0)[..., 3:-3, 3:-3].mean(1), threshold=0.2)[1:]
        signed = (counts[:, 0] - counts[:, 1]).reshape(3, 2, 12, 10).sum(1)
        torch.testing.assert_close(view.sequence[:, i, 0], (0.5 * torch.exp(0.2 * signed)).clamp(0, 1))
        torch.testing.assert_close(view.sequence[:, i, 0], view.sequence[:, i, 2])  # no colour
        assert (view.sequence[:, i] > 0.5).any() and (view.sequence[:, i] < 0.5).any()  # ON and OFF events
    for value in (0.0, 0.7):  # a uniform scene never changes, even at the image border: all grey
        flat = inputs.event_view(torch.full((1, 3, 8, 8), value), num_steps=2)
        assert torch.equal(flat.sequence, torch.full_like(flat.sequence, 0.5))
    with pytest.raises(ValueError, match="background"):
        inputs.event_view(images, num_steps=3, background=1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        inputs.event_view(images * 2, num_steps=3)


def test_rate_view_reproduces_and_averages():
    images = torch.rand(3, 3, 8, 8)
    a, b = inputs.rate_view(images, 20, seed=4), inputs.rate_view(images, 20, seed=4)
    assert torch.equal(a.sequence, b.sequence) and a.sequence.shape == (20, 3, 3, 8, 8)
    torch.testing.assert_close(a.still, a.sequence.mean(0))
    with pytest.raises(ValueError, match="sequence must be"):
        inputs.InputView("bad", images, a.sequence[:, :2])


def test_shown_for_sets_and_restores_the_steps():
    snn = resnet_snn(num_steps=2, width=4, depth=1).eval()
    with inputs.shown_for(snn, 5):
        assert snn.body[0].num_steps == 5
        with torch.no_grad():
            assert snn(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert snn.body[0].num_steps == 2
    with pytest.raises(TypeError, match="still image"):
        with inputs.shown_for(resnet_ann(4, 1), 3):
            pass


def test_compare_on_still_and_sequence_views():
    torch.manual_seed(0)
    ann, snn = resnet_ann(width=4, depth=1).eval(), resnet_snn(num_steps=2, width=4, depth=1).eval()
    a, s = Net(ann, block_names(ann)), Net(snn, block_names(snn), spiking=True)
    images, labels = torch.rand(24, 3, 32, 32), torch.randint(0, 10, (24,))
    for view in (inputs.still_view(images), inputs.rate_view(images, 3), inputs.event_view(images, 2)):
        r = inputs.compare_on(a, s, view, labels, batch_size=8)
        assert r.cka.batches == 3 and r.cka.compute().shape == (3, 3) and torch.isfinite(r.cka.compute()).all()
        assert r.ann_correct.shape == r.snn_correct.shape == (24,)
        assert set(r.snn_correct.unique().tolist()) <= {0.0, 1.0}
        assert snn.body[0].static_input  # restored after a sequence view
    with torch.no_grad():
        want = (ann(images).argmax(1) == labels).float()
    torch.testing.assert_close(inputs.compare_on(a, s, inputs.still_view(images), labels, 8).ann_correct, want)
    with pytest.raises(ValueError, match="ANN first"):
        inputs.compare_on(s, a, inputs.still_view(images), labels)
    with pytest.raises(ValueError, match="labels has"):
        inputs.compare_on(a, s, inputs.still_view(images), labels[:5])
