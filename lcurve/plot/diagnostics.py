"""Latent transfer factors and sampler diagnostics, reusing lcurve.latent's biplot and ArviZ.

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> table = pd.DataFrame({"source": list("abcabc"), "target": list("bcacab"),
...                       "mean": [0.3, 0.1, -0.2, 0.0, 0.4, 0.2]})
>>> plot_latent(table).get_xlabel().startswith("factor 1")
True
"""

from __future__ import annotations

import pandas as pd

from lcurve.plot._inputs import is_fit, transfer_table_of

__all__ = ["plot_latent", "plot_trace", "plot_rank", "default_var_names"]


def plot_latent(source, *, ax=None, factors_kwargs: dict | None = None,
                biplot_kwargs: dict | None = None):
    """Biplot of the latent transfer factors (:func:`lcurve.latent.plot_biplot`).

    Parameters
    ----------
    source : TransferFactors, CurveFit or DataFrame
        Factors from :func:`lcurve.latent.transfer_factors`, or something to decompose: a fit
        (its posterior mean ``tau``), a tidy transfer table ``source, target, mean`` or a square
        ``source x target`` matrix.
    ax : Axes, optional
    factors_kwargs : dict, optional
        Passed to :func:`lcurve.latent.transfer_factors` (``center``, ``scale``).
    biplot_kwargs : dict, optional
        Passed to :func:`lcurve.latent.plot_biplot` (``x``, ``y``, ``scatter_kwargs``...).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from lcurve.latent import TransferFactors, plot_biplot, transfer_factors
    from lcurve.transfer import transfer_matrix

    if isinstance(source, TransferFactors):
        factors = source
    else:
        if isinstance(source, pd.DataFrame) and "source" not in source.columns:
            matrix = source
        else:
            table = transfer_table_of(source)
            matrix = transfer_matrix(table[table["source"] != "context"])
        factors = transfer_factors(matrix, **(factors_kwargs or {}))
    if factors.scores.shape[1] < 2:
        raise ValueError("a biplot needs at least two factors (three or more tasks)")
    return plot_biplot(factors, ax=ax, **(biplot_kwargs or {}))


def default_var_names(fit) -> list[str]:
    """The interpretable sampled quantities: curve parameters, transfer rates, noise."""
    post = fit.idata.posterior
    names = [*fit.family.param_names, "transfer_context", "context_shift", "noise_sd"]
    latent = set(fit._require().get("latent", post.data_vars))
    names = [n for n in names if n in post]
    if "transfer" in post and "transfer_z" in latent:
        names.append("transfer_z")
    return [n for n in names if n in post]


def _check(fit):
    if not is_fit(fit):
        raise TypeError(f"expected a fitted CurveFit, got {type(fit).__name__}")


def plot_trace(fit, *, var_names=None, trace_kwargs: dict | None = None):
    """ArviZ trace plot (``az.plot_trace``) of a fit's posterior; returns the Axes array.

    ``var_names`` defaults to :func:`default_var_names`.
    """
    import arviz as az

    _check(fit)
    names = list(var_names) if var_names is not None else default_var_names(fit)
    return az.plot_trace(fit.idata, var_names=names,
                         **{"compact": True, **(trace_kwargs or {})})


def plot_rank(fit, *, var_names=None, rank_kwargs: dict | None = None):
    """ArviZ rank plot (``az.plot_rank``); needs two or more chains (NUTS).

    Raises ``ValueError`` for single-chain posteriors (SVI), where ranks are meaningless.
    """
    import arviz as az

    _check(fit)
    if fit.idata.posterior.sizes["chain"] < 2:
        raise ValueError("rank plots compare chains; this posterior has one chain "
                         "(SVI or num_chains=1)")
    names = list(var_names) if var_names is not None else default_var_names(fit)
    return az.plot_rank(fit.idata, var_names=names, **(rank_kwargs or {}))
