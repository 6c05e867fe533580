import pytest
import torch

from labkit.spiking import events, stimuli


def test_saccade_path_is_closed_triangle():
    path = stimuli.saccade_path(31, amplitude=3.0, n_saccades=3)
    assert path.shape == (31, 2)
    assert torch.allclose(path[0], torch.zeros(2), atol=1e-6)
    assert torch.allclose(path[-1], torch.zeros(2), atol=1e-5)
    # the vertices (steps 10 and 20) are one amplitude apart
    assert torch.linalg.norm(path[10] - path[20]).item() == pytest.approx(3.0, abs=1e-5)
    assert torch.linalg.norm(path[10]).item() == pytest.approx(3.0, abs=1e-5)


def test_saccade_shifts_image_by_whole_pixels():
    img = torch.zeros(1, 9, 9)
    img[0, 4, 4] = 1.0
    frames = stimuli.saccade(img, num_steps=4, amplitude=2.0, n_saccades=4)  # square path, vertices at integers
    peak = [divmod(int(f[0].argmax()), 9) for f in frames]
    assert peak[0] == (4, 4)
    assert frames.shape == (4, 1, 9, 9)
    assert all(abs(r - 4) <= 2 and abs(c - 4) <= 2 for r, c in peak)


def test_emulate_events_counts_log_contrast_crossings():
    # one pixel goes 0.1 -> 0.5 -> 0.1: log(0.55 / 0.15) = 1.30 gives 6 events of threshold 0.2
    frames = torch.tensor([0.1, 0.5, 0.5, 0.1]).view(4, 1, 1)
    ev = events.emulate_events(frames, threshold=0.2, eps=0.05)
    assert ev.shape == (4, 2, 1, 1)
    assert ev[:, 0, 0, 0].tolist() == [0, 6, 0, 0]
    assert ev[:, 1, 0, 0].tolist() == [0, 0, 0, 6]


def test_emulate_events_still_scene_is_silent():
    frames = torch.rand(1, 5, 5).expand(6, 5, 5).contiguous()
    assert events.emulate_events(frames).sum() == 0


def test_emulate_events_validates_arguments():
    with pytest.raises(ValueError, match="threshold"):
        events.emulate_events(torch.rand(3, 2, 2), threshold=0)
    with pytest.raises(ValueError, match=r"frames must lie in \[0, 1\]"):
        events.emulate_events(torch.rand(3, 2, 2) * 3)


def test_saccade_blur_does_not_depend_on_the_sub_pixel_offset():
    # bilinear resampling is sharp at whole-pixel offsets and smeared in between: the sharpness of one bright
    # pixel changed 4-fold along the path, and the event camera fired for it (a burst of ON events in frame 1)
    img = torch.zeros(1, 15, 15)
    img[0, 7, 7] = 1.0
    frames = stimuli.saccade(img, num_steps=60, amplitude=3.0)
    sharpness = frames.pow(2).sum(dim=(1, 2, 3))
    assert (sharpness.max() / sharpness.min()).item() < 1.02
    assert torch.allclose(frames.sum(dim=(1, 2, 3)), torch.ones(60), atol=1e-4)  # brightness kept at every offset


def test_saccade_events_leaving_the_start_are_no_burst():
    # a bright bar moving at constant speed: the first frame of motion has no more events than the frames after it
    img = torch.zeros(1, 16, 16)
    img[0, 4:12, 6:10] = 0.9
    ev = events.emulate_events(stimuli.saccade(img, num_steps=45, amplitude=3.0), threshold=0.2)
    per_frame = ev.sum(dim=(1, 2, 3))
    assert per_frame[1] <= per_frame[2:14].max()


def test_closed_saccade_gives_as_many_off_as_on_events_per_pixel():
    # the path ends where it started, so each pixel's log intensity, and with it its reference, returns to its start
    img = torch.rand(1, 12, 12) * torch.linspace(0, 1, 12)
    ev = events.emulate_events(stimuli.saccade(img, num_steps=33, amplitude=2.5), threshold=0.15)
    assert ev.sum() > 0
    assert torch.equal(ev[:, 0].sum(0), ev[:, 1].sum(0))


def test_saccade_validates_blur():
    with pytest.raises(ValueError, match="blur"):
        stimuli.saccade(torch.rand(4, 4), 5, blur=0)
