"""MTIF: influence of task j's training samples on task i's test loss (Tu et al. 2025).

For the hard-parameter-sharing network with parameters ``theta`` (shared trunk *and* all
heads) minimising ``J`` (see :mod:`lcurve.influence._fit`), removing a training label ``z``
(objective weight ``c_z``) moves the optimum by ``c_z A^-1 grad l_z`` to first order (Koh &
Liang 2017, Eq. 2 with ``epsilon = -c_z``), with ``A = C + damping I`` and ``C`` the curvature
of ``J`` at the fitted ``theta`` (Gauss-Newton by default, see
:mod:`lcurve.influence.curvature`). The predicted change of task ``i``'s test loss is

``removal_effect(z, i) = c_z grad L_i^T A^-1 grad l_z``,

positive when ``z`` helps ``i`` (removing it raises the loss), and ``influence = -removal_effect
/ c_z`` is Koh & Liang's ``I_up,loss``. Task-level relatedness sums removal effects over a
source task's labels (Tu et al. 2025, Eq. 4): the first-order prediction of leaving it out.
:meth:`MTIF.predict_removals` also gives the one-step Newton estimate of removing a *group*
(Pregibon 1981; Koh, Ang, Teo & Liang 2019, Sec. 3): ``Delta theta = A_{-S}^-1 g_S`` with the
curvature of the objective *without* the group, and the test loss evaluated at ``theta +
Delta theta``.

Every solve is checked (:func:`lcurve.influence.solvers.check_solves`): its relative residual
is recomputed with the full operator and recorded in :meth:`MTIF.solve_diagnostics`, and a
solve that met negative curvature or missed ``max_residual`` raises (or warns loudly). The fit
is checked for stationarity: a gradient norm above ``max_grad_norm`` raises (or warns), and the
``drift`` of each target (the first-order change of its test loss if the optimisation were
finished, ``-grad L_i^T A^-1 grad J``) is reported beside the predictions it would bias.

Example
-------
>>> from lcurve.config import TrainConfig
>>> from lcurve.datasets import make_synthetic
>>> from lcurve.influence.config import InfluenceConfig
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=200, n_features=8, seed=0)
>>> train = TrainConfig(hidden=(4,), steps=1500, learning_rate=0.02, weight_decay=0.0)
>>> mtif = MTIF(data, train=train, influence=InfluenceConfig(l2=0.01)).fit()
>>> mtif.task_influence()[["source", "target", "predicted"]].shape
(9, 3)
>>> bool(mtif.solve_diagnostics()["relative_residual"].max() < 1e-3)
True
"""

from __future__ import annotations

import functools
import logging
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.flatten_util import ravel_pytree

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.influence._fit import (
    FitArrays,
    fit_arrays,
    task_test_auroc,
    task_test_losses,
    train_weighted,
)
from lcurve.influence.config import InfluenceConfig, check_train_config
from lcurve.influence.curvature import CURVATURE_PRODUCTS, dense_curvature, objective_flat
from lcurve.influence.solvers import (
    InfluenceSolveError,
    InfluenceWarning,
    SolveResult,
    cg_arrays,
    check_solves,
    largest_eigenvalue,
    lissa_arrays,
)
from lcurve.train import MultiTaskMLP, masked_bce

logger = logging.getLogger(__name__)

__all__ = ["MTIF", "NonStationaryError"]

DEFAULT_TRAIN = TrainConfig(hidden=(16,), steps=1000, learning_rate=1e-2, weight_decay=0.0)


class NonStationaryError(InfluenceSolveError):
    """The fit stopped where the objective's gradient is not (close to) zero."""


class MTIF:
    """Multitask influence functions for one trained hard-parameter-sharing network.

    Parameters
    ----------
    data
        Multi-task data.
    train
        Network and full-batch training (``hidden``, ``steps``, ``learning_rate``; its
        ``weight_decay`` must be 0, the penalty is ``influence.l2``).
    influence
        Objective weighting, L2, curvature, solver and the checks (:class:`InfluenceConfig`).
    train_mask, eval_mask
        Labels to train on and to define ``L_i`` (default the training and test labels).
    run_bucket
        Retrains are padded to a multiple of this many vmapped runs (fewer compilations).

    Attributes (after :meth:`fit`)
    ------------------------------
    params_, objective_, grad_norm_
        Fitted parameters, final objective and its gradient norm.
    arrays_
        The :class:`~lcurve.influence.FitArrays` of the problem.
    """

    def __init__(self, data: MultiTaskData, *, train: TrainConfig | None = None,
                 influence: InfluenceConfig | None = None, train_mask=None, eval_mask=None,
                 run_bucket: int = 4):
        if run_bucket <= 0:
            raise ValueError(f"run_bucket must be > 0, got {run_bucket!r}")
        self.data = data
        self.train = check_train_config(DEFAULT_TRAIN if train is None else train)
        self.influence = InfluenceConfig() if influence is None else influence
        self.train_mask, self.eval_mask = train_mask, eval_mask
        self.run_bucket = int(run_bucket)
        self.model = MultiTaskMLP(hidden=tuple(self.train.hidden), n_tasks=data.n_tasks)

    # ------------------------------------------------------------------ fitting
    @property
    def key(self) -> jax.Array:
        return jax.random.key(self.influence.seed)

    def _train(self, weights, *, l2=None):
        return train_weighted(self.model, self.arrays_, weights, self.key,
                              steps=self.train.steps, learning_rate=self.train.learning_rate,
                              l2=self.influence.l2 if l2 is None else l2)

    def fit(self) -> MTIF:
        """Train the network on all training labels and check stationarity; returns ``self``."""
        c = self.influence
        self.arrays_: FitArrays = fit_arrays(self.data, train_mask=self.train_mask,
                                             eval_mask=self.eval_mask, weighting=c.weighting)
        params, value, gnorm = self._train(self.arrays_.weights[None])
        self.params_ = jax.tree.map(lambda p: p[0], params)
        self.objective_, self.grad_norm_ = float(value[0]), float(gnorm[0])
        self._flat, self._unravel = _ravel(self.model, self.params_)
        self._solutions = {}
        self._records: list[dict] = []
        self._scale = None
        if not self.grad_norm_ <= c.max_grad_norm:
            message = (f"the fit is not at a stationary point: gradient norm {self.grad_norm_:.3g} "
                       f"> max_grad_norm={c.max_grad_norm:g} (objective {self.objective_:.4g}); "
                       "train longer or with a smaller final learning rate")
            if c.on_failure == "raise":
                raise NonStationaryError(message)
            warnings.warn("INFLUENCES UNRELIABLE: " + message, InfluenceWarning, stacklevel=2)
        return self

    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise RuntimeError("call .fit() before computing influences")

    def _problem(self, weights=None):
        a = self.arrays_
        w = a.weights if weights is None else weights
        return (jnp.asarray(a.X), jnp.asarray(a.Y), jnp.asarray(w, jnp.float32),
                jnp.asarray(a.task_scale), jnp.float32(self.influence.l2))

    # ------------------------------------------------------------------ linear algebra
    def curvature_product(self, vector) -> jnp.ndarray:
        """``C v`` (without damping) for a flat parameter vector."""
        self._check_fitted()
        return _product(self.model, self._unravel, self.influence.curvature, self._flat,
                        self._problem(), jnp.asarray(vector, self._flat.dtype))

    def curvature_matrix(self) -> np.ndarray:
        """The explicit curvature ``C`` (``P x P``; tiny models only, for checks)."""
        self._check_fitted()
        return np.asarray(dense_curvature(self.model, self._unravel, self._flat, self._problem(),
                                          curvature=self.influence.curvature))

    def objective_gradient(self) -> jnp.ndarray:
        """``grad J`` at the fitted parameters (zero at a stationary point)."""
        self._check_fitted()
        return _grad(self.model, self._unravel, self._flat, self._problem())

    def test_gradients(self) -> jnp.ndarray:
        """``grad L_i(test)`` for every task, ``(n_tasks, P)``."""
        self._check_fitted()
        a = self.arrays_
        return _test_gradients(self.model, self._unravel, self._flat, jnp.asarray(a.eval_X),
                               jnp.asarray(a.eval_Y), jnp.asarray(a.eval_mask))

    def _lissa_scale(self) -> float:
        c = self.influence
        if c.lissa_scale is not None:
            return c.lissa_scale
        if self._scale is None:
            matvec = lambda v: self.curvature_product(v) + c.damping * v  # noqa: E731
            top = largest_eigenvalue(matvec, self._flat.size, jax.random.fold_in(self.key, 1))
            self._scale = 1.5 * abs(top)
        return self._scale

    def solve(self, rhs, *, weights=None, names=None, exact: bool = False) -> SolveResult:
        """Solve ``(C + damping I) x = b`` for each row of ``rhs``, check and record each solve.

        Parameters
        ----------
        rhs
            ``(n, P)`` right-hand sides.
        weights
            ``(n, n_rows, n_tasks)`` label weights defining each row's curvature (default:
            the fitted run's weights for every row).
        names
            A label per row for :meth:`solve_diagnostics`.
        exact
            Dense solve with the explicit curvature (tiny models; a reference for tests).
        """
        self._check_fitted()
        c = self.influence
        rhs = jnp.atleast_2d(jnp.asarray(rhs, self._flat.dtype))
        n = rhs.shape[0]
        names = [f"rhs{k}" for k in range(n)] if names is None else list(names)
        if exact:
            if weights is not None:
                raise ValueError("exact solves use the fitted weights only")
            a = self.curvature_matrix().astype(np.float64) + c.damping * np.eye(self._flat.size)
            b = np.asarray(rhs, np.float64)
            x = np.linalg.solve(a, b.T).T
            res = np.linalg.norm(x @ a - b, axis=1) / np.linalg.norm(b, axis=1)
            neg = np.full(n, np.linalg.eigvalsh(a)[0] <= 0)
            result = SolveResult(jnp.asarray(x), res, np.zeros(n, int), neg)
            solver = "dense"
        else:
            w = np.broadcast_to(self.arrays_.weights, (n, *self.arrays_.weights.shape)) \
                if weights is None else np.asarray(weights, np.float32)
            problem = self._problem()
            if c.solver == "cg":
                opts = (("cg", c.tol, c.max_iter),)
            else:
                opts = (("lissa", self._lissa_scale(), c.lissa_depth, c.lissa_repeats,
                         c.lissa_batch_size),)
            key = jax.random.fold_in(self.key, 2 + len(self._records))
            out = _solve_many(self.model, self._unravel, c.curvature, opts[0][0], opts[0][1:],
                              self._flat, problem, jnp.asarray(w), rhs,
                              jnp.float32(c.damping), key)
            result = SolveResult(out[0], *(np.asarray(o) for o in out[1:]))
            solver = c.solver
        for k, name in enumerate(names):
            self._records.append({
                "solve": name, "solver": solver, "curvature": c.curvature,
                "damping": c.damping, "iterations": int(result.iterations[k]),
                "relative_residual": float(result.relative_residual[k]),
                "negative_curvature": bool(result.negative_curvature[k])})
        check_solves(result, max_residual=c.max_residual, on_failure=c.on_failure,
                     what=f"{solver} solve with curvature={c.curvature!r}")
        return result

    def solve_diagnostics(self) -> pd.DataFrame:
        """One row per solve so far: ``solve, solver, curvature, damping, iterations,
        relative_residual, negative_curvature``."""
        self._check_fitted()
        return pd.DataFrame(self._records, columns=[
            "solve", "solver", "curvature", "damping", "iterations", "relative_residual",
            "negative_curvature"])

    def _target_solutions(self, exact: bool = False):
        if exact not in self._solutions:
            names = [f"target {t}" for t in self.data.tasks]
            self._solutions[exact] = self.solve(self.test_gradients(), names=names,
                                                exact=exact).solution
        return self._solutions[exact]

    def stationarity(self) -> pd.DataFrame:
        """``target, grad_norm, drift``: ``drift`` is the first-order change of the target's test
        loss if the fit went on to the stationary point, ``-grad L_i^T A^-1 grad J``; compare
        it with the removal effects it would bias."""
        s = self._target_solutions()
        drift = -np.asarray(s @ self.objective_gradient())
        return pd.DataFrame({"target": list(self.data.tasks), "grad_norm": self.grad_norm_,
                             "objective": self.objective_, "drift": drift})

    # ------------------------------------------------------------------ influences
    def removal_effects(self, *, exact: bool = False) -> np.ndarray:
        """``removal_effect(z, i)`` as ``(n_rows, n_tasks_source, n_tasks_target)``; zero where
        no training label."""
        self._check_fitted()
        a = self.arrays_
        grad_dot = _sample_products(self.model, self._unravel, self._flat, jnp.asarray(a.X),
                                    jnp.asarray(a.Y),
                                    self._target_solutions(exact).astype(self._flat.dtype))
        return np.moveaxis(np.asarray(grad_dot), 0, -1) * a.label_scale()[..., None]

    def sample_influence(self, *, exact: bool = False) -> pd.DataFrame:
        """One row per (training label, target task).

        Returns
        -------
        pandas.DataFrame
            ``compound, row, source, target, influence, removal_effect``: ``removal_effect``
            is the predicted change in the target's test loss when the label is removed
            (negative: the label harms the target); ``influence = -removal_effect / c_z``.
        """
        effects = self.removal_effects(exact=exact)
        a, tasks = self.arrays_, np.asarray(self.data.tasks, dtype=object)
        r, s = np.nonzero(a.weights)
        n_t = len(tasks)
        removal = effects[r, s].reshape(-1)
        table = pd.DataFrame({
            "compound": np.repeat(np.asarray(self.data.compound_ids, dtype=object)[a.rows[r]], n_t),
            "row": np.repeat(r, n_t), "source": np.repeat(tasks[s], n_t),
            "target": np.tile(tasks, len(r)),
            "influence": -removal / np.repeat(a.task_scale[s], n_t),
            "removal_effect": removal,
        })
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

    def _removal_weights(self, removals: dict[str, np.ndarray]) -> list[np.ndarray]:
        a = self.arrays_
        weights = []
        for name, mask in removals.items():
            mask = np.asarray(mask, bool)
            if mask.shape != a.weights.shape:
                raise ValueError(f"removal {name!r} has shape {mask.shape}, expected "
                                 f"{a.weights.shape} (n_rows, n_tasks)")
            weights.append(a.weights * ~mask)
        return weights

    def predict_removals(self, removals: dict[str, np.ndarray], *,
                         newton: bool = True) -> pd.DataFrame:
        """Predicted change of every target's test loss when each group of labels is removed.

        Returns ``removal, target, predicted`` (first order: summed removal effects) and, with
        ``newton``, ``predicted_newton`` (one Newton step on the objective without the group;
        one checked solve per removal).
        """
        self._check_fitted()
        effects = self.removal_effects()
        tasks = list(self.data.tasks)
        weights = self._removal_weights(removals)
        first = [effects[np.asarray(m, bool)].sum(axis=0) for m in removals.values()]
        table = pd.DataFrame({
            "removal": np.repeat(list(removals), len(tasks)),
            "target": tasks * len(removals),
            "predicted": np.concatenate(first) if first else np.zeros(0)})
        if newton and removals:
            problem = self._problem()
            full_grad = self.objective_gradient()
            w = jnp.asarray(np.stack(weights))
            g_removed = full_grad - jax.vmap(
                lambda wk: _grad(self.model, self._unravel, self._flat, problem[:2] + (wk,)
                                 + problem[3:]))(w)
            steps = self.solve(g_removed, weights=np.stack(weights),
                               names=[f"newton {name}" for name in removals]).solution
            a = self.arrays_
            base = task_test_losses(self.model, self.params_, a)
            moved = jax.vmap(lambda d: task_test_losses(
                self.model, self._unravel(self._flat + d), a))(steps)
            table["predicted_newton"] = np.asarray(moved - base[None]).reshape(-1)
        return table

    # ------------------------------------------------------------------ retraining
    def retrain(self, removals: dict[str, np.ndarray]) -> pd.DataFrame:
        """Actually retrain without given labels, next to an unchanged refit, in one vmap.

        Every retrain starts from the fitted run's initialisation and runs the same full-batch
        program, so two retrains differ only in their data.

        Returns
        -------
        pandas.DataFrame
            ``removal, target, test_loss, delta_loss, test_auroc, delta_auroc, grad_norm``
            (deltas against the refit on all labels).
        """
        self._check_fitted()
        a = self.arrays_
        weights = [a.weights, *self._removal_weights(removals)]
        n_runs = len(weights)
        weights += [a.weights] * (-n_runs % self.run_bucket)  # pad: fewer compiled shapes
        params, _, gnorm = self._train(np.stack(weights))
        params = jax.tree.map(lambda p: p[:n_runs], params)
        losses = np.asarray(jax.vmap(lambda p: task_test_losses(self.model, p, a))(params))
        auroc = np.asarray(jax.vmap(lambda p: task_test_auroc(self.model, p, a))(params))
        rows = []
        for k, name in enumerate(removals, start=1):
            for t, target in enumerate(self.data.tasks):
                rows.append({"removal": name, "target": target, "test_loss": losses[k, t],
                             "delta_loss": losses[k, t] - losses[0, t],
                             "test_auroc": auroc[k, t], "delta_auroc": auroc[k, t] - auroc[0, t],
                             "grad_norm": float(gnorm[k])})
        return pd.DataFrame(rows)

    def leave_task_out(self, *, exact: bool = False) -> pd.DataFrame:
        """Predicted (MTIF, first order) and actual (retrained) change of each target's test
        loss when each source task's training labels are all removed: ``source, target,
        predicted, n_samples, harmful_fraction, actual, actual_auroc``."""
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


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _product(model, unravel, curvature, flat, problem, vector):
    return CURVATURE_PRODUCTS[curvature](model, unravel, flat, problem, vector)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _grad(model, unravel, flat, problem):
    return jax.grad(lambda p: objective_flat(model, unravel, p, problem))(flat)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _solve_many(model, unravel, curvature, solver, options, flat, problem, weights, rhs,
                damping, key):
    """Solve ``(C_w + damping I) x = b`` for pairs ``(w, b)`` (vmapped): ``(x, residual,
    iterations, negative_curvature)``."""
    product = CURVATURE_PRODUCTS[curvature]
    X, Y, _, task_scale, l2 = problem

    def one(w, b, k):
        full = (X, Y, w, task_scale, l2)

        def matvec(v):
            return product(model, unravel, flat, full, v) + damping * v

        if solver == "cg":
            tol, max_iter = options
            out = cg_arrays(matvec, b[None], tol=tol, max_iter=max_iter)
        else:
            scale, depth, repeats, batch_size = options
            sample = None
            if batch_size is not None:
                n_rows = X.shape[0]

                def sample(v, key):
                    picks = jax.random.randint(key, (batch_size,), 0, n_rows)
                    counts = jnp.zeros(n_rows, w.dtype).at[picks].add(1.0) * (n_rows / batch_size)
                    part = (X, Y, w * counts[:, None], task_scale, l2)
                    return product(model, unravel, flat, part, v) + damping * v
            out = lissa_arrays(matvec, b[None], scale=scale, depth=depth, repeats=repeats,
                               sample_matvec=sample, key=k)
        return tuple(o[0] for o in out)

    keys = jax.random.split(key, rhs.shape[0])
    return jax.vmap(one)(weights, rhs, keys)


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
