"""Accumulating-data training: a whole learning curve from one multi-task training run.

A learning curve normally costs one run per sample size. Here one run trains while its data
*accumulate*: every task's training pool grows on a geometric schedule ``n_1 < n_2 < ...``
(stage ``s`` uses the first ``n_s`` labels of each task's nested order, see
:mod:`lcurve.design`, so every stage's pool contains the previous one), the network keeps its
parameters and optimizer state from stage to stage, and every task's held-out AUROC/AUPRC is
recorded at the end of every stage. This is the learning-curve analogue of TAG (Fifty et al.
2021), which also reads its signal off one ordinary training run.

Several runs that differ only in *which* tasks they train (``include``) are one vmapped, jitted
program. All runs of a seed share the initial parameters and the batch keys (common random
numbers; with ``batches="uniform"`` also the compounds of every batch: batches are drawn from the
pool of the whole schedule, and a task a run does not train only has its labels masked), so
differences between the runs of a seed are due to the labels they include, not to a new
initialisation or other batches.

Training is the trainer core's staged run (:func:`~lcurve.train.train_stages`: its step loop
:func:`~lcurve.train.train_steps` with :func:`~lcurve.train.batch_sampler` and the objective of
``config``, step ``t`` keyed by
``fold_in(step_key, t)`` as in a sweep), so a one-stage run is the sweep's fixed-step run with
the same settings. Early stopping does not apply: the stages fix the steps.

Example
-------
>>> import numpy as np
>>> from lcurve.config import TrainConfig
>>> from lcurve.datasets import make_synthetic
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=300, n_features=16)
>>> schedule = accumulating_schedule(data, min_size=16)
>>> out = train_accumulating(data, schedule, np.ones((1, 3), bool),
...                          TrainConfig(hidden=(8,), steps=40), seeds=(0,))
>>> out.auroc.shape == (1, 1, len(schedule), 3)
True
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import size_grid, task_permutation
from lcurve.train import (
    MultiTaskMLP,
    compiled,
    device_arrays,
    make_optimizer,
    objective_loss,
    run_key,
    shard_runs,
    train_stages,
)

__all__ = ["AccumulatingResult", "accumulating_schedule", "stage_rows", "train_accumulating"]

#: Run id folded into each seed's key; every run of a seed uses it (common random numbers).
ACCUMULATING_RUN_ID = 0


@dataclasses.dataclass(frozen=True)
class AccumulatingResult:
    """Per-seed, per-run, per-stage outputs (numpy).

    Attributes
    ----------
    auroc, auprc
        ``(seeds, runs, stages, tasks)`` test scores at the end of each stage (a task a run does
        not train is evaluated too; its head is untrained and the value meaningless).
    final_loss
        ``(seeds, runs, stages)`` mean training loss over the stage's last steps.
    finite
        ``(seeds, runs, stages)`` False once any training loss was NaN/inf.
    sizes
        ``(runs, stages, tasks)`` training labels per task at each stage (0: not trained).
    steps_per_stage
        Optimizer steps at each stage.
    """

    auroc: np.ndarray
    auprc: np.ndarray
    final_loss: np.ndarray
    finite: np.ndarray
    sizes: np.ndarray
    steps_per_stage: int

    @property
    def train_steps(self) -> int:
        """Optimizer steps summed over seeds, runs and stages."""
        seeds, runs, stages = self.final_loss.shape
        return int(seeds * runs * stages * self.steps_per_stage)


def accumulating_schedule(data: MultiTaskData, *, min_size: int = 16, max_size: int | None = None,
                          points_per_doubling: int = 2) -> np.ndarray:
    """``(stages, n_tasks)`` pool sizes: the geometric grid, capped at each task's labels.

    The grid is :func:`lcurve.design.size_grid` up to the largest task's training labels (or
    ``max_size``); a task with fewer labels keeps all of them from the stage it reaches them.

    Example
    -------
    >>> from lcurve.datasets import make_synthetic
    >>> data, _ = make_synthetic(n_tasks=2, n_compounds=300)
    >>> s = accumulating_schedule(data, min_size=32, points_per_doubling=1)
    >>> bool((np.diff(s, axis=0) >= 0).all())
    True
    """
    available = np.array([data.n_train()[t] for t in data.tasks])
    cap = int(available.max()) if max_size is None else min(int(available.max()), max_size)
    grid = size_grid(cap, min_size=min_size, points_per_doubling=points_per_doubling)
    limit = available if max_size is None else np.minimum(available, max_size)
    return np.minimum(grid[:, None], limit[None, :]).astype(np.int32)


def stage_rows(data: MultiTaskData, seed: int, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A run's compounds ordered so that every stage's pool is a prefix.

    Parameters
    ----------
    sizes
        ``(stages, n_tasks)`` non-decreasing pool sizes (0: the task is not trained).

    Returns
    -------
    rows, n_rows
        Compound indices (those of stage ``s`` are ``rows[:n_rows[s]]``) and ``(stages,)``.
    """
    n_stages = len(sizes)
    entry = np.full(data.n_compounds, n_stages, dtype=np.int64)  # stage a compound enters
    for k, task in enumerate(data.tasks):
        if sizes[-1, k] == 0:
            continue
        perm = task_permutation(data, task, seed)
        first = np.searchsorted(sizes[:, k], np.arange(len(perm)), side="right")
        np.minimum.at(entry, perm, first)
    order = np.argsort(entry, kind="stable")
    n_rows = np.array([(entry <= s).sum() for s in range(n_stages)], dtype=np.int32)
    return order[:n_rows[-1]].astype(np.int32), n_rows


def _program(config: TrainConfig, n_tasks: int, n_features: int, n_stages: int,
             steps_per_stage: int, devices: tuple):
    def make():
        model = MultiTaskMLP(hidden=tuple(config.hidden), n_tasks=n_tasks)
        loss = objective_loss(config.objective)

        def one_run(d, hyper, seed, seed_index, rows, n_rows, sizes):
            init_key, step_key = jax.random.split(run_key(seed, ACCUMULATING_RUN_ID))
            params = model.init(init_key, jnp.zeros((1, n_features), jnp.float32))
            tx = make_optimizer(hyper[0], hyper[1])
            steps = jnp.arange(n_stages * steps_per_stage).reshape(n_stages, steps_per_stage)
            return train_stages(model, config, tx, loss, d, seed_index, rows, params,
                                stage_key=lambda s: step_key, stage_steps=steps, n_rows=n_rows,
                                sizes=sizes)

        runs = jax.vmap(one_run, in_axes=(None, None, None, None, None, None, 0))  # of a seed
        in_axes = (None, None, 0, 0, 0, 0, None)
        return shard_runs(jax.vmap(runs, in_axes=in_axes), devices, in_axes)  # seeds

    return compiled(("accumulating", config, n_tasks, n_features, n_stages, steps_per_stage,
                     devices), make)


def train_accumulating(data: MultiTaskData, schedule: np.ndarray, include: np.ndarray,
                       config: TrainConfig | None = None, *, seeds=(0, 1, 2),
                       steps_per_stage: int | None = None, devices=None) -> AccumulatingResult:
    """Train accumulating-data runs for every seed in one jitted program.

    Parameters
    ----------
    data
        The multi-task data.
    schedule
        ``(stages, n_tasks)`` non-decreasing pool sizes (:func:`accumulating_schedule`).
    include
        ``(runs, n_tasks)`` booleans: which tasks each run trains (run ``r`` trains task ``k``
        at ``schedule[:, k]`` labels when ``include[r, k]``, else not at all).
    config
        Network, optimizer, objective and batches; ``config.steps`` is the run's *total*
        number of steps (its stopping settings do not apply).
    seeds
        Replicate seeds (each its own nested orders, initialisation and batches; the runs of a
        seed share them).
    steps_per_stage
        Steps at each stage (default ``config.steps // stages``).
    devices
        Devices to split the seeds over (:func:`~lcurve.train.shard_runs`; default all local
        devices).
    """
    config = config or TrainConfig()
    schedule = np.asarray(schedule, dtype=np.int32)
    include = np.asarray(include, dtype=bool)
    if schedule.ndim != 2 or schedule.shape[1] != data.n_tasks:
        raise ValueError(f"schedule must be (stages, {data.n_tasks}), got {schedule.shape}")
    if (np.diff(schedule, axis=0) < 0).any():
        raise ValueError("schedule sizes must be non-decreasing along the stages")
    available = np.array([data.n_train()[t] for t in data.tasks])
    if (schedule > available).any():
        raise ValueError(f"schedule asks for more labels than the tasks have ({available})")
    if include.ndim != 2 or include.shape[1] != data.n_tasks or not include.any(axis=1).all():
        raise ValueError(f"include must be (runs, {data.n_tasks}) with a task in every run, "
                         f"got shape {include.shape}")
    seeds = tuple(int(s) for s in seeds)
    n_stages = len(schedule)
    steps_per_stage = steps_per_stage or max(1, config.steps // n_stages)
    sizes = schedule[None, :, :] * include[:, None, :]  # (runs, stages, tasks)
    used = include.any(axis=0)  # batches come from the pool of every task some run trains
    per_seed = [stage_rows(data, s, schedule * used[None, :]) for s in seeds]
    width = max(len(rows) for rows, _ in per_seed)
    rows = np.zeros((len(seeds), width), dtype=np.int32)
    n_rows = np.zeros((len(seeds), n_stages), dtype=np.int32)
    for s, (seed_rows, seed_n) in enumerate(per_seed):
        rows[s, :len(seed_rows)] = seed_rows
        n_rows[s] = seed_n
    fn = _program(config, data.n_tasks, data.n_features, n_stages, int(steps_per_stage),
                  tuple(jax.local_devices() if devices is None else devices))
    hyper = jnp.array([config.learning_rate, config.weight_decay], jnp.float32)
    auroc, auprc, loss, finite = fn(device_arrays(data, seeds), hyper,
                                    np.asarray(seeds, np.uint32),
                                    np.arange(len(seeds), dtype=np.int32), rows, n_rows, sizes)
    return AccumulatingResult(auroc=np.asarray(auroc), auprc=np.asarray(auprc),
                              final_loss=np.asarray(loss), finite=np.asarray(finite),
                              sizes=sizes, steps_per_stage=int(steps_per_stage))
