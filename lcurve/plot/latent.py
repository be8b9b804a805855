"""Latent transfer factors: the biplot of :func:`lcurve.latent.transfer_factors`.

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> table = pd.DataFrame({"source": list("abcabc"), "target": list("bcacab"),
...                       "mean": [0.3, 0.1, -0.2, 0.0, 0.4, 0.2]})
>>> plot_latent(table).get_xlabel().startswith("factor 1")
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lcurve.plot._inputs import transfer_table_of
from lcurve.plot._labels import place_labels

__all__ = ["plot_biplot", "plot_latent"]


def plot_biplot(factors, *, x: int = 1, y: int = 2, ax=None,
                scatter_kwargs: dict | None = None, arrow_kwargs: dict | None = None):
    """Biplot: source scores as points, target loadings as arrows (scaled to the scores).

    Parameters
    ----------
    factors : lcurve.latent.TransferFactors
        Output of :func:`lcurve.latent.transfer_factors` (at least ``max(x, y)`` factors).
    x, y
        1-based factor numbers for the axes.
    ax
        Matplotlib Axes to draw on (default a new figure).
    scatter_kwargs, arrow_kwargs
        Passed to ``ax.scatter`` and ``ax.arrow``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    n = factors.scores.shape[1]
    if not (1 <= x <= n and 1 <= y <= n):
        raise ValueError(f"x and y must be factor numbers in [1, {n}], got x={x}, y={y}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    sx, sy = factors.scores.iloc[:, x - 1], factors.scores.iloc[:, y - 1]
    ax.scatter(sx, sy, **{"color": "C0", "zorder": 3, **(scatter_kwargs or {})})
    lx, ly = factors.loadings.iloc[:, x - 1], factors.loadings.iloc[:, y - 1]
    reach = max(float(np.abs(np.r_[sx, sy]).max()), 1e-12)
    stretch = 0.9 * reach / max(float(np.hypot(lx, ly).max()), 1e-12)
    for name, a, b in zip(factors.loadings.index, lx * stretch, ly * stretch):
        ax.arrow(0, 0, a, b, **{"color": "C3", "alpha": 0.7, "width": reach * 0.004,
                                 "length_includes_head": True, **(arrow_kwargs or {})})
    tips = (lx * stretch, ly * stretch)
    ev = factors.explained["explained_variance_ratio"]
    ax.set_xlabel(f"factor {x} ({100 * ev.iloc[x - 1]:.0f}% of variance)")
    ax.set_ylabel(f"factor {y} ({100 * ev.iloc[y - 1]:.0f}% of variance)")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    ax.set_title(f"transfer biplot (sources: points, targets: arrows; centre={factors.center})",
                 fontsize=10)
    span = 1.25 * reach
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    place_labels(ax, sx.to_numpy(), sy.to_numpy(), list(map(str, factors.scores.index)),
                 text_kwargs={"fontsize": 8, "color": "C0"})
    place_labels(ax, tips[0].to_numpy(), tips[1].to_numpy(),
                 list(map(str, factors.loadings.index)),
                 text_kwargs={"fontsize": 8, "color": "C3"})
    return ax


def plot_latent(source, *, ax=None, factors_kwargs: dict | None = None,
                biplot_kwargs: dict | None = None):
    """Biplot of the latent transfer factors (:func:`plot_biplot`).

    Parameters
    ----------
    source : TransferFactors, CurveFit or DataFrame
        Factors from :func:`lcurve.latent.transfer_factors`, or something to decompose: a fit
        (its posterior mean ``tau``), a tidy transfer table ``source, target, mean`` or a square
        ``source x target`` matrix.
    ax : Axes, optional
    factors_kwargs : dict, optional
        Passed to :func:`lcurve.latent.transfer_factors` (``center``, ``scale``).
    biplot_kwargs : dict, optional
        Passed to :func:`plot_biplot` (``x``, ``y``, ``scatter_kwargs``...).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from lcurve.latent import TransferFactors, transfer_factors
    from lcurve.transfer import transfer_matrix

    if isinstance(source, TransferFactors):
        factors = source
    else:
        if isinstance(source, pd.DataFrame) and "source" not in source.columns:
            matrix = source
        else:
            table = transfer_table_of(source)
            matrix = transfer_matrix(table[table["source"] != "context"])
        factors = transfer_factors(matrix, **(factors_kwargs or {}))
    if factors.scores.shape[1] < 2:
        raise ValueError("a biplot needs at least two factors (three or more tasks)")
    return plot_biplot(factors, ax=ax, **(biplot_kwargs or {}))
