"""Viz: one plot style, the book's figures and interactive widgets.

* :mod:`~labkit.viz.plot`: the style, rasters, image grids, spike movies, curves, heatmaps;
* :mod:`~labkit.viz.learned`: kernels, feature-visualisation matrices and receptive-field figures;
* :mod:`~labkit.viz.widgets`: :func:`interact`, sliders in Jupyter and a static figure in the book;
* :mod:`~labkit.viz.reconstruction`: autoencoders' reconstruction grids, embedding maps, sweeps with intervals.

Every figure has a title and axis labels with units.
"""

from __future__ import annotations

from . import learned, plot, reconstruction, widgets
from .widgets import interact

__all__ = ["plot", "learned", "widgets", "interact", "reconstruction"]
