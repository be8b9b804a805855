"""Figures of learning curves, transfer and diagnostics (matplotlib).

Layer: above ``curves``, ``affinity`` and ``latent``; only ``report`` and ``cli`` import it.
Every ``plot_*`` function takes a fitted :class:`~lcurve.curves.CurveFit` or the tidy
DataFrame it would give, ``ax=None``, only named ``*_kwargs`` dicts, and returns the
matplotlib Axes (or the Figure when it draws several panels). Sample-size axes are
log-scaled; uncertainty is drawn as bands or intervals.

- :func:`plot_curves`: observed scores, posterior mean and 50/90% bands, alone vs with other
  tasks, extrapolation dashed.
- :func:`plot_transfer_matrix`: source x target heatmap of ``tau`` with credible-sign markers.
- :func:`plot_contextual`: forest plot of contextual transfer per task.
- :func:`plot_affinity_comparison`: TAG affinity vs learning-curve transfer per pair.
- :func:`plot_required_samples`: samples needed to reach a score, alone vs with other tasks.
- :func:`plot_latent`: biplot of latent transfer factors.
- :func:`plot_trace`, :func:`plot_rank`: ArviZ diagnostics.
"""

from lcurve.plot.curves import SIZE_LABEL, plot_curves
from lcurve.plot.diagnostics import plot_latent, plot_rank, plot_trace
from lcurve.plot.planning import plot_required_samples, required_samples_table
from lcurve.plot.transfer import (TRANSFER_LABEL, cluster_order, plot_affinity_comparison,
                                  plot_contextual, plot_transfer_matrix)

__all__ = [
    "SIZE_LABEL",
    "TRANSFER_LABEL",
    "cluster_order",
    "plot_affinity_comparison",
    "plot_contextual",
    "plot_curves",
    "plot_latent",
    "plot_rank",
    "plot_required_samples",
    "plot_trace",
    "required_samples_table",
]
