"""Learning curves per target and partner: observed scores, posterior curves, credible bands.

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

__all__ = ["plot_curves", "SIZE_LABEL", "SIZE_MARKERS"]

#: x-axis label of every sample-size axis.
SIZE_LABEL = "training samples of the task (compounds, log scale)"

_ALONE, _CONTEXT = "0.15", "C3"
#: Markers of the partner's training size in pair runs (smallest size first).
SIZE_MARKERS = ("^", "s", "D", "v", "P", "X", "*")


def _task_colors(tasks) -> dict:
    """One colour per task (its colour as a partner), stable across panels."""
    import matplotlib.pyplot as plt

    cycle = plt.get_cmap("tab10").colors
    return {t: cycle[k % len(cycle)] for k, t in enumerate(tasks)}


def _grid_axes(n_panels: int, ax):
    import matplotlib.pyplot as plt

    if ax is not None:
        axes = np.atleast_1d(ax).ravel()
        if len(axes) < n_panels:
            raise ValueError(f"ax holds {len(axes)} Axes but {n_panels} tasks are plotted; "
                             f"pass one Axes per task or ax=None")
        return axes[0].figure, axes
    cols = min(n_panels, 2 if n_panels <= 4 else 3)
    rows = int(np.ceil(n_panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.5 * rows), squeeze=False,
                             constrained_layout=True)
    for extra in axes.ravel()[n_panels:]:
        extra.remove()
    return fig, axes.ravel()[:n_panels]


def _band(ax, x, draws, color, probs, fill_kwargs):
    for prob in sorted(probs, reverse=True):
        tail = (1 - prob) / 2
        low, high = np.quantile(draws, [tail, 1 - tail], axis=0)
        alpha = 0.12 if prob == max(probs) else 0.25
        ax.fill_between(x, low, high, **{"color": color, "alpha": alpha, "linewidth": 0,
                                         "label": f"{int(round(100 * prob))}% interval",
                                         **(fill_kwargs or {})})


def _curve(ax, x, draws, n_max, color, label, probs, line_kwargs, fill_kwargs):
    _band(ax, x, draws, color, probs, fill_kwargs)
    mean = draws.mean(0)
    inside = x <= n_max
    style = {"color": color, "linewidth": 1.6, **(line_kwargs or {})}
    ax.plot(x[inside], mean[inside], label=label, **style)
    beyond = x >= x[inside][-1] if inside.any() else np.ones_like(inside)
    if (~inside).any():
        ax.plot(x[beyond], mean[beyond], **{**style, "linestyle": "--"},
                label=f"{label}: extrapolated")


def _legend_handles(partners, colors, size_markers, fitted, extrapolated):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color=_ALONE, marker="o", markerfacecolor="white",
                      linestyle="-" if fitted else "none", label="alone")]
    for name in partners:
        color = _CONTEXT if name == "several tasks" else colors[name]
        handles.append(Line2D([], [], color=color, marker="o", linestyle="-" if fitted else "none",
                              label=f"with {name}"))
    for size, marker in size_markers.items():
        handles.append(Line2D([], [], color="0.45", marker=marker, linestyle="none",
                              label=f"partner n={size:g}"))
    if fitted:
        handles.append(Patch(color="0.5", alpha=0.25, label="90% interval"))
    if extrapolated:
        handles.append(Patch(facecolor="0.93", edgecolor="0.75", hatch="///",
                             label="beyond the data (extrapolated, dashed)"))
    return handles


def plot_curves(source, *, tasks=None, metric: str = "auroc", context_size: float | None = None,
                extrapolate: float = 4.0, hdi_probs=(0.5, 0.9), max_partners: int = 5, ax=None,
                scatter_kwargs: dict | None = None, line_kwargs: dict | None = None,
                fill_kwargs: dict | None = None):
    """One panel per target task: scores alone and with each partner, and the fitted curves.

    Observed scores of single-task runs are open black circles, drawn on top; pair runs are
    coloured by partner (one colour per task, the same in every panel) with one marker per
    partner size, dodged slightly to the right of the alone points so neither hides the other.
    With a fit, the posterior mean curve alone (black, 50% and 90% bands) and with each partner
    at its largest size (partner colour, 90% band) are drawn; the range beyond the largest
    observed size is shaded and its curves are dashed.

    Parameters
    ----------
    source : CurveFit or DataFrame
        A fitted :class:`~lcurve.curves.CurveFit` (observed scores come from its
        ``idata``; posterior mean and intervals are drawn) or a results table (``task, value``,
        ``n_<task>`` columns; optional ``metric, seed``): observed scores only.
    tasks : list of str, optional
        Target tasks to plot (default all).
    metric : str
        Metric to keep when ``source`` is a results table.
    context_size : float, optional
        Training samples of each partner for the "with" curves (default: the partner's largest
        size paired with the target in the data, else its largest fitted size).
    extrapolate : float
        The curves run to ``extrapolate`` times the largest observed size.
    hdi_probs : tuple of float
        Central posterior intervals of the alone curve (partners get the widest only).
    max_partners : int
        With more partners than this (or a contextual fit), one "with all other tasks" curve
        is drawn instead of one per partner.
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
    fitted = is_fit(source)
    all_tasks = list(source.tasks) if fitted else list(pd.unique(observed["task"]))
    tasks = all_tasks if tasks is None else list(tasks)
    unknown = sorted(set(tasks) - set(all_tasks))
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; available: {all_tasks}")
    own_figure = ax is None
    fig, axes = _grid_axes(len(tasks), ax)
    colors = _task_colors(all_tasks)
    structure = source.config.transfer if fitted else None
    fitted_max = source.idata.constant_data["sizes"].values.max(0) if fitted else None
    ylabel = f"test {(source.config.metric if fitted else metric).upper()}"
    paired = observed[observed["n_other"] > 0]
    size_markers = {size: SIZE_MARKERS[k % len(SIZE_MARKERS)]
                    for k, size in enumerate(sorted(paired["n_partner"].unique()))}
    shown_partners: list[str] = []
    extrapolated = False
    for axis, task in zip(axes, tasks):
        rows = observed[(observed["task"] == task) & (observed["n_own"] > 0)]
        alone, ctx = rows[rows["n_other"] == 0], rows[rows["n_other"] > 0]
        partners = list(pd.unique(ctx["partner"]))
        style = {"s": 16, "alpha": 0.8, "linewidths": 0.6, **(scatter_kwargs or {})}
        for k, partner in enumerate(partners):
            part = ctx[ctx["partner"] == partner]
            color = _CONTEXT if partner == "several tasks" else colors[partner]
            dodge = 1.0 + 0.045 * (k + 1)
            for size, marker in size_markers.items():
                dots = part[part["n_partner"] == size]
                if len(dots):
                    axis.scatter(dots["n_own"] * dodge, dots["value"], **{
                        "color": color, "marker": marker, "zorder": 3, **style})
            if partner not in shown_partners:
                shown_partners.append(partner)
        axis.scatter(alone["n_own"], alone["value"], **{
            "facecolor": "white", "edgecolor": _ALONE, "marker": "o", "zorder": 5,
            **style, "alpha": 1.0})
        n_max = float(rows["n_own"].max()) if len(rows) else 1.0
        if fitted:
            n_min = float(rows["n_own"].min()) if len(rows) else 1.0
            x = np.geomspace(max(1.0, n_min / 2), n_max * extrapolate, 80)
            x = np.unique(np.r_[x, n_max])
            k = all_tasks.index(task)
            curves = []
            if structure in ("pairwise", "joint") and len(all_tasks) - 1 <= max_partners:
                for partner in [t for t in all_tasks if t != task]:
                    seen = ctx.loc[ctx["partner"] == partner, "n_partner"]
                    size = context_size if context_size is not None else float(
                        seen.max() if len(seen) else fitted_max[all_tasks.index(partner)])
                    curves.append((partner, colors[partner], {partner: size},
                                   f"with {partner} (n={size:g})"))
            elif structure != "none" and len(all_tasks) > 1:
                size = context_size if context_size is not None else float(
                    np.delete(fitted_max, k).max())
                curves.append(("several tasks", _CONTEXT,
                               {t: size for t in all_tasks if t != task},
                               f"with all other tasks (n={size:g} each)"))
            for partner, color, context, label in curves:
                draws = curve_draws(source, task, x, context=context)
                _curve(axis, x, draws, n_max, color, label, (max(hdi_probs),),
                       {"linewidth": 1.2, **(line_kwargs or {})}, fill_kwargs)
                if partner not in shown_partners:
                    shown_partners.append(partner)
            _curve(axis, x, curve_draws(source, task, x), n_max, _ALONE, "alone", hdi_probs,
                   line_kwargs, fill_kwargs)
            if extrapolate > 1 and len(rows):
                axis.axvspan(n_max, x[-1], facecolor="0.93", edgecolor="0.75", hatch="///",
                             linewidth=0, zorder=0)
                extrapolated = True
            axis.set_xlim(x[0], x[-1])
        axis.set_xscale("log")
        axis.set_xlabel(SIZE_LABEL)
        axis.set_ylabel(ylabel)
        axis.set_title(str(task))
        axis.grid(alpha=0.3, which="both", linewidth=0.5)
    order = [t for t in all_tasks if t in shown_partners] + \
        [t for t in shown_partners if t not in all_tasks]
    handles = _legend_handles(order, colors, size_markers, fitted, extrapolated)
    if own_figure:
        fig.legend(handles=handles, fontsize=8, loc="outside lower center",
                   ncols=min(4, len(handles)))
    else:
        axes[0].legend(handles=handles, fontsize=7, loc="lower right")
    return fig
