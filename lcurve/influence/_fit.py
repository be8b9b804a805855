"""Full-batch, per-example-weighted training of many runs at once (``vmap`` over weights).

Influence functions need what the sweep trainer does not give: the *final parameters* of a
run, an objective that is (close to) minimised, and retrains that differ from the original in
exactly the samples left out. Here every run sees the same compounds in every step (full
batch, no sampling noise); a run is defined by its ``(n_rows, n_tasks)`` weight matrix over
(compound, task) labels, and leaving a sample out sets its weight to 0. The objective is

``J(theta) = (1 / n_ref) * sum_z w_z * bce_z(theta) + (l2 / 2) * ||theta||^2``

with ``n_ref`` the number of labels of the *original* run, so removing a sample is exactly the
``epsilon = -1 / n_ref`` up-weighting of influence-function theory.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lcurve.data import MultiTaskData
from lcurve.train import MultiTaskMLP
from lcurve.train._trainer import make_optimizer, masked_bce
from lcurve.train.metrics import masked_auroc

__all__ = ["FitArrays", "fit_arrays", "objective", "task_test_losses", "task_test_auroc",
           "train_weighted"]


@dataclasses.dataclass(frozen=True)
class FitArrays:
    """The arrays of one influence problem (host numpy).

    ``X, Y`` are the compounds with a training label (``rows`` indexes them in the data),
    ``weights`` the base run's label weights (1 = in training); ``eval_X, eval_Y, eval_mask``
    the labels that define each task's evaluation loss ``L_i`` (the test labels by default).
    """

    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray
    rows: np.ndarray
    eval_X: np.ndarray
    eval_Y: np.ndarray
    eval_mask: np.ndarray

    @property
    def n_ref(self) -> float:
        return float(self.weights.sum())


def fit_arrays(data: MultiTaskData, *, train_mask=None, eval_mask=None) -> FitArrays:
    """Collect training and evaluation arrays (defaults: ``data.train_mask`` / ``data.test_mask``)."""
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
    return FitArrays(X=X[rows], Y=Y[rows], weights=train[rows].astype(np.float32), rows=rows,
                     eval_X=X[eval_rows], eval_Y=Y[eval_rows], eval_mask=evaluate[eval_rows])


def _sq_norm(params) -> jnp.ndarray:
    return sum(jnp.sum(p ** 2) for p in jax.tree.leaves(params))


def objective(model, params, X, Y, weights, n_ref, l2) -> jnp.ndarray:
    """``J(theta)``: weighted BCE normalised by the fixed ``n_ref`` plus ``l2 / 2 ||theta||^2``."""
    data_term = masked_bce(model.apply(params, X), Y, weights) * (
        jnp.maximum(weights.sum(), 1.0) / n_ref)
    return data_term + 0.5 * l2 * _sq_norm(params)


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
                   learning_rate: float, l2: float):
    """Train one run per weight matrix, all from the same initialisation, in one vmapped program.

    Parameters
    ----------
    model
        The network.
    arrays
        Training arrays (:func:`fit_arrays`); ``arrays.n_ref`` normalises every run's loss.
    weights
        ``(n_runs, n_rows, n_tasks)`` label weights (0 leaves a label out).
    key
        PRNG key of the shared initialisation (a run's result depends only on its weights).
    steps, learning_rate, l2
        Full-batch AdamW steps (cosine-decayed learning rate, no decoupled decay) and the L2
        strength of the objective.

    Returns
    -------
    params, final_objective, grad_norm
        Parameters with a leading run axis, and each run's final objective and gradient norm
        (a check that the optimum was reached).
    """
    weights = jnp.asarray(weights, jnp.float32)
    if weights.ndim != 3 or weights.shape[1:] != arrays.weights.shape:
        raise ValueError(f"weights must be (n_runs, {arrays.weights.shape[0]}, "
                         f"{arrays.weights.shape[1]}), got {tuple(weights.shape)}")
    return _train(model, int(steps), jnp.asarray(arrays.X), jnp.asarray(arrays.Y), weights,
                  jnp.float32(arrays.n_ref), key, jnp.float32(learning_rate), jnp.float32(l2))


def _train_impl(model, steps, X, Y, weights, n_ref, key, learning_rate, l2):
    params0 = model.init(key, X[:1])
    schedule = lambda count: learning_rate * (  # noqa: E731
        0.02 + 0.98 * 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(count / steps, 1.0))))
    tx = make_optimizer(schedule, 0.0)

    def one(w):
        loss = lambda p: objective(model, p, X, Y, w, n_ref, l2)  # noqa: E731

        def step(carry, _):
            params, opt_state = carry
            grads = jax.grad(loss)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, _), _ = jax.lax.scan(step, (params0, tx.init(params0)), None, length=steps)
        value, grads = jax.value_and_grad(loss)(params)
        return params, value, jnp.sqrt(_sq_norm(grads))

    return jax.vmap(one)(weights)


_train = jax.jit(_train_impl, static_argnums=(0, 1))
