"""Sample-size planning: how many samples a task needs to reach a score, alone or with others.

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> table = pd.DataFrame({"task": ["a", "a"], "scenario": ["alone", "with_context"],
...                       "target_score": 0.8, "p_reachable": 1.0, "median": [400.0, 120.0],
...                       "low": [200.0, 50.0], "high": [900.0, 300.0]})
>>> plot_required_samples(table).get_xscale()
'log'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lcurve.plot._inputs import is_fit

__all__ = ["plot_required_samples", "required_samples_table"]

_COLORS = {"alone": "C0", "with_context": "C3"}
_LABELS = {"alone": "alone", "with_context": "with the other tasks' data"}


def required_samples_table(fit, target_score: float, *, tasks=None, **options) -> pd.DataFrame:
    """:meth:`~lcurve.curves.CurveFit.required_samples` for several tasks, in one table."""
    tasks = list(fit.tasks) if tasks is None else list(tasks)
    return pd.concat([fit.required_samples(t, target_score, **options) for t in tasks],
                     ignore_index=True)


def plot_required_samples(source, *, target_score: float = 0.8, tasks=None, ax=None,
                          required_kwargs: dict | None = None,
                          errorbar_kwargs: dict | None = None):
    """Samples of each task needed to reach ``target_score``: median and interval per scenario.

    Parameters
    ----------
    source : CurveFit or DataFrame
        A fit (``required_samples`` is called per task) or a table ``task, scenario, median,
        low, high`` (optionally ``p_reachable, target_score``) as that method returns.
    target_score : float
        Expected score to reach (fits only; a table carries its own).
    tasks : list of str, optional
    ax : Axes, optional
    required_kwargs : dict, optional
        Passed to ``fit.required_samples`` (``context``, ``max_samples``, ``interval``).
    errorbar_kwargs : dict, optional
        Passed to ``ax.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
        Log-scaled x axis; targets not reached by the interval's upper end are drawn as an
        arrow to the right edge and noted in the label.
    """
    import matplotlib.pyplot as plt

    if is_fit(source):
        table = required_samples_table(source, target_score, tasks=tasks,
                                       **(required_kwargs or {}))
    elif isinstance(source, pd.DataFrame):
        table = source if tasks is None else source[source["task"].isin(tasks)]
    else:
        raise TypeError(f"expected a fitted CurveFit or a DataFrame, got {type(source).__name__}")
    missing = [c for c in ("task", "scenario", "median", "low", "high") if c not in table.columns]
    if missing or table.empty:
        raise ValueError(f"required-samples table lacks column(s) {missing} or is empty")
    task_names = list(pd.unique(table["task"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.5 * len(task_names) + 1.6), constrained_layout=True)
    finite = table[["median", "low", "high"]].to_numpy(float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    right = float(finite.max()) * 3 if finite.size else 1e4
    left = max(float(finite.min()) / 3, 0.5) if finite.size else 1.0
    scenarios = [s for s in ("alone", "with_context") if s in set(table["scenario"])]
    offsets = {s: (0.15 if len(scenarios) > 1 else 0.0) * (1 if s == "alone" else -1)
               for s in scenarios}
    for scenario in scenarios:
        part = table[table["scenario"] == scenario].set_index("task").reindex(task_names)
        y = np.arange(len(task_names)) + offsets[scenario]
        med = part["median"].to_numpy(float)
        low = np.clip(part["low"].to_numpy(float), left, right)
        high = part["high"].to_numpy(float)
        capped = ~np.isfinite(high)
        high = np.where(capped, right, high)
        shown = np.isfinite(med)
        med_plot = np.where(shown, med, right)
        err = np.vstack([med_plot - np.minimum(low, med_plot), high - med_plot]).clip(min=0)
        label = _LABELS.get(scenario, scenario)
        ax.errorbar(med_plot[shown], y[shown], xerr=err[:, shown], **{
            "fmt": "o", "color": _COLORS.get(scenario, "0.3"), "capsize": 3,
            "label": f"{label} (median, interval)", **(errorbar_kwargs or {})})
        for yy, lo in zip(y[~shown], low[~shown]):
            start = lo if np.isfinite(lo) and lo < right / 1.5 else right / 3
            ax.annotate("", xy=(right, yy), xytext=(start, yy),
                        arrowprops={"arrowstyle": "->", "color": _COLORS.get(scenario, "0.3")})
    ax.set_xscale("log")
    ax.set_xlim(left, right * 1.05)
    ax.set_yticks(range(len(task_names)), [str(t) for t in task_names], fontsize=8)
    score = table["target_score"].iat[0] if "target_score" in table.columns else target_score
    ax.set_xlabel("training samples of the task needed (compounds, log scale)")
    ax.set_ylabel("task")
    ax.set_title(f"samples to reach an expected score of {score:g} (arrow: not reached)",
                 fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3, axis="x", which="both", linewidth=0.5)
    return ax
