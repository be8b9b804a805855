"""Task Affinity Grouping (TAG) on lcurve's trunk-and-heads network.

Fifty et al. (NeurIPS 2021), *Efficiently Identifying Task Groupings for Multi-Task Learning*:
during ordinary multi-task training, every ``every`` steps and for each source task ``i``, take
a *lookahead* step of the shared trunk only, using the real optimizer update (a copy of the
optimizer state) for task ``i``'s loss on the current batch, with the heads fixed. The affinity
of ``i`` onto each target task ``j`` is the relative drop of ``j``'s loss on the same batch::

    Z(i -> j) = 1 - L_j(after lookahead on i) / L_j(before)

averaged over training. Positive values mean a step for ``i`` helps ``j``.

Here the ``K`` lookaheads of one measurement are one ``jax.vmap`` over source tasks, and the
seeds are a second ``jax.vmap``; the whole trajectory is one jitted ``lax.scan``. Labels are
sparse (a compound is rarely measured on every target), so a pair only contributes at a
measurement when both tasks have labels in the batch; ``Z`` is averaged over those measurements.

Example
-------
>>> from lcurve.datasets import make_synthetic
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=300, n_features=16)
>>> scores = tag_affinity(data, TagConfig(hidden=(8,), steps=20, every=5, seeds=(0,)))
>>> list(scores.columns), len(scores)
(['source', 'target', 'affinity', 'n_measurements'], 6)
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from lcurve.config import ConfigError, ConfigSection, require_positive
from lcurve.data import MultiTaskData
from lcurve.design import training_rows
from lcurve.train import (
    MultiTaskMLP,
    device_arrays,
    make_optimizer,
    masked_bce,
    run_key,
    sample_batch,
    sgd_step,
)

__all__ = ["TagConfig", "tag_affinity", "lookahead_affinity", "per_task_losses", "TAG_RUN_ID"]

#: Run id folded into each seed's key for the TAG trajectory (``run_key(seed, TAG_RUN_ID)``).
TAG_RUN_ID = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class TagConfig(ConfigSection):
    """Settings of one TAG measurement (the ``[tag]`` table of a compare config).

    Parameters
    ----------
    hidden, batch_size, learning_rate, weight_decay
        Network and AdamW settings, as in :class:`~lcurve.config.TrainConfig`.
    steps
        Multi-task training steps; rounded down to a multiple of ``every``.
    every
        Measure the lookahead affinities every ``every`` steps (TAG's ``k``).
    seeds
        Independent trajectories (vmapped); affinities are averaged over them.
    max_size
        Training labels per task (``None``: all of each task's training labels).
    """

    _section = "tag"
    hidden: tuple[int, ...] = (128,)
    steps: int = 300
    every: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    seeds: tuple[int, ...] = (0, 1, 2)
    max_size: int | None = None

    def _validate(self) -> None:
        require_positive("tag", steps=self.steps, every=self.every, batch_size=self.batch_size,
                         learning_rate=self.learning_rate, max_size=self.max_size)
        if self.every > self.steps:
            raise ConfigError(f"tag.every ({self.every}) must be <= tag.steps ({self.steps})")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"tag.seeds must be distinct and non-empty, got {self.seeds}")
        if not 0 <= self.weight_decay < float("inf"):
            raise ConfigError(f"tag.weight_decay must be finite and >= 0, got {self.weight_decay}")
        if not self.hidden or any(h <= 0 for h in self.hidden):
            raise ConfigError(f"tag.hidden must be positive widths, got {list(self.hidden)}")

    @property
    def n_measurements(self) -> int:
        return self.steps // self.every


def per_task_losses(model, params, x, y, mask) -> jnp.ndarray:
    """``(n_tasks,)`` masked BCE of each task on one batch (0 where a task has no label)."""
    logits = model.apply(params, x)
    return jax.vmap(masked_bce, in_axes=(1, 1, 1))(logits, y, mask)


def _trunk_only(updates):
    """Zero the heads' part of an update: the lookahead moves the shared trunk only."""
    inner = dict(updates["params"])
    inner["heads"] = jax.tree.map(jnp.zeros_like, inner["heads"])
    return {**updates, "params": inner}


def lookahead_affinity(model, tx, params, opt_state, x, y, mask):
    """TAG affinities of one measurement, all source tasks in one vmapped call.

    Returns ``(Z, valid)``, each ``(n_tasks, n_tasks)`` indexed ``[source, target]``:
    ``Z[i, j] = 1 - L_j(trunk after a real optimizer step on task i) / L_j(before)`` on the
    batch ``(x, y, mask)``; ``valid[i, j]`` is True when both tasks have labels in the batch.
    """
    n_tasks = y.shape[1]
    before = per_task_losses(model, params, x, y, mask)
    present = mask.any(axis=0)

    def one_source(i):
        source_mask = mask & (jnp.arange(n_tasks) == i)[None, :]
        grads = jax.grad(lambda p: masked_bce(model.apply(p, x), y, source_mask))(params)
        updates, _ = tx.update(grads, opt_state, params)  # the state copy is discarded
        moved = optax.apply_updates(params, _trunk_only(updates))
        return per_task_losses(model, moved, x, y, mask)

    after = jax.vmap(one_source)(jnp.arange(n_tasks))
    valid = present[:, None] & present[None, :] & (before[None, :] > 0)
    z = jnp.where(valid, 1.0 - after / jnp.where(valid, before[None, :], 1.0), 0.0)
    return z, valid


def _trajectory_fn(model, n_features, config: TagConfig):
    """One seed's TAG trajectory -> (sum of Z, count of valid measurements, final loss)."""
    every, n_blocks, batch = config.every, config.n_measurements, config.batch_size

    def trajectory(d, hyper, seed, seed_index, rows, n_rows, sizes):
        init_key, step_key = jax.random.split(run_key(seed, TAG_RUN_ID))
        params = model.init(init_key, jnp.zeros((1, n_features), jnp.float32))
        tx = make_optimizer(hyper[0], hyper[1])
        opt_state = tx.init(params)
        ranks = d["ranks"][seed_index]
        keys = jax.random.split(step_key, n_blocks * every).reshape(n_blocks, every)

        def block(carry, block_keys):
            params, opt_state = carry
            x, y, mask = sample_batch(d, ranks, rows, n_rows, sizes, block_keys[0], batch)
            z, valid = lookahead_affinity(model, tx, params, opt_state, x, y, mask)
            params, opt_state, loss = sgd_step(model, tx, params, opt_state, x, y, mask)

            def step(carry, k):
                x, y, mask = sample_batch(d, ranks, rows, n_rows, sizes, k, batch)
                params, opt_state, loss = sgd_step(model, tx, *carry, x, y, mask)
                return (params, opt_state), loss

            (params, opt_state), _ = jax.lax.scan(step, (params, opt_state), block_keys[1:])
            return (params, opt_state), (z, valid, loss)

        _, (z, valid, losses) = jax.lax.scan(block, (params, opt_state), keys)
        return (z * valid).sum(0), valid.sum(0), losses[-1]

    return trajectory


@functools.lru_cache(maxsize=8)
def _compiled(hidden: tuple[int, ...], n_tasks: int, n_features: int, config: TagConfig):
    """The jitted, seed-vmapped trajectory (cached: repeated calls do not recompile)."""
    model = MultiTaskMLP(hidden=hidden, n_tasks=n_tasks)
    return jax.jit(jax.vmap(_trajectory_fn(model, n_features, config),
                            in_axes=(None, None, 0, 0, 0, 0, None)))


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


def tag_affinity(data: MultiTaskData, config: TagConfig | None = None) -> pd.DataFrame:
    """TAG inter-task affinities ``Z(source -> target)``, averaged over training and seeds.

    Parameters
    ----------
    data
        The multi-task data; every task trains on its training labels (up to ``max_size``).
    config
        :class:`TagConfig` (default ``TagConfig()``).

    Returns
    -------
    pandas.DataFrame
        ``source, target, affinity, n_measurements`` over ordered pairs ``source != target``,
        sorted by affinity (highest first). ``affinity`` is NaN when the pair never shared a
        batch. ``.attrs`` holds ``seconds`` (wall time, compilation included),
        ``train_steps`` (optimizer steps summed over seeds) and ``lookahead_steps``.

    Example
    -------
    >>> from lcurve.datasets import make_synthetic
    >>> data, _ = make_synthetic(n_tasks=3, n_compounds=300, n_features=16)
    >>> cfg = TagConfig(hidden=(8,), steps=20, every=5, seeds=(0, 1))
    >>> tag_affinity(data, cfg)["affinity"].notna().all()
    np.True_
    """
    config = config or TagConfig()
    start = time.perf_counter()
    inputs = tag_inputs(data, config)
    shape_config = dataclasses.replace(config, seeds=(0,), max_size=None, learning_rate=1.0,
                                       weight_decay=0.0)  # only what fixes the program
    fn = _compiled(tuple(config.hidden), data.n_tasks, data.n_features, shape_config)
    hyper = jnp.array([config.learning_rate, config.weight_decay], jnp.float32)
    z_sum, count, _ = fn(inputs["d"], hyper, inputs["seed"], inputs["seed_index"],
                         inputs["rows"], inputs["n_rows"], inputs["sizes"])
    z_sum, count = np.asarray(z_sum).sum(0), np.asarray(count).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(count > 0, z_sum / np.maximum(count, 1), np.nan)
    tasks = data.tasks
    rows = [(tasks[i], tasks[j], float(z[i, j]), int(count[i, j]))
            for i in range(len(tasks)) for j in range(len(tasks)) if i != j]
    table = pd.DataFrame(rows, columns=["source", "target", "affinity", "n_measurements"])
    table = table.sort_values("affinity", ascending=False, kind="stable").reset_index(drop=True)
    steps = config.n_measurements * config.every
    table.attrs.update(
        method="tag", seconds=time.perf_counter() - start,
        train_steps=steps * len(config.seeds),
        lookahead_steps=config.n_measurements * data.n_tasks * len(config.seeds),
    )
    return table
