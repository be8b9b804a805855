"""Task Affinity Grouping (TAG) on lcurve's trunk-and-heads network, as published.

Fifty et al. (NeurIPS 2021), *Efficiently Identifying Task Groupings for Multi-Task Learning*,
Eq. (1)-(2): during ordinary multi-task training, at step ``t`` and for each source task ``i``,
take a *lookahead* of the shared parameters only, with the heads fixed,

    theta_{s|i}^{t+1} = theta_s^t - eta * grad_{theta_s} L_i(X^t, theta_s^t, theta_i^t)     (1)

and score the effect on every target task ``j`` on the same batch ``X^t``:

    Z^t_{i->j} = 1 - L_j(X^t, theta_{s|i}^{t+1}, theta_j^t) / L_j(X^t, theta_s^t, theta_j^t)  (2)

The inter-task affinity is the average of ``Z^t`` over the measured steps (every ``k`` steps,
the official code's ``batch_num % 10``): ``average = "mean_of_ratios"`` (as published), or
``"ratio_of_means"`` (``1 - sum_t L_j(after) / sum_t L_j(before)``) as an option. Positive values
mean a step for ``i`` helps ``j``. ``eta`` defaults to the training learning rate.

The official PyTorch code (google-research ``tag/taskonomy/tag.patch``, ``Trainer.lookahead``)
adds the weight decay term ``wd * theta`` to the source gradient and divides ``Z`` by the
learning rate; both are the same for every source, so neither changes the ranking at a fixed
rate; the paper's Eq. (1)-(2) are implemented here. ``lookahead = "optimizer"`` is the named
variant that moves the trunk by the *real* optimizer update (AdamW with its running moments and
weight decay, a copy of its state discarded afterwards); with Adam only about ``1 - beta1`` of
that step depends on the source task.

The network is trained by the trainer core (:mod:`lcurve.train`: ``MultiTaskMLP``,
``make_optimizer``, ``sample_batch``, and the step loop ``train_steps`` with the lookahead as
its measurement every ``k`` steps, taken on that step's batch before the step). The ``K``
lookaheads of one measurement are one ``jax.vmap`` over source tasks, and the seeds are a
second ``jax.vmap``, split over devices by ``shard_runs``; the program comes from the core's
compile cache (``compiled``), so a second measurement with the same settings does not
recompile. Labels are sparse (a compound is rarely measured on every target), so a pair
only contributes at a measurement when both tasks have labels in the batch. Every seed is one
replicate: the table gives the mean over seeds with ``sd``, ``se`` and a 90% Student-t interval,
as the transfer tables of :mod:`lcurve.transfer` do.

Example
-------
>>> from lcurve.datasets import make_synthetic
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=300, n_features=16)
>>> scores = tag_affinity(data, TagConfig(hidden=(8,), steps=20, every=5, seeds=(0,)))
>>> list(scores.columns)[:4], len(scores)
(['source', 'target', 'affinity', 'sd'], 6)
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from scipy.stats import t as student_t

from lcurve.config import ConfigError, ConfigSection, TrainConfig, require_positive
from lcurve.data import MultiTaskData
from lcurve.design import training_rows
from lcurve.train import (
    MultiTaskMLP,
    compiled,
    device_arrays,
    make_optimizer,
    masked_bce,
    run_key,
    sample_batch,
    shard_runs,
    train_steps,
)

__all__ = ["TagConfig", "tag_affinity", "lookahead_affinity", "lookahead_losses",
           "per_task_losses", "TAG_RUN_ID", "LOOKAHEADS", "AVERAGES"]

#: Run id folded into each seed's key for the TAG trajectory (``run_key(seed, TAG_RUN_ID)``).
TAG_RUN_ID = 0
#: Lookahead rules: the paper's SGD step on the trunk, or the real optimizer update.
LOOKAHEADS = ("sgd", "optimizer")
#: How ``Z`` is averaged over the measured steps of a trajectory.
AVERAGES = ("mean_of_ratios", "ratio_of_means")

_TRAIN = TrainConfig()  # the network and optimizer defaults are TrainConfig's, defined once


@dataclasses.dataclass(frozen=True, kw_only=True)
class TagConfig(ConfigSection):
    """Settings of one TAG measurement (the ``[tag]`` table of a compare config).

    Parameters
    ----------
    hidden, steps, batch_size, learning_rate, weight_decay
        The network and its AdamW training, with :class:`~lcurve.config.TrainConfig`'s defaults
        (see :meth:`from_train` to take them from a ``TrainConfig``). ``steps`` is rounded down
        to a multiple of ``every``.
    every
        Measure the lookahead affinities every ``every`` steps (TAG's ``k``; 10 in the paper).
    lookahead
        ``"sgd"`` (Eq. 1 of the paper: ``theta_s - eta * grad L_i``) or ``"optimizer"`` (the
        real AdamW update of task ``i``'s gradient, with the running moments; a variant).
    eta
        Step size of the ``"sgd"`` lookahead (``None``: ``learning_rate``). ``Z`` is first order
        in ``eta``: at Adam-sized rates (``1e-3``) affinities are of order ``1e-5`` (float32
        losses resolve ratios to about ``1e-7``); the official code reports ``Z / eta``.
    average
        ``"mean_of_ratios"`` (the paper: mean of ``Z^t`` over measurements) or
        ``"ratio_of_means"`` (``1 - mean L_j(after) / mean L_j(before)``).
    seeds
        Independent trajectories (vmapped); each is one replicate of the interval.
    max_size
        Training labels per task (``None``: all of each task's training labels).
    """

    _section = "tag"
    hidden: tuple[int, ...] = _TRAIN.hidden
    steps: int = _TRAIN.steps
    every: int = 10
    batch_size: int = _TRAIN.batch_size
    learning_rate: float = _TRAIN.learning_rate
    weight_decay: float = _TRAIN.weight_decay
    lookahead: str = "sgd"
    eta: float | None = None
    average: str = "mean_of_ratios"
    seeds: tuple[int, ...] = (0, 1, 2)
    max_size: int | None = None

    def _validate(self) -> None:
        require_positive("tag", steps=self.steps, every=self.every, batch_size=self.batch_size,
                         learning_rate=self.learning_rate, max_size=self.max_size, eta=self.eta)
        if self.every > self.steps:
            raise ConfigError(f"tag.every ({self.every}) must be <= tag.steps ({self.steps})")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"tag.seeds must be distinct and non-empty, got {self.seeds}")
        if not 0 <= self.weight_decay < float("inf"):
            raise ConfigError(f"tag.weight_decay must be finite and >= 0, got {self.weight_decay}")
        if not self.hidden or any(h <= 0 for h in self.hidden):
            raise ConfigError(f"tag.hidden must be positive widths, got {list(self.hidden)}")
        if self.lookahead not in LOOKAHEADS:
            raise ConfigError(f"tag.lookahead must be one of {LOOKAHEADS}, got {self.lookahead!r}")
        if self.average not in AVERAGES:
            raise ConfigError(f"tag.average must be one of {AVERAGES}, got {self.average!r}")

    @classmethod
    def from_train(cls, train: TrainConfig, **tag) -> "TagConfig":
        """TAG on exactly the network and optimizer of ``train`` (``tag``: TAG's own settings).

        Example
        -------
        >>> TagConfig.from_train(TrainConfig(hidden=(16,), steps=50), every=5).hidden
        (16,)
        """
        shared = dict(hidden=train.hidden, steps=train.steps, batch_size=train.batch_size,
                      learning_rate=train.learning_rate, weight_decay=train.weight_decay)
        return cls(**{**shared, **tag})

    @property
    def n_measurements(self) -> int:
        return self.steps // self.every

    @property
    def step_size(self) -> float:
        """The lookahead's ``eta`` (``learning_rate`` unless set)."""
        return self.learning_rate if self.eta is None else self.eta


def per_task_losses(model, params, x, y, mask) -> jnp.ndarray:
    """``(n_tasks,)`` masked BCE of each task on one batch (0 where a task has no label)."""
    logits = model.apply(params, x)
    return jax.vmap(masked_bce, in_axes=(1, 1, 1))(logits, y, mask)


def _trunk_only(updates):
    """Zero the heads' part of an update: the lookahead moves the shared trunk only."""
    inner = dict(updates["params"])
    inner["heads"] = jax.tree.map(jnp.zeros_like, inner["heads"])
    return {**updates, "params": inner}


def lookahead_losses(model, tx, params, opt_state, x, y, mask, *, lookahead: str = "sgd",
                     eta=None):
    """Losses before and after each source task's lookahead, all sources in one vmapped call.

    Returns ``(before, after, valid)``: ``before[j] = L_j(theta)``; ``after[i, j]`` is
    ``L_j`` after moving the shared trunk (heads fixed) by source ``i``'s step: ``-eta * grad
    L_i`` (``lookahead="sgd"``, Eq. 1 of Fifty et al.) or the optimizer's update of ``grad L_i``
    from ``opt_state`` (``"optimizer"``); ``valid[i, j]`` is True when both tasks have labels in
    the batch and ``before[j] > 0``.
    """
    if lookahead not in LOOKAHEADS:
        raise ValueError(f"lookahead must be one of {LOOKAHEADS}, got {lookahead!r}")
    n_tasks = y.shape[1]
    before = per_task_losses(model, params, x, y, mask)
    present = mask.any(axis=0)

    def one_source(i):
        source_mask = mask & (jnp.arange(n_tasks) == i)[None, :]
        grads = jax.grad(lambda p: masked_bce(model.apply(p, x), y, source_mask))(params)
        if lookahead == "sgd":
            updates = jax.tree.map(lambda g: -eta * g, grads)
        else:
            updates, _ = tx.update(grads, opt_state, params)  # the state copy is discarded
        moved = optax.apply_updates(params, _trunk_only(updates))
        return per_task_losses(model, moved, x, y, mask)

    after = jax.vmap(one_source)(jnp.arange(n_tasks))
    valid = present[:, None] & present[None, :] & (before[None, :] > 0)
    return before, after, valid


def lookahead_affinity(model, tx, params, opt_state, x, y, mask, *, lookahead: str = "sgd",
                       eta=None):
    """TAG affinities of one measurement (Eq. 2 of Fifty et al.), indexed ``[source, target]``.

    Returns ``(Z, valid)`` with ``Z[i, j] = 1 - L_j(after lookahead on i) / L_j(before)`` on the
    batch ``(x, y, mask)`` (0 where not ``valid``); see :func:`lookahead_losses`.
    """
    before, after, valid = lookahead_losses(model, tx, params, opt_state, x, y, mask,
                                            lookahead=lookahead, eta=eta)
    z = jnp.where(valid, 1.0 - after / jnp.where(valid, before[None, :], 1.0), 0.0)
    return z, valid


def _trajectory_fn(model, n_features, config: TagConfig):
    """One seed's TAG trajectory -> sums of Z, L(after), L(before) and counts over measurements.

    The trainer core's step loop (:func:`~lcurve.train.train_steps`, pooled BCE, uniform
    batches of the seed's labels) with TAG's lookahead as its measurement every ``every``
    steps, taken on that step's batch before the step. Step ``t``'s batch key is the ``t``-th
    of ``split(step_key, steps)``.
    """
    every, n_blocks, batch = config.every, config.n_measurements, config.batch_size
    lookahead = config.lookahead

    def trajectory(d, hyper, seed, seed_index, rows, n_rows, sizes):
        init_key, step_key = jax.random.split(run_key(seed, TAG_RUN_ID))
        params = model.init(init_key, jnp.zeros((1, n_features), jnp.float32))
        tx = make_optimizer(hyper[0], hyper[1])
        ranks = d["ranks"][seed_index]

        def sample(key):
            return sample_batch(d, ranks, rows, n_rows, sizes, key, batch)

        def measure(params, opt_state, x, y, mask):
            before, after, valid = lookahead_losses(model, tx, params, opt_state, x, y, mask,
                                                    lookahead=lookahead, eta=hyper[2])
            z = jnp.where(valid, 1.0 - after / jnp.where(valid, before[None, :], 1.0), 0.0)
            return z * valid, after * valid, before[None, :] * valid, valid

        _, (_, _, sums) = train_steps(
            model, tx, masked_bce, sample, None, params, tx.init(params),
            jnp.arange(n_blocks * every), batch_keys=jax.random.split(step_key, n_blocks * every),
            measure=measure, measure_every=every)
        return tuple(s.sum(0) for s in sums)

    return trajectory


def _program(n_tasks: int, n_features: int, config: TagConfig, devices: tuple):
    """The jitted, seed-vmapped trajectory, from the trainer core's cache (compiled once)."""
    def make():
        model = MultiTaskMLP(hidden=tuple(config.hidden), n_tasks=n_tasks)
        seeds = jax.vmap(_trajectory_fn(model, n_features, config),
                         in_axes=(None, None, 0, 0, 0, 0, None))
        return shard_runs(seeds, devices, in_axes=(None, None, 0, 0, 0, 0, None))

    return compiled(("tag", n_tasks, n_features, config, devices), make)


def tag_inputs(data: MultiTaskData, config: TagConfig):
    """Host arrays of a TAG measurement: shared data, per-seed rows and per-task sizes."""
    available = data.n_train()
    sizes = np.array([available[t] if config.max_size is None else min(available[t],
                      config.max_size) for t in data.tasks], dtype=np.int32)
    row_lists = [training_rows(data, s, dict(zip(data.tasks, sizes.tolist())))
                 for s in config.seeds]
    width = max(len(r) for r in row_lists)
    rows = np.zeros((len(config.seeds), width), dtype=np.int32)
    for i, r in enumerate(row_lists):
        rows[i, :len(r)] = r
    return {
        "d": device_arrays(data, config.seeds),
        "seed": np.asarray(config.seeds, dtype=np.uint32),
        "seed_index": np.arange(len(config.seeds), dtype=np.int32),
        "rows": rows,
        "n_rows": np.array([len(r) for r in row_lists], dtype=np.int32),
        "sizes": sizes,
    }


def seed_affinities(data: MultiTaskData, config: TagConfig, *,
                    devices=None) -> tuple[np.ndarray, np.ndarray]:
    """``(Z, count)``: per-seed affinity matrices ``(n_seeds, K, K)`` and measurement counts.

    ``Z[s, i, j]`` is NaN when the pair never shared a batch in seed ``s``'s trajectory.
    The seeds are split over ``devices`` (default all local devices) with
    :func:`~lcurve.train.shard_runs`.
    """
    inputs = tag_inputs(data, config)
    shape_config = dataclasses.replace(config, seeds=(0,), max_size=None, learning_rate=1.0,
                                       weight_decay=0.0, eta=None)  # only what fixes the program
    devices = tuple(jax.local_devices() if devices is None else devices)
    fn = _program(data.n_tasks, data.n_features, shape_config, devices)
    hyper = jnp.array([config.learning_rate, config.weight_decay, config.step_size], jnp.float32)
    z_sum, after_sum, before_sum, count = (np.asarray(a, dtype=np.float64) for a in fn(
        inputs["d"], hyper, inputs["seed"], inputs["seed_index"], inputs["rows"],
        inputs["n_rows"], inputs["sizes"]))
    with np.errstate(invalid="ignore", divide="ignore"):
        if config.average == "mean_of_ratios":
            z = np.where(count > 0, z_sum / np.maximum(count, 1), np.nan)
        else:
            z = np.where(count > 0, 1.0 - after_sum / np.where(count > 0, before_sum, 1), np.nan)
    return z, count


def tag_affinity(data: MultiTaskData, config: TagConfig | None = None, *,
                 interval_prob: float = 0.9, devices=None) -> pd.DataFrame:
    """TAG inter-task affinities ``Z(source -> target)``, averaged over training, over seeds.

    Parameters
    ----------
    data
        The multi-task data; every task trains on its training labels (up to ``max_size``).
    config
        :class:`TagConfig` (default ``TagConfig()``).
    interval_prob
        Coverage of the Student-t interval of the mean over seeds.
    devices
        Devices to split the seeds over (default all local devices).

    Returns
    -------
    pandas.DataFrame
        ``source, target, affinity, sd, se, hdi_low, hdi_high, n, n_measurements`` over ordered
        pairs ``source != target``, sorted by affinity (highest first). ``affinity`` is the mean
        over seeds of each trajectory's average ``Z``; ``sd`` its spread across seeds
        (``ddof=1``, NaN with one seed), ``se = sd / sqrt(n)``, ``hdi_low``/``hdi_high`` the
        Student-t interval, ``n`` the seeds with a measurement, ``n_measurements`` the
        measurements summed over seeds. ``affinity`` is NaN when the pair never shared a batch.
        ``.attrs`` holds ``seconds`` (wall time, compilation included), ``train_steps``
        (optimizer steps summed over seeds) and ``lookahead_steps``.

    Example
    -------
    >>> from lcurve.datasets import make_synthetic
    >>> data, _ = make_synthetic(n_tasks=3, n_compounds=300, n_features=16)
    >>> cfg = TagConfig(hidden=(8,), steps=20, every=5, seeds=(0, 1))
    >>> tag_affinity(data, cfg)["affinity"].notna().all()
    np.True_
    """
    config = config or TagConfig()
    if not 0 < interval_prob < 1:
        raise ValueError(f"interval_prob must be in (0, 1), got {interval_prob!r}")
    start = time.perf_counter()
    z, count = seed_affinities(data, config, devices=devices)
    n = np.isfinite(z).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pair never measured: all NaN
        mean = np.nanmean(z, axis=0)
        sd = np.where(n > 1, np.nanstd(z, axis=0, ddof=1), np.nan)
        se = sd / np.sqrt(n)
        half = student_t.ppf(0.5 + interval_prob / 2, n - 1) * se
    tasks, total = data.tasks, count.sum(0)
    rows = [(tasks[i], tasks[j], mean[i, j], sd[i, j], se[i, j], mean[i, j] - half[i, j],
             mean[i, j] + half[i, j], int(n[i, j]), int(total[i, j]))
            for i in range(len(tasks)) for j in range(len(tasks)) if i != j]
    table = pd.DataFrame(rows, columns=["source", "target", "affinity", "sd", "se", "hdi_low",
                                        "hdi_high", "n", "n_measurements"])
    table = table.sort_values("affinity", ascending=False, kind="stable").reset_index(drop=True)
    steps = config.n_measurements * config.every
    table.attrs.update(
        method="tag", lookahead=config.lookahead, seconds=time.perf_counter() - start,
        train_steps=steps * len(config.seeds),
        lookahead_steps=config.n_measurements * data.n_tasks * len(config.seeds),
    )
    return table

