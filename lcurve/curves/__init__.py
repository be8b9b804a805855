"""Bayesian multi-task learning curves in NumPyro: curve families x transfer structures.

Layer: consumes a results table (``lcurve.sweep`` output or any table of that shape); never
imports ``lcurve.train`` or ``lcurve.sweep``.

- :mod:`~lcurve.curves.families`: registry of curve families (``exp3``, ``pow3``, ``pow4``, ``exp4``,
  ``mmf``, ``weibull``, ``ilog2``, ``logpower3``), pure ``jnp`` functions with named parameters.
- :mod:`~lcurve.curves.model`: effective sample size ``n_eff_i = n_i + sum_j tau_ij n_j``,
  transfer structures ``none`` / ``contextual`` / ``pairwise`` / ``joint``, hierarchical priors,
  bounded likelihood with test-set noise.
- :mod:`~lcurve.curves.fit`: :func:`fit_curves`, :class:`CurveFit` (NUTS or SVI),
  :func:`load_fit`.
- :mod:`~lcurve.curves.planning`: posterior predictions (of one fit, or a stacked mixture of
  fits: :func:`predict_stacked`) and required sample sizes.
- :mod:`~lcurve.curves.likelihood`: the stably normalised truncated normal, test-set noise.
- :mod:`~lcurve.curves.checks`: prior predictive check; leave-future-out on one's own runs
  (:func:`leave_future_out`: how far off the curves' extrapolation was).
- :mod:`~lcurve.curves.simulate`: tables simulated from known curves, transfer and nested noise.

Example
-------
>>> from lcurve.curves import fit_curves, simulate_results
>>> table, truth = simulate_results(n_tasks=3, seed=0)
>>> fit = fit_curves(table, transfer="pairwise", method="svi", svi_steps=300)
>>> fit.transfer_matrix().shape[0]
6
"""

from lcurve.curves._inference import request_cpu_devices
from lcurve.curves._summaries import CurveFitWarning, Diagnostics, compare_curves
from lcurve.curves._table import CurveDataError
from lcurve.curves.checks import leave_future_out, prior_predictive
from lcurve.curves.families import (FAMILIES, SIZE_UNIT, CurveFamily, Param, get_family,
                                    register_family)
from lcurve.curves.fit import CurveFit, FitConfig, fit_curves, load_fit
from lcurve.curves.model import LIKELIHOOD_SITE, curve_model, effective_size, expected_score
from lcurve.curves.planning import predict_stacked, required_samples_stacked
from lcurve.curves.simulate import simulate_results

__all__ = [
    "FAMILIES",
    "LIKELIHOOD_SITE",
    "SIZE_UNIT",
    "CurveDataError",
    "CurveFamily",
    "CurveFit",
    "CurveFitWarning",
    "Diagnostics",
    "FitConfig",
    "Param",
    "compare_curves",
    "curve_model",
    "effective_size",
    "expected_score",
    "fit_curves",
    "get_family",
    "leave_future_out",
    "load_fit",
    "predict_stacked",
    "prior_predictive",
    "register_family",
    "required_samples_stacked",
    "request_cpu_devices",
    "simulate_results",
]
