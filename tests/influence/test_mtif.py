"""MTIF: curvature products against dense references, checked solves, predictions against
actual retraining, and the failures (non-stationary fit, indefinite Hessian) that must be caught."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import pearsonr

from lcurve.influence import (
    MTIF,
    IndefiniteCurvatureError,
    InfluenceWarning,
    NonStationaryError,
)
from lcurve.influence._fit import objective

from .conftest import INFLUENCE, TRAIN


def _dense_gauss_newton(m: MTIF) -> np.ndarray:
    """``J^T D J + l2 I`` built from the explicit logit Jacobian (reference implementation)."""
    a = m.arrays_
    X = jnp.asarray(a.X)
    jac = np.asarray(jax.jacfwd(lambda f: m.model.apply(m._unravel(f), X))(m._flat), np.float64)
    s = 1 / (1 + np.exp(-np.asarray(m.model.apply(m.params_, X), np.float64)))
    d = a.label_scale() * s * (1 - s)
    return np.einsum("rtp,rt,rtq->pq", jac, d, jac) + m.influence.l2 * np.eye(jac.shape[-1])


def test_fit_reaches_a_stationary_point(fitted):
    assert fitted.grad_norm_ < INFLUENCE.max_grad_norm
    assert fitted.arrays_.n_ref == fitted.data.train_mask.sum()
    np.testing.assert_allclose(np.linalg.norm(fitted.objective_gradient()), fitted.grad_norm_,
                               rtol=1e-4)


def test_gauss_newton_product_equals_dense_reference(fitted):
    g = _dense_gauss_newton(fitted)
    np.testing.assert_allclose(fitted.curvature_matrix(), g, rtol=1e-3, atol=1e-5)
    assert np.linalg.eigvalsh(g)[0] >= fitted.influence.l2 * (1 - 1e-6)  # PSD + l2 I
    v = np.random.default_rng(0).normal(size=g.shape[0]).astype(np.float32)
    np.testing.assert_allclose(fitted.curvature_product(v), g @ v, rtol=1e-3, atol=1e-4)


def test_hessian_option_equals_jax_hessian(fitted):
    m = MTIF(fitted.data, train=TRAIN, influence=dataclasses.replace(INFLUENCE, curvature="hessian"))
    m.fit()
    a = m.arrays_
    problem = (jnp.asarray(a.X), jnp.asarray(a.Y), jnp.asarray(a.weights),
               jnp.asarray(a.task_scale), INFLUENCE.l2)
    h = jax.hessian(lambda f: objective(m.model, m._unravel(f), *problem))(m._flat)
    np.testing.assert_allclose(m.curvature_matrix(), h, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("solver", ["cg", "lissa"])
def test_iterative_influences_equal_dense_solve(fitted, solver):
    m = fitted if solver == "cg" else MTIF(
        fitted.data, train=TRAIN, influence=dataclasses.replace(INFLUENCE, solver="lissa")).fit()
    iterative = m.sample_influence()
    exact = m.sample_influence(exact=True)
    np.testing.assert_allclose(iterative["influence"], exact["influence"], rtol=1e-3, atol=2e-3)
    # dense by hand: removal effect = c_z grad L_i^T (G)^-1 grad l_z for one label
    g = _dense_gauss_newton(m)
    s = np.linalg.solve(g, np.asarray(m.test_gradients(), np.float64).T).T
    row = exact.iloc[0]
    a = m.arrays_
    j = m.data.tasks.index(row["source"])
    grad_l = jax.grad(lambda f: objective(
        m.model, m._unravel(f), jnp.asarray(a.X[row["row"]][None]),
        jnp.asarray(a.Y[row["row"]][None]), jnp.eye(m.data.n_tasks)[j][None],
        jnp.ones(m.data.n_tasks), 0.0))(m._flat)
    t = m.data.tasks.index(row["target"])
    expected = a.task_scale[j] * s[t] @ np.asarray(grad_l, np.float64)
    assert row["removal_effect"] == pytest.approx(expected, rel=1e-3, abs=1e-7)
    diagnostics = m.solve_diagnostics()
    assert (diagnostics["relative_residual"] < INFLUENCE.max_residual).all()
    assert set(diagnostics["solver"]) == {solver, "dense"}


def test_every_solve_is_recorded_with_its_residual(fitted):
    before = len(fitted.solve_diagnostics())
    masks = {f"drop{j}": np.zeros(fitted.arrays_.weights.shape, bool) for j in range(2)}
    for j, mask in enumerate(masks.values()):
        mask[:5, j] = fitted.arrays_.weights[:5, j] > 0
    fitted.predict_removals(masks)
    diagnostics = fitted.solve_diagnostics()
    assert len(diagnostics) >= before + 2
    assert diagnostics["relative_residual"].notna().all()
    assert {"newton drop0", "newton drop1"} <= set(diagnostics["solve"])


def test_sample_influence_predicts_leave_one_out(fitted):
    target = fitted.data.tasks[0]
    samples = fitted.sample_influence()
    samples = samples[samples.target == target]
    top = samples.loc[samples.removal_effect.abs().sort_values(ascending=False).index[:12]]
    removals = {}
    for i, (row, source) in enumerate(zip(top["row"], top["source"])):
        mask = np.zeros(fitted.arrays_.weights.shape, bool)
        mask[row, fitted.data.tasks.index(source)] = True
        removals[f"z{i}"] = mask
    actual = fitted.retrain(removals)
    actual = actual[actual.target == target]
    r = pearsonr(top["removal_effect"], actual["delta_loss"]).statistic
    assert r > 0.9
    assert (np.sign(top["removal_effect"].to_numpy()) == np.sign(actual["delta_loss"])).mean() > 0.8


def test_newton_group_estimate_tracks_leave_task_out(fitted):
    table = fitted.leave_task_out()
    assert len(table) == 9 and {"predicted", "actual"} <= set(table.columns)
    own = table[table.source == table.target]
    assert (own["actual"] > 0).all()  # a task's own samples help it
    masks = {}
    for j, source in enumerate(fitted.data.tasks):
        masks[source] = np.zeros(fitted.arrays_.weights.shape, bool)
        masks[source][:, j] = fitted.arrays_.weights[:, j] > 0
    newton = fitted.predict_removals(masks).rename(columns={"removal": "source"})
    merged = newton.merge(table[["source", "target", "actual"]], on=["source", "target"])
    assert pearsonr(merged["predicted_newton"], merged["actual"]).statistic > 0.95


def test_retrain_without_removal_is_exact(fitted):
    nothing = np.zeros(fitted.arrays_.weights.shape, bool)
    out = fitted.retrain({"nothing": nothing})
    assert (out["delta_loss"] == 0).all()


def test_task_weighting_weighs_each_task_mean_equally(influence_data):
    m = MTIF(influence_data, train=TRAIN,
             influence=dataclasses.replace(INFLUENCE, weighting="task")).fit()
    a = m.arrays_
    logits = np.asarray(m.model.apply(m.params_, jnp.asarray(a.X)), np.float64)
    bce = np.logaddexp(0, logits) - a.Y * logits
    per_task = (bce * a.weights).sum(0) / a.weights.sum(0)
    flat = np.asarray(m._flat, np.float64)
    expected = per_task.mean() + 0.5 * INFLUENCE.l2 * flat @ flat
    assert m.objective_ == pytest.approx(expected, rel=1e-5)
    samples = m.sample_influence()
    j = samples.source.map(m.data.tasks.index)
    np.testing.assert_allclose(samples["removal_effect"],
                               -samples["influence"] * a.task_scale[j], rtol=1e-6)


def test_non_stationary_fit_is_refused(influence_data):
    short = dataclasses.replace(TRAIN, steps=20)
    with pytest.raises(NonStationaryError, match="not at a stationary point"):
        MTIF(influence_data, train=short, influence=INFLUENCE).fit()


def test_indefinite_hessian_is_caught(influence_data):
    """Early in training the exact Hessian is indefinite: solving with it must fail loudly,
    while the Gauss-Newton curvature at the same point stays positive definite."""
    short = dataclasses.replace(TRAIN, steps=20, learning_rate=0.05)
    settings = dataclasses.replace(INFLUENCE, curvature="hessian", l2=1e-4, on_failure="raise",
                                   max_grad_norm=10.0)
    m = MTIF(influence_data, train=short, influence=settings).fit()
    assert np.linalg.eigvalsh(m.curvature_matrix())[0] < 0  # the premise of this test
    with pytest.raises(IndefiniteCurvatureError, match="not positive definite"):
        m.sample_influence()
    warned = MTIF(influence_data, train=short,
                  influence=dataclasses.replace(settings, on_failure="warn")).fit()
    with pytest.warns(InfluenceWarning, match="UNRELIABLE"):
        warned.sample_influence()
    assert warned.solve_diagnostics()["negative_curvature"].any()
    gn = MTIF(influence_data, train=short,
              influence=dataclasses.replace(settings, curvature="gauss_newton")).fit()
    assert np.linalg.eigvalsh(gn.curvature_matrix())[0] > 0
    gn.sample_influence()  # no error
    assert not gn.solve_diagnostics()["negative_curvature"].any()


def test_bad_inputs(influence_data):
    from lcurve.config import ConfigError

    with pytest.raises(RuntimeError, match="fit"):
        MTIF(influence_data).sample_influence()
    with pytest.raises(ConfigError, match="weight_decay must be 0"):
        MTIF(influence_data, train=dataclasses.replace(TRAIN, weight_decay=1e-4))
    with pytest.raises(ValueError, match="eval_mask"):
        MTIF(influence_data, train=TRAIN, eval_mask=np.ones((2, 2), bool)).fit()
    with pytest.raises(ValueError, match="removal 'x' has shape"):
        MTIF.retrain(MTIF(influence_data, train=TRAIN).fit(), {"x": np.ones((2, 2), bool)})
