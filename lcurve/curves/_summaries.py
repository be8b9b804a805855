"""Tidy summaries of a fitted :class:`~lcurve.curves.CurveFit`: transfer, parameters, diagnostics."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd

__all__ = ["CurveFitWarning", "Diagnostics", "transfer_matrix", "curve_params", "summary",
           "diagnostics", "compare_curves", "posterior_draws"]


def divergent_transitions(n) -> str:
    """``"1 divergent transition"``, ``"3 divergent transitions"``: a count in words (``"nan
    divergent transitions"`` for a count not recorded, as a table read back may have it)."""
    if not np.isfinite(n):
        return "nan divergent transitions"
    n = int(n)
    return f"{n} divergent transition{'' if n == 1 else 's'}"


class CurveFitWarning(UserWarning):
    """Inference diagnostics look bad (R-hat, ESS, divergences): treat the posterior with care."""


def posterior_draws(fit, names) -> dict[str, np.ndarray]:
    """Posterior draws of ``names`` with chains and draws flattened into one leading axis."""
    post = fit.idata.posterior
    return {n: post[n].values.reshape((-1,) + post[n].shape[2:]) for n in names if n in post}


def _interval(values: np.ndarray, hdi_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """HDI along axis 0 of ``values`` (draws, k) -> (low (k,), high (k,))."""
    bounds = np.array([az.hdi(values[:, k], hdi_prob=hdi_prob) for k in range(values.shape[1])])
    return bounds[:, 0], bounds[:, 1]


def transfer_matrix(fit, *, hdi_prob: float = 0.9) -> pd.DataFrame:
    """One row per (source, target) transfer rate: the shared transfer-table columns
    ``source, target, mean, sd, se, hdi_low, hdi_high, n, p_positive`` (``sd`` = posterior sd;
    ``se`` and ``n`` are NaN: a posterior has no standard error of a mean over seeds), then
    ``n_obs``.

    ``n_obs`` counts the observations of ``target`` whose run also trained ``source`` (for
    ``contextual`` the source is ``"context"``: any other task). Rates with ``n_obs == 0`` are
    prior only.
    """
    fit._require()
    structure = fit.config.transfer
    tasks = fit.tasks
    const = fit.idata.constant_data
    task_idx, sizes = const["task_index"].values, const["sizes"].values
    if structure == "none":
        raise ValueError("transfer='none' has no transfer rates; fit with 'contextual', "
                         "'pairwise' or 'joint'")
    if structure == "contextual":
        draws = posterior_draws(fit, ["transfer_context"])["transfer_context"]
        sources, targets = ["context"] * len(tasks), list(tasks)
        own = sizes[np.arange(len(task_idx)), task_idx]
        n_obs = [int(((task_idx == i) & (sizes.sum(1) - own > 0)).sum()) for i in range(len(tasks))]
    else:
        full = posterior_draws(fit, ["transfer"])["transfer"]
        pairs = [(i, j) for i in range(len(tasks)) for j in range(len(tasks)) if i != j]
        draws = np.stack([full[:, i, j] for i, j in pairs], axis=1)
        sources = [tasks[j] for _, j in pairs]
        targets = [tasks[i] for i, _ in pairs]
        n_obs = [int(((task_idx == i) & (sizes[:, j] > 0)).sum()) for i, j in pairs]
    low, high = _interval(draws, hdi_prob)
    nan = np.full(len(sources), np.nan)
    return pd.DataFrame({"source": sources, "target": targets, "mean": draws.mean(0),
                         "sd": draws.std(0, ddof=1), "se": nan, "hdi_low": low,
                         "hdi_high": high, "n": nan, "p_positive": (draws > 0).mean(0),
                         "n_obs": n_obs})


def curve_params(fit, *, hdi_prob: float = 0.9) -> pd.DataFrame:
    """Tidy ``task, parameter, mean, sd, hdi_low, hdi_high`` of each task's curve parameters."""
    fit._require()
    frames = []
    for name, draws in posterior_draws(fit, fit.family.param_names).items():
        low, high = _interval(draws, hdi_prob)
        frames.append(pd.DataFrame({"task": fit.tasks, "parameter": name, "mean": draws.mean(0),
                                    "sd": draws.std(0), "hdi_low": low, "hdi_high": high}))
    return pd.concat(frames, ignore_index=True)


def summary(fit, *, hdi_prob: float = 0.9) -> pd.DataFrame:
    """``az.summary`` of curve parameters, transfer rates and noise scales."""
    fit._require()
    names = [*fit.family.param_names, "transfer", "transfer_context", "context_shift", "noise_sd"]
    names = [n for n in names if n in fit.idata.posterior]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant diagonal of `transfer`
        return az.summary(fit.idata, var_names=names, hdi_prob=hdi_prob)


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of a fit; ``table`` has the worst value per sampled variable;
    ``stuck_chains`` are the chains whose draws never change; ``chain_loglik`` is each
    chain's mean total log-likelihood and ``modes`` groups the chains into separate modes
    where they sit apart (:func:`separate_modes`; one group, or none, otherwise)."""

    method: str
    n_chains: int
    n_draws: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_divergent: int
    table: pd.DataFrame
    messages: tuple[str, ...]
    stuck_chains: tuple[int, ...] = ()
    chain_loglik: tuple[float, ...] = ()
    modes: tuple[tuple[int, ...], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.messages


def _finite_extreme(values: np.ndarray, extreme) -> float:
    """``extreme`` (``np.nanmax`` or ``np.nanmin``) of ``values``' defined elements; NaN, and
    no warning, where none is (a site's structural zeros)."""
    return float(extreme(values)) if np.isfinite(values).any() else np.nan


#: chains whose mean total log-likelihoods are more than this many within-chain sds apart sit
#: in separate modes (:func:`separate_modes`)
MODE_GAP = 3.0


def separate_modes(loglik: np.ndarray, gap: float = MODE_GAP
                   ) -> tuple[tuple[float, ...], tuple[tuple[int, ...], ...]]:
    """Each chain's mean total log-likelihood, and the chains grouped into separate modes.

    ``loglik`` is (chain, draw, ...) pointwise log-likelihoods; a draw's total is their sum.
    Sorted by their means, two neighbouring chains are in separate modes when their means
    differ by more than ``gap`` times the pooled within-chain sd of the total. Chains that
    sample one posterior have means within a few sd / sqrt(ESS) of each other, so a gap of
    several sds is not a slow chain but chains held apart, where longer runs do not help
    (``experiments/curves/RESULTS.md`` X1: a contextual refit whose chains sat 30 nats apart).
    Groups are listed from the highest mean log-likelihood down; one group where no gap is
    that wide.
    """
    total = loglik.reshape(loglik.shape[0], loglik.shape[1], -1).sum(-1)
    means = total.mean(1)
    within = float(np.sqrt(total.var(1, ddof=1).mean())) if total.shape[1] > 1 else 0.0
    order = np.argsort(-means)
    groups, current = [], [int(order[0])]
    for prev, nxt in zip(order[:-1], order[1:]):
        if means[prev] - means[nxt] > gap * within:
            groups.append(tuple(sorted(current)))
            current = []
        current.append(int(nxt))
    groups.append(tuple(sorted(current)))
    return tuple(float(m) for m in means), tuple(groups)


def diagnostics(fit, *, max_rhat: float = 1.01, min_ess: float = 100.0) -> Diagnostics:
    """R-hat, bulk/tail ESS per sampled site and divergences; warns :class:`CurveFitWarning`.

    ``min_ess`` is per chain (the usual rule: 100 per chain). For SVI there is one "chain" of
    independent draws from the guide: R-hat is undefined (NaN) and not checked.

    A chain whose draws never change (every sampled site constant over all its draws: HMC
    moves all coordinates together, so only a sampler that rejected every proposal does that)
    gets a message of its own (``stuck_chains``): ArviZ gives constant draws an undefined
    R-hat and the full ESS, so where every chain is stuck the table's R-hat and ESS are NaN.
    Sites or elements constant in every chain while others move are structural (e.g. the
    zero-sum deviations of a single task) and are skipped.

    Where R-hat fails and the chains' mean total log-likelihoods fall into groups more than
    :data:`MODE_GAP` within-chain sds apart (:func:`separate_modes`), the message says the
    chains sit in separate modes instead of asking for longer runs, which do not merge them.
    """
    meta = fit._require()
    post = fit.idata.posterior[meta["latent"]]
    n_chains, n_draws = post.sizes["chain"], post.sizes["draw"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(post) if n_chains > 1 else None
        ess_bulk, ess_tail = az.ess(post, method="bulk"), az.ess(post, method="tail")
    stuck = [c for c in range(n_chains) if n_draws > 1
             and all((np.ptp(post[name].values[c], axis=0) == 0).all()
                    for name in meta["latent"])]
    rows = []
    for name in meta["latent"]:
        rows.append({"variable": name,
                     "r_hat": _finite_extreme(rhat[name].values, np.nanmax)
                     if rhat is not None else np.nan,
                     "ess_bulk": _finite_extreme(ess_bulk[name].values, np.nanmin),
                     "ess_tail": _finite_extreme(ess_tail[name].values, np.nanmin)})
    table = pd.DataFrame(rows)
    if len(stuck) == n_chains:  # ArviZ's numbers for constant draws say nothing
        table[["r_hat", "ess_bulk", "ess_tail"]] = np.nan
    n_div = 0
    if "sample_stats" in fit.idata.groups() and "diverging" in fit.idata.sample_stats:
        n_div = int(fit.idata.sample_stats["diverging"].values.sum())
    messages = []
    if stuck:
        messages.append(f"{len(stuck)} of {n_chains} chains never moved (chains {stuck}: "
                        f"every draw the same), so they say nothing about the posterior; "
                        f"refit with another seed or a higher target_accept")
    worst_rhat = float(table["r_hat"].max()) if rhat is not None else np.nan
    chain_loglik, modes = (), ()
    if n_chains > 1 and "log_likelihood" in fit.idata.groups():
        loglik = fit.idata.log_likelihood
        chain_loglik, modes = separate_modes(
            np.concatenate([loglik[v].values.reshape(n_chains, n_draws, -1)
                            for v in loglik.data_vars], axis=-1))
    if rhat is not None and worst_rhat > max_rhat:
        bad = table.loc[table["r_hat"] > max_rhat, "variable"].tolist()
        if len(modes) > 1:
            messages.append(
                f"R-hat {worst_rhat:.3f} > {max_rhat} for {bad}: the chains sit in "
                f"{len(modes)} separate modes ({modes_text(chain_loglik, modes)}) that "
                f"they do not cross; longer runs do not merge them. Do not use these draws: "
                f"simplify the structure or add design levels, or refit with other seeds "
                f"and compare")
        else:
            messages.append(f"R-hat {worst_rhat:.3f} > {max_rhat} for {bad}: chains disagree, "
                            f"run longer (num_warmup/num_samples)")
    threshold = min_ess * (n_chains if meta["method"] == "nuts" else 1)
    worst_ess = float(min(table["ess_bulk"].min(), table["ess_tail"].min()))
    if worst_ess < threshold:
        bad = table.loc[table[["ess_bulk", "ess_tail"]].min(axis=1) < threshold, "variable"]
        messages.append(f"ESS {worst_ess:.0f} < {threshold:.0f} for {bad.tolist()}")
    if n_div:
        messages.append(f"{divergent_transitions(n_div)} of {n_chains * n_draws}: raise "
                        f"target_accept or simplify the transfer structure")
    for message in messages:
        warnings.warn(message, CurveFitWarning, stacklevel=3)
    return Diagnostics(method=meta["method"], n_chains=n_chains, n_draws=n_draws,
                       max_rhat=worst_rhat, min_ess_bulk=float(table["ess_bulk"].min()),
                       min_ess_tail=float(table["ess_tail"].min()), n_divergent=n_div,
                       table=table, messages=tuple(messages), stuck_chains=tuple(stuck),
                       chain_loglik=chain_loglik, modes=modes)


def modes_text(chain_loglik, modes) -> str:
    """``"chains [3] at mean log-likelihood 625.3; chains [0, 1, 2] at 589.5-595.5"``."""
    parts = []
    for group in modes:
        values = [chain_loglik[c] for c in group]
        level = (f"{values[0]:.1f}" if len(values) == 1
                 else f"{min(values):.1f}-{max(values):.1f}")
        parts.append(f"chains {list(group)} at {'mean log-likelihood ' if not parts else ''}"
                     f"{level}")
    return "; ".join(parts)


COMPARE_METHODS = ("stacking", "BB-pseudo-BMA", "pseudo-BMA")


def fit_names(fits, names=None) -> list[str]:
    """Labels of ``fits``: ``names`` checked (one distinct label per fit) or
    ``family/transfer/method``."""
    if names is None:
        names = [f"{f.config.family}/{f.config.transfer}/{f.config.method}" for f in fits]
    names = list(names)
    if len(names) != len(fits) or len(set(names)) != len(names):
        raise ValueError(f"names must be {len(fits)} distinct labels, got {names}")
    return names


def compare_curves(fits, *, names=None, ic: str = "loo", method: str = "stacking") -> pd.DataFrame:
    """Rank fits by expected log predictive density (``az.compare``), best first.

    ``weight`` is the model weight of ``method``: ``"stacking"`` (Yao et al. 2018, eq. 4:
    weights maximising the LOO log score of the mixture; use them to average families'
    predictions), ``"BB-pseudo-BMA"`` or ``"pseudo-BMA"``.

    All fits must have the same observations (same table, metric and rows); fit ``none`` or
    ``pairwise`` with ``use_all_rows=True`` to compare them with ``contextual``/``joint``.

    Example
    -------
    >>> from lcurve.curves import fit_curves, simulate_results
    >>> table, _ = simulate_results(n_tasks=2, seed=0)
    >>> fits = [fit_curves(table, family=f, transfer="pairwise", method="svi", svi_steps=300)
    ...         for f in ("exp3", "pow3")]
    >>> list(compare_curves(fits).columns[:2])
    ['rank', 'elpd_loo']
    """
    fits = list(fits)
    if method not in COMPARE_METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {list(COMPARE_METHODS)}")
    if len(fits) < 2:
        raise ValueError(f"compare_curves needs at least two fits, got {len(fits)}")
    for fit in fits:
        fit._require()
    names = fit_names(fits, names)
    reference = fits[0].idata.observed_data["score"].values
    for name, fit in zip(names, fits):
        observed = fit.idata.observed_data["score"].values
        if observed.shape != reference.shape or not np.array_equal(observed, reference):
            raise ValueError(f"fit {name!r} was fitted on different observations than "
                             f"{names[0]!r}; LOO needs the same rows (same table and metric; "
                             f"use_all_rows=True for 'none'/'pairwise')")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pareto-k warnings are in the table
        return az.compare(dict(zip(names, (f.idata for f in fits))), ic=ic, method=method)
