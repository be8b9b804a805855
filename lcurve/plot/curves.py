"""Learning curves: observed scores with the posterior curve and its credible bands.

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from lcurve.curves import simulate_results
>>> table, _ = simulate_results(n_tasks=2, seed=0)
>>> fig = plot_curves(table)            # observed scores only (no fit needed)
>>> len(fig.axes)
2
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lcurve.plot._inputs import curve_draws, is_fit, observed_scores

__all__ = ["plot_curves", "SIZE_LABEL"]

#: x-axis label of every sample-size axis.
SIZE_LABEL = "training samples of the task (compounds, log scale)"

_ALONE, _CONTEXT = "C0", "C3"


def _grid_axes(n_panels: int, ax):
    import matplotlib.pyplot as plt

    if ax is not None:
        axes = np.atleast_1d(ax).ravel()
        if len(axes) < n_panels:
            raise ValueError(f"ax holds {len(axes)} Axes but {n_panels} tasks are plotted; "
                             f"pass one Axes per task or ax=None")
        return axes[0].figure, axes
    cols = min(n_panels, 3)
    rows = int(np.ceil(n_panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False,
                             constrained_layout=True)
    for extra in axes.ravel()[n_panels:]:
        extra.remove()
    return fig, axes.ravel()[:n_panels]


def _band(ax, x, draws, color, probs, fill_kwargs):
    for prob in sorted(probs, reverse=True):
        tail = (1 - prob) / 2
        low, high = np.quantile(draws, [tail, 1 - tail], axis=0)
        alpha = 0.15 if prob == max(probs) else 0.3
        ax.fill_between(x, low, high, **{"color": color, "alpha": alpha, "linewidth": 0,
                                         "label": f"{int(round(100 * prob))}% interval",
                                         **(fill_kwargs or {})})


def _curve(ax, x, draws, n_max, color, label, probs, line_kwargs, fill_kwargs):
    _band(ax, x, draws, color, probs, fill_kwargs)
    mean = draws.mean(0)
    inside = x <= n_max
    style = {"color": color, "linewidth": 1.8, **(line_kwargs or {})}
    ax.plot(x[inside], mean[inside], label=f"{label}: posterior mean", **style)
    beyond = x >= x[inside][-1] if inside.any() else np.ones_like(inside)
    if (~inside).any():
        ax.plot(x[beyond], mean[beyond], **{**style, "linestyle": "--"},
                label=f"{label}: extrapolated")


def plot_curves(source, *, tasks=None, metric: str = "auroc", context_size: float | None = None,
                extrapolate: float = 4.0, hdi_probs=(0.5, 0.9), ax=None,
                scatter_kwargs: dict | None = None, line_kwargs: dict | None = None,
                fill_kwargs: dict | None = None):
    """One panel per task: observed scores vs training size, and the fitted curve with bands.

    Parameters
    ----------
    source : CurveFit or DataFrame
        A fitted :class:`~lcurve.curves.CurveFit` (observed scores come from its
        ``idata``; posterior mean and intervals are drawn) or a results table (``task, value``,
        ``n_<task>`` columns; optional ``metric, seed``): observed scores only.
    tasks : list of str, optional
        Tasks to plot (default all).
    metric : str
        Metric to keep when ``source`` is a results table.
    context_size : float, optional
        Training samples of *each* other task for the "with other tasks" curve (default: the
        largest size of the other tasks in the fitted data). Ignored for ``transfer="none"``.
    extrapolate : float
        The curves run to ``extrapolate`` times the largest observed size; the part beyond the
        data is dashed.
    hdi_probs : tuple of float
        Central posterior intervals drawn as nested bands (default 50% and 90%).
    ax : Axes or array of Axes, optional
        One Axes per task; default a new figure.
    scatter_kwargs, line_kwargs, fill_kwargs : dict, optional
        Passed to ``ax.scatter`` (observations), ``ax.plot`` (posterior means) and
        ``ax.fill_between`` (bands).

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from lcurve.curves import simulate_results
    >>> table, _ = simulate_results(n_tasks=3, seed=0)
    >>> fig = plot_curves(table, tasks=["task00"])
    >>> fig.axes[0].get_xscale()
    'log'
    """
    observed = observed_scores(source, metric=metric)
    all_tasks = list(source.tasks) if is_fit(source) else list(pd.unique(observed["task"]))
    tasks = all_tasks if tasks is None else list(tasks)
    unknown = sorted(set(tasks) - set(all_tasks))
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; available: {all_tasks}")
    own_figure = ax is None
    fig, axes = _grid_axes(len(tasks), ax)
    fitted = is_fit(source)
    structure = source.config.transfer if fitted else None
    if fitted and context_size is None:
        sizes = source.idata.constant_data["sizes"].values
    ylabel = f"test {metric.upper()}" if not fitted else f"test {source.config.metric.upper()}"
    for axis, task in zip(axes, tasks):
        rows = observed[(observed["task"] == task) & (observed["n_own"] > 0)]
        alone, ctx = rows[rows["n_other"] == 0], rows[rows["n_other"] > 0]
        style = {"s": 14, "alpha": 0.7, "zorder": 3, **(scatter_kwargs or {})}
        axis.scatter(alone["n_own"], alone["value"], **{"color": _ALONE, "marker": "o", **style},
                     label="observed, alone")
        if len(ctx):
            axis.scatter(ctx["n_own"], ctx["value"], **{"color": _CONTEXT, "marker": "^",
                                                         **style},
                         label="observed, with other tasks")
        if fitted:
            n_max = float(rows["n_own"].max()) if len(rows) else 1.0
            n_min = float(rows["n_own"].min()) if len(rows) else 1.0
            x = np.geomspace(max(1.0, n_min / 2), n_max * extrapolate, 80)
            x = np.unique(np.r_[x, n_max])
            _curve(axis, x, curve_draws(source, task, x), n_max, _ALONE, "alone", hdi_probs,
                   line_kwargs, fill_kwargs)
            if structure != "none" and len(source.tasks) > 1:
                k = list(source.tasks).index(task)
                other = context_size if context_size is not None else float(
                    np.delete(sizes, k, axis=1).max())
                _curve(axis, x, curve_draws(source, task, x, n_other=other), n_max, _CONTEXT,
                       f"others at n={other:g}", hdi_probs, line_kwargs, fill_kwargs)
        axis.set_xscale("log")
        axis.set_xlabel(SIZE_LABEL)
        axis.set_ylabel(ylabel)
        axis.set_title(str(task))
        axis.grid(alpha=0.3, which="both", linewidth=0.5)
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if own_figure:
        fig.legend(unique.values(), unique.keys(), fontsize=8, loc="outside lower center",
                   ncols=min(4, len(unique)))
    else:
        axes[0].legend(unique.values(), unique.keys(), fontsize=7, loc="lower right")
    return fig
