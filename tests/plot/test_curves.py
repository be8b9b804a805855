"""plot_curves: panels, log axes, posterior bands, dashed extrapolation, observed points."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection

from lcurve.curves import simulate_results
from lcurve.plot import SIZE_LABEL, plot_curves


def _lines(ax):
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 1]


def test_fit_panels_bands_and_extrapolation(pairwise_fit):
    fig = plot_curves(pairwise_fit, extrapolate=4.0)
    assert len(fig.axes) == len(pairwise_fit.tasks)
    for ax, task in zip(fig.axes, pairwise_fit.tasks):
        assert ax.get_title() == task
        assert ax.get_xscale() == "log"
        assert ax.get_xlabel() == SIZE_LABEL and "compounds" in ax.get_xlabel()
        assert ax.get_ylabel() == "test AUROC"
        lines = _lines(ax)
        # alone and with-context: a solid mean inside the data, a dashed extrapolation beyond
        assert [line.get_linestyle() for line in lines] == ["-", "--", "-", "--"]
        solid, dashed = lines[0], lines[1]
        assert solid.get_xdata().max() == pytest.approx(256)
        assert dashed.get_xdata().max() == pytest.approx(4 * 256)
        # 50% and 90% bands per curve; the 90% band contains the 50% band
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == 4
        wide, narrow = (b.get_paths()[0].vertices[:, 1] for b in bands[:2])
        assert np.ptp(wide) >= np.ptp(narrow)
        points = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(points) == 2  # alone and with other tasks


def test_curves_increase_and_transfer_lifts_the_partnered_curve(pairwise_fit):
    fig = plot_curves(pairwise_fit, tasks=["alpha", "delta"])
    alpha, delta = fig.axes
    alone, _, context, _ = (line.get_ydata() for line in _lines(alpha))
    assert np.all(np.diff(alone) > 0)
    assert context[0] > alone[0]  # beta -> alpha is planted positive
    alone, _, context, _ = (line.get_ydata() for line in _lines(delta))
    assert context[0] < alone[0]  # gamma -> delta is planted negative


def test_results_table_only_draws_points():
    table, _ = simulate_results(n_tasks=3, seed=0)
    fig = plot_curves(table, tasks=["task00", "task02"])
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and not _lines(ax)
        offsets = np.concatenate([c.get_offsets() for c in ax.collections])
        assert len(offsets) == (table["task"] == ax.get_title()).sum()


def test_given_axes_are_used_and_errors_name_the_options(pairwise_fit):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    assert plot_curves(pairwise_fit, tasks=["alpha", "beta"], ax=axes) is fig
    with pytest.raises(ValueError, match="unknown task.*available"):
        plot_curves(pairwise_fit, tasks=["omega"])
    with pytest.raises(ValueError, match="2 Axes but 4 tasks"):
        plot_curves(pairwise_fit, ax=axes)
    with pytest.raises(TypeError, match="CurveFit or a results DataFrame"):
        plot_curves([1, 2, 3])
