"""MTIF: influence of task j's training samples on task i's test loss (Tu et al. 2025).

For the hard-parameter-sharing network with parameters ``theta`` (shared trunk *and* all
heads) minimising ``J`` (see :mod:`lcurve.influence._fit`), the influence of up-weighting a
training label ``z`` of task ``j`` on task ``i``'s test loss is

``I(z, i) = -grad L_i(test)^T (H + damping I)^-1 grad l_z``,

with ``H`` the Hessian of ``J`` at the fitted ``theta``. Removing ``z`` is the up-weighting
``epsilon = -1 / n``, so the predicted change of ``L_i`` is ``removal_effect = -I(z, i) / n``:
negative means removing ``z`` lowers task ``i``'s loss (``z`` harms ``i``). Task-level
relatedness is the sum of removal effects over all of task ``j``'s samples: the first-order
prediction of leaving task ``j`` out.

Hessian-vector products are forward-over-reverse (``jax.jvp`` of ``jax.grad``); ``H^-1 g``
is solved by conjugate gradients (``jax.scipy.sparse.linalg.cg``), one solve per target task,
vmapped. Per-sample products ``grad l_z . s`` for all samples come from one ``jax.jvp`` of the
logits (``d bce / d logit = sigmoid(logit) - y``), so no per-sample gradients are stored.

Example
-------
>>> from lcurve.datasets import make_synthetic
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=200, n_features=8, seed=0)
>>> mtif = MTIF(data, hidden=(4,), steps=300).fit()
>>> mtif.task_influence()[["source", "target", "predicted"]].shape
(9, 3)
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.flatten_util import ravel_pytree

from lcurve.data import MultiTaskData
from lcurve.influence._fit import (
    fit_arrays,
    objective,
    task_test_auroc,
    task_test_losses,
    train_weighted,
)
from lcurve.train._trainer import masked_bce
from lcurve.train import MultiTaskMLP

__all__ = ["MTIF"]


class MTIF:
    """Multitask influence functions for one trained hard-parameter-sharing network.

    Parameters
    ----------
    data
        Multi-task data.
    hidden, steps, learning_rate, l2, seed
        Network and full-batch training settings; ``seed`` fixes the initialisation (shared by
        every retrain, so retrains differ only in their data).
    damping
        Added to the Hessian's diagonal before solving (keeps the solve stable where ``H`` is
        not positive definite).
    cg_tol, cg_maxiter
        Conjugate-gradient tolerance and iteration cap.
    train_mask, eval_mask
        Labels to train on and to define ``L_i`` (default the training and test labels).
    run_bucket
        Retrains are padded to a multiple of this many vmapped runs (fewer compilations).

    Attributes (after :meth:`fit`)
    ------------------------------
    params_, objective_, grad_norm_
        Fitted parameters, final objective and its gradient norm.
    """

    def __init__(self, data: MultiTaskData, *, hidden=(16,), steps: int = 1000,
                 learning_rate: float = 1e-2, l2: float = 1e-3, damping: float = 1e-3,
                 cg_tol: float = 1e-6, cg_maxiter: int = 300, seed: int = 0,
                 train_mask=None, eval_mask=None, run_bucket: int = 4):
        for name, value in (("steps", steps), ("learning_rate", learning_rate),
                            ("cg_maxiter", cg_maxiter), ("run_bucket", run_bucket)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        for name, value in (("l2", l2), ("damping", damping)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        self.data = data
        self.hidden = tuple(int(h) for h in hidden)
        self.steps, self.learning_rate, self.l2 = int(steps), float(learning_rate), float(l2)
        self.damping, self.cg_tol, self.cg_maxiter = float(damping), float(cg_tol), int(cg_maxiter)
        self.seed, self.run_bucket = int(seed), int(run_bucket)
        self.train_mask, self.eval_mask = train_mask, eval_mask
        self.model = MultiTaskMLP(hidden=self.hidden, n_tasks=data.n_tasks)

    # ------------------------------------------------------------------ fitting
    @property
    def key(self) -> jax.Array:
        return jax.random.key(self.seed)

    def fit(self) -> MTIF:
        """Train the network on all training labels; returns ``self``."""
        self.arrays_ = fit_arrays(self.data, train_mask=self.train_mask, eval_mask=self.eval_mask)
        params, value, gnorm = train_weighted(
            self.model, self.arrays_, self.arrays_.weights[None], self.key, steps=self.steps,
            learning_rate=self.learning_rate, l2=self.l2)
        self.params_ = jax.tree.map(lambda p: p[0], params)
        self.objective_, self.grad_norm_ = float(value[0]), float(gnorm[0])
        self._flat, self._unravel = _ravel(self.model, self.params_)
        self._solutions = {}  # exact flag -> (H + damping I)^-1 grad L_i, computed on demand
        return self

    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise RuntimeError("call .fit() before computing influences")

    def _problem(self):
        """Static and array arguments of the module-level jitted functions."""
        a = self.arrays_
        static = (self.model, self._unravel)
        arrays = (jnp.asarray(a.X), jnp.asarray(a.Y), jnp.asarray(a.weights),
                  jnp.float32(a.n_ref), jnp.float32(self.l2))
        return static, arrays

    # ------------------------------------------------------------------ linear algebra
    def hvp(self, vector) -> jnp.ndarray:
        """``H v`` for a flat parameter vector (forward-over-reverse)."""
        self._check_fitted()
        static, arrays = self._problem()
        return _hvp(*static, self._flat, arrays, jnp.asarray(vector, self._flat.dtype))

    def hessian(self) -> np.ndarray:
        """The explicit Hessian of ``J`` (``P x P``; tiny models only, for checks)."""
        self._check_fitted()
        static, arrays = self._problem()
        return np.asarray(jax.jit(jax.hessian(
            lambda flat: _objective_flat(*static, flat, arrays)))(self._flat))

    def test_gradients(self) -> jnp.ndarray:
        """``grad L_i(test)`` for every task, ``(n_tasks, P)``."""
        self._check_fitted()
        a = self.arrays_
        return _test_gradients(self.model, self._unravel, self._flat, jnp.asarray(a.eval_X),
                               jnp.asarray(a.eval_Y), jnp.asarray(a.eval_mask))

    def inverse_hvp(self, vectors, *, exact: bool = False) -> jnp.ndarray:
        """Solve ``(H + damping I) s = v`` for each row of ``vectors`` (CG, or dense if exact)."""
        self._check_fitted()
        vectors = jnp.atleast_2d(jnp.asarray(vectors))
        if exact:
            h = self.hessian() + self.damping * np.eye(self._flat.size)
            return jnp.asarray(np.linalg.solve(h, np.asarray(vectors, np.float64).T).T)
        static, arrays = self._problem()
        return _cg_solve(*static, self._flat, arrays, vectors.astype(self._flat.dtype),
                         jnp.float32(self.damping), self.cg_tol, self.cg_maxiter)

    # ------------------------------------------------------------------ influences
    def influence_matrix(self, *, exact: bool = False) -> np.ndarray:
        """``I(z, i)`` as ``(n_rows, n_tasks_source, n_tasks_target)``; zero where no sample."""
        self._check_fitted()
        if exact not in self._solutions:
            self._solutions[exact] = self.inverse_hvp(self.test_gradients(), exact=exact)
        solutions = self._solutions[exact]
        a = self.arrays_
        grad_dot = _sample_products(self.model, self._unravel, self._flat, jnp.asarray(a.X),
                                    jnp.asarray(a.Y), solutions.astype(self._flat.dtype))
        infl = -np.moveaxis(np.asarray(grad_dot), 0, -1)  # (rows, source tasks, targets)
        return infl * a.weights[..., None]

    def sample_influence(self, *, exact: bool = False) -> pd.DataFrame:
        """One row per (training label, target task).

        Returns
        -------
        pandas.DataFrame
            ``compound, source, target, influence, removal_effect``: ``influence`` is
            ``I(z, i)``, ``removal_effect = -I / n`` the predicted change in the target's test
            loss when the label is removed (negative: the label harms the target).
        """
        infl = self.influence_matrix(exact=exact)
        a, tasks = self.arrays_, np.asarray(self.data.tasks, dtype=object)
        r, s = np.nonzero(a.weights)
        n_t = len(tasks)
        table = pd.DataFrame({
            "compound": np.repeat(np.asarray(self.data.compound_ids, dtype=object)[a.rows[r]], n_t),
            "row": np.repeat(r, n_t), "source": np.repeat(tasks[s], n_t),
            "target": np.tile(tasks, len(r)), "influence": infl[r, s].reshape(-1),
        })
        table["removal_effect"] = -table["influence"] / a.n_ref
        return table

    def task_influence(self, *, exact: bool = False) -> pd.DataFrame:
        """Task-level relatedness: summed removal effects of each source's samples.

        Returns ``source, target, predicted, n_samples, harmful_fraction`` where ``predicted``
        is the first-order change in the target's test loss when the whole source is left out
        (positive: the source helps the target), sorted largest first.
        """
        samples = self.sample_influence(exact=exact)
        out = samples.groupby(["source", "target"], as_index=False).agg(
            predicted=("removal_effect", "sum"), n_samples=("removal_effect", "size"),
            harmful_fraction=("removal_effect", lambda v: float((v < 0).mean())))
        return out.sort_values("predicted", ascending=False, ignore_index=True)

    # ------------------------------------------------------------------ retraining
    def retrain(self, removals: dict[str, np.ndarray]) -> pd.DataFrame:
        """Actually retrain without given labels, next to an unchanged refit, in one vmap.

        Parameters
        ----------
        removals
            Name -> boolean ``(n_rows, n_tasks)`` mask of training labels to remove.

        Returns
        -------
        pandas.DataFrame
            ``removal, target, test_loss, delta_loss, test_auroc, delta_auroc`` (deltas against
            the refit on all labels, trained by the same program).
        """
        self._check_fitted()
        a = self.arrays_
        weights = [a.weights]
        for name, mask in removals.items():
            mask = np.asarray(mask, bool)
            if mask.shape != a.weights.shape:
                raise ValueError(f"removal {name!r} has shape {mask.shape}, expected "
                                 f"{a.weights.shape} (n_rows, n_tasks)")
            weights.append(a.weights * ~mask)
        n_runs = len(weights)
        weights += [a.weights] * (-n_runs % self.run_bucket)  # pad: fewer compiled shapes
        params, _, _ = train_weighted(self.model, a, np.stack(weights), self.key,
                                      steps=self.steps, learning_rate=self.learning_rate,
                                      l2=self.l2)
        params = jax.tree.map(lambda p: p[:n_runs], params)
        losses = np.asarray(jax.vmap(lambda p: task_test_losses(self.model, p, a))(params))
        auroc = np.asarray(jax.vmap(lambda p: task_test_auroc(self.model, p, a))(params))
        rows = []
        for k, name in enumerate(removals, start=1):
            for t, target in enumerate(self.data.tasks):
                rows.append({"removal": name, "target": target, "test_loss": losses[k, t],
                             "delta_loss": losses[k, t] - losses[0, t],
                             "test_auroc": auroc[k, t], "delta_auroc": auroc[k, t] - auroc[0, t]})
        return pd.DataFrame(rows)

    def leave_task_out(self, *, exact: bool = False) -> pd.DataFrame:
        """Predicted (MTIF) and actual (retrained) change of each target's test loss when each
        source task's training labels are all removed: ``source, target, predicted, actual``."""
        self._check_fitted()
        removals = {}
        for j, source in enumerate(self.data.tasks):
            mask = np.zeros(self.arrays_.weights.shape, bool)
            mask[:, j] = self.arrays_.weights[:, j] > 0
            removals[source] = mask
        actual = self.retrain(removals).rename(columns={"removal": "source"})
        table = self.task_influence(exact=exact).merge(
            actual[["source", "target", "delta_loss", "delta_auroc"]], on=["source", "target"])
        return table.rename(columns={"delta_loss": "actual", "delta_auroc": "actual_auroc"})


_UNRAVEL_CACHE: dict = {}


def _ravel(model, params):
    """``ravel_pytree`` with one shared ``unravel`` per model and parameter shapes, so the
    jitted functions below (which take it as a static argument) compile once per shape."""
    flat, unravel = ravel_pytree(params)
    key = (model, jax.tree.structure(params),
           tuple((p.shape, str(p.dtype)) for p in jax.tree.leaves(params)))
    return flat, _UNRAVEL_CACHE.setdefault(key, unravel)


def _objective_flat(model, unravel, flat, arrays):
    X, Y, weights, n_ref, l2 = arrays
    return objective(model, unravel(flat), X, Y, weights, n_ref, l2)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _hvp(model, unravel, flat, arrays, vector):
    grad = jax.grad(lambda p: _objective_flat(model, unravel, p, arrays))
    return jax.jvp(grad, (flat,), (vector,))[1]


@functools.partial(jax.jit, static_argnums=(0, 1))
def _test_gradients(model, unravel, flat, eval_X, eval_Y, eval_mask):
    def losses(p):
        logits = model.apply(unravel(p), eval_X)
        return jax.vmap(masked_bce, in_axes=1)(logits, eval_Y, eval_mask)

    return jax.jacrev(losses)(flat)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _sample_products(model, unravel, flat, X, Y, solutions):
    """``grad l_z . s`` for every label z and solution s: ``(n_solutions, n_rows, n_tasks)``."""
    def logits(p):
        return model.apply(unravel(p), X)

    residual = jax.nn.sigmoid(logits(flat)) - Y  # d bce / d logit
    directional = jax.vmap(lambda s: jax.jvp(logits, (flat,), (s,))[1])(solutions)
    return residual[None] * directional


@functools.partial(jax.jit, static_argnums=(0, 1, 6, 7))
def _cg_solve(model, unravel, flat, arrays, vectors, damping, tol, maxiter):
    """Solve ``(H + damping I) s = v`` for each row ``v`` by conjugate gradients (vmapped)."""
    grad = jax.grad(lambda p: _objective_flat(model, unravel, p, arrays))

    def matvec(v):
        return jax.jvp(grad, (flat,), (v,))[1] + damping * v

    def solve(b):
        return jax.scipy.sparse.linalg.cg(matvec, b, tol=tol, maxiter=maxiter)[0]

    return jax.vmap(solve)(vectors)
