"""Train many runs at once: ``lax.scan`` over optimizer steps inside ``jax.vmap`` over runs.

Every run of a chunk shares the data (features, labels, nested ranks, test sets), which live on
the device once per sweep; what differs per run is a handful of small arrays: its seed, run id,
per-task sizes and the list of compounds it may draw from. One jitted program trains a whole
chunk; chunks are padded to a fixed shape so a sweep compiles once.

A run's training labels are those ``(compound c, task k)`` with ``rank[seed, c, k] < n_k``:
the first ``n_k`` labels of task ``k``'s nested permutation (see :mod:`lcurve.design`).
Unmeasured, test and unselected labels never enter the loss.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import rank_matrix, training_rows
from lcurve.train.metrics import masked_auprc, masked_auroc
from lcurve.train.model import MultiTaskMLP

logger = logging.getLogger(__name__)

__all__ = [
    "ChunkResult",
    "RunTrainer",
    "row_bucket",
    "device_arrays",
    "evaluate",
    "make_optimizer",
    "masked_bce",
    "run_key",
    "sample_batch",
    "sgd_step",
]


def run_key(seed: jnp.ndarray, run_id: jnp.ndarray) -> jax.Array:
    """The PRNG key of one run: ``fold_in(key(seed), run_id)``, independent of batching."""
    return jax.random.fold_in(jax.random.key(seed), run_id)


def masked_bce(logits: jnp.ndarray, labels: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Mean binary cross-entropy over the entries where ``mask`` is True.

    Labels outside the mask may be anything, NaN included: they are replaced before the loss
    is computed, so neither the loss nor its gradient sees them.
    """
    mask = mask.astype(logits.dtype)
    safe_labels = jnp.where(mask > 0, labels, 0.0)
    bce = optax.sigmoid_binary_cross_entropy(logits, safe_labels)
    return jnp.sum(bce * mask) / jnp.maximum(mask.sum(), 1.0)


def device_arrays(data: MultiTaskData, seeds) -> dict[str, np.ndarray]:
    """The arrays every run of a sweep shares (host numpy; put them on a device once).

    ``X`` (uint8 for binary fingerprints, else float32), ``Y`` (NaN -> 0), ``ranks``
    ``(n_seeds, n_compounds, n_tasks)`` nested positions, and the union of the tasks' test
    compounds: ``test_X``, ``test_Y``, ``test_mask`` (which test labels belong to which task).
    """
    binary = np.isin(data.X, (0, 1)).all()
    X = data.X.astype(np.uint8 if binary else np.float32)
    test_rows = np.flatnonzero(data.test_mask.any(axis=1)).astype(np.int32)
    return {
        "X": X,
        "Y": np.nan_to_num(data.Y, nan=0.0).astype(np.float32),
        "ranks": rank_matrix(data, seeds),
        "test_X": X[test_rows],
        "test_Y": np.nan_to_num(data.Y[test_rows], nan=0.0).astype(np.float32),
        "test_mask": data.test_mask[test_rows],
    }


def make_optimizer(learning_rate, weight_decay) -> optax.GradientTransformation:
    """AdamW with its hyper-parameters as (traceable) state, so they never force a recompile."""
    return optax.inject_hyperparams(optax.adamw)(
        learning_rate=learning_rate, weight_decay=weight_decay
    )


def sample_batch(d, ranks, rows, n_rows, sizes, key, batch_size: int):
    """Draw ``batch_size`` of a run's compounds (with replacement) and its label mask.

    ``rows[:n_rows]`` are the run's compounds; the mask keeps label ``(c, k)`` only when it is
    among the first ``sizes[k]`` of task ``k``'s nested order (``ranks``: one seed's slice).
    Returns ``(x float32, y, mask)``.
    """
    pos = jax.random.randint(key, (batch_size,), 0, n_rows)
    compounds = rows[pos]
    x = d["X"][compounds].astype(jnp.float32)
    return x, d["Y"][compounds], ranks[compounds] < sizes[None, :]


def sgd_step(model, tx, params, opt_state, x, y, mask):
    """One optimizer step on the masked BCE; returns ``(params, opt_state, loss)``."""
    loss, grads = jax.value_and_grad(lambda p: masked_bce(model.apply(p, x), y, mask))(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def evaluate(model, params, d):
    """Per-task test AUROC and AUPRC, ``(n_tasks,)`` each (NaN where a test set has one class)."""
    scores = model.apply(params, d["test_X"].astype(jnp.float32))
    auroc = jax.vmap(masked_auroc, in_axes=1)(scores, d["test_Y"], d["test_mask"])
    auprc = jax.vmap(masked_auprc, in_axes=1)(scores, d["test_Y"], d["test_mask"])
    return auroc, auprc


@dataclasses.dataclass(frozen=True)
class ChunkResult:
    """Per-run outputs of one trained chunk (numpy, run axis first)."""

    auroc: np.ndarray  # (runs, tasks)
    auprc: np.ndarray  # (runs, tasks)
    final_loss: np.ndarray  # (runs,) mean training loss over the last steps
    finite: np.ndarray  # (runs,) False if any training loss was NaN/inf


def row_bucket(n: int, minimum: int = 256) -> int:
    """Round up to a power of two so resumed or shorter sweeps reuse the same shapes."""
    return max(minimum, 1 << int(np.ceil(np.log2(max(n, 1)))))


class RunTrainer:
    """Trains chunks of runs of one sweep on one data set.

    Construction only records what to do; the data move to the device(s) on the first call of
    :meth:`train_chunk`. When more than one device is given, the run axis is sharded over them
    with ``jax.sharding`` (``shard_map``). The chunk size is rounded up to a multiple of
    ``vmap_width * n_devices``; results do not depend on the chunk size or device count.

    Parameters
    ----------
    data
        The multi-task data.
    config
        Training settings (architecture, steps, batch size, optimizer, chunk size).
    seeds
        All seeds the sweep uses (their nested ranks are precomputed once).
    devices
        Devices to shard the run axis over; default all local devices.
    """

    def __init__(self, data: MultiTaskData, config: TrainConfig, *, seeds, devices=None):
        self.data = data
        self.config = config
        self.seeds = tuple(int(s) for s in seeds)
        self.devices = tuple(devices) if devices is not None else tuple(jax.local_devices())
        step = len(self.devices) * config.vmap_width
        self.chunk_size = int(np.ceil(config.chunk_size / step) * step)
        self.model = MultiTaskMLP(hidden=tuple(config.hidden), n_tasks=data.n_tasks)
        self._device_data = None
        self.n_compiles = 0

    # --------------------------------------------------------------- device state
    def _shardings(self):
        mesh = jax.sharding.Mesh(np.array(self.devices), ("runs",))
        return NamedSharding(mesh, PartitionSpec("runs")), NamedSharding(mesh, PartitionSpec())

    def _put_data(self):
        if self._device_data is not None:
            return self._device_data
        _, replicated = self._shardings()
        arrays = device_arrays(self.data, self.seeds)
        self._device_data = {k: jax.device_put(v, replicated) for k, v in arrays.items()}
        return self._device_data

    # --------------------------------------------------------------- the program
    @functools.cached_property
    def _chunk_fn(self):
        model, steps, batch = self.model, self.config.steps, self.config.batch_size
        n_features = self.data.n_features

        def train_one(d, hyper, seed, seed_index, run_id, rows, n_rows, sizes):
            init_key, step_key = jax.random.split(run_key(seed, run_id))
            params = model.init(init_key, jnp.zeros((1, n_features), jnp.float32))
            tx = make_optimizer(hyper[0], hyper[1])
            opt_state = tx.init(params)
            ranks = d["ranks"][seed_index]

            def step(carry, k):
                x, y, mask = sample_batch(d, ranks, rows, n_rows, sizes, k, batch)
                params, opt_state, loss = sgd_step(model, tx, *carry, x, y, mask)
                return (params, opt_state), loss

            (params, _), losses = jax.lax.scan(
                step, (params, opt_state), jax.random.split(step_key, steps)
            )
            auroc, auprc = evaluate(model, params, d)
            tail = losses[-min(10, steps):]
            return auroc, auprc, tail.mean(), jnp.isfinite(losses).all()

        width = self.config.vmap_width
        vmapped = jax.vmap(train_one, in_axes=(None, None, 0, 0, 0, 0, 0, 0))

        def grouped(d, hyper, *per_run):
            # lax.map over groups of a fixed vmap width: every run is computed by the same
            # program whatever the chunk size, so results are bit-identical across chunkings
            # (a plain vmap's GEMM blocking, and so its rounding, changes with the batch size).
            shaped = [a.reshape((-1, width) + a.shape[1:]) for a in per_run]
            out = jax.lax.map(lambda args: vmapped(d, hyper, *args), shaped)
            return jax.tree.map(lambda o: o.reshape((-1,) + o.shape[2:]), out)

        if len(self.devices) > 1:
            mesh = jax.sharding.Mesh(np.array(self.devices), ("runs",))
            run_axis, shared = PartitionSpec("runs"), PartitionSpec()
            # check_vma=False: runs are independent programs. With the default varying-axis
            # checks, gradients taken inside would be psum-med across devices (mixing runs).
            grouped = jax.shard_map(
                grouped, mesh=mesh, in_specs=(shared, shared, *[run_axis] * 6),
                out_specs=run_axis, check_vma=False,
            )

        def counted(*args):
            self.n_compiles += 1  # runs at trace time only: counts compilations
            return grouped(*args)

        return jax.jit(counted)

    def train_chunk(self, seeds, run_ids, sizes, *, n_rows_bucket: int | None = None) -> ChunkResult:
        """Train up to ``chunk_size`` runs in one vmapped program.

        Parameters
        ----------
        seeds, run_ids
            ``(runs,)`` integers; together they fix each run's PRNG key.
        sizes
            ``(runs, n_tasks)`` training sizes per task.
        n_rows_bucket
            Padded length of the per-run compound lists; give the sweep-wide value to keep one
            compiled shape across chunks (default: the bucket of this chunk's largest run).
        """
        seeds = np.asarray(seeds, dtype=np.int64)
        run_ids = np.asarray(run_ids, dtype=np.int64)
        sizes = np.asarray(sizes, dtype=np.int32)
        n = len(run_ids)
        if not 0 < n <= self.chunk_size:
            raise ValueError(f"a chunk holds 1..{self.chunk_size} runs, got {n}")
        unknown = sorted(set(seeds.tolist()) - set(self.seeds))
        if unknown:
            raise ValueError(f"seed(s) {unknown} were not declared to the trainer ({self.seeds})")
        row_lists = [
            training_rows(self.data, int(s), dict(zip(self.data.tasks, sz.tolist())))
            for s, sz in zip(seeds, sizes)
        ]
        width = n_rows_bucket or row_bucket(max(len(r) for r in row_lists))
        pad = self.chunk_size - n
        rows = np.zeros((self.chunk_size, width), dtype=np.int32)
        n_rows = np.ones(self.chunk_size, dtype=np.int32)
        for i, r in enumerate(row_lists):
            if len(r) > width:
                raise ValueError(f"run {run_ids[i]} has {len(r)} rows, more than bucket {width}")
            rows[i, : len(r)] = r
            n_rows[i] = len(r)
        index = {s: i for i, s in enumerate(self.seeds)}
        per_run = {
            "seed": np.concatenate([seeds, np.repeat(seeds[:1], pad)]).astype(np.uint32),
            "seed_index": np.array([index[int(s)] for s in seeds] + [index[int(seeds[0])]] * pad,
                                   dtype=np.int32),
            "run_id": np.concatenate([run_ids, np.repeat(run_ids[:1], pad)]).astype(np.uint32),
            "rows": rows,
            "n_rows": n_rows,
            "sizes": np.concatenate([sizes, np.repeat(sizes[:1], pad, axis=0)]),
        }
        if pad:  # padded slots repeat the first run; their results are discarded
            rows[n:] = rows[0]
            n_rows[n:] = n_rows[0]
        d = self._put_data()
        sharded, replicated = self._shardings()
        per_run = {k: jax.device_put(v, sharded) for k, v in per_run.items()}
        hyper = jax.device_put(
            np.array([self.config.learning_rate, self.config.weight_decay], np.float32), replicated
        )
        auroc, auprc, loss, finite = self._chunk_fn(
            d, hyper, per_run["seed"], per_run["seed_index"], per_run["run_id"],
            per_run["rows"], per_run["n_rows"], per_run["sizes"],
        )
        return ChunkResult(
            auroc=np.asarray(auroc)[:n], auprc=np.asarray(auprc)[:n],
            final_loss=np.asarray(loss)[:n], finite=np.asarray(finite)[:n],
        )
