"""Sampler diagnostics: one small summary figure, and the full ArviZ trace and rank plots."""

from __future__ import annotations

import numpy as np

from lcurve.plot._inputs import is_fit

__all__ = ["plot_diagnostics", "plot_trace", "plot_rank", "default_var_names"]


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


def plot_diagnostics(fit, *, max_rhat: float = 1.01, min_ess: float = 100.0, ax=None,
                     barh_kwargs: dict | None = None):
    """One small figure: worst R-hat and worst ESS per sampled variable, against thresholds.

    Parameters
    ----------
    fit : CurveFit
    max_rhat, min_ess
        Thresholds of :meth:`~lcurve.curves.CurveFit.diagnostics` (``min_ess`` per chain for
        NUTS), drawn as dashed lines; bars past them are orange.
    ax : pair of Axes, optional
        The R-hat and ESS panels (default a new figure).
    barh_kwargs : dict, optional
        Passed to ``ax.barh``.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (R-hat, ESS); the title gives the divergences and the verdict. R-hat is not
        defined for one chain (SVI): its panel says so.
    """
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    _check(fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diag = fit.diagnostics(max_rhat=max_rhat, min_ess=min_ess)
    table = diag.table
    names = table["variable"].tolist()
    y = np.arange(len(names))
    if ax is None:
        one_chain = not np.isfinite(table["r_hat"].to_numpy(float)).any()
        fig, (ax_r, ax_e) = plt.subplots(1, 2, figsize=(7.5, 0.22 * len(names) + 1.4),
                                         width_ratios=(1, 3) if one_chain else (1, 1),
                                         constrained_layout=True)
    else:
        ax_r, ax_e = np.ravel(ax)[:2]
        fig = ax_r.figure
    bad, good = "#e69500", "#4a8f4a"
    rhat = table["r_hat"].to_numpy(float)
    if np.isfinite(rhat).any():
        ax_r.barh(y, rhat - 1, left=1, **{"color": np.where(rhat > max_rhat, bad, good),
                                          **(barh_kwargs or {})})
        ax_r.axvline(max_rhat, color="0.3", linestyle="--", linewidth=0.8)
        ax_r.set_xlim(0.995, max(max_rhat + 0.01, float(np.nanmax(rhat)) + 0.01))
    else:
        ax_r.text(0.5, 0.5, "R-hat needs 2+ chains\n(SVI or one chain)", ha="center",
                  va="center", transform=ax_r.transAxes, fontsize=8, color="0.4")
    ax_r.set_xlabel(f"worst R-hat (dashed: {max_rhat})", fontsize=8)
    threshold = min_ess * (diag.n_chains if diag.method == "nuts" else 1)
    ess = table[["ess_bulk", "ess_tail"]].min(axis=1).to_numpy(float)
    ax_e.barh(y, ess, **{"color": np.where(ess < threshold, bad, good), **(barh_kwargs or {})})
    ax_e.axvline(threshold, color="0.3", linestyle="--", linewidth=0.8)
    ax_e.set_xscale("log")
    ax_e.set_xlabel(f"worst ESS, bulk or tail (dashed: {threshold:g})", fontsize=8)
    for panel in (ax_r, ax_e):
        panel.set_yticks(y, names, fontsize=7)
        panel.set_ylim(len(names) - 0.5, -0.5)
    ax_e.tick_params(labelleft=False)
    ax_e.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax_e.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    verdict = "passed" if diag.ok else "FAILED"
    fig.suptitle(f"sampler diagnostics {verdict}: {diag.method.upper()}, {diag.n_chains} "
                 f"chain(s) x {diag.n_draws} draws, {diag.n_divergent} divergent", fontsize=9)
    for panel in (ax_r, ax_e):
        panel.tick_params(labelsize=7)
        panel.grid(alpha=0.3, axis="x", linewidth=0.5)
    return fig
