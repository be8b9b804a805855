"""Learning-curve transfer from accumulating-data runs: TAG's economy, learning curves' question.

Design (per seed, ``K + 1`` runs, one jitted program, :mod:`lcurve.train.accumulating`): one run
trains all ``K`` tasks while every task's pool grows on a geometric schedule; run ``j`` trains
all tasks but ``j`` on the same schedule, from the same initialisation and batch keys. Each run
records every task's held-out AUROC at the end of every stage, so each run is a learning curve.
The transfer from source ``j`` to target ``t`` is the *leave-one-out gain*

    T(j -> t) = mean over stages s of [ AUROC_t(all, s) - AUROC_t(all but j, s) ],

averaged within a seed; seeds are the replicates (``mean``, ``sd``, ``se``, Student-t interval,
``n``, the columns of :mod:`lcurve.transfer`). Why this design: pairwise runs (``t`` with ``j``
vs ``t`` alone) need ``K^2`` runs, while removing one source from the full multi-task run needs
``K + 1`` and measures what a grouping decision changes (is ``t`` better off with ``j`` among its
partners?). It is the learning-curve counterpart of TAG's one-run lookahead: one ordinary training
run per seed (plus ``K`` ablations of it), with the curve read off during training.

:func:`accumulating_sweep` returns a results table with the columns of
:func:`lcurve.run_sweep` (one "run" per stage, sizes in ``n_<task>``; plus ``stage``,
``held_out`` and ``mode = "accumulating"``), so :mod:`lcurve.curves` can fit its curves;
:func:`accumulating_transfer` turns it into a transfer table.

Example
-------
>>> from lcurve.config import TrainConfig
>>> from lcurve.datasets import make_synthetic
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=300, n_features=16)
>>> results = accumulating_sweep(data, TrainConfig(hidden=(8,), steps=40), seeds=(0, 1),
...                              min_size=32, points_per_doubling=1)
>>> table = accumulating_transfer(results)
>>> len(table), int(table["n"].max())
(6, 2)
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import size_column
from lcurve.train.accumulating import accumulating_schedule, train_accumulating
from lcurve.transfer import TransferError, seed_statistics

__all__ = ["accumulating_sweep", "accumulating_transfer", "ACCUMULATING_DESIGNS"]

METRICS = ("auroc", "auprc")
#: ``"leave_one_out"``: all tasks, and all but j (``K + 1`` runs per seed); ``"pairs"``: every
#: task alone and every unordered pair (``K + K(K-1)/2`` runs per seed).
ACCUMULATING_DESIGNS = ("leave_one_out", "pairs")


def accumulating_sweep(data: MultiTaskData, config: TrainConfig | None = None, *,
                       seeds=(0, 1, 2), min_size: int = 16, max_size: int | None = None,
                       points_per_doubling: int = 2, steps_per_stage: int | None = None,
                       design: str = "leave_one_out") -> pd.DataFrame:
    """Run the accumulating-data runs of every seed and return a tidy results table.

    Parameters
    ----------
    data
        The multi-task data (at least 2 tasks).
    config
        Network and optimizer; ``config.steps`` is each run's total number of steps.
    seeds, min_size, max_size, points_per_doubling
        Replicates and the geometric schedule (as in :class:`~lcurve.config.DesignConfig`).
    steps_per_stage
        Steps per stage (default ``config.steps // stages``).
    design
        ``"leave_one_out"`` (``K + 1`` runs per seed; :func:`accumulating_transfer`) or
        ``"pairs"`` (each task alone and each unordered pair, ``K + K(K-1)/2`` runs per seed: the
        pairwise gains of :func:`lcurve.transfer.transfer_table`, which reads this table as it
        reads a pairs sweep, stage by stage).

    Returns
    -------
    pandas.DataFrame
        ``run_id, seed, kind, target, task, metric, value, n_test, n_test_pos, loss_final,
        diverged, seconds, n_<task>..., stage, held_out, mode``: one row per (seed, run, stage,
        trained task, metric); ``kind`` is ``"accumulating"`` (leave-one-out) or
        ``"single"``/``"pairs"``, ``held_out`` the task left out (``""`` in the all-tasks run
        and in the pairs design). ``.attrs``: ``seconds`` (wall time, compilation included),
        ``train_steps`` (optimizer steps summed over seeds and runs), ``schedule``.
    """
    config = config or TrainConfig()
    if data.n_tasks < 2:
        raise ValueError(f"accumulating transfer needs >= 2 tasks, got {list(data.tasks)}")
    start = time.perf_counter()
    schedule = accumulating_schedule(data, min_size=min_size, max_size=max_size,
                                     points_per_doubling=points_per_doubling)
    if design not in ACCUMULATING_DESIGNS:
        raise ValueError(f"design must be one of {ACCUMULATING_DESIGNS}, got {design!r}")
    n_tasks = data.n_tasks
    tasks = np.asarray(data.tasks, dtype=object)
    if design == "leave_one_out":
        include = np.ones((n_tasks + 1, n_tasks), dtype=bool)
        include[np.arange(1, n_tasks + 1), np.arange(n_tasks)] = False  # run j + 1: all but j
        kinds = np.full(n_tasks + 1, "accumulating", dtype=object)
        held_out = np.concatenate([[""], tasks]).astype(object)
    else:
        pairs = [(i, j) for i in range(n_tasks) for j in range(i + 1, n_tasks)]
        include = np.zeros((n_tasks + len(pairs), n_tasks), dtype=bool)
        include[np.arange(n_tasks), np.arange(n_tasks)] = True
        for r, (i, j) in enumerate(pairs, start=n_tasks):
            include[r, [i, j]] = True
        kinds = np.array(["single"] * n_tasks + ["pairs"] * len(pairs), dtype=object)
        held_out = np.full(len(include), "", dtype=object)
    out = train_accumulating(data, schedule, include, config, seeds=seeds,
                             steps_per_stage=steps_per_stage)
    seconds = time.perf_counter() - start
    table = _result_rows(data, out, kinds, held_out, seeds, seconds)
    table.attrs.update(design=design, seconds=seconds, train_steps=out.train_steps,
                       schedule=schedule.tolist(), steps_per_stage=out.steps_per_stage)
    return table


def _result_rows(data: MultiTaskData, out, kinds, held_out, seeds, seconds: float):
    """Tidy rows; ``kinds`` and ``held_out`` are per-run arrays (object)."""
    n_seeds, n_runs, n_stages, n_tasks = out.auroc.shape
    s, r, g, k = np.meshgrid(np.arange(n_seeds), np.arange(n_runs), np.arange(n_stages),
                             np.arange(n_tasks), indexing="ij")
    s, r, g, k = s.ravel(), r.ravel(), g.ravel(), k.ravel()
    sizes = out.sizes[r, g]  # (rows, tasks)
    trained = sizes[np.arange(len(k)), k] > 0
    s, r, g, k, sizes = s[trained], r[trained], g[trained], k[trained], sizes[trained]
    tasks = np.asarray(data.tasks, dtype=object)
    n_test = data.test_mask.sum(axis=0)
    n_test_pos = (np.nan_to_num(data.Y) * data.test_mask).sum(axis=0).astype(int)
    finite = out.finite[s, r, g]
    base = {
        "run_id": (s * n_runs + r) * n_stages + g,
        "seed": np.asarray(seeds, dtype=np.int64)[s],
        "kind": kinds[r],
        "target": "",
        "task": tasks[k],
    }
    blocks = []
    for metric in METRICS:
        values = getattr(out, metric)[s, r, g, k].astype(float)
        block = pd.DataFrame({
            **base, "metric": metric, "value": np.where(finite, values, np.nan),
            "n_test": n_test[k], "n_test_pos": n_test_pos[k],
            "loss_final": out.final_loss[s, r, g].astype(float), "diverged": ~finite,
            "seconds": seconds / (n_seeds * n_runs * n_stages),
        })
        for t, task in enumerate(data.tasks):
            block[size_column(task)] = sizes[:, t].astype(np.int64)
        block["stage"] = g
        block["held_out"] = held_out[r]
        block["mode"] = "accumulating"
        blocks.append(block)
    table = pd.concat(blocks, ignore_index=True)
    return table.sort_values(["run_id", "task", "metric"], kind="stable", ignore_index=True)


def accumulating_transfer(results: pd.DataFrame, *, metric: str = "auroc",
                          stages=None, interval_prob: float = 0.9) -> pd.DataFrame:
    """Leave-one-out transfer table (:data:`lcurve.transfer.TRANSFER_COLUMNS`).

    Parameters
    ----------
    results
        :func:`accumulating_sweep`'s table.
    metric
        ``"auroc"`` or ``"auprc"``.
    stages
        Stage indices to average over (default all).
    interval_prob
        Coverage of the Student-t interval of the mean over seeds.

    Returns
    -------
    pandas.DataFrame
        One row per ordered pair ``source -> target``: the mean over seeds of the stage-averaged
        gain of ``target`` from having ``source`` among its partners; ``sd`` across seeds,
        ``se``, ``hdi_low``/``hdi_high``, ``n`` (seeds), ``p_positive`` NaN. Largest first.
    """
    missing = {"seed", "task", "metric", "value", "stage", "held_out"} - set(results.columns)
    if missing:
        raise TransferError(f"not an accumulating results table: lacks {sorted(missing)}")
    if not 0 < interval_prob < 1:
        raise TransferError(f"interval_prob must be in (0, 1), got {interval_prob!r}")
    res = results[(results["metric"] == metric)]
    if res.empty:
        raise TransferError(f"metric {metric!r} is not in the results; available: "
                            f"{sorted(results['metric'].unique())}")
    if stages is not None:
        res = res[res["stage"].isin(np.atleast_1d(stages))]
    keys = ["seed", "stage", "task"]
    full = res[res["held_out"] == ""][[*keys, "value"]].rename(columns={"value": "all"})
    ablated = res[res["held_out"] != ""][[*keys, "held_out", "value"]]
    gains = ablated.merge(full, on=keys).rename(columns={"held_out": "source", "task": "target"})
    gains["gain"] = gains["all"] - gains["value"]
    return seed_statistics(gains.dropna(subset=["gain"]), interval_prob=interval_prob)
