import matplotlib.pyplot as plt
import pytest
import torch

from labkit.viz import plot
from labkit.viz import interact


def _draw(gain=1.5, mode="a"):
    fig, ax = plt.subplots()
    ax.plot([0, gain])
    ax.set_title(f"{mode} {gain}")
    return fig


def test_interact_static_draws_defaults():
    fig = interact(_draw, static=True, gain=(0.0, 3.0, 0.5), mode=["a", "b"])
    assert fig.axes[0].get_title() == "a 1.5"


def test_interact_interactive_builds_controls():
    w = interact(_draw, static=False, gain=(0.0, 3.0, 0.5), mode=["a", "b"])
    descriptions = {c.description: c.value for c in w.widget.children if hasattr(c, "value")}
    assert descriptions == {"gain": 1.5, "mode": "a"}


def test_interact_needs_defaults_and_known_names():
    def no_default(x):
        return x

    with pytest.raises(TypeError, match="default"):
        interact(no_default, static=True, x=(0, 1))
    with pytest.raises(TypeError, match="no parameter"):
        interact(_draw, static=True, other=(0, 1))


def test_raster_and_frames_have_titles_and_labels():
    s = (torch.rand(30, 10) < 0.2).float()
    s[3, 2] = -1
    fig = plot.raster(s, title="R", dt=1e-3)
    ax = fig.axes[0]
    assert ax.get_title() == "R" and ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "neuron"
    with pytest.raises(ValueError, match=r"\[T, N\]"):
        plot.raster(torch.rand(3, 2, 2), title="bad")
    fig = plot.spike_frames(torch.rand(20, 4, 4), steps=[0, 10, 19], title="F", dt=1e-3)
    assert [a.get_title() for a in fig.axes[:3]] == ["t = 0 ms", "t = 10 ms", "t = 19 ms"]
    with pytest.raises(ValueError, match="outside"):
        plot.spike_frames(torch.rand(5, 4, 4), steps=[7], title="F")


def test_spike_movie_static_and_animated():
    frames = torch.rand(8, 5, 5)
    fig = plot.spike_movie(frames, title="M", n_static=4, static=True)
    assert fig._suptitle.get_text() == "M"
    html = plot.spike_movie(frames, title="M", static=False)
    assert "<script" in html.data


def test_bars_and_learning_curves():
    fig = plot.bars({"rate": 0.9, "latency": 0.99}, title="B", ylabel="sparsity")
    assert fig.axes[0].get_ylabel() == "sparsity"
    from labkit.train import History

    h = History(epoch=[1, 2], train={"loss": [1.0, 0.5]}, val={"loss": [1.1, 0.6], "acc": [0.5, 0.7]},
                val_data="Toy (validation images held out of the training data)")
    fig = plot.learning_curves({"net": h}, title="L")
    assert fig.axes[1].get_title() == "Accuracy on Toy (validation images held out of the training data)"
    assert all(float(x).is_integer() for x in fig.axes[0].get_xticks())  # whole epochs only


def test_image_grid_rgb_and_gray():
    fig = plot.image_grid(torch.rand(3, 3, 8, 8), title="RGB", titles=["a", "b", "c"])
    assert len(fig.axes) == 3
    fig = plot.image_grid(torch.rand(5, 1, 8, 8), title="G", ncols=2, colorbar_label="intensity")
    assert fig._suptitle.get_text() == "G"
