"""Warm-started learning curves: one training trajectory per chain of nested sizes.

Full retraining trains every design run from scratch. The fast approximation (analogous to what
TAG does during training) follows a *chain* of runs that differ only in the target's size
``n_1 < n_2 < ...`` with one trajectory: train ``steps_per_size`` steps on the ``n_1`` data,
evaluate every task on its test set, then keep the parameters and optimizer state and continue
on the ``n_2`` data, and so on. Sizes are nested (see :mod:`lcurve.design`), so each stage
only adds training labels.

A chain's compounds are ordered so that every stage's compounds are a prefix: stage ``s``
draws batches of its sizes with :func:`~lcurve.train.batch_sampler` and trains with
:func:`~lcurve.train.train_steps`: the same objective, batch sampling and optimizer step as a
full run (:class:`~lcurve.train.RunTrainer`) under the same :class:`~lcurve.config.TrainConfig`.
A stage trains a fixed number of steps on all its labels (no early stopping, nothing held
out), so ``stopping``, ``holdout`` and ``patience`` do not apply here. Chains are vmapped and a
chunk of them is one jitted program (``lax.map`` over groups of ``vmap_width`` chains, like
:class:`~lcurve.train.RunTrainer`), so results do not depend on the chunk size. The key of a
chain is ``run_key(seed, first run id)``; stage ``s`` uses ``fold_in(key, s)`` as its step key.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import task_permutation
from lcurve.train._compile import (
    Program,
    ProgramUser,
    compiled,
    run_shardings,
    shard_runs,
    vmap_in_groups,
)
from lcurve.train._core import device_arrays, make_optimizer, objective_loss, run_key
from lcurve.train._trainer import row_bucket, train_stages
from lcurve.train.model import MultiTaskMLP

__all__ = ["ChainResult", "WarmStartTrainer", "nested_rows"]


@dataclasses.dataclass(frozen=True)
class ChainResult:
    """Per-chain, per-stage outputs (numpy): chain axis, then stage axis."""

    auroc: np.ndarray  # (chains, stages, tasks)
    auprc: np.ndarray  # (chains, stages, tasks)
    final_loss: np.ndarray  # (chains, stages) mean training loss over the stage's last steps
    finite: np.ndarray  # (chains, stages) False once any training loss was NaN/inf


def nested_rows(data: MultiTaskData, seed: int, stage_sizes: np.ndarray):
    """Compounds of a chain ordered so each stage's compounds are a prefix.

    Parameters
    ----------
    stage_sizes
        ``(stages, n_tasks)`` sizes, non-decreasing along the stage axis.

    Returns
    -------
    rows, n_rows
        ``rows`` (all compounds of the last stage) and ``n_rows[s]``, the number of compounds of
        stage ``s`` (the union of each task's first ``n_k`` labels, as in ``training_rows``).

    Example
    -------
    >>> from lcurve.datasets import make_synthetic
    >>> data, _ = make_synthetic(n_tasks=2, n_compounds=300)
    >>> rows, n_rows = nested_rows(data, 0, np.array([[10, 0], [20, 5]]))
    >>> bool(n_rows[0] == 10 and n_rows[1] >= 20)
    True
    """
    stage_sizes = np.asarray(stage_sizes)
    if (np.diff(stage_sizes, axis=0) < 0).any():
        raise ValueError(f"stage sizes must be nested (non-decreasing), got {stage_sizes.tolist()}")
    perms = [task_permutation(data, t, seed) for t in data.tasks]
    seen: set[int] = set()
    rows: list[int] = []
    n_rows = []
    for sizes in stage_sizes:
        new = np.unique(np.concatenate(
            [p[: int(n)] for p, n in zip(perms, sizes)] + [np.zeros(0, dtype=int)]))
        added = [int(c) for c in new if c not in seen]
        seen.update(added)
        rows.extend(added)
        n_rows.append(len(rows))
    return np.asarray(rows, dtype=np.int32), np.asarray(n_rows, dtype=np.int32)


def _chain_program(config: TrainConfig, n_tasks: int, n_features: int, steps: int,
                   devices: tuple) -> Program:
    """The jitted chunk program for one architecture and schedule (cached across sweeps).

    ``config`` holds only the fields that fix the program (see ``WarmStartTrainer``).
    """
    def make():
        model = MultiTaskMLP(hidden=tuple(config.hidden), n_tasks=n_tasks)
        loss = objective_loss(config.objective)
        width = config.vmap_width

        def chain(d, hyper, seed, seed_index, chain_id, rows, n_rows, sizes):
            key = run_key(seed, chain_id)
            init_key, _ = jax.random.split(key)
            params = model.init(init_key, jnp.zeros((1, n_features), jnp.float32))
            tx = make_optimizer(hyper[0], hyper[1])
            stage_steps = jnp.broadcast_to(jnp.arange(steps), (sizes.shape[0], steps))
            return train_stages(model, config, tx, loss, d, seed_index, rows, params,
                                stage_key=lambda s: jax.random.fold_in(key, s),
                                stage_steps=stage_steps, n_rows=n_rows, sizes=sizes)

        grouped = vmap_in_groups(chain, width, n_shared=2)
        return shard_runs(grouped, devices, in_axes=(None, None, *[0] * 6))

    return compiled(("warmstart", config, n_tasks, n_features, steps, devices), make)


class WarmStartTrainer(ProgramUser):
    """Trains chunks of warm-started chains of one sweep.

    Construction only records what to do; data move to the device on the first chunk.

    Parameters
    ----------
    data, config
        The data and training settings (architecture, batch, optimizer, ``vmap_width``).
    seeds
        All seeds the chains use.
    steps_per_size
        Optimizer steps at each stage (default ``config.steps // 3``).
    devices
        Devices to shard the chain axis over (:func:`~lcurve.train.shard_runs`); default all
        local devices. The chunk size is rounded up to a multiple of ``vmap_width * n_devices``.
    """

    def __init__(self, data: MultiTaskData, config: TrainConfig, *, seeds,
                 steps_per_size: int | None = None, devices=None):
        self.data = data
        self.config = config
        self.seeds = tuple(int(s) for s in seeds)
        self.steps_per_size = int(steps_per_size or max(1, config.steps // 3))
        self.devices = tuple(devices) if devices is not None else tuple(jax.local_devices())
        step = len(self.devices) * config.vmap_width
        self.chunk_size = int(np.ceil(config.chunk_size / step) * step)
        self.model = MultiTaskMLP(hidden=tuple(config.hidden), n_tasks=data.n_tasks)
        self._device_data = None

    def _put_data(self):
        if self._device_data is None:
            _, replicated = run_shardings(self.devices)
            arrays = device_arrays(self.data, self.seeds)
            self._device_data = {k: jax.device_put(v, replicated) for k, v in arrays.items()}
        return self._device_data

    def _program(self) -> Program:
        program_config = dataclasses.replace(  # only the fields that fix the program
            self.config, learning_rate=1.0, weight_decay=0.0, chunk_size=1, steps=1)
        return _chain_program(program_config, self.data.n_tasks, self.data.n_features,
                              self.steps_per_size, self.devices)

    def train_chunk(self, seeds, chain_ids, stage_sizes, *, n_rows_bucket: int | None = None,
                    n_stages: int | None = None) -> ChainResult:
        """Train up to ``chunk_size`` chains in one vmapped program.

        Parameters
        ----------
        seeds, chain_ids
            ``(chains,)`` integers fixing each chain's key.
        stage_sizes
            One ``(stages_c, n_tasks)`` nested size array per chain; shorter chains are padded
            by repeating their last stage (those outputs are dropped).
        n_rows_bucket, n_stages
            Padded compound-list length and stage count; pass sweep-wide values to compile once.
        """
        n = len(chain_ids)
        if not 0 < n <= self.chunk_size:
            raise ValueError(f"a chunk holds 1..{self.chunk_size} chains, got {n}")
        lengths = [len(s) for s in stage_sizes]
        n_stages = n_stages or max(lengths)
        built = [nested_rows(self.data, int(s), np.asarray(sz)) for s, sz in
                 zip(seeds, stage_sizes)]
        width = n_rows_bucket or row_bucket(max(len(r) for r, _ in built))
        size = self.chunk_size
        rows = np.zeros((size, width), dtype=np.int32)
        n_rows = np.ones((size, n_stages), dtype=np.int32)
        sizes = np.zeros((size, n_stages, self.data.n_tasks), dtype=np.int32)
        index = {s: i for i, s in enumerate(self.seeds)}
        seed_arr = np.zeros(size, dtype=np.uint32)
        seed_index = np.zeros(size, dtype=np.int32)
        ids = np.zeros(size, dtype=np.uint32)
        for c in range(size):
            src = c if c < n else 0  # padded slots repeat the first chain
            r, nr = built[src]
            if len(r) > width:
                raise ValueError(f"chain {chain_ids[src]} has {len(r)} rows > bucket {width}")
            sz = np.asarray(stage_sizes[src])
            pad = n_stages - len(sz)
            rows[c, :len(r)] = r
            n_rows[c] = np.concatenate([nr, np.repeat(nr[-1:], pad)])
            sizes[c] = np.concatenate([sz, np.repeat(sz[-1:], pad, axis=0)])
            seed_arr[c], seed_index[c] = int(seeds[src]), index[int(seeds[src])]
            ids[c] = int(chain_ids[src])
        hyper = jnp.array([self.config.learning_rate, self.config.weight_decay], jnp.float32)
        auroc, auprc, loss, finite = self._chunk_fn(
            self._put_data(), hyper, seed_arr, seed_index, ids, rows, n_rows, sizes)
        return ChainResult(auroc=np.asarray(auroc)[:n], auprc=np.asarray(auprc)[:n],
                           final_loss=np.asarray(loss)[:n], finite=np.asarray(finite)[:n])
