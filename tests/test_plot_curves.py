import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from labkit.train import History  # noqa: E402
from labkit.viz import plot  # noqa: E402


def _history(n: int) -> History:
    return History(epoch=list(range(1, n + 1)), seconds=[1.0] * n, train={"loss": [1 / k for k in range(1, n + 1)]},
                   val={"loss": [1.0] * n, "acc": [0.5] * n})


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 12, 40])
def test_learning_curves_tick_whole_epochs_only(n):
    # a run of one or two epochs used to get ticks at 0.945, 0.960 ... on the epoch axis
    fig = plot.learning_curves({"a": _history(n), "b": _history(n)}, title="toy")
    fig.canvas.draw()
    for ax in fig.axes:
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() and 1 <= t <= n for t in ticks), ticks
        labels = [label.get_text() for label in ax.get_xticklabels() if label.get_text()]
        assert all("." not in text for text in labels), labels
        if n <= 10:
            assert [int(t) for t in ticks] == list(range(1, n + 1))
    matplotlib.pyplot.close(fig)


def test_curves_on_log_log_axes_with_a_dashed_reference():
    t = [1, 10, 100, 1000]
    fig = plot.curves(t, {"measured": [1.0, 0.33, 0.1, 0.031]}, title="E", xlabel="T (steps)", ylabel="error",
                      logx=True, logy=True, references={"slope -1/2": [1.0, 0.316, 0.1, 0.0316]})
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    measured, reference = ax.lines
    assert measured.get_marker() == "o" and reference.get_linestyle() == "--" and reference.get_marker() in ("None", "")
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["measured", "slope -1/2"]
    matplotlib.pyplot.close(fig)
