"""Model checks before and after fitting: the prior predictive check.

A prior predictive check draws parameters from the priors and scores from the likelihood at
the table's own observations (same sizes, test sets and nested-design groups) and asks
whether the observed scores look like plausible draws: ``pit`` (the fraction of prior draws
below the observed score) should not pile up at 0 or 1. Because sizes are in a fixed unit
(:data:`lcurve.curves.families.SIZE_UNIT`), the check means the same for any prefix of sizes.

Example
-------
>>> from lcurve.curves import simulate_results
>>> from lcurve.curves.checks import prior_predictive
>>> table, _ = simulate_results(n_tasks=2, seed=0)
>>> check = prior_predictive(table, family="exp3", transfer="pairwise", num_samples=50)
>>> list(check.columns[-5:])
['observed', 'mean', 'low', 'high', 'pit']
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
from numpyro import handlers

from lcurve.curves._summaries import _interval
from lcurve.curves.model import LIKELIHOOD_SITE

__all__ = ["prior_predictive", "prior_draws"]


def prior_draws(model, kwargs: dict, key, *, num_samples: int) -> dict:
    """Joint prior draws of every sample and deterministic site of ``model`` (``value=None`` in
    ``kwargs`` to draw the scores too): one seeded trace per key, vectorised with ``jax.vmap``
    (the model itself is written for one draw)."""

    def one(k):
        trace = handlers.trace(handlers.seed(model, k)).get_trace(**kwargs)
        return {name: site["value"] for name, site in trace.items()
                if site["type"] in ("sample", "deterministic")}

    return jax.jit(jax.vmap(one))(jax.random.split(key, num_samples))


def prior_predictive(results, *, num_samples: int = 200, hdi_prob: float = 0.9,
                     seed: int | None = None, config=None, **options) -> pd.DataFrame:
    """Prior predictive distribution of every observed score of a results table.

    Parameters
    ----------
    results : DataFrame or CurveFit
        A results table (with ``config``/``options`` as for :func:`lcurve.curves.fit_curves`)
        or a :class:`~lcurve.curves.CurveFit` (fitted or not; its settings are used).
    num_samples : int
        Prior draws.
    hdi_prob : float
        Mass of the ``low, high`` interval.
    seed : int, optional
        Seed of the draws (default: the fit's ``seed``).

    Returns
    -------
    DataFrame
        One row per observation: ``task, seed``, the ``n_<task>`` sizes, ``observed`` and the
        prior predictive ``mean, low, high`` and ``pit`` (P(prior draw < observed)).
    """
    from lcurve.curves.fit import CurveFit

    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    fit = results if isinstance(results, CurveFit) else CurveFit(results, config, **options)
    meta = fit._prepared()
    data = fit._data
    key = jax.random.fold_in(jax.random.PRNGKey(fit.config.seed if seed is None else seed), 2)
    draws = prior_draws(fit.model(), fit.model_args(data, observed=False, groups=True), key,
                        num_samples=num_samples)
    score = np.asarray(draws[LIKELIHOOD_SITE])
    table = pd.DataFrame({"task": [meta["tasks"][i] for i in data.task], "seed": data.seed})
    for k, task in enumerate(meta["tasks"]):
        table[f"n_{task}"] = data.sizes[:, k]
    table["observed"] = data.value
    table["mean"] = score.mean(0)
    table["low"], table["high"] = _interval(score, hdi_prob)
    table["pit"] = (score < data.value[None, :]).mean(0)
    return table
