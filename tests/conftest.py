"""Shared test set-up: deterministic seeds, no interactive backends, static outputs."""

import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("LABKIT_STATIC", "1")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import labkit  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_and_close_figures():
    labkit.seed_everything(0)
    yield
    plt.close("all")
