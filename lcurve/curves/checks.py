"""Model checks before and after fitting: the prior predictive check and leave-future-out.

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

Leave-future-out (:func:`leave_future_out`) refits a model on each task's sizes up to a
fraction of its largest and predicts the single-task runs at the largest size: how far off the
curves' extrapolation was on the user's own runs, which is what "samples needed" beyond the
data rests on.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pandas as pd
from numpyro import handlers

from lcurve.curves._summaries import _interval
from lcurve.curves.model import LIKELIHOOD_SITE
from lcurve.design import own_sizes, size_columns

__all__ = ["prior_predictive", "prior_draws", "leave_future_out", "lfo_path", "lfo_mismatch",
           "lfo_missing", "LFO_COLUMNS", "split_future", "noise_mae", "summarise_future",
           "inside_count_check", "INSIDE_COLUMNS", "MIN_COUNT_DRAWS"]


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


def lfo_path(fit_path) -> Path:
    """Where a fit's :func:`leave_future_out` table is kept: ``<fit stem>_lfo.csv`` beside the
    fit's file (``lcurve demo``, ``lcurve fit --leave-future-out``; the report reads it)."""
    fit_path = Path(fit_path)
    return fit_path.with_name(f"{fit_path.stem}_lfo.csv")


def lfo_mismatch(lfo: pd.DataFrame, fit) -> tuple[str, str] | None:
    """The ``(family, transfer)`` a :func:`leave_future_out` table checked when that is not
    ``fit``'s model; ``None`` when it is (or the table does not say)."""
    if len(lfo) == 0 or not {"family", "transfer"} <= set(lfo.columns):
        return None
    checked = (lfo["family"].iloc[0], lfo["transfer"].iloc[0])
    return None if checked == (fit.config.family, fit.config.transfer) else checked


def split_future(results: pd.DataFrame, fraction: float = 0.25, *, metric: str = "auroc"):
    """``(training rows, held-out rows)`` of one metric for leave-future-out: training rows are
    every run (single or multi-task) whose own size is at most ``fraction`` of its task's
    largest size; held out are the single-task runs at each task's largest size.

    A task's largest size is that of its largest single-task run: a task can be trained on
    more of its labels as another's context or partner (a contextual design at all of the
    other tasks' labels, beside a grid capped by ``max_size``), and there it has no
    single-task run to hold out. Tasks without single-task runs use their largest run of any
    kind and have nothing held out. Raises ``ValueError`` when no task has a single-task run."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    missing = {"task", "metric", "value"} - set(results.columns)
    if missing:
        raise ValueError(f"results table lacks columns {sorted(missing)}")
    table = results[results["metric"] == metric].dropna(subset=["value"]).reset_index(drop=True)
    if table.empty:
        raise ValueError(f"no {metric!r} scores in the results table")
    own = own_sizes(table).astype(float)
    single = (table[size_columns(table)] > 0).sum(axis=1).to_numpy() == 1
    if not single.any():
        raise ValueError("no single-task runs to hold out: leave-future-out predicts each "
                         "task's single-task runs at its largest size")
    tasks = table["task"].to_numpy()
    largest = pd.Series(np.where(single, own, -np.inf)).groupby(tasks).transform("max")
    largest = np.where(np.isfinite(largest), largest,  # no single-task run: any run
                       pd.Series(own).groupby(tasks).transform("max"))
    return table[own <= fraction * largest], table[single & (own == largest)]


def noise_mae(held: pd.DataFrame) -> float:
    """MAE of held-out runs about their tasks' expected scores, estimated from the seeds.

    A held-out run is ``v = mu_task + e``, ``e`` whatever varies between a task's runs
    (training seed and subsample; when all runs share one test set its error is in ``mu``).
    Knowing ``mu``, a prediction's MAE is ``E|e|``. With ``S`` runs of a task, ``E|v -
    mean(v)| = E|e| sqrt((S - 1) / S)`` for normal noise, so ``E|e|`` is estimated by ``mean
    |v - mean(v)| sqrt(S / (S - 1))`` over tasks with >= 2 runs (for ``S = 2``: ``|v1 - v2| /
    sqrt(2)``). ``nan`` when no task has two runs.

    Example
    -------
    >>> held = pd.DataFrame({"task": ["a", "a", "b", "b"], "value": [0.80, 0.84, 0.70, 0.70]})
    >>> round(noise_mae(held), 4)
    0.0141
    """
    parts = []
    for _, runs in held.groupby("task")["value"]:
        if len(runs) >= 2:
            size = len(runs)
            parts.append(np.abs(runs - runs.mean()).to_numpy() * np.sqrt(size / (size - 1)))
    return float(np.concatenate(parts).mean()) if parts else float("nan")


#: Columns a :func:`leave_future_out` table needs to be summarised (:func:`summarise_future`).
LFO_COLUMNS = ("task", "observed", "mean", "low", "high", "fitted_max", "size")


def lfo_missing(table: pd.DataFrame) -> list[str]:
    """The :data:`LFO_COLUMNS` that ``table`` lacks (empty: it can be read as a
    leave-future-out table)."""
    return sorted(set(LFO_COLUMNS) - set(table.columns))


#: Fewest joint predictive draws :func:`inside_count_check` reads tail probabilities from.
MIN_COUNT_DRAWS = 100


def inside_count_check(observed, low, high, draws) -> dict:
    """How many held-out runs a calibrated model expects inside their intervals, and how
    surprising the observed count is, under the model's own joint predictive.

    Counting the runs inside their 90% intervals and reading the count as a binomial over
    the runs treats their errors as independent. They are not: the runs of one task share
    its extrapolated curve and its test set, so they tend to fall in or out together, and a
    binomial test calls intervals too wide or too narrow too readily (two seeds of 30
    targets make 60 runs but far fewer independent checks). Here the count's distribution
    is taken from the fit's joint posterior predictive draws of the same runs (``draws``,
    draws x runs: :func:`lcurve.curves.planning.predict_with_draws`): for each draw, the
    number of its scores inside the intervals ``low, high``. If the model is right (and the
    intervals are its own), the observed scores are one more such draw, so the observed
    count's tail probabilities are predictive p-values (Box 1980; Gelman, Meng & Stern 1996)
    with the runs' dependence as the model sees it.

    Parameters
    ----------
    observed, low, high : arrays (R,)
        Held-out scores and their predictive intervals.
    draws : array (S, R)
        Joint posterior predictive draws of the held-out scores (at least
        :data:`MIN_COUNT_DRAWS`).

    Returns
    -------
    dict
        ``n_inside`` (observed), ``expected_inside`` (mean count over the draws),
        ``inside_low, inside_high`` (the counts' 5% and 95% quantiles), ``p_narrow``
        (probability of a count as low as or lower than observed: small when the intervals
        were too narrow) and ``p_wide`` (as high or higher: small when too wide), each
        ``(1 + hits) / (1 + draws)``.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.normal(size=(4000, 1))  # one common error: runs go in and out together
    >>> draws = shared + 0.1 * rng.normal(size=(4000, 20))
    >>> low, high = np.full(20, -1.645), np.full(20, 1.645)
    >>> check = inside_count_check(np.zeros(20), low, high, draws)
    >>> check["n_inside"], round(check["p_wide"], 2)  # 20 of 20: a binomial gives 0.12
    (20, 0.85)
    """
    observed, low, high = (np.asarray(x, float) for x in (observed, low, high))
    draws = np.asarray(draws, float)
    if not (observed.ndim == 1 and observed.shape == low.shape == high.shape):
        raise ValueError(f"observed, low and high must be 1-d and of one length; got "
                         f"{observed.shape}, {low.shape}, {high.shape}")
    if draws.ndim != 2 or draws.shape[1] != observed.shape[0]:
        raise ValueError(f"draws must be (draws, runs) for {observed.shape[0]} runs; got "
                         f"{draws.shape}")
    if draws.shape[0] < MIN_COUNT_DRAWS:
        raise ValueError(f"{draws.shape[0]} predictive draws are too few for a count's tail "
                         f"probabilities (need >= {MIN_COUNT_DRAWS})")
    if not (np.isfinite(observed).all() and np.isfinite(draws).all()):
        raise ValueError("observed scores and draws must be finite")
    k = int(((observed >= low) & (observed <= high)).sum())
    counts = ((draws >= low) & (draws <= high)).sum(axis=1)
    return {"n_inside": k, "expected_inside": float(counts.mean()),
            "inside_low": int(np.quantile(counts, 0.05)),
            "inside_high": int(np.quantile(counts, 0.95)),
            "p_narrow": _tail(counts <= k), "p_wide": _tail(counts >= k)}


def _tail(hits: np.ndarray) -> float:
    """A Monte Carlo tail probability from ``hits`` over the draws, ``(1 + hits) / (1 +
    draws)`` (Davison & Hinkley 1997, eq. 4.11): never 0 from finitely many draws."""
    return float((1 + hits.sum()) / (1 + hits.size))


#: :func:`leave_future_out`'s columns from :func:`inside_count_check`, one value per table
#: (NaN where the refit drew fewer than :data:`MIN_COUNT_DRAWS`; tables written before them
#: lack them: both are read with a binomial count instead).
INSIDE_COLUMNS = ("expected_inside", "inside_low", "inside_high", "p_narrow", "p_wide")


def summarise_future(runs: pd.DataFrame) -> dict:
    """Bias, MAE, ``noise_mae``, coverage and mean interval width of a
    :func:`leave_future_out` table (read back from CSV too: it needs only its columns), and
    where the table has them the refit's diagnostics and :func:`inside_count_check`'s
    expected count and p-values."""
    missing = lfo_missing(runs)
    if missing:
        raise ValueError(f"not a leave-future-out table: no columns {missing}")
    error = runs["mean"].to_numpy() - runs["observed"].to_numpy()
    inside = (runs["observed"] >= runs["low"]) & (runs["observed"] <= runs["high"])
    return {"n_held": len(runs), "bias": float(error.mean()), "mae": float(np.abs(error).mean()),
            "noise_mae": noise_mae(runs.rename(columns={"observed": "value"})),
            "coverage": float(inside.mean()), "n_inside": int(inside.sum()),
            "width": float((runs["high"] - runs["low"]).mean()),
            "fitted_max": int(runs["fitted_max"].max()),
            "sizes": sorted(int(n) for n in runs["size"].unique()),
            **{k: float(runs[k].iloc[0]) for k in ("max_rhat", "min_ess_bulk", "divergences",
                                                   "modes", *INSIDE_COLUMNS)
               if k in runs.columns}}


def leave_future_out(results, *, fraction: float = 0.25, hdi_prob: float = 0.9, config=None,
                     **options) -> pd.DataFrame:
    """How well the curves extrapolated on these runs: refit on each task's sizes up to
    ``fraction`` of its largest, predict the single-task runs at the largest size.

    The harness of ``experiments/curves/lfo.py`` (issue 12's calibration target), for one's
    own results: the distance from the refitted sizes to the largest (two doublings at the
    default 1/4) is the kind of extrapolation a "samples needed" answer beyond the data makes.

    Parameters
    ----------
    results : DataFrame or CurveFit
        A results table (``config``/``options`` as for :func:`lcurve.curves.fit_curves`) or a
        :class:`~lcurve.curves.CurveFit` (its table and settings are used; it need not be
        fitted).
    fraction : float
        Refit on own sizes ``<= fraction x`` each task's largest size.
    hdi_prob : float
        Mass of each prediction's ``low, high`` interval.

    Returns
    -------
    DataFrame
        One row per held-out run: ``task, seed, size, fitted_max`` (the largest size refitted),
        ``observed``, ``mean`` (the curve's posterior mean on the task's test set: with
        ``test_shared > 0``, the curve plus the test set's offset), the posterior predictive
        interval ``low, high`` of the run, ``inside``, and the
        settings ``interval`` (``hdi_prob``), ``fraction``, ``family``, ``transfer``,
        ``method`` and the refit's ``max_rhat, min_ess_bulk, divergences`` and ``modes`` (how
        many separate modes its chains sat in, :func:`~lcurve.curves.diagnostics`; 1 where
        they agree), so that the table read back from a CSV file says what it checked.
        ``attrs["summary"]``: :func:`summarise_future`, ``n_train`` and ``left_out``, the
        tasks with fewer than two sizes to refit (warned about; a ``ValueError`` if that is
        every task).

    Example
    -------
    >>> from lcurve.curves import simulate_results
    >>> table, _ = simulate_results(n_tasks=2, sizes=(32, 64, 128, 256, 512), seed=0)
    >>> lfo = leave_future_out(table, transfer="none", method="svi", svi_steps=200)
    >>> summary = lfo.attrs["summary"]
    >>> summary["sizes"], summary["fitted_max"], summary["n_held"]
    ([512], 128, 4)
    """
    import warnings

    from lcurve.curves.fit import CurveFit
    from lcurve.curves.planning import predict_with_draws

    if isinstance(results, CurveFit):
        config, results = results.config, results.results
        if results is None or len(results) == 0:
            raise ValueError("this CurveFit has no results table (a loaded fit?): pass the "
                             "table and the fit's settings instead")
    base = CurveFit(results, config, **options).config
    train, held = split_future(results, fraction, metric=base.metric)
    own = pd.Series(own_sizes(train), index=train.index)
    thin = sorted(t for t in held["task"].unique() if own[train["task"] == t].nunique() < 2)
    if len(thin) == held["task"].nunique():
        raise ValueError(f"every task has fewer than two sizes <= {fraction} of its largest: "
                         f"no curve can be refitted to extrapolate (use a larger fraction)")
    if thin:
        warnings.warn(f"tasks {thin} have fewer than two sizes <= {fraction} of their largest: "
                      f"their runs at the largest size are left out of the check",
                      UserWarning, stacklevel=2)
        held = held[~held["task"].isin(thin)]
    fit = CurveFit(train, base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the refit's diagnostics are reported in the summary
        fit.fit()
        diag = fit.diagnostics()
    request = held[["task", *size_columns(held),
                    *[c for c in ("n_test", "n_test_pos") if c in held.columns]]]
    pred, draws = predict_with_draws(fit, request, hdi_prob=hdi_prob)
    fitted_max = own.groupby(train["task"]).max()
    out = pd.DataFrame({
        "task": held["task"].to_numpy(),
        "seed": held["seed"].to_numpy() if "seed" in held.columns else 0,
        "size": own_sizes(held), "fitted_max": fitted_max.reindex(held["task"]).to_numpy(),
        "observed": held["value"].to_numpy(), "mean": pred["test_mean"].to_numpy(),
        "low": pred["pred_low"].to_numpy(), "high": pred["pred_high"].to_numpy()})
    out["inside"] = (out["observed"] >= out["low"]) & (out["observed"] <= out["high"])
    out["interval"], out["fraction"] = hdi_prob, fraction
    out["family"], out["transfer"], out["method"] = base.family, base.transfer, base.method
    out["max_rhat"], out["min_ess_bulk"] = diag.max_rhat, diag.min_ess_bulk
    out["divergences"] = diag.n_divergent
    out["modes"] = len(diag.modes) or 1
    check = (inside_count_check(out["observed"], out["low"], out["high"], draws)
             if draws.shape[0] >= MIN_COUNT_DRAWS else {})  # too few: read as a binomial
    for key in INSIDE_COLUMNS:
        out[key] = check.get(key, np.nan)
    out.attrs["summary"] = {**summarise_future(out), "n_train": len(train), "left_out": thin}
    return out
