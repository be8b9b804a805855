"""Posterior predictions and sample-size planning from a fitted :class:`~lcurve.curves.CurveFit`.

Example
-------
>>> from lcurve.curves import fit_curves, simulate_results
>>> table, _ = simulate_results(n_tasks=2, seed=0)
>>> fit = fit_curves(table, transfer="pairwise", method="svi", svi_steps=300)
>>> pred = fit.predict({"task00": [64, 1024]})
>>> list(pred.columns[-5:])
['mean', 'hdi_low', 'hdi_high', 'pred_low', 'pred_high']
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from numpyro.infer import Predictive

from lcurve.curves._summaries import _interval, compare_curves, fit_names, posterior_draws
from lcurve.curves._table import CurveData, CurveDataError
from lcurve.curves.model import (curve_on_test_set, effective_size_draws, expected_score,
                                 expected_score_draws, observed_test_score, run_test_variance,
                                 test_set_shift, test_share_at)
from lcurve.design import size_column

__all__ = ["predict", "predict_with_draws", "predict_stacked", "required_samples",
           "required_samples_stacked", "stack_weights", "curve_gaps", "CURVE_GAP",
           "context_reach", "CONTEXT_REACH"]

#: Largest mean gap (score units) between a task's fitted runs and its curve that
#: :func:`curve_gaps` calls a fit; beyond it the nested-design effects, not the curve, carry
#: the task's level or shape, and predictions for new runs follow the curve.
CURVE_GAP = 0.02


def _size_table(fit, sizes) -> pd.DataFrame:
    tasks = fit.tasks
    if isinstance(sizes, Mapping):
        unknown = sorted(set(sizes) - set(tasks))
        if unknown:
            raise CurveDataError(f"unknown task(s) {unknown}; fitted tasks: {tasks}")
        rows = [{"task": t, size_column(t): float(n)} for t, ns in sizes.items()
                for n in np.atleast_1d(ns)]
        sizes = pd.DataFrame(rows)
    if not isinstance(sizes, pd.DataFrame) or "task" not in sizes.columns:
        raise CurveDataError("sizes must be a mapping {task: sizes} or a DataFrame with a "
                             "'task' column and n_<task> columns")
    extra = sorted(c for c in sizes.columns if c.startswith("n_") and c != "n_test"
                   and c != "n_test_pos" and c[2:] not in tasks)
    unknown = sorted(set(sizes["task"]) - set(tasks))
    if extra or unknown:
        raise CurveDataError(f"unknown task(s) {unknown or extra}; fitted tasks: {tasks}")
    table = sizes.copy()
    for task in tasks:
        column = size_column(task)
        table[column] = table[column].fillna(0).astype(float) if column in table else 0.0
        if (table[column] < 0).any():
            raise CurveDataError(f"{column} must be >= 0")
    return table


def _test_sizes(fit, table: pd.DataFrame, task: np.ndarray):
    if not fit._require()["has_n_test"]:
        return None, None
    if "n_test" in table.columns and "n_test_pos" in table.columns:
        return table["n_test"].to_numpy(float), table["n_test_pos"].to_numpy(float)
    const = fit.idata.constant_data
    fitted = pd.DataFrame({"task": const["task_index"].values, "n": const["n_test"].values,
                           "pos": const["n_test_pos"].values}).groupby("task").median()
    n = fitted["n"].reindex(range(len(fit.tasks))).fillna(fitted["n"].median()).to_numpy()
    pos = fitted["pos"].reindex(range(len(fit.tasks))).fillna(fitted["pos"].median()).to_numpy()
    return n[task], pos[task]


def predict(fit, sizes, *, hdi_prob: float = 0.9, seed: int | None = None) -> pd.DataFrame:
    """Posterior predictive scores at new training sizes.

    Parameters
    ----------
    sizes : mapping or DataFrame
        ``{task: [n, ...]}`` (single-task runs) or a table with ``task`` (the evaluated task)
        and ``n_<task>`` columns (missing ones are 0); optional ``n_test, n_test_pos`` (default:
        each task's median test set in the fitted data).

    Returns
    -------
    DataFrame
        The size table plus ``mean, hdi_low, hdi_high`` (the expected score, i.e. the curve),
        ``pred_low, pred_high`` (interval of a new observed score, test-set noise included)
        and ``test_mean``, the curve's mean on the task's own test set, where such runs
        centre: with ``FitConfig.test_shared > 0`` the curve (``mean``) is the score expected
        on a new test set and ``test_mean`` adds the posterior of the task's test-set offset;
        otherwise the two are equal.
    """
    return predict_with_draws(fit, sizes, hdi_prob=hdi_prob, seed=seed)[0]


def predict_with_draws(fit, sizes, *, hdi_prob: float = 0.9,
                       seed: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`predict`'s table and the joint posterior predictive draws of the new observed
    scores behind its ``pred_low, pred_high`` (draws x rows): within a draw, rows of one task
    share its curve and test-set offset, so the draws carry how the rows' errors go together
    (:func:`lcurve.curves.checks.inside_count_check` uses them)."""
    table, curve, score, on_test = _predictive(fit, sizes, seed)
    return _summarise(table, curve, score, curve.mean(0), hdi_prob, on_test.mean(0)), score


def _predictive(fit, sizes, seed: int | None):
    """(size table, draws of the expected score, draws of a new observed score, draws of the
    curve on the task's own test set: the expected score's unless ``test_shared > 0``)."""
    fit._require()
    table = _size_table(fit, sizes)
    task = np.array([fit.tasks.index(t) for t in table["task"]], dtype=np.int32)
    n_test, n_test_pos = _test_sizes(fit, table, task)
    data = CurveData(tasks=tuple(fit.tasks), task=task,
                     sizes=table[[size_column(t) for t in fit.tasks]].to_numpy(float),
                     value=np.zeros(len(task)), seed=np.zeros(len(task)),
                     n_test=n_test, n_test_pos=n_test_pos)
    # test_z: sampled when predicting; where the fit integrated the offsets out, not a latent
    # site of the fit but drawn from the likelihood and kept in its posterior
    sites = fit._meta["latent"] + [s for s in ("test_z",) if s in fit.idata.posterior
                                   and s not in fit._meta["latent"]]
    latent = {k: jnp.asarray(v) for k, v in posterior_draws(fit, sites).items()}
    key = jax.random.fold_in(jax.random.PRNGKey(fit.config.seed if seed is None else seed), 1)
    out = Predictive(fit.model(), posterior_samples=latent,
                     return_sites=["score", "expected_score", "test_set_score"])(
        key, **fit.model_args(data, observed=False))
    curve = np.asarray(out["expected_score"])
    on_test = np.asarray(out["test_set_score"]) if "test_set_score" in out else curve
    return table, curve, np.asarray(out["score"]), on_test


def _summarise(table, curve, score, mean, hdi_prob: float, test_mean) -> pd.DataFrame:
    result = table.reset_index(drop=True)
    result["mean"] = mean
    result["hdi_low"], result["hdi_high"] = _interval(curve, hdi_prob)
    result["pred_low"], result["pred_high"] = _interval(score, hdi_prob)
    result["test_mean"] = test_mean
    return result


def predict_stacked(fits, sizes, *, weights=None, names=None, hdi_prob: float = 0.9,
                    seed: int | None = None) -> pd.DataFrame:
    """Posterior predictive of a weighted mixture of fits: several curve families (or
    structures) averaged instead of one chosen.

    Stacking (Yao, Vehtari, Simpson & Gelman 2018, "Using stacking to average Bayesian
    predictive distributions", Bayesian Analysis 13(3), eq. 4) picks the weights ``w_k`` that
    maximise the leave-one-out log score of the mixture ``sum_k w_k p_k(y | data)``; the
    prediction at new sizes is then that mixture of the fits' posterior predictive
    distributions (section 2.2). Default ``weights``: :func:`compare_curves`'s stacking
    weights (its ``method="stacking"``; the fits must share their observations). Pass your
    own (e.g. from leave-future-out scores) as one non-negative number per fit.

    The mixture's ``mean`` is ``sum_k w_k mean_k`` (``test_mean`` likewise); its intervals (HDIs, as :func:`predict`)
    come from each fit's draws taken in proportion to its weight (as many draws in all as the
    smallest fit has). Where the families disagree beyond the fitted sizes the intervals
    widen to cover both: a single family's intervals do not carry the uncertainty of the
    family choice.

    Returns
    -------
    DataFrame
        :func:`predict`'s columns; ``attrs["weights"]`` holds the weight of each fit by name.
    """
    fits = list(fits)
    weights, names = stack_weights(fits, weights, names)
    draws = [_predictive(fit, sizes, seed) for fit in fits]
    rng = np.random.default_rng(fits[0].config.seed if seed is None else seed)
    picks = _mixture_picks([curve.shape[0] for _, curve, _, _ in draws], weights, rng)
    curve = np.concatenate([c[pick] for (_, c, _, _), pick in zip(draws, picks)])
    score = np.concatenate([s[pick] for (_, _, s, _), pick in zip(draws, picks)])
    mean = sum(w * c.mean(0) for w, (_, c, _, _) in zip(weights, draws))
    test_mean = sum(w * t.mean(0) for w, (_, _, _, t) in zip(weights, draws))
    result = _summarise(draws[0][0], curve, score, mean, hdi_prob, test_mean)
    result.attrs["weights"] = dict(zip(names, weights.tolist()))
    return result


def stack_weights(fits, weights=None, names=None) -> tuple[np.ndarray, list[str]]:
    """Normalised weights of ``fits`` (two or more, of the same tasks) and their names: the
    given non-negative ``weights`` or :func:`compare_curves`'s stacking weights."""
    fits = list(fits)
    if len(fits) < 2:
        raise ValueError(f"stacking needs at least two fits, got {len(fits)}")
    for fit in fits:
        fit._require()
    if any(fit.tasks != fits[0].tasks for fit in fits):
        raise ValueError("stacking needs fits of the same tasks; got "
                         f"{[fit.tasks for fit in fits]}")
    names = fit_names(fits, names)
    if weights is None:
        weights = compare_curves(fits, names=names, method="stacking")["weight"].reindex(names)
    weights = np.asarray(weights, float)
    if weights.shape != (len(fits),) or not np.isfinite(weights).all() or (weights < 0).any() \
            or weights.sum() <= 0:
        raise ValueError(f"weights must be {len(fits)} non-negative numbers, not all zero; "
                         f"got {weights.tolist()}")
    return weights / weights.sum(), names


def _mixture_picks(n_draws: list[int], weights: np.ndarray, rng) -> list[np.ndarray]:
    """Which draws of each fit make up a mixture of ``min(n_draws)`` draws in proportion to
    ``weights`` (largest-remainder rounding, without replacement within a fit)."""
    total = min(n_draws)
    counts = np.floor(weights * total).astype(int)
    counts[np.argmax(weights - counts / total)] += total - counts.sum()
    return [rng.choice(n, size=count, replace=False) for n, count in zip(n_draws, counts)]


def curve_gaps(fit, *, max_gap: float = CURVE_GAP, by_size: bool = False) -> pd.DataFrame:
    """Does each task's fitted curve pass through its own runs?

    For every fitted row the posterior mean of the expected score (the curve at the row's
    sizes, transfer included, no nested-design effects: the ``mean`` that :func:`predict`
    returns for a new run; with ``FitConfig.test_shared > 0``, moved by the task's
    test-set offset: ``test_mean``) is compared with the observed score; per task, ``gap`` is the mean of observed minus curve over its
    rows. A curve family that cannot follow the runs (or effects confounded with the level,
    e.g. with two seeds) leaves the level to the subsample and seed effects: the runs are
    fitted but the curve, and every prediction and sample count read from it, is off by
    ``gap``. ``ok`` is ``|gap| <= max_gap``. ``by_size=True`` gives one row per task and own
    size (column ``size``): a curve of the wrong shape can pass through a task's runs on
    average while missing each size (too high at small sizes, too low at large ones).

    Returns
    -------
    DataFrame
        ``task, [size,] rows, observed, curve, gap, ok``.
    """
    fit._require()
    const = fit.idata.constant_data
    task = jnp.asarray(const["task_index"].values, dtype=jnp.int32)
    sizes = jnp.asarray(const["sizes"].values, dtype=jnp.float32)
    family, structure, n_ref = fit.family, fit.config.transfer, fit._meta["n_ref"]
    draws = _curve_params(fit)
    pick = _thinned(draws)
    curves = expected_score_draws({k: v[pick] for k, v in draws.items()}, task, sizes, n_ref,
                                  family=family, structure=structure)
    observed = np.asarray(fit.idata.observed_data["score"].values, float)
    own = np.asarray(sizes)[np.arange(len(observed)), np.asarray(task)]  # each row's own size
    curves = _on_test_sets(fit, curves, pick, task, sizes, own, observed)
    rows = pd.DataFrame({"task": [fit.tasks[i] for i in np.asarray(task)], "size": own,
                         "observed": observed, "curve": np.asarray(curves).mean(0)})
    keys = ["task", "size"] if by_size else "task"
    out = rows.groupby(keys, sort=False).agg(rows=("observed", "size"),
                                               observed=("observed", "mean"),
                                               curve=("curve", "mean")).reset_index()
    out["gap"] = out["observed"] - out["curve"]
    out["ok"] = out["gap"].abs() <= max_gap
    return out


#: Largest ratio of the effective size at which transfer places a task's runs with other tasks
#: to its largest run alone that :func:`context_reach` calls a fit: beyond it those runs, not
#: the task's own, draw the curve's tail.
CONTEXT_REACH = 2.0


def context_reach(fit, *, max_ratio: float = CONTEXT_REACH) -> pd.DataFrame:
    """How far along its curve does transfer place each task's runs with other tasks?

    For every fitted row with other tasks trained, the posterior median of its effective
    size (:func:`lcurve.curves.model.effective_size`, the row's own size moved by the fitted
    transfer rates); per task, ``reach`` is the largest of them and ``largest_alone`` the
    task's largest own size in a run without other tasks. Where ``ratio = reach /
    largest_alone`` exceeds ``max_ratio`` the curve beyond the task's own runs is drawn
    through runs that transfer moved there, not through runs of that size: on 30 MoleculeACE
    targets, each beside ~17,000-35,000 labels of context, a leave-future-out refit's
    contextual rates under the prior on the rate (``context_prior="rate"``) placed runs of
    <= 128 own labels ~100 times further along (ratio 104), and the single-task runs at 512
    were under-predicted by 0.083; under the default data-scale prior (``context_scale``
    0.5) the ratio was 1.23 and the bias +0.001, at 2 again 7.8 and -0.074
    (``experiments/curves/RESULTS.md`` X2, Y4). ``ok`` is ``ratio <=
    max_ratio`` (True where a task has no runs with other tasks, or none alone).

    Returns
    -------
    DataFrame
        ``task, rows`` (its runs with other tasks), ``largest_alone, reach, ratio, ok``.
    """
    fit._require()
    const = fit.idata.constant_data
    task = np.asarray(const["task_index"].values, dtype=np.int32)
    sizes = np.asarray(const["sizes"].values, dtype=np.float32)
    own = sizes[np.arange(len(task)), task]
    moved = sizes.sum(axis=1) > own
    structure = fit.config.transfer
    out = []
    reach = np.full(len(task), np.nan)
    if structure != "none" and moved.any():
        draws = {k: jnp.asarray(v) for k, v in
                 posterior_draws(fit, ["transfer", "transfer_context"]).items()}
        rates = {k: v[_thinned(draws)] for k, v in draws.items()}
        n_eff = effective_size_draws(rates, jnp.asarray(task[moved]),
                                     jnp.asarray(sizes[moved]), structure=structure)
        reach[moved] = np.median(np.asarray(n_eff), axis=0)
    for i, name in enumerate(fit.tasks):
        mine = task == i
        alone = own[mine & ~moved]
        largest = float(alone.max()) if len(alone) else np.nan
        far = float(np.nanmax(reach[mine & moved])) if (mine & moved).any() else np.nan
        ratio = far / largest if np.isfinite(far) and np.isfinite(largest) else np.nan
        out.append({"task": name, "rows": int((mine & moved).sum()), "largest_alone": largest,
                    "reach": far, "ratio": ratio,
                    "ok": not (np.isfinite(ratio) and ratio > max_ratio)})
    return pd.DataFrame(out)


def _on_test_sets(fit, curves, pick, task, sizes, own, observed):
    """Draws of the curve at the fitted rows moved to each task's own test set (the offset
    of ``FitConfig.test_shared``, evaluated as the fit did), where the runs centre; ``own``
    is each row's own size (the test-set share's size with ``test_share="by_size"``)."""
    meta = fit._meta
    share = meta.get("test_shared", 0.0)
    if share == 0:
        return curves
    const = fit.idata.constant_data
    likelihood = meta.get("likelihood", "truncnormal")  # as CurveFit.model reads them
    test_z = jnp.asarray(posterior_draws(fit, ["test_z"])["test_z"])[pick]
    share = jnp.broadcast_to(jnp.asarray(test_share_at(own, float(share), meta.get(
        "test_share_slope", 0.0)), jnp.float32), own.shape)  # per row
    return _moved_to_test_sets(
        curves, jnp.asarray(const["n_test"].values), jnp.asarray(const["n_test_pos"].values),
        observed_test_score(np.asarray(task), np.asarray(sizes), observed), test_z[:, task],
        share, metric=fit.config.metric, likelihood=likelihood,
        test_noise=meta.get("test_noise", "curve"))


@partial(jax.jit, static_argnames=("metric", "likelihood", "test_noise"))
def _moved_to_test_sets(curves, n_test, n_test_pos, test_score, test_z, share, *, metric,
                        likelihood, test_noise):
    v_test = run_test_variance(curves, n_test, n_test_pos, metric, likelihood=likelihood,
                               test_noise=test_noise, test_score=test_score)
    return curve_on_test_set(curves, test_set_shift(v_test, test_z, share),
                             likelihood=likelihood)


def _thinned(draws: dict, keep: int = 400) -> np.ndarray:
    """Indices of at most ``keep`` evenly spaced draws (enough for a mean or a median)."""
    n_draws = len(next(iter(draws.values())))
    return np.linspace(0, n_draws - 1, min(n_draws, keep)).astype(int)


def _curve_params(fit) -> dict:
    names = [*fit.family.param_names, "transfer", "transfer_context", "context_shift"]
    return {k: jnp.asarray(v) for k, v in posterior_draws(fit, names).items()}


def required_samples(fit, task: str, target_score: float, *, context: Mapping | None = None,
                     max_samples: float = 1e7, interval: float = 0.9) -> pd.DataFrame:
    """Posterior of the number of samples of ``task`` needed for an expected ``target_score``.

    Two scenarios: ``alone`` (no other task trained) and ``with_context`` (other tasks trained
    with ``context`` samples: a mapping ``{task: n}``, by default each other task at its largest
    size in the fitted data). Each posterior draw's curve is solved for the size by bisection
    (curves increase with size) between the task's smallest fitted size and ``max_samples``:
    below the smallest size trained the curve is an extrapolation towards ``n = 0`` that the
    data do not constrain, so a draw already at the target there reports that smallest size
    (read it as "at most this many"); draws that do not reach the target below ``max_samples``
    count as unreachable (``inf``).

    Returns
    -------
    DataFrame
        ``task, scenario, target_score, p_reachable, median, low, high`` with an equal-tailed
        ``interval`` (infinite bounds when too few draws reach the target).

    Example
    -------
    >>> from lcurve.curves import fit_curves, simulate_results
    >>> table, _ = simulate_results(n_tasks=2, seed=0)
    >>> fit = fit_curves(table, transfer="pairwise", method="svi", svi_steps=300)
    >>> fit.required_samples("task00", 0.7)["scenario"].tolist()
    ['alone', 'with_context']
    """
    return _required_table(task, target_score, _required_draws(
        fit, task, target_score, context=context, max_samples=max_samples), interval)


def required_samples_stacked(fits, task: str, target_score: float, *, weights=None,
                             names=None, context: Mapping | None = None,
                             max_samples: float = 1e7, interval: float = 0.9,
                             seed: int | None = None) -> pd.DataFrame:
    """:func:`required_samples` from a stacked mixture of fits (e.g. curve families): each
    fit's draws of the required size, taken in proportion to its weight
    (:func:`predict_stacked`'s weights and mixture), so the interval carries the uncertainty
    of the family choice, which a far extrapolation depends on most. Fits of ``none`` give
    only the ``alone`` scenario; a scenario enters the mixture only if every fit has it.

    Returns
    -------
    DataFrame
        :func:`required_samples`'s columns; ``attrs["weights"]`` holds the weights by name and
        ``attrs["per_fit"]`` each fit's own :func:`required_samples` rows as records (from the
        same draws, so no fit is solved twice).
    """
    fits = list(fits)
    weights, names = stack_weights(fits, weights, names)
    per_fit = [dict(_required_draws(fit, task, target_score, context=context,
                                    max_samples=max_samples)) for fit in fits]
    rng = np.random.default_rng(fits[0].config.seed if seed is None else seed)
    mixed = []
    for scenario in per_fit[0]:
        if all(scenario in draws for draws in per_fit):
            parts = [draws[scenario] for draws in per_fit]
            picks = _mixture_picks([len(n) for n in parts], weights, rng)
            mixed.append((scenario, np.concatenate([n[p] for n, p in zip(parts, picks)])))
    result = _required_table(task, target_score, mixed, interval)
    result.attrs["weights"] = dict(zip(names, weights.tolist()))
    result.attrs["per_fit"] = {  # records, not frames: pandas compares attrs when concatenating
        name: _required_table(task, target_score, list(draws.items()), interval)
        .to_dict("records") for name, draws in zip(names, per_fit)}
    return result


def _required_table(task, target_score, draws, interval: float) -> pd.DataFrame:
    tail = (1 - interval) / 2
    return pd.DataFrame([{"task": task, "scenario": scenario, "target_score": target_score,
                          "p_reachable": float(np.isfinite(n).mean()),
                          "median": float(np.quantile(n, 0.5, method="inverted_cdf")),
                          "low": float(np.quantile(n, tail, method="inverted_cdf")),
                          "high": float(np.quantile(n, 1 - tail, method="inverted_cdf"))}
                         for scenario, n in draws])


def _required_draws(fit, task: str, target_score: float, *, context: Mapping | None,
                    max_samples: float) -> list[tuple[str, np.ndarray]]:
    """``[(scenario, posterior draws of the required size)]`` (:func:`required_samples`)."""
    fit._require()
    tasks = fit.tasks
    if task not in tasks:
        raise ValueError(f"unknown task {task!r}; fitted tasks: {tasks}")
    if not 0 < target_score < 1:
        raise ValueError(f"target_score must be in (0, 1), got {target_score}")
    k = tasks.index(task)
    fitted_max = fit.idata.constant_data["sizes"].values.max(axis=0)
    if context is None:
        context = {t: fitted_max[j] for j, t in enumerate(tasks) if j != k}
    unknown = sorted(set(context) - set(tasks) - {task})
    if unknown or task in context:
        raise ValueError(f"context must map other fitted tasks to sizes; bad keys "
                         f"{unknown or [task]}; fitted tasks: {tasks}")
    other = np.zeros(len(tasks))
    for t, n in context.items():
        other[tasks.index(t)] = float(n)
    params = _curve_params(fit)
    sizes_k = fit.idata.constant_data["sizes"].values[:, k]
    bounds = dict(k=jnp.int32(k), target=jnp.float32(target_score),
                  lo_u=jnp.float32(np.log1p(sizes_k[sizes_k > 0].min())),
                  hi_u=jnp.float32(np.log1p(max_samples)), max_samples=jnp.float32(max_samples),
                  n_ref=jnp.float32(fit._meta["n_ref"]))
    scenarios = [("alone", np.zeros(len(tasks)))]
    if fit.config.transfer != "none":
        scenarios.append(("with_context", other))
    return [(scenario, np.asarray(_solve_sizes(
        params, jnp.asarray(background, jnp.float32), **bounds, family=fit.family,
        structure=fit.config.transfer))) for scenario, background in scenarios]


@partial(jax.jit, static_argnames=("family", "structure"))
def _solve_sizes(params, background, k, target, lo_u, hi_u, max_samples, n_ref, *, family,
                 structure):
    """Each draw's size at which task ``k``'s expected score reaches ``target`` (bisection in
    ``log1p(n)`` between ``lo_u`` and ``hi_u``; ``inf`` if not reached by ``max_samples``)
    beside the other tasks' sizes ``background``. Compiled once per (family, structure,
    shapes): everything else is an argument, so repeated calls do not recompile."""
    index = k[None]

    def solve(draw):
        def score(n_own):
            sizes = background.at[k].set(n_own)[None, :]
            return expected_score(family, structure, draw, index, sizes, n_ref)[0]

        def step(_, bounds):
            lo, hi = bounds
            mid = 0.5 * (lo + hi)
            below = score(jnp.expm1(mid)) < target
            return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

        lo, hi = jax.lax.fori_loop(0, 60, step, (lo_u, hi_u))
        reachable = score(max_samples) >= target
        return jnp.where(reachable, jnp.expm1(hi), jnp.inf)

    return jax.vmap(solve)(params)
