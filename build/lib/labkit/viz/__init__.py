"""Viz: one plot style, the book's figures and interactive widgets.

* :mod:`~labkit.viz.plot`: the style, rasters, image grids, spike movies, curves, heatmaps;
* :mod:`~labkit.viz.learned`: kernels, feature-visualisation matrices and receptive-field figures;
* :mod:`~labkit.viz.widgets`: :func:`interact`, sliders in Jupyter and a static figure in the book;
* :mod:`~labkit.viz.search`: best value against queries, and neurons' preferred inputs across training.
* :mod:`~labkit.viz.boxes`: canvases with their boxes, the IoU of two boxes to scale, intervals by group.
* :mod:`~labkit.viz.reconstruction`: autoencoders' reconstruction grids, embedding maps, sweeps with intervals.

Every figure has a title and axis labels with units.
"""

from __future__ import annotations

from . import boxes, learned, plot, reconstruction, search, widgets
from .widgets import interact

__all__ = ["plot", "learned", "widgets", "interact", "search", "boxes", "reconstruction"]
