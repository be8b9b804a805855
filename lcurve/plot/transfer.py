"""Transfer between tasks: the source x target matrix, contextual forest plot, TAG comparison.

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> table = pd.DataFrame({"source": ["a", "b"], "target": ["b", "a"], "mean": [0.4, -0.1],
...                       "hdi_low": [0.1, -0.3], "hdi_high": [0.7, 0.1]})
>>> ax = plot_transfer_matrix(table)
>>> ax.get_xlabel()
'target task (learns)'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lcurve.plot._inputs import transfer_table_of
from lcurve.plot._labels import place_labels

__all__ = ["plot_transfer_matrix", "plot_contextual", "plot_affinity_comparison",
           "cluster_order", "TRANSFER_LABEL"]

#: Colour-bar / axis label of transfer rates ``tau_ij`` (an exchange rate of samples).
TRANSFER_LABEL = "transfer tau (target samples worth one source sample)"


def _new_ax(ax, size=(6, 5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size, constrained_layout=True)
    return ax


def _credible_sign(table: pd.DataFrame) -> pd.Series:
    """+1 / -1 where the interval excludes 0, else 0 (no interval: 0)."""
    if {"hdi_low", "hdi_high"} <= set(table.columns):
        return pd.Series(np.where(table["hdi_low"] > 0, 1, np.where(table["hdi_high"] < 0, -1, 0)),
                         index=table.index)
    return pd.Series(0, index=table.index)


def cluster_order(matrix: pd.DataFrame) -> list[str]:
    """Task order from average-linkage clustering of each task's outgoing and incoming transfer.

    Tasks whose rows (what they give) and columns (what they receive) look alike end up next to
    each other. Fewer than three tasks keep their order.
    """
    tasks = list(matrix.index)
    if len(tasks) < 3:
        return tasks
    from scipy.cluster.hierarchy import leaves_list, linkage

    values = matrix.to_numpy(float)
    features = np.hstack([values, values.T])
    features = np.where(np.isfinite(features), features, 0.0)
    return [tasks[i] for i in leaves_list(linkage(features, method="average"))]


def _cell_format(limit: float) -> str:
    return "{:+.3f}" if limit < 0.1 else "{:+.2f}"


def plot_transfer_matrix(source, *, order: str = "cluster", annotate: str = "auto", ax=None,
                         imshow_kwargs: dict | None = None, marker_kwargs: dict | None = None,
                         colorbar_kwargs: dict | None = None):
    """Heatmap of transfer (rows: sources, columns: targets), with intervals in the cells.

    Parameters
    ----------
    source : CurveFit or DataFrame
        A pairwise/joint fit, a tidy table ``source, target, mean`` (optionally ``hdi_low,
        hdi_high``), e.g. ``fit.transfer_matrix()`` or :func:`lcurve.transfer.transfer_table`,
        or a square ``source x target`` matrix (:func:`lcurve.transfer.transfer_matrix`).
    order : {"cluster", "name", "given"}
        Task order: hierarchical clustering (:func:`cluster_order`), alphabetical, or the
        order of the matrix / table as given.
    annotate : {"auto", "interval", "sign", "none"}
        What each cell says: ``"interval"`` the mean and its interval (bold where the interval
        excludes 0), ``"sign"`` a ``+`` / ``-`` where the interval excludes 0, ``"auto"``
        intervals for up to 8 tasks when the table has them, else signs.
    ax : Axes, optional
    imshow_kwargs, marker_kwargs, colorbar_kwargs : dict, optional
        Passed to ``ax.imshow``, ``ax.text`` (cell text) and ``figure.colorbar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from lcurve.transfer import transfer_matrix

    table = transfer_table_of(source)
    if (table["source"] == "context").all():
        raise ValueError("a contextual fit has one transfer rate per task, not a matrix; "
                         "use plot_contextual")
    if order not in ("cluster", "name", "given"):
        raise ValueError(f"order must be 'cluster', 'name' or 'given', got {order!r}")
    if annotate not in ("auto", "interval", "sign", "none"):
        raise ValueError(f"annotate must be 'auto', 'interval', 'sign' or 'none', "
                         f"got {annotate!r}")
    table = table[table["source"] != "context"].copy()
    has_interval = {"hdi_low", "hdi_high"} <= set(table.columns)
    table["sign"] = _credible_sign(table)
    matrix = transfer_matrix(table)
    if order == "given":
        seen = list(dict.fromkeys([*table["source"], *table["target"]]))
        tasks = [t for t in seen if t in matrix.index]
    else:
        tasks = cluster_order(matrix) if order == "cluster" else list(matrix.index)
    matrix = matrix.reindex(index=tasks, columns=tasks)
    signs = transfer_matrix(table, value="sign").reindex(index=tasks, columns=tasks)
    if annotate == "auto":
        annotate = "interval" if has_interval and len(tasks) <= 8 else "sign"
    if annotate == "interval" and not has_interval:
        raise ValueError("annotate='interval' needs hdi_low and hdi_high columns")
    ax = _new_ax(ax, size=(1.1 * len(tasks) + 2.6, 0.9 * len(tasks) + 1.6))
    values = matrix.to_numpy(float)
    limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    image = ax.imshow(values, **{"cmap": "RdBu_r", "vmin": -limit, "vmax": limit,
                                 **(imshow_kwargs or {})})
    if annotate == "interval":
        low = transfer_matrix(table, value="hdi_low").reindex(index=tasks, columns=tasks)
        high = transfer_matrix(table, value="hdi_high").reindex(index=tasks, columns=tasks)
        fmt = _cell_format(limit)
    for i in range(len(tasks)):
        for j in range(len(tasks)):
            sign, value = signs.iat[i, j], values[i, j]
            if annotate == "sign" and np.isfinite(sign) and sign != 0:
                ax.text(j, i, "+" if sign > 0 else "\u2212", **{
                    "ha": "center", "va": "center", "fontsize": 11, "fontweight": "bold",
                    "color": "black", **(marker_kwargs or {})})
            elif annotate == "interval" and np.isfinite(value):
                strong = np.isfinite(sign) and sign != 0
                text = (f"{fmt.format(value)}\n[{fmt.format(low.iat[i, j])}, "
                        f"{fmt.format(high.iat[i, j])}]")
                ax.text(j, i, text.replace("-", "\u2212"), **{
                    "ha": "center", "va": "center", "fontsize": 7,
                    "fontweight": "bold" if strong else "normal",
                    "color": "white" if abs(value) > 0.6 * limit else "black",
                    **(marker_kwargs or {})})
    ax.set_xticks(range(len(tasks)), tasks, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(tasks)), tasks, fontsize=8)
    ax.set_xlabel("target task (learns)")
    ax.set_ylabel("source task (gives samples)")
    what = ("mean [90% interval]; bold: excludes 0" if annotate == "interval"
            else "+/\u2212: interval excludes 0" if annotate == "sign" else "mean")
    ax.set_title(f"transfer source \u2192 target ({what})", fontsize=9)
    ax.figure.colorbar(image, ax=ax, **{"label": TRANSFER_LABEL, "shrink": 0.85,
                                        **(colorbar_kwargs or {})})
    return ax


def plot_contextual(source, *, ax=None, errorbar_kwargs: dict | None = None):
    """Forest plot: contextual transfer per target task, posterior mean with its interval.

    Parameters
    ----------
    source : CurveFit or DataFrame
        A ``transfer="contextual"`` fit or a table ``target, mean, hdi_low, hdi_high`` (rows with
        ``source == "context"`` when a ``source`` column is present).
    ax : Axes, optional
    errorbar_kwargs : dict, optional
        Passed to ``ax.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = source.transfer_matrix() if hasattr(source, "transfer_matrix") else source
    if "source" in table.columns:
        table = table[table["source"] == "context"]
    missing = [c for c in ("target", "mean", "hdi_low", "hdi_high") if c not in table.columns]
    if missing or table.empty:
        raise ValueError(f"plot_contextual needs contextual rows with target, mean, hdi_low, "
                         f"hdi_high (fit with transfer='contextual'); missing {missing}")
    table = table.sort_values("mean").reset_index(drop=True)
    ax = _new_ax(ax, size=(6, 0.4 * len(table) + 1.5))
    y = np.arange(len(table))
    err = np.vstack([table["mean"] - table["hdi_low"], table["hdi_high"] - table["mean"]])
    colors = np.where(table["hdi_low"] > 0, "C2", np.where(table["hdi_high"] < 0, "C3", "0.4"))
    for k in range(len(table)):
        ax.errorbar(table["mean"].iat[k], y[k], xerr=err[:, k : k + 1], **{
            "fmt": "o", "color": colors[k], "capsize": 3, **(errorbar_kwargs or {})})
    ax.axvline(0, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_yticks(y, table["target"].astype(str), fontsize=8)
    ax.set_xlabel("contextual transfer tau (target samples worth one context sample)")
    ax.set_ylabel("target task")
    ax.set_title("transfer from all other tasks (mean, 90% interval)", fontsize=10)
    return ax


def plot_affinity_comparison(affinity: pd.DataFrame, transfer, *, ax=None,
                             errorbar_kwargs: dict | None = None):
    """TAG affinity (x) vs learning-curve transfer (y) for each ordered pair, with intervals.

    Parameters
    ----------
    affinity : DataFrame
        ``source, target, affinity`` (:func:`lcurve.tag_affinity`).
    transfer : CurveFit or DataFrame
        Learning-curve transfer: ``source, target, mean`` and an interval as ``hdi_low,
        hdi_high`` (a fit's ``transfer_matrix()``) or ``se`` (``lcurve.transfer_table``,
        drawn as +-2 se).
    ax : Axes, optional
    errorbar_kwargs : dict, optional
        Passed to ``ax.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
        The title gives the Spearman rank correlation over pairs. Pair labels never overlap
        (:func:`lcurve.plot._labels.place_labels`): the strongest transfers are labelled
        first, and labels with no free place are left out (the figure says how many).
    """
    from scipy.stats import spearmanr

    transfer = transfer_table_of(transfer)
    if not {"source", "target", "affinity"} <= set(affinity.columns):
        raise ValueError(f"affinity needs source, target, affinity columns; has "
                         f"{list(affinity.columns)}")
    pairs = affinity[["source", "target", "affinity"]].merge(transfer, on=["source", "target"])
    pairs = pairs[np.isfinite(pairs["affinity"]) & np.isfinite(pairs["mean"])]
    if pairs.empty:
        raise ValueError("no (source, target) pair has both a TAG affinity and a transfer value")
    if {"hdi_low", "hdi_high"} <= set(pairs.columns):
        low, high, what = pairs["hdi_low"], pairs["hdi_high"], "90% interval"
        ylabel = TRANSFER_LABEL
    elif "se" in pairs.columns:
        se = pairs["se"].fillna(0)
        low, high, what = pairs["mean"] - 2 * se, pairs["mean"] + 2 * se, "\u00b12 se over seeds"
        ylabel = "gain in target score with the source (pair - alone)"
    else:
        low = high = pairs["mean"]
        what, ylabel = "no interval", "learning-curve transfer"
    ax = _new_ax(ax, size=(6.5, 5.0))
    err = np.vstack([pairs["mean"] - low, high - pairs["mean"]]).clip(min=0)
    ax.errorbar(pairs["affinity"], pairs["mean"], yerr=err, **{
        "fmt": "o", "color": "C0", "ecolor": "0.6", "capsize": 2, "markersize": 5,
        **(errorbar_kwargs or {})})
    ax.margins(0.12, 0.08)
    ax.autoscale_view()
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())
    ax.axhline(0, color="0.6", linewidth=0.8, linestyle=":")
    ax.axvline(0, color="0.6", linewidth=0.8, linestyle=":")
    rho = spearmanr(pairs["affinity"], pairs["mean"]).statistic if len(pairs) > 2 else np.nan
    ax.set_xlabel("TAG affinity Z (relative drop of target loss per lookahead step)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"TAG vs learning curves ({len(pairs)} pairs, {what}; "
                 f"Spearman \u03c1 = {rho:.2f})", fontsize=9)
    # the strongest transfers get their labels first; those with no free place are left out
    order = np.argsort(-np.abs(pairs["mean"].to_numpy()), kind="stable")
    labels = [f"{s}\u2192{t}" for s, t in zip(pairs["source"], pairs["target"])]
    bars = [(a, lo, a, hi) for a, lo, hi in zip(pairs["affinity"], low, high)]
    _, omitted = place_labels(ax, pairs["affinity"].to_numpy()[order],
                              pairs["mean"].to_numpy()[order], [labels[k] for k in order],
                              obstacles=bars, text_kwargs={"fontsize": 6.5, "color": "0.25"})
    if omitted:
        ax.set_title(f"{ax.get_title()}\n{len(omitted)} pair label(s) left out for lack of room",
                     fontsize=9)
    return ax
