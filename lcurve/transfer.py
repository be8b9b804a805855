"""The one home of transfer tables: empirical pair gains from a results table, or a posterior.

Every transfer table in lcurve, empirical (:func:`transfer_table`) or fitted
(:meth:`lcurve.CurveFit.transfer_matrix`, accepted here by :func:`transfer_from_posterior`), is
a tidy DataFrame with one row per ordered (source, target) pair and the columns
:data:`TRANSFER_COLUMNS`:

``mean``
    the transfer estimate (empirical: mean gain in the test metric; fitted: posterior mean);
``sd``
    its spread: across seeds (empirical, ``ddof=1``) or the posterior sd (fitted);
``se``
    the standard error of the empirical mean, ``sd / sqrt(n)`` (NaN for a posterior);
``hdi_low``, ``hdi_high``
    a 90% interval for the transfer: Student-t interval of the mean over seeds (empirical) or
    the highest-density interval (fitted);
``n``
    the number of replicates (seeds) behind an empirical estimate (NaN for a posterior);
``p_positive``
    the posterior probability of positive transfer (NaN for an empirical table).

Pivoting a table into a ``source x target`` matrix is a presentation step
(:func:`transfer_matrix`).

Transfer from a source task ``s`` to a target task ``t`` is the *gain* in ``t``'s test score
when ``t`` is trained together with ``s`` instead of alone, at the same number of ``t``'s own
training samples. It is asymmetric by design: ``s`` may help ``t`` while ``t`` does not help
``s``.

From a results table (:func:`lcurve.run_sweep`), every run with exactly two tasks of non-zero
size that was evaluated on one of them (the target) is matched with the single-task run of the
same seed and target size. The gains are averaged over target (and source) sizes *within* a
seed, so that seeds are the replicates: ``mean``, ``sd``, ``se`` and ``n`` are taken across seeds.

Example
-------
>>> import pandas as pd
>>> rows = [  # seed, kind, target, task, value, n_a, n_b
...     (0, "single", "a", "a", 0.60, 32, 0), (0, "pairs", "a", "a", 0.70, 32, 64),
...     (1, "single", "a", "a", 0.62, 32, 0), (1, "pairs", "a", "a", 0.66, 32, 64)]
>>> results = pd.DataFrame(rows, columns=["seed", "kind", "target", "task", "value",
...                                       "n_a", "n_b"]).assign(metric="auroc", run_id=range(4))
>>> table = transfer_table(results)
>>> table[["source", "target", "mean", "n"]].round(2).values.tolist()
[['b', 'a', 0.07, 2]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from lcurve.design import own_sizes, size_columns, task_of_column

__all__ = [
    "TRANSFER_COLUMNS", "TransferError", "pair_gains", "seed_statistics", "transfer_from_posterior",
    "transfer_matrix", "transfer_table",
]

#: Columns of a tidy transfer table, one row per ordered (source, target) pair.
TRANSFER_COLUMNS = ("source", "target", "mean", "sd", "se", "hdi_low", "hdi_high", "n",
                    "p_positive")


class TransferError(ValueError):
    """A results or posterior table cannot give a transfer matrix (missing columns, no pairs)."""


def _require(table: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise TransferError(f"{what} lacks column(s) {missing}; it has {list(table.columns)}")


def pair_gains(results: pd.DataFrame, *, metric: str = "auroc") -> pd.DataFrame:
    """Seed-level gains of every pair run over its matching single-task run.

    Returns
    -------
    pandas.DataFrame
        ``seed, source, target, n_target, n_source, pair, single, gain`` (one row per pair run
        and evaluated target; runs without a matching single run are left out).
    """
    _require(results, ("seed", "kind", "task", "metric", "value"), "results table")
    if not isinstance(results, pd.DataFrame) or results.empty:
        raise TransferError("results table is empty")
    metrics = sorted(results["metric"].unique())
    if metric not in metrics:
        raise TransferError(f"metric {metric!r} is not in the results; available: {metrics}")
    cols = size_columns(results)
    if len(cols) < 2:
        raise TransferError(f"a transfer matrix needs >= 2 task size columns, found {cols}")
    tasks = np.array([task_of_column(c) for c in cols], dtype=object)
    res = results[(results["metric"] == metric) & results["value"].notna()]
    if "diverged" in res.columns:
        res = res[~res["diverged"].astype(bool)]
    sizes = res[cols].to_numpy()
    n_nonzero = (sizes > 0).sum(axis=1)
    try:
        own_size = own_sizes(res).astype(sizes.dtype)
    except ValueError as error:
        raise TransferError(str(error)) from None
    own = res["task"].map({t: i for i, t in enumerate(tasks)}).to_numpy(int)

    single = res[(n_nonzero == 1) & (own_size > 0)]
    base = pd.DataFrame({"seed": single["seed"].to_numpy(), "target": single["task"].to_numpy(),
                         "n_target": own_size[(n_nonzero == 1) & (own_size > 0)],
                         "single": single["value"].to_numpy()})
    base = base.groupby(["seed", "target", "n_target"], as_index=False)["single"].mean()

    is_pair = (n_nonzero == 2) & (own_size > 0)
    pair_sizes = sizes[is_pair].copy()
    pair_own = own[is_pair]
    pair_sizes[np.arange(len(pair_own)), pair_own] = 0
    source_pos = pair_sizes.argmax(axis=1)
    pairs = pd.DataFrame({
        "seed": res["seed"].to_numpy()[is_pair], "source": tasks[source_pos],
        "target": res["task"].to_numpy()[is_pair], "n_target": own_size[is_pair],
        "n_source": pair_sizes[np.arange(len(source_pos)), source_pos],
        "pair": res["value"].to_numpy()[is_pair],
    })
    if pairs.empty:
        raise TransferError("the results hold no pair runs (two tasks with non-zero size)")
    gains = pairs.merge(base, on=["seed", "target", "n_target"], how="inner")
    if gains.empty:
        raise TransferError("no pair run has a single-task run of the same seed and target size")
    gains["gain"] = gains["pair"] - gains["single"]
    return gains.sort_values(["target", "source", "seed", "n_target", "n_source"],
                             ignore_index=True)


def transfer_table(
    results: pd.DataFrame, *, metric: str = "auroc", n_target=None, n_source=None,
    interval_prob: float = 0.9,
) -> pd.DataFrame:
    """Tidy empirical transfer table (:data:`TRANSFER_COLUMNS`) from a sweep's results.

    Parameters
    ----------
    results
        A results table with pair runs and single-task runs (``kind="pairs"`` designs have both).
    metric
        Which score the gain is measured in (``"auroc"`` or ``"auprc"``).
    n_target, n_source
        Keep only these target / source sizes (an int or a list); default all. Gains are
        averaged over the kept sizes within each seed before the seed statistics.
    interval_prob
        Coverage of the Student-t interval of the mean (``hdi_low``, ``hdi_high``).

    Returns
    -------
    pandas.DataFrame
        One row per ordered pair: ``mean``, ``sd`` (across seeds, ``ddof=1``; NaN with one
        seed), ``se``, ``hdi_low``, ``hdi_high``, ``n`` (seeds), ``p_positive`` (NaN: not a
        posterior), sorted by ``mean`` (largest gain first).
    """
    if not 0 < interval_prob < 1:
        raise TransferError(f"interval_prob must be in (0, 1), got {interval_prob!r}")
    gains = pair_gains(results, metric=metric)
    for name, keep in (("n_target", n_target), ("n_source", n_source)):
        if keep is not None:
            keep = np.atleast_1d(keep).astype(int)
            available = sorted(gains[name].unique().tolist())
            if not set(keep.tolist()) & set(available):
                raise TransferError(f"{name}={keep.tolist()} matches no run; available: {available}")
            gains = gains[gains[name].isin(keep)]
    return seed_statistics(gains, interval_prob=interval_prob)


def seed_statistics(gains: pd.DataFrame, *, interval_prob: float = 0.9) -> pd.DataFrame:
    """The empirical transfer table from gains: seeds are the replicates.

    Parameters
    ----------
    gains
        One row per measured gain: ``source, target, seed, gain`` (several rows of a seed, e.g.
        over sizes or stages, are averaged within the seed first).
    interval_prob
        Coverage of the Student-t interval of the mean over seeds (``hdi_low``, ``hdi_high``).

    Returns
    -------
    pandas.DataFrame
        :data:`TRANSFER_COLUMNS`, one row per ordered pair, largest ``mean`` first.
    """
    per_seed = gains.groupby(["source", "target", "seed"], as_index=False)["gain"].mean()
    table = per_seed.groupby(["source", "target"], as_index=False)["gain"].agg(
        mean="mean", sd="std", n="size")
    table["se"] = table["sd"] / np.sqrt(table["n"])
    with np.errstate(invalid="ignore"):
        half = student_t.ppf(0.5 + interval_prob / 2, table["n"] - 1) * table["se"]
    table["hdi_low"], table["hdi_high"] = table["mean"] - half, table["mean"] + half
    table["p_positive"] = np.nan
    table = table[list(TRANSFER_COLUMNS)]
    return table.sort_values("mean", ascending=False, ignore_index=True)


def transfer_from_posterior(posterior: pd.DataFrame) -> pd.DataFrame:
    """Accept a posterior transfer table (e.g. fitted ``tau_ij``) as a transfer table.

    Parameters
    ----------
    posterior
        DataFrame with at least ``source, target, mean``; ``sd`` (posterior sd) and other
        columns (intervals, ``r_hat``...) are kept. Missing :data:`TRANSFER_COLUMNS` are set
        to NaN.

    Example
    -------
    >>> post = pd.DataFrame({"source": ["a", "b"], "target": ["b", "a"], "mean": [0.1, -0.2]})
    >>> transfer_from_posterior(post)["n"].isna().all()
    np.True_
    """
    if not isinstance(posterior, pd.DataFrame):
        raise TransferError(f"expected a DataFrame, got {type(posterior).__name__}")
    _require(posterior, ("source", "target", "mean"), "posterior transfer table")
    table = posterior.copy()
    if table.duplicated(["source", "target"]).any():
        dup = table[table.duplicated(["source", "target"])][["source", "target"]].values[:3]
        raise TransferError(f"duplicate (source, target) pairs in the posterior table: {dup}")
    if (table["source"] == table["target"]).any():
        raise TransferError("the posterior table has source == target rows; transfer is "
                            "defined between different tasks")
    for col in TRANSFER_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
    return table.sort_values("mean", ascending=False, ignore_index=True)


def transfer_matrix(table: pd.DataFrame, *, value: str = "mean", tasks=None) -> pd.DataFrame:
    """Pivot a transfer table into a ``source x target`` matrix (NaN on the diagonal/missing).

    Parameters
    ----------
    table
        Output of :func:`transfer_table` or :func:`transfer_from_posterior`.
    value
        Column to pivot (``"mean"``, ``"sd"``, ...).
    tasks
        Row/column order; default the sorted union of sources and targets.
    """
    _require(table, ("source", "target", value), "transfer table")
    if tasks is None:
        tasks = sorted(set(table["source"]) | set(table["target"]))
    matrix = table.pivot_table(index="source", columns="target", values=value, aggfunc="mean")
    matrix = matrix.reindex(index=list(tasks), columns=list(tasks)).astype(float)
    matrix.index.name, matrix.columns.name = "source", "target"
    return matrix
