"""The trainer core: keys, losses, batch sampling, one optimizer step, evaluation.

Everything that trains a :class:`~lcurve.train.MultiTaskMLP` (sweeps, warm-started chains,
accumulating-data runs, TAG trajectories, influence fits) calls these functions rather than
writing its own copy; the step loop is :func:`lcurve.train.train_steps`.

Objectives (``TrainConfig.objective``)
    ``"pooled"``: one mean binary cross-entropy over every selected ``(compound, task)`` label of
    the batch (:func:`masked_bce`), so a task's weight is its share of the labels.
    ``"balanced"``: the mean over the tasks present in the batch of each task's mean loss
    (:func:`task_balanced_bce`), so every task of a run weighs the same whatever its size, the
    usual multi-task objective (equal task weights; e.g. Caruana 1997, Ruder 2017 Sec. 4).

Batches (``TrainConfig.batches``)
    ``"uniform"``: compounds drawn uniformly (with replacement) from the run's compounds; a task's
    share of a batch is its share of the run's compounds (:func:`sample_batch`).
    ``"stratified"``: batch slot ``j`` belongs to the ``(j mod T)``-th of the run's ``T`` present
    tasks and holds one of that task's training labels drawn uniformly (with replacement), so
    every present task fills ``batch_size / T`` slots of every batch (+-1)
    (:func:`sample_stratified_batch`). A slot carries only its own task's label.

Inner validation (held-out labels)
    With a hold-out stride ``m > 0``, position ``r`` of a task's nested order (see
    :mod:`lcurve.design`) is a *validation* label when ``r % m == m - 1`` and a training label
    otherwise. A run with ``n_k`` labels of task ``k`` uses the first ``n_k`` positions, so it
    holds out exactly ``n_k // m`` of them and trains on the other ``n_k - n_k // m``. Both
    parts are nested: a smaller run's training (validation) labels are inside a larger run's
    training (validation) labels of the same seed. ``m = 0`` holds nothing out.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lcurve.data import MultiTaskData
from lcurve.design import rank_matrix, task_permutation
from lcurve.train.metrics import masked_auprc, masked_auroc

__all__ = [
    "OBJECTIVES",
    "device_arrays",
    "evaluate",
    "holdout_split",
    "is_training_position",
    "make_optimizer",
    "masked_bce",
    "objective_loss",
    "run_key",
    "sample_batch",
    "sample_stratified_batch",
    "sgd_step",
    "task_balanced_bce",
    "validation_labels",
]

def run_key(seed: jnp.ndarray, run_id: jnp.ndarray) -> jax.Array:
    """The PRNG key of one run: ``fold_in(key(seed), run_id)``, independent of batching."""
    return jax.random.fold_in(jax.random.key(seed), run_id)


def _bce(logits, labels, mask):
    mask = mask.astype(logits.dtype)
    safe_labels = jnp.where(mask > 0, labels, 0.0)
    return optax.sigmoid_binary_cross_entropy(logits, safe_labels) * mask, mask


def masked_bce(logits: jnp.ndarray, labels: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Mean binary cross-entropy over the entries where ``mask`` is True (the pooled objective).

    Labels outside the mask may be anything, NaN included: they are replaced before the loss
    is computed, so neither the loss nor its gradient sees them. 0 when nothing is selected.

    Example
    -------
    >>> import jax.numpy as jnp
    >>> round(float(masked_bce(jnp.zeros((2, 1)), jnp.array([[1.], [0.]]),
    ...                        jnp.array([[True], [True]]))), 4)
    0.6931
    """
    bce, mask = _bce(logits, labels, mask)
    return jnp.sum(bce) / jnp.maximum(mask.sum(), 1.0)


def task_balanced_bce(logits: jnp.ndarray, labels: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Mean over tasks (columns) with at least one selected label of each task's mean BCE.

    ``(1 / |T|) * sum_{k in T} mean_{c: mask[c, k]} bce(c, k)``, ``T`` the tasks with a label in
    ``mask``; 0 when nothing is selected. Equals :func:`masked_bce` when one task is present.

    Example
    -------
    >>> import jax.numpy as jnp
    >>> logits = jnp.array([[0.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    >>> labels = jnp.ones((3, 2))
    >>> mask = jnp.array([[True, True], [True, False], [True, False]])
    >>> # task 0: three labels at loss log 2; task 1: one label at log(1 + e^-2)
    >>> round(float(task_balanced_bce(logits, labels, mask)), 4)
    0.41
    """
    bce, mask = _bce(logits, labels, mask)
    count = mask.sum(axis=0)
    present = count > 0
    per_task = bce.sum(axis=0) / jnp.maximum(count, 1.0)
    return jnp.sum(jnp.where(present, per_task, 0.0)) / jnp.maximum(present.sum(), 1)


OBJECTIVES = {"balanced": task_balanced_bce, "pooled": masked_bce}


def objective_loss(name: str):
    """The loss function of an objective name (``"balanced"`` or ``"pooled"``)."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; valid objectives are "
                         f"{sorted(OBJECTIVES)}") from None


# ----------------------------------------------------------------------- hold-out positions
def holdout_split(sizes, holdout: int):
    """``(n_train, n_validation)`` of per-task sizes under hold-out stride ``holdout``.

    Works on numpy and jax arrays. ``holdout = 0`` holds nothing out.

    Example
    -------
    >>> holdout_split(np.array([16, 4, 0]), 5)
    (array([13,  4,  0]), array([3, 0, 0]))
    """
    if holdout <= 0:
        return sizes, sizes * 0
    n_val = sizes // holdout
    return sizes - n_val, n_val


def is_training_position(position, holdout: int):
    """True where a position of a task's nested order is a training (not validation) label."""
    if holdout <= 0:
        return position >= 0
    return position % holdout != holdout - 1


def _train_position(i, holdout: int):
    """Position in the nested order of a task's ``i``-th training label."""
    if holdout <= 1:
        return i
    return i + i // (holdout - 1)


def validation_labels(order: np.ndarray, sizes: np.ndarray, holdout: int):
    """A run's validation labels as ``(compounds, tasks)`` (host numpy, int32).

    ``order`` is one seed's ``(n_tasks, max_n)`` nested order (``device_arrays()["order"]``),
    ``sizes`` the run's ``(n_tasks,)`` sizes. Task ``k`` contributes positions
    ``m - 1, 2m - 1, ...`` below ``sizes[k]``.
    """
    if holdout <= 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    compounds, tasks = [], []
    for k, n in enumerate(np.asarray(sizes)):
        pos = np.arange(holdout - 1, int(n), holdout)
        compounds.append(order[k, pos])
        tasks.append(np.full(len(pos), k))
    return (np.concatenate(compounds).astype(np.int32),
            np.concatenate(tasks).astype(np.int32))


# ----------------------------------------------------------------------- shared arrays
def device_arrays(data: MultiTaskData, seeds) -> dict[str, np.ndarray]:
    """The arrays every run of a sweep shares (host numpy; put them on a device once).

    ``X`` (uint8 for binary fingerprints, else float32), ``Y`` (NaN -> 0), ``ranks``
    ``(n_seeds, n_compounds, n_tasks)`` nested positions, ``order`` ``(n_seeds, n_tasks,
    max_n)`` the compounds of each task's nested order (padded with 0), and the union of the
    tasks' test compounds: ``test_X``, ``test_Y``, ``test_mask``.
    """
    binary = np.isin(data.X, (0, 1)).all()
    X = data.X.astype(np.uint8 if binary else np.float32)
    test_rows = np.flatnonzero(data.test_mask.any(axis=1)).astype(np.int32)
    max_n = max(1, max(data.n_train().values()))
    order = np.zeros((len(seeds), data.n_tasks, max_n), dtype=np.int32)
    for s, seed in enumerate(seeds):
        for k, task in enumerate(data.tasks):
            perm = task_permutation(data, task, int(seed))
            order[s, k, : len(perm)] = perm
    return {
        "X": X,
        "Y": np.nan_to_num(data.Y, nan=0.0).astype(np.float32),
        "ranks": rank_matrix(data, seeds),
        "order": order,
        "test_X": X[test_rows],
        "test_Y": np.nan_to_num(data.Y[test_rows], nan=0.0).astype(np.float32),
        "test_mask": data.test_mask[test_rows],
    }


def _bias_correction(moment, decay, count):
    """Adam's bias correction ``moment / (1 - decay^count)``, written as a multiply by the
    reciprocal.

    ``optax.tree.bias_correction`` divides by the broadcast scalar. XLA rewrote that division
    into this multiply when it compiled a one-device sweep but kept the per-element division
    when the run axis was sharded over devices (``shard_map``), so the two rounded differently
    in the last bit: 76 of 288 runs of ``lcurve demo``'s sweep trained to different losses and
    15 of its 1,056 scores moved by up to 3e-4 (``experiments/reliability/sweep_devices.py``).
    Written out, both compile to the same arithmetic, the one-device results of before.
    """
    scale = 1 / (1 - decay**count)
    return jax.tree.map(lambda t: t * scale.astype(t.dtype), moment)


def _scale_by_adam(b1: float = 0.9, b2: float = 0.999,
                   eps: float = 1e-8) -> optax.GradientTransformation:
    """``optax.scale_by_adam`` (Kingma & Ba 2015, Algorithm 1; optax's defaults, no
    ``eps_root``, no Nesterov momentum), its bias correction :func:`_bias_correction`."""

    def init_fn(params):
        return optax.ScaleByAdamState(count=jnp.zeros([], jnp.int32),
                                      mu=optax.tree.zeros_like(params),
                                      nu=optax.tree.zeros_like(params))

    def update_fn(updates, state, params=None):
        del params
        mu = optax.tree.update_moment(updates, state.mu, b1, 1)
        nu = optax.tree.update_moment_per_elem_norm(updates, state.nu, b2, 2)
        count = optax.safe_increment(state.count)
        updates = jax.tree.map(lambda m, v: m / (jnp.sqrt(v) + eps),
                               _bias_correction(mu, b1, count), _bias_correction(nu, b2, count))
        return updates, optax.ScaleByAdamState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init_fn, update_fn)


def _adamw(learning_rate, weight_decay, b1: float = 0.9, b2: float = 0.999,
           eps: float = 1e-8) -> optax.GradientTransformation:
    """AdamW (Loshchilov & Hutter 2019, decoupled weight decay) as ``optax.adamw`` builds it:
    Adam's scaling, then ``weight_decay * params``, then ``-learning_rate``."""
    return optax.chain(_scale_by_adam(b1, b2, eps), optax.add_decayed_weights(weight_decay),
                       optax.scale_by_learning_rate(learning_rate))


def make_optimizer(learning_rate, weight_decay) -> optax.GradientTransformation:
    """AdamW with its hyper-parameters as (traceable) state, so they never force a recompile.

    ``optax.adamw``'s algorithm with its bias correction written so that a sweep computes the
    same bits on one device and sharded over several (:func:`_bias_correction`).
    """
    return optax.inject_hyperparams(_adamw)(
        learning_rate=learning_rate, weight_decay=weight_decay
    )


# ----------------------------------------------------------------------- batches
def sample_batch(d, ranks, rows, n_rows, sizes, key, batch_size: int, *, holdout: int = 0):
    """Draw ``batch_size`` of a run's compounds uniformly (with replacement) and its label mask.

    ``rows[:n_rows]`` are the run's compounds; the mask keeps label ``(c, k)`` only when it is
    among the first ``sizes[k]`` of task ``k``'s nested order (``ranks``: one seed's slice) and
    is not a validation position (stride ``holdout``). Returns ``(x float32, y, mask)``.
    """
    pos = jax.random.randint(key, (batch_size,), 0, n_rows)
    compounds = rows[pos]
    x = d["X"][compounds].astype(jnp.float32)
    rank = ranks[compounds]
    mask = (rank < sizes[None, :]) & is_training_position(rank, holdout)
    return x, d["Y"][compounds], mask


def sample_stratified_batch(d, order, sizes, key, batch_size: int, *, holdout: int = 0):
    """A batch in which every task with training labels fills an equal share of the slots.

    ``order`` is one seed's ``(n_tasks, max_n)`` nested order, ``sizes`` the run's per-task
    sizes. Slot ``j`` goes to the ``(j mod T)``-th present task (``T`` tasks with at least one
    training label, in task order) and holds one of its training labels, drawn uniformly with
    replacement; the mask selects that one label. Returns ``(x float32, y, mask)``.
    """
    n_tasks = sizes.shape[0]
    n_train, _ = holdout_split(sizes, holdout)
    present = n_train > 0
    present_tasks = jnp.argsort(~present, stable=True)  # present tasks first, in task order
    n_present = jnp.maximum(present.sum(), 1)
    slot_task = present_tasks[jnp.arange(batch_size) % n_present]
    u = jax.random.uniform(key, (batch_size,))
    i = jnp.minimum((u * n_train[slot_task]).astype(jnp.int32),
                    jnp.maximum(n_train[slot_task] - 1, 0))
    compounds = order[slot_task, _train_position(i, holdout)]
    x = d["X"][compounds].astype(jnp.float32)
    mask = (jnp.arange(n_tasks)[None, :] == slot_task[:, None]) & present[slot_task][:, None]
    return x, d["Y"][compounds], mask


# ----------------------------------------------------------------------- step and scores
def sgd_step(model, tx, params, opt_state, x, y, mask, *, loss=masked_bce, penalty=None):
    """One optimizer step on ``loss`` (default the pooled BCE); ``(params, opt_state, loss)``.

    The objective is ``loss(model.apply(params, x), y, mask)``, plus ``penalty(params)`` when
    given (e.g. an L2 term); the returned value is the objective before the step.
    """
    def objective(p):
        value = loss(model.apply(p, x), y, mask)
        return value if penalty is None else value + penalty(p)

    value, grads = jax.value_and_grad(objective)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value


def evaluate(model, params, d):
    """Per-task test AUROC and AUPRC, ``(n_tasks,)`` each (NaN where a test set has one class)."""
    scores = model.apply(params, d["test_X"].astype(jnp.float32))
    auroc = jax.vmap(masked_auroc, in_axes=1)(scores, d["test_Y"], d["test_mask"])
    auprc = jax.vmap(masked_auprc, in_axes=1)(scores, d["test_Y"], d["test_mask"])
    return auroc, auprc
