"""Turn the objects the plots accept (a fitted curve model or a tidy table) into tables.

Every ``plot_*`` function accepts either a fitted :class:`~lcurve.curves.CurveFit` or the
DataFrame that the fit (or the sweep) would give; the conversions live here so the plotting
modules only draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lcurve.design import size_columns, task_of_column

__all__ = ["is_fit", "observed_scores", "transfer_table_of", "curve_draws"]

def is_fit(obj) -> bool:
    """True for a fitted curve model (anything with an ``idata`` and ``transfer_matrix``)."""
    return getattr(obj, "idata", None) is not None and hasattr(obj, "transfer_matrix")


def observed_scores(source, *, metric: str = "auroc") -> pd.DataFrame:
    """Tidy observed scores ``task, n_own, n_other, partner, n_partner, seed, value``.

    ``n_own`` is the evaluated task's training size, ``n_other`` the summed size of the other
    tasks trained in the same run (0 for single-task runs). ``partner`` names the one other task
    of a pair run (``""`` alone, ``"several tasks"`` for runs with more), ``n_partner`` its size
    (the summed size for several).
    """
    if is_fit(source):
        const = source.idata.constant_data
        tasks = list(source.tasks)
        task_idx = const["task_index"].values.astype(int)
        sizes = const["sizes"].values
        value = source.idata.observed_data["score"].values
        seed = const["seed"].values if "seed" in const else np.zeros(len(value))
        task_names = np.asarray(tasks, dtype=object)[task_idx]
    elif isinstance(source, pd.DataFrame):
        missing = [c for c in ("task", "value") if c not in source.columns]
        columns = size_columns(source)
        if missing or not columns:
            raise ValueError(f"a results table needs task, value and n_<task> columns; "
                             f"missing {missing or ['n_<task>']}; has {list(source.columns)}")
        table = source
        if "metric" in table.columns:
            available = sorted(table["metric"].dropna().unique())
            table = table[table["metric"] == metric]
            if table.empty:
                raise ValueError(f"no rows with metric {metric!r}; metrics present: {available}")
        if "diverged" in table.columns:
            table = table[~table["diverged"].fillna(False).astype(bool)]
        table = table[table["value"].notna()]
        tasks = [task_of_column(c) for c in columns]
        sizes = table[columns].to_numpy(float)
        task_idx = np.array([tasks.index(t) for t in table["task"]], dtype=int)
        value = table["value"].to_numpy(float)
        seed = table["seed"].to_numpy() if "seed" in table.columns else np.zeros(len(value))
        task_names = table["task"].to_numpy(object)
    else:
        raise TypeError(f"expected a fitted CurveFit or a results DataFrame, got "
                        f"{type(source).__name__}")
    own = sizes[np.arange(len(task_idx)), task_idx]
    others = sizes.copy()
    others[np.arange(len(task_idx)), task_idx] = 0
    n_partners = (others > 0).sum(1)
    partner = np.where(n_partners == 1, np.asarray(tasks, dtype=object)[others.argmax(1)],
                       np.where(n_partners == 0, "", "several tasks"))
    n_partner = np.where(n_partners == 1, others.max(1), others.sum(1))
    return pd.DataFrame({"task": task_names, "n_own": own, "n_other": others.sum(1),
                         "partner": partner, "n_partner": n_partner, "seed": seed,
                         "value": value})


def transfer_table_of(source) -> pd.DataFrame:
    """``source, target, mean`` (+ ``hdi_low, hdi_high, p_positive`` when known) of a fit/table.

    ``source`` is a fit, a tidy transfer table, or a square ``source x target`` matrix (index:
    sources, columns: targets, as :func:`lcurve.transfer.transfer_matrix` pivots), which is
    melted back into a tidy table without its missing cells.
    """
    table = source.transfer_matrix() if is_fit(source) else source
    if isinstance(table, pd.DataFrame) and "source" not in table.columns \
            and "mean" not in table.columns:
        table = (table.rename_axis(index="source", columns="target").stack()
                 .rename("mean").reset_index().dropna(subset=["mean"]))
        table["source"], table["target"] = table["source"].astype(str), \
            table["target"].astype(str)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a fitted CurveFit or a transfer DataFrame, got "
                        f"{type(source).__name__}")
    missing = [c for c in ("source", "target", "mean") if c not in table.columns]
    if missing:
        raise ValueError(f"transfer table lacks column(s) {missing}; it has {list(table.columns)}")
    return table


def curve_draws(fit, task: str, n_own: np.ndarray, *, n_other: float = 0.0,
                context: dict | None = None, max_draws: int = 400) -> np.ndarray:
    """Expected-score draws ``(draws, len(n_own))`` of ``task``'s curve.

    The other tasks are trained with ``n_other`` samples *each* (0: the task alone), which is
    the same background :meth:`~lcurve.curves.CurveFit.required_samples` uses; or, when
    ``context`` ``{task: n}`` is given, only those tasks with those sizes (one partner).
    """
    import jax.numpy as jnp

    from lcurve.curves.model import expected_score_draws

    tasks = list(fit.tasks)
    k = tasks.index(task)
    post = fit.idata.posterior
    names = [*fit.family.param_names, "transfer", "transfer_context", "context_shift"]
    params = {}
    for name in names:
        if name in post:
            values = post[name].values
            values = values.reshape((-1,) + values.shape[2:])
            step = max(1, len(values) // max_draws)
            params[name] = jnp.asarray(values[::step])
    n_draws = next(iter(params.values())).shape[0]
    sizes = np.zeros((len(n_own), len(tasks)))
    sizes[:, k] = n_own
    others = [j for j in range(len(tasks)) if j != k]
    if context is not None:
        for name, n in context.items():
            sizes[:, tasks.index(name)] = float(n)
    elif n_other > 0:
        sizes[:, others] = n_other
    meta = fit._require()
    index = jnp.full(len(n_own), k, dtype=jnp.int32)
    out = expected_score_draws(params, index, jnp.asarray(sizes), meta["n_ref"],
                               family=fit.family, structure=fit.config.transfer)
    assert out.shape == (n_draws, len(n_own))
    return np.asarray(out)
