"""Figures of learning curves, transfer and diagnostics (matplotlib).

Layer: above ``curves``, ``affinity`` and ``latent``; only ``report`` and ``cli`` import it.
Every ``plot_*`` function takes a fitted :class:`~lcurve.curves.CurveFit` or the tidy
DataFrame it would give, ``ax=None``, only named ``*_kwargs`` dicts, and returns the
matplotlib Axes (or the Figure when it draws several panels). Sample-size axes are
log-scaled; uncertainty is drawn as bands or intervals.

- :func:`plot_curves`: one panel per target: alone and per-partner observed scores (colour: partner,
  marker: partner size), posterior curves with bands, the extrapolated range shaded.
- :func:`plot_transfer_matrix`: source x target heatmap with each cell's mean and interval (the
  one heatmap of transfer in lcurve, for fits, empirical tables and pivoted matrices).
- :func:`plot_contextual`: forest plot of contextual transfer per task.
- :func:`plot_affinity_comparison`: TAG affinity vs learning-curve transfer per pair.
- :func:`plot_required_samples`: samples needed to reach a score, alone vs with other tasks.
- :func:`plot_latent`, :func:`plot_biplot`: biplot of latent transfer factors.
- :func:`plot_diagnostics`: R-hat and ESS per variable in one small figure.
- :func:`plot_trace`, :func:`plot_rank`: the full ArviZ diagnostics.
- :func:`plot_comparison`, :func:`plot_power_vs_compute`: the head-to-head of transfer methods
  (score quality against an independent truth vs compute).

Text labels next to points are placed by a small greedy placer (:mod:`lcurve.plot._labels`)
so that no two labels overlap.
"""

from lcurve.plot.compare import plot_comparison, plot_power_vs_compute
from lcurve.plot.curves import SIZE_LABEL, plot_curves
from lcurve.plot.diagnostics import plot_diagnostics, plot_rank, plot_trace
from lcurve.plot.latent import plot_biplot, plot_latent
from lcurve.plot.planning import plot_required_samples, required_samples_table
from lcurve.plot.transfer import (TRANSFER_LABEL, cluster_order, plot_affinity_comparison,
                                  plot_contextual, plot_transfer_matrix)

__all__ = [
    "SIZE_LABEL",
    "TRANSFER_LABEL",
    "cluster_order",
    "plot_affinity_comparison",
    "plot_biplot",
    "plot_comparison",
    "plot_contextual",
    "plot_curves",
    "plot_diagnostics",
    "plot_latent",
    "plot_power_vs_compute",
    "plot_rank",
    "plot_required_samples",
    "plot_trace",
    "plot_transfer_matrix",
    "required_samples_table",
]
