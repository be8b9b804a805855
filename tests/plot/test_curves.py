"""plot_curves: one panel per target, a curve and a colour per partner, alone points on top,
marker per partner size, bands, the extrapolated range shaded and dashed."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection

from lcurve.curves import simulate_results
from lcurve.plot import SIZE_LABEL, plot_curves
from lcurve.plot._inputs import observed_scores


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines() if len(line.get_xdata()) > 1}


def _points(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def test_fit_panels_one_curve_per_partner_with_bands_and_extrapolation(pairwise_fit):
    fig = plot_curves(pairwise_fit, extrapolate=4.0)
    assert len(fig.axes) == len(pairwise_fit.tasks)
    for ax, task in zip(fig.axes, pairwise_fit.tasks):
        assert ax.get_title() == task
        assert ax.get_xscale() == "log"
        assert ax.get_xlabel() == SIZE_LABEL and "compounds" in ax.get_xlabel()
        assert ax.get_ylabel() == "test AUROC"
        lines = _lines(ax)
        partners = [t for t in pairwise_fit.tasks if t != task]
        expected = {"alone", *(f"with {p} (n=256)" for p in partners)}
        assert set(lines) == expected | {f"{name}: extrapolated" for name in expected}
        for name in expected:  # solid inside the data, dashed beyond it
            assert lines[name].get_linestyle() == "-"
            assert lines[f"{name}: extrapolated"].get_linestyle() == "--"
            assert lines[name].get_xdata().max() == pytest.approx(256)
            assert lines[f"{name}: extrapolated"].get_xdata().max() == pytest.approx(4 * 256)
        # alone: 50% and 90% bands, the wider contains the narrower; one 90% band per partner
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == 2 + len(partners)
        wide, narrow = (b.get_paths()[0].vertices[:, 1] for b in bands[-2:])
        assert np.ptp(wide) >= np.ptp(narrow)
        # the extrapolated range is shaded from the largest observed size to the curve's end
        shaded = [p for p in ax.patches if p.get_hatch() == "///"]
        assert len(shaded) == 1
        start, width = shaded[0].get_x(), shaded[0].get_width()
        assert start == pytest.approx(256) and start + width == pytest.approx(1024)


def test_partner_curves_follow_the_planted_transfer(pairwise_fit):
    fig = plot_curves(pairwise_fit, tasks=["alpha", "delta"])
    alpha, delta = fig.axes
    lines = _lines(alpha)
    alone = lines["alone"].get_ydata()
    assert np.all(np.diff(alone) > 0)
    assert lines["with beta (n=256)"].get_ydata()[0] > alone[0] + 0.1  # beta -> alpha planted up
    assert abs(lines["with gamma (n=256)"].get_ydata()[0] - alone[0]) < 0.05  # planted ~0
    lines = _lines(delta)
    assert lines["with gamma (n=256)"].get_ydata()[-1] < lines["alone"].get_ydata()[-1]


def test_alone_points_on_top_and_one_colour_per_partner(pairwise_fit):
    fig = plot_curves(pairwise_fit, tasks=["alpha"])
    ax = fig.axes[0]
    observed = observed_scores(pairwise_fit)
    rows = observed[observed["task"] == "alpha"]
    points = _points(ax)
    alone = [c for c in points if np.allclose(c.get_facecolor()[0][:3], 1.0)]
    assert len(alone) == 1 and len(alone[0].get_offsets()) == (rows["n_other"] == 0).sum()
    assert alone[0].get_zorder() > max(c.get_zorder() for c in points if c is not alone[0])
    lines = _lines(ax)
    for partner in ("beta", "gamma", "delta"):
        colour = mcolors.to_rgb(lines[f"with {partner} (n=256)"].get_color())
        dots = [c for c in points if np.allclose(c.get_facecolor()[0][:3], colour)]
        assert sum(len(c.get_offsets()) for c in dots) == (rows["partner"] == partner).sum()


def test_marker_per_partner_size_and_points_only_for_a_table():
    table, _ = simulate_results(n_tasks=3, seed=0, source_sizes=(64, 256))
    fig = plot_curves(table, tasks=["task00", "task02"])
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and not _lines(ax)
        offsets = np.concatenate([c.get_offsets() for c in ax.collections])
        assert len(offsets) == (table["task"] == ax.get_title()).sum()
        # pair runs: two partners x two partner sizes, each its own (colour, marker) group
        paths = {c.get_paths()[0].vertices.tobytes() for c in _points(ax)[:-1]}
        assert len(_points(ax)) == 1 + 2 * 2 and len(paths) == 2
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "partner n=64" in legend and "partner n=256" in legend and "alone" in legend


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


def test_contextual_fit_draws_one_with_others_curve(contextual_fit):
    fig = plot_curves(contextual_fit, tasks=["alpha"])
    names = set(_lines(fig.axes[0]))
    assert names == {"alone", "alone: extrapolated", "with all other tasks (n=256 each)",
                     "with all other tasks (n=256 each): extrapolated"}
