"""Full-batch, per-label-weighted training of many runs at once (``vmap`` over weights).

Influence functions need what the sweep trainer does not give: the *final parameters* of a
run, an objective that is (close to) minimised, and retrains that differ from the original in
exactly the samples left out. Here every run sees the same compounds in every step (full
batch, no sampling noise); a run is defined by its ``(n_rows, n_tasks)`` weight matrix over
(compound, task) labels, and leaving a sample out sets its weight to 0. The objective is

``J(theta) = sum_k c_k sum_{z in task k} w_z bce_z(theta) + (l2 / 2) ||theta||^2``

with per-task label weights ``c_k`` fixed by the *original* run (:data:`WEIGHTINGS`:
``"example"``: ``c_k = 1 / n``; ``"task"``: ``c_k = 1 / (n_tasks n_k)``), so removing a label
of task ``k`` is exactly the up-weighting ``epsilon = -c_k`` of influence-function theory.
The weighting is this module's own explicit choice, independent of the trainer core's default
loss. Everything else is the trainer core's: the model (:class:`~lcurve.train.MultiTaskMLP`),
the optimizer (:func:`~lcurve.train.make_optimizer`), the masked loss
(:func:`~lcurve.train.masked_bce`, applied to one task at a time), the step loop
(:func:`~lcurve.train.train_steps` on a :func:`~lcurve.train.full_batch`, the L2 term as the
step's penalty), the compile cache (:func:`~lcurve.train.compiled`) and the split of the runs
over devices (:func:`~lcurve.train.shard_runs`).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from lcurve.data import MultiTaskData
from lcurve.influence.config import WEIGHTINGS
from lcurve.train import (
    MultiTaskMLP,
    compiled,
    full_batch,
    make_optimizer,
    masked_auroc,
    masked_bce,
    shard_runs,
    train_steps,
)

__all__ = ["FitArrays", "fit_arrays", "objective", "task_test_losses", "task_test_auroc",
           "train_weighted"]


@dataclasses.dataclass(frozen=True)
class FitArrays:
    """The arrays of one influence problem (host numpy).

    ``X, Y`` are the compounds with a training label (``rows`` indexes them in the data),
    ``weights`` the base run's label weights (1 = in training), ``task_scale`` the weight
    ``c_k`` of one label of task ``k`` in the objective; ``eval_X, eval_Y, eval_mask`` the
    labels that define each task's evaluation loss ``L_i`` (the test labels by default).
    """

    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray
    rows: np.ndarray
    eval_X: np.ndarray
    eval_Y: np.ndarray
    eval_mask: np.ndarray
    task_scale: np.ndarray

    @property
    def n_ref(self) -> float:
        return float(self.weights.sum())

    def label_scale(self) -> np.ndarray:
        """``(n_rows, n_tasks)``: the objective weight of each label (0 where not trained on)."""
        return self.weights * self.task_scale[None, :]


def fit_arrays(data: MultiTaskData, *, train_mask=None, eval_mask=None,
               weighting: str = "example") -> FitArrays:
    """Collect training and evaluation arrays (defaults: ``data.train_mask`` / ``data.test_mask``).

    ``weighting`` fixes the per-label objective weights (``"example"`` or ``"task"``).
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    train = data.train_mask if train_mask is None else np.asarray(train_mask, bool)
    evaluate = data.test_mask if eval_mask is None else np.asarray(eval_mask, bool)
    for name, mask in (("train_mask", train), ("eval_mask", evaluate)):
        if mask.shape != data.Y.shape:
            raise ValueError(f"{name} shape {mask.shape} differs from the labels {data.Y.shape}")
        if (mask & ~data.measured).any():
            raise ValueError(f"{name} marks unmeasured (NaN) labels")
    if (train & evaluate).any():
        raise ValueError("a label is both a training and an evaluation label")
    if not train.any():
        raise ValueError("there are no training labels")
    # All compounds with a training label in the data (not only in ``train``): runs on
    # different subsets of one data set then share array shapes, hence compilations.
    rows = np.flatnonzero(train.any(axis=1) | data.train_mask.any(axis=1))
    eval_rows = np.flatnonzero(evaluate.any(axis=1))
    X = np.asarray(data.X, dtype=np.float32)
    Y = np.nan_to_num(data.Y, nan=0.0).astype(np.float32)
    counts = train.sum(axis=0).astype(np.float64)
    if weighting == "example":
        task_scale = np.full(data.n_tasks, 1.0 / counts.sum())
    else:
        present = counts > 0
        task_scale = np.where(present, 1.0 / (present.sum() * np.maximum(counts, 1)), 0.0)
    return FitArrays(X=X[rows], Y=Y[rows], weights=train[rows].astype(np.float32), rows=rows,
                     eval_X=X[eval_rows], eval_Y=Y[eval_rows], eval_mask=evaluate[eval_rows],
                     task_scale=task_scale.astype(np.float32))


def _sq_norm(params) -> jnp.ndarray:
    return sum(jnp.sum(p ** 2) for p in jax.tree.leaves(params))


def data_loss(logits, Y, weights, task_scale) -> jnp.ndarray:
    """``sum_k c_k sum_z w_z bce_z``: the core's masked BCE per task, times its weight total."""
    per_task = jax.vmap(masked_bce, in_axes=1)(logits, Y, weights)
    return jnp.sum(per_task * weights.sum(axis=0) * task_scale)


def objective(model, params, X, Y, weights, task_scale, l2) -> jnp.ndarray:
    """``J(theta)``: the weighted BCE (:func:`data_loss`) plus ``l2 / 2 ||theta||^2``."""
    return data_loss(model.apply(params, X), Y, weights, task_scale) + 0.5 * l2 * _sq_norm(params)


def task_test_losses(model, params, arrays: FitArrays) -> jnp.ndarray:
    """Mean evaluation BCE of each task, ``(n_tasks,)`` (``L_i`` of the influence formula)."""
    logits = model.apply(params, jnp.asarray(arrays.eval_X))
    mask = jnp.asarray(arrays.eval_mask)
    return jax.vmap(masked_bce, in_axes=1)(logits, jnp.asarray(arrays.eval_Y), mask)


def task_test_auroc(model, params, arrays: FitArrays) -> jnp.ndarray:
    """Evaluation AUROC of each task, ``(n_tasks,)``."""
    logits = model.apply(params, jnp.asarray(arrays.eval_X))
    return jax.vmap(masked_auroc, in_axes=1)(logits, jnp.asarray(arrays.eval_Y),
                                              jnp.asarray(arrays.eval_mask))


def train_weighted(model: MultiTaskMLP, arrays: FitArrays, weights, key, *, steps: int,
                   learning_rate: float, l2, devices=None):
    """Train one run per weight matrix, all from the same initialisation, in one vmapped program.

    Every run is the trainer core's step loop (:func:`lcurve.train.train_steps`) on one full
    batch (:func:`lcurve.train.full_batch`) with the objective :func:`objective` (the data
    loss, plus the L2 term as the step's ``penalty``).

    Parameters
    ----------
    model
        The network.
    arrays
        Training arrays (:func:`fit_arrays`); ``arrays.task_scale`` weighs every run's labels.
    weights
        ``(n_runs, n_rows, n_tasks)`` label weights (0 leaves a label out).
    key
        PRNG key of the shared initialisation (a run's result depends only on its weights).
    steps, learning_rate
        Full-batch AdamW steps (:func:`lcurve.train.make_optimizer`, cosine-decayed learning
        rate, no decoupled decay).
    l2
        L2 strength of the objective: a number, or one per run (``(n_runs,)``).
    devices
        Devices to split the runs over (:func:`lcurve.train.shard_runs`); default all local
        devices (one device: a plain ``vmap``).

    Returns
    -------
    params, final_objective, grad_norm
        Parameters with a leading run axis, and each run's final objective and gradient norm
        (a check that a stationary point was reached).
    """
    weights = jnp.asarray(weights, jnp.float32)
    if weights.ndim != 3 or weights.shape[1:] != arrays.weights.shape:
        raise ValueError(f"weights must be (n_runs, {arrays.weights.shape[0]}, "
                         f"{arrays.weights.shape[1]}), got {tuple(weights.shape)}")
    l2 = jnp.broadcast_to(jnp.asarray(l2, jnp.float32), weights.shape[:1])
    devices = tuple(jax.local_devices() if devices is None else devices)
    program = compiled(("influence", model, int(steps), devices),
                       lambda: _weighted_runs(model, int(steps), devices))
    return program(jnp.asarray(arrays.X), jnp.asarray(arrays.Y), weights,
                   jnp.asarray(arrays.task_scale), key, jnp.float32(learning_rate), l2)


def _weighted_runs(model, steps, devices):
    """``(X, Y, weights, task_scale, key, learning_rate, l2) -> params, objective, grad norm``."""
    def runs(X, Y, weights, task_scale, key, learning_rate, l2):
        params0 = model.init(key, X[:1])
        schedule = lambda count: learning_rate * (  # noqa: E731
            0.02 + 0.98 * 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(count / steps, 1.0))))
        tx = make_optimizer(schedule, 0.0)
        data = lambda logits, y, w: data_loss(logits, y, w, task_scale)  # noqa: E731

        def one(w, l2_run):
            penalty = lambda p: 0.5 * l2_run * _sq_norm(p)  # noqa: E731
            (params, _, _, _), _ = train_steps(model, tx, data, full_batch(X, Y, w), None,
                                               params0, tx.init(params0), jnp.arange(steps),
                                               penalty=penalty)
            value, grads = jax.value_and_grad(
                lambda p: objective(model, p, X, Y, w, task_scale, l2_run))(params)
            return params, value, jnp.sqrt(_sq_norm(grads))

        return jax.vmap(one)(weights, l2)

    return shard_runs(runs, devices, in_axes=(None, None, 0, None, None, None, 0))
