"""Train many runs at once: a ``lax.while_loop`` of optimizer rounds inside ``jax.vmap`` over runs.

Every run of a chunk shares the data (features, labels, nested ranks and orders, test sets),
which live on the device once per sweep; what differs per run is a handful of small arrays: its
seed, run id, per-task sizes, the compounds it may draw from and its held-out labels. One jitted
program trains a whole chunk; chunks are padded to a fixed shape so a sweep compiles once.

A run's labels are those ``(compound c, task k)`` with ``rank[seed, c, k] < n_k``: the first
``n_k`` labels of task ``k``'s nested permutation (see :mod:`lcurve.design`). Under early
stopping every ``holdout``-th of them is held out for validation (see :mod:`lcurve.train._core`)
and the rest are trained on. Unmeasured, test and unselected labels never enter the loss, and
test labels never enter the stopping decision.
"""

from __future__ import annotations

import dataclasses
import logging

import jax
import jax.numpy as jnp
import numpy as np

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import training_rows
from lcurve.train._compile import (
    Program,
    ProgramUser,
    compiled,
    run_shardings,
    shard_runs,
    vmap_in_groups,
)
from lcurve.train._core import (
    device_arrays,
    evaluate,
    make_optimizer,
    objective_loss,
    run_key,
    sample_batch,
    sample_stratified_batch,
    sgd_step,
    validation_labels,
)
from lcurve.train.metrics import masked_auroc
from lcurve.train.model import MultiTaskMLP

logger = logging.getLogger(__name__)

__all__ = ["ChunkResult", "RunTrainer", "row_bucket"]


@dataclasses.dataclass(frozen=True)
class ChunkResult:
    """Per-run outputs of one trained chunk (numpy, run axis first)."""

    auroc: np.ndarray  # (runs, tasks) test scores of the reported (best) parameters
    auprc: np.ndarray  # (runs, tasks)
    final_loss: np.ndarray  # (runs,) mean training loss over the last evaluation round trained
    finite: np.ndarray  # (runs,) False if any training loss was NaN/inf
    steps_used: np.ndarray | None = None  # (runs,) optimizer steps trained before stopping
    best_step: np.ndarray | None = None  # (runs,) step of the reported parameters


def row_bucket(n: int, minimum: int = 256) -> int:
    """Round up to a power of two so resumed or shorter sweeps reuse the same shapes."""
    return max(minimum, 1 << int(np.ceil(np.log2(max(n, 1)))))


def _where(flag, new, old):
    """Pick ``new`` where the scalar ``flag`` is True, else ``old``, leaf by leaf (exact)."""
    return jax.tree.map(lambda a, b: jnp.where(flag, a, b), new, old)


def batch_sampler(d, config: TrainConfig, seed_index, sizes, rows, n_rows, *,
                  holdout: int | None = None):
    """``key -> (x, y, mask)``: one run's batches under ``config.batches`` and its hold-out.

    ``rows[:n_rows]`` (the run's compounds) are used by uniform batches only. ``holdout``
    defaults to ``config.holdout_stride`` (0, nothing held out, unless stopping early).
    """
    holdout = config.holdout_stride if holdout is None else holdout
    if config.batches == "stratified":
        order = d["order"][seed_index]
        return lambda key: sample_stratified_batch(d, order, sizes, key, config.batch_size,
                                                   holdout=holdout)
    ranks = d["ranks"][seed_index]
    return lambda key: sample_batch(d, ranks, rows, n_rows, sizes, key, config.batch_size,
                                    holdout=holdout)


def full_batch(x, y, mask):
    """``key -> (x, y, mask)``: a sampler that gives every step the same (whole) batch.

    ``mask`` may hold label weights instead of booleans (a weighted objective).
    """
    return lambda key: (x, y, mask)


def train_steps(model, tx, loss, sample, step_key, params, opt_state, steps, *, active=True,
                max_steps=None, finite=True, penalty=None, batch_keys=None, measure=None,
                measure_every=None):
    """Optimizer steps ``steps`` (an array of step indices) of one run: the one step loop.

    Step ``t`` trains on ``sample(fold_in(step_key, t))`` with :func:`sgd_step` on ``loss``
    (plus ``penalty(params)`` when given). ``batch_keys`` (one key per entry of ``steps``)
    replaces the ``fold_in`` keys; with ``step_key=None`` and no ``batch_keys`` the sampler is
    called with ``None`` (a :func:`full_batch`). Steps at or past ``max_steps``, and all steps
    when ``active`` is False, leave the state exactly unchanged (masked), so a stopped run is
    frozen.

    ``measure(params, opt_state, x, y, mask)``, when given, is evaluated on the state before
    the first step of every block of ``measure_every`` consecutive entries of ``steps`` (whose
    length must be a multiple of it), on that step's own batch: a measurement taken during
    training (TAG's lookahead, for instance) that does not change the training.

    Returns
    -------
    (params, opt_state, finite, loss_sum), (losses, live) or (losses, live, measured)
        ``finite``: no live step had a NaN/inf loss (and-ed with the ``finite`` given);
        ``loss_sum``: the live steps' losses added in step order (a sequential sum, so it is
        bit-identical however the program is compiled); ``losses`` and ``live`` per step;
        ``measured``: the measurements stacked along a first axis, one per block.
    """
    def batch(t, key):
        if key is None and step_key is not None:
            key = jax.random.fold_in(step_key, t)
        return sample(key)

    def train(carry, t, x, y, mask):
        params, opt_state, finite, loss_sum = carry
        new_params, new_state, value = sgd_step(model, tx, params, opt_state, x, y, mask,
                                                loss=loss, penalty=penalty)
        live = jnp.asarray(active) & (True if max_steps is None else t < max_steps)
        finite = finite & (~live | jnp.isfinite(value))
        loss_sum = loss_sum + jnp.where(live, value, 0.0)
        return ((_where(live, new_params, params), _where(live, new_state, opt_state), finite,
                 loss_sum), (value, live))

    def step(carry, inputs):
        t, key = inputs
        return train(carry, t, *batch(t, key))

    start = (params, opt_state, jnp.asarray(finite), jnp.zeros((), jnp.float32))
    if measure is None:
        return jax.lax.scan(step, start, (steps, batch_keys))

    n_steps = steps.shape[0]
    if not measure_every or n_steps % measure_every:
        raise ValueError(f"measure_every ({measure_every}) must divide the {n_steps} steps")
    blocks = (steps.reshape(-1, measure_every),
              None if batch_keys is None else batch_keys.reshape(-1, measure_every))

    def block(carry, inputs):
        t, key = inputs
        first = None if key is None else key[0]
        x, y, mask = batch(t[0], first)
        measured = measure(carry[0], carry[1], x, y, mask)
        carry, (value, live) = train(carry, t[0], x, y, mask)
        rest = (t[1:], None if key is None else key[1:])
        carry, (values, lives) = jax.lax.scan(step, carry, rest)
        return carry, (jnp.concatenate([value[None], values]),
                       jnp.concatenate([live[None], lives]), measured)

    carry, (losses, live, measured) = jax.lax.scan(block, start, blocks)
    return carry, (losses.reshape(-1), live.reshape(-1), measured)


def train_stages(model, config: TrainConfig, tx, loss, d, seed_index, rows, params, *,
                 stage_key, stage_steps, n_rows, sizes):
    """Train one run through stages whose training pools grow; score it after every stage.

    The staged run of warm-start chains and accumulating-data runs: stage ``s`` trains the
    step indices ``stage_steps[s]`` with key ``stage_key(s)`` on the pool ``sizes[s]``
    (compounds ``rows[:n_rows[s]]`` for uniform batches; nothing held out), keeping parameters
    and optimizer state from stage to stage. Traceable (vmap it over runs).

    Returns
    -------
    (auroc, auprc, loss_tail, finite)
        Per stage: test scores ``(stages, n_tasks)``, the mean training loss of the stage's
        last 10 steps, and whether every loss so far was finite.
    """
    n_steps = stage_steps.shape[1]

    def stage(carry, inputs):
        params, opt_state, finite = carry
        s, steps, stage_n_rows, stage_sizes = inputs
        sample = batch_sampler(d, config, seed_index, stage_sizes, rows, stage_n_rows,
                               holdout=0)
        (params, opt_state, finite, _), (losses, _) = train_steps(
            model, tx, loss, sample, stage_key(s), params, opt_state, steps, finite=finite)
        auroc, auprc = evaluate(model, params, d)
        tail = losses[-min(10, n_steps):].mean()
        return (params, opt_state, finite), (auroc, auprc, tail, finite)

    stages = jnp.arange(sizes.shape[0])
    carry = (params, tx.init(params), jnp.array(True))
    _, out = jax.lax.scan(stage, carry, (stages, stage_steps, n_rows, sizes))
    return out


def validation_loss(model, params, d, val_rows, val_task, loss, *, criterion: str = "loss"):
    """The early-stopping criterion on a run's held-out labels ``(val_rows[i], val_task[i])``.

    ``criterion = "loss"``: the objective ``loss`` on them. ``"auroc"``: minus the mean, over
    tasks whose held-out labels hold both classes, of each task's held-out AUROC (so lower is
    better either way); a run where no task has both classes falls back to the loss (the
    choice is fixed per run, since its held-out labels are). Entries with
    ``val_task >= n_tasks`` are padding and ignored.
    """
    logits = model.apply(params, d["X"][val_rows].astype(jnp.float32))
    mask = val_task[:, None] == jnp.arange(logits.shape[1])[None, :]
    labels = d["Y"][val_rows]
    value = loss(logits, labels, mask)
    if criterion == "loss":
        return value
    auroc = jax.vmap(masked_auroc, in_axes=1)(logits, labels, mask)
    defined = ~jnp.isnan(auroc)
    mean_auroc = jnp.where(defined, auroc, 0.0).sum() / jnp.maximum(defined.sum(), 1)
    return jnp.where(defined.any(), -mean_auroc, value)


def train_run(model, config: TrainConfig, d, hyper, key, seed_index, sizes, rows, n_rows,
              val_rows, val_task, live=True):
    """Train one run under ``config``'s protocol; traceable (vmap it over runs).

    Step ``t`` draws its batch with ``fold_in(step_key, t)``, so a run's first ``s`` steps do
    not depend on the maximum ``config.steps``. Training proceeds in rounds of ``eval_every``
    steps inside a ``lax.while_loop``; after each round (early stopping) the criterion on the
    held-out labels (:func:`validation_loss`) is computed, the best parameters so far are kept
    (with the AUROC criterion, ties count as improvements), and the run stops after
    ``patience`` rounds without improvement or at ``steps``. A stopped run's state is frozen by
    masking (``jnp.where``), so under ``vmap`` it no longer changes while its neighbours train,
    and the loop ends when every run of the group has stopped. A run without held-out labels
    (every task below the hold-out stride) trains to ``steps`` and reports its last parameters.
    A run with ``live`` False (a chunk's padding slot) starts stopped: it trains no step, and a
    group of such runs ends its loop at once instead of repeating a real run's training.

    Returns
    -------
    dict
        ``params`` (reported: best, or last with ``stopping = "fixed"``), ``steps_used``,
        ``best_step``, ``loss_tail`` (mean training loss of the last round trained), ``finite``.
    """
    loss = objective_loss(config.objective)
    every, max_steps, patience = config.eval_every, config.steps, config.patience
    early = config.stopping == "early"
    n_tasks = sizes.shape[0]
    init_key, step_key = jax.random.split(key)
    params = model.init(init_key, jnp.zeros((1, d["X"].shape[1]), jnp.float32))
    tx = make_optimizer(hyper[0], hyper[1])
    sample = batch_sampler(d, config, seed_index, sizes, rows, n_rows)
    has_val = (val_task < n_tasks).any() if early else jnp.array(False)

    def one_round(state):
        (r, params, opt_state, active, finite, best, best_val, best_step, since, used,
         tail) = state
        (params, opt_state, finite, loss_sum), (_, live) = train_steps(
            model, tx, loss, sample, step_key, params, opt_state, r * every + jnp.arange(every),
            active=active, max_steps=max_steps, finite=finite)
        n_live = live.sum()
        tail = jnp.where(n_live > 0, loss_sum / jnp.maximum(n_live, 1), tail)
        used = used + n_live
        if early:
            value = validation_loss(model, params, d, val_rows, val_task, loss,
                                    criterion=config.criterion)
            # AUROC ties count as improvement: on a plateau the later parameters are kept and
            # training goes on (a small held-out set ties often; a tie is no sign of overfitting)
            better = (value <= best_val) if config.criterion == "auroc" else (value < best_val)
            improved = active & (better | ~has_val)
        else:
            value, improved = best_val, active
        best = _where(improved, params, best)
        best_val = jnp.where(improved, value, best_val)
        best_step = jnp.where(improved, used, best_step)
        since = jnp.where(improved, 0, since + 1)
        active = active & (since < patience) & (used < max_steps)
        return (r + 1, params, opt_state, active, finite, best, best_val, best_step, since, used,
                tail)

    zero = jnp.array(0, jnp.int32)
    state = (zero, params, tx.init(params), jnp.asarray(live), jnp.array(True), params,
             jnp.array(jnp.inf, jnp.float32), zero, zero, zero, jnp.array(0.0, jnp.float32))
    state = jax.lax.while_loop(lambda s: s[3], one_round, state)
    return {"params": state[5], "steps_used": state[9], "best_step": state[7],
            "loss_tail": state[10], "finite": state[4]}


def _chunk_program(config: TrainConfig, n_tasks: int, devices: tuple) -> Program:
    """The jitted chunk program of :class:`RunTrainer` (shared by every trainer with the same
    program-fixing settings, devices included)."""
    config = dataclasses.replace(  # only the fields that fix the program
        config, learning_rate=1.0, weight_decay=0.0, chunk_size=1)

    def make():
        model = MultiTaskMLP(hidden=tuple(config.hidden), n_tasks=n_tasks)

        def train_one(d, hyper, seed, seed_index, run_id, rows, n_rows, sizes, val_rows,
                      val_task, live):
            out = train_run(model, config, d, hyper, run_key(seed, run_id), seed_index, sizes,
                            rows, n_rows, val_rows, val_task, live)
            auroc, auprc = evaluate(model, out["params"], d)
            return (auroc, auprc, out["loss_tail"], out["finite"], out["steps_used"],
                    out["best_step"])

        grouped = vmap_in_groups(train_one, config.vmap_width, n_shared=2)
        return shard_runs(grouped, devices, in_axes=(None, None, *[0] * 9))

    return compiled(("runs", config, n_tasks, devices), make)


class RunTrainer(ProgramUser):
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
        self._order = None

    # --------------------------------------------------------------- device state
    def _shardings(self):
        return run_shardings(self.devices)

    def _put_data(self):
        if self._device_data is not None:
            return self._device_data
        _, replicated = self._shardings()
        arrays = device_arrays(self.data, self.seeds)
        self._order = arrays["order"]
        self._device_data = {k: jax.device_put(v, replicated) for k, v in arrays.items()}
        return self._device_data

    # --------------------------------------------------------------- the program
    def _program(self) -> Program:
        return _chunk_program(self.config, self.data.n_tasks, self.devices)

    def train_chunk(self, seeds, run_ids, sizes, *, n_rows_bucket: int | None = None,
                    n_val_bucket: int | None = None) -> ChunkResult:
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
        n_val_bucket
            Padded length of the per-run held-out label lists (early stopping). Default:
            ``row_bucket(n_rows_bucket / holdout, 32)``, enlarged (a new compiled shape) for a
            chunk whose runs hold out more labels than that.
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
        # padded slots repeat the first run, start stopped (no training step: a vmapped group
        # of padded slots costs only its initialisation and test evaluation), and their
        # results are discarded
        per_run["live"] = np.arange(self.chunk_size) < n
        if pad:
            rows[n:] = rows[0]
            n_rows[n:] = n_rows[0]
        d = self._put_data()
        holdout = self.config.holdout_stride
        val_lists = [validation_labels(self._order[index[int(s)]], sz, holdout)
                     for s, sz in zip(seeds, sizes)]
        need = max(len(v) for v, _ in val_lists)
        n_val = n_val_bucket or (row_bucket(-(-width // holdout), 32) if holdout else 1)
        if need > n_val:
            logger.info("held-out labels of a run (%d) exceed the bucket %d; a new shape", need,
                        n_val)
            n_val = row_bucket(need, 32)
        val_rows = np.zeros((self.chunk_size, n_val), dtype=np.int32)
        val_task = np.full((self.chunk_size, n_val), self.data.n_tasks, dtype=np.int32)
        for i in range(self.chunk_size):
            v_rows, v_task = val_lists[i if i < n else 0]
            val_rows[i, : len(v_rows)] = v_rows
            val_task[i, : len(v_task)] = v_task
        per_run["val_rows"], per_run["val_task"] = val_rows, val_task
        sharded, replicated = self._shardings()
        per_run = {k: jax.device_put(v, sharded) for k, v in per_run.items()}
        hyper = jax.device_put(
            np.array([self.config.learning_rate, self.config.weight_decay], np.float32), replicated
        )
        auroc, auprc, loss, finite, used, best = self._chunk_fn(
            d, hyper, per_run["seed"], per_run["seed_index"], per_run["run_id"],
            per_run["rows"], per_run["n_rows"], per_run["sizes"], per_run["val_rows"],
            per_run["val_task"], per_run["live"],
        )
        return ChunkResult(
            auroc=np.asarray(auroc)[:n], auprc=np.asarray(auprc)[:n],
            final_loss=np.asarray(loss)[:n], finite=np.asarray(finite)[:n],
            steps_used=np.asarray(used)[:n], best_step=np.asarray(best)[:n],
        )
