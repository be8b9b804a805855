"""Figures of the TAG vs learning-curve comparison (:mod:`lcurve.affinity.compare`).

- :func:`plot_comparison`: each method's scores against the ground truth, and its wall time.
- :func:`plot_power_vs_compute`: score quality against log compute, one line per method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_comparison", "plot_power_vs_compute"]

#: Method name -> label used in legends.
METHOD_LABELS = {"tag": "TAG (lookahead)", "lc_full": "learning curves (full)",
                 "lc_fast": "learning curves (warm-start)",
                 "lc_accumulating": "learning curves (accumulating, leave-one-out)",
                 "lc_accumulating_pairs": "learning curves (accumulating, pairs)"}


def plot_comparison(comparison, *, axes=None, scatter_kwargs: dict | None = None):
    """Scores (percentile rank) against the reference truth, and wall time per method.

    Parameters
    ----------
    comparison
        A :class:`~lcurve.affinity.Comparison` (its ``scores`` and ``table``).
    axes : pair of Axes, optional
        Where to draw the scores and the wall times (default: a new figure with two panels).
    scatter_kwargs
        Passed to ``Axes.scatter``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, (ax_scores, ax_cost) = plt.subplots(1, 2, figsize=(10, 4))
    else:
        ax_scores, ax_cost = axes
        fig = ax_scores.figure
    scores = comparison.scores
    reference = "truth" if "truth" in scores else "benefit"
    for method, block in scores.groupby("method", sort=False):
        ranks = block["score"].rank(pct=True)
        ax_scores.scatter(block[reference], ranks, label=METHOD_LABELS.get(method, method),
                          **{"alpha": 0.7, "s": 18, **(scatter_kwargs or {})})
    ax_scores.set_xlabel("planted relatedness" if reference == "truth"
                         else "measured benefit at full data (AUROC gain)")
    ax_scores.set_ylabel("method score (percentile rank)")
    ax_scores.legend(fontsize=7)
    rows = comparison.table[comparison.table["seconds"].notna()]
    ax_cost.bar(rows["method"], rows["seconds"])
    ax_cost.set_yscale("log")
    ax_cost.set_ylabel("wall time (s, log scale)")
    ax_cost.tick_params(axis="x", labelrotation=20)
    if axes is None:
        fig.tight_layout()
    return fig


def plot_power_vs_compute(table: pd.DataFrame, *, quality: tuple[str, ...] = ("quality",),
                          compute: str = "seconds", axes=None,
                          line_kwargs: dict | None = None):
    """Score quality against compute (log scale), one line per method, one panel per column.

    Parameters
    ----------
    table
        Tidy ``method, <compute>, <quality...>`` (one row per method and budget), e.g. from
        ``experiments/compare/power_vs_compute.py``; an optional ``dataset`` column gives one
        row of panels per data set.
    quality
        Quality columns to draw (AUROC against planted relatedness, Spearman against a truth...).
    compute
        ``"seconds"`` (wall time) or ``"train_steps"`` (optimizer steps).
    axes
        Array of Axes ``(datasets, len(quality))``; default a new figure.
    line_kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    datasets = list(table["dataset"].unique()) if "dataset" in table else [None]
    if axes is None:
        fig, axes = plt.subplots(len(datasets), len(quality), squeeze=False,
                                 figsize=(4.2 * len(quality), 3.4 * len(datasets)))
    axes = np.atleast_2d(axes)
    for r, name in enumerate(datasets):
        block = table if name is None else table[table["dataset"] == name]
        for c, column in enumerate(quality):
            ax = axes[r, c]
            if column not in block or block[column].isna().all():
                ax.text(0.5, 0.5, f"no {column.replace('_', ' ')}\n(no such truth here)",
                        ha="center", va="center", transform=ax.transAxes, fontsize=8)
                ax.set_axis_off()
                continue
            for method, rows in block.groupby("method", sort=False):
                rows = rows.dropna(subset=[column]).sort_values(compute)
                if rows.empty:
                    continue
                ax.plot(rows[compute], rows[column], label=METHOD_LABELS.get(method, method),
                        **{"marker": "o", **(line_kwargs or {})})
            ax.set_xscale("log")
            ax.set_xlabel("wall time (s, log scale)" if compute == "seconds"
                          else "optimizer steps (log scale)")
            ax.set_ylabel(column.replace("_", " "))
            if name is not None:
                ax.set_title(f"{name}", fontsize=9)
            if r == 0 and c == 0:
                ax.legend(fontsize=7)
            if column.startswith(("spearman", "auroc")):
                ax.axhline(0.5 if column.startswith("auroc") else 0.0, color="0.7", lw=0.8,
                           zorder=0)  # chance
    fig = axes[0, 0].figure
    fig.tight_layout()
    return fig
