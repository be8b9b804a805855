"""CG and LiSSA against dense solves; indefinite operators and bad residuals are caught."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lcurve.influence import IndefiniteCurvatureError, InfluenceSolveError, InfluenceWarning
from lcurve.influence.solvers import cg, check_solves, largest_eigenvalue, lissa


def _spd(n, seed, low=0.1):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (q * np.linspace(low, 2.0, n)) @ q.T


@pytest.mark.parametrize("solver", ["cg", "lissa"])
def test_solvers_match_dense_solve_and_report_residual(solver):
    a = _spd(12, 0)
    b = np.random.default_rng(1).normal(size=(3, 12))
    matvec = lambda v: jnp.asarray(a, jnp.float32) @ v  # noqa: E731
    rhs = jnp.asarray(b, jnp.float32)
    out = (cg(matvec, rhs, tol=1e-6, max_iter=100) if solver == "cg"
           else lissa(matvec, rhs, scale=2.5, depth=600))
    exact = np.linalg.solve(a, b.T).T
    np.testing.assert_allclose(np.asarray(out.solution), exact, rtol=1e-3, atol=1e-4)
    # the reported residual is the true one of the returned solution
    true = np.linalg.norm(np.asarray(out.solution) @ a - b, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(out.relative_residual, true, rtol=0.05, atol=1e-6)
    assert not out.negative_curvature.any()


def test_cg_stops_early_on_exact_arithmetic_size():
    a = _spd(5, 2)
    out = cg(lambda v: jnp.asarray(a, jnp.float32) @ v, jnp.ones((1, 5)), tol=1e-5, max_iter=50)
    assert out.iterations[0] <= 10  # n steps in exact arithmetic, a few more in float32


def test_indefinite_operator_is_caught_by_cg_and_lissa():
    a = np.diag([2.0, 1.0, 0.5, -0.3])
    matvec = lambda v: jnp.asarray(a, jnp.float32) @ v  # noqa: E731
    rhs = jnp.ones((2, 4))
    out = cg(matvec, rhs, max_iter=50)
    assert out.negative_curvature.all()
    with pytest.raises(IndefiniteCurvatureError, match="not positive definite"):
        check_solves(out, max_residual=1e-3, on_failure="raise")
    with pytest.warns(InfluenceWarning, match="UNRELIABLE"):
        check_solves(out, max_residual=1e-3, on_failure="warn")
    out = lissa(matvec, rhs, scale=3.0, depth=400)  # (I - A/s) has an eigenvalue > 1: diverges
    assert out.negative_curvature.all()
    with pytest.raises(IndefiniteCurvatureError):
        check_solves(out, max_residual=1e-3, on_failure="raise")


def test_unconverged_solve_is_caught():
    a = _spd(40, 3, low=1e-3)
    out = cg(lambda v: jnp.asarray(a, jnp.float32) @ v, jnp.ones((1, 40)), max_iter=3)
    assert out.relative_residual[0] > 1e-3
    with pytest.raises(InfluenceSolveError, match="relative residual"):
        check_solves(out, max_residual=1e-3, on_failure="raise")


def test_stochastic_lissa_is_unbiased_on_average():
    a = _spd(6, 4, low=0.5)
    parts = [a * 0.5, a * 1.5]  # mini-batch estimates averaging to a
    rhs = jnp.ones((1, 6))
    matvec = lambda v: jnp.asarray(a, jnp.float32) @ v  # noqa: E731

    def sample(v, key):
        pick = jax.random.bernoulli(key)
        return jnp.where(pick, jnp.asarray(parts[0], jnp.float32) @ v,
                         jnp.asarray(parts[1], jnp.float32) @ v)

    out = lissa(matvec, rhs, scale=4.0, depth=200, repeats=8, sample_matvec=sample,
                key=jax.random.key(0))
    exact = np.linalg.solve(a, np.ones(6))
    assert np.linalg.norm(np.asarray(out.solution[0]) - exact) < 0.2 * np.linalg.norm(exact)


def test_power_iteration_finds_the_largest_eigenvalue():
    a = _spd(10, 5)
    top = largest_eigenvalue(lambda v: jnp.asarray(a, jnp.float32) @ v, 10, jax.random.key(0),
                             iterations=200)
    assert top == pytest.approx(np.linalg.eigvalsh(a)[-1], rel=1e-3)


def test_bad_options():
    with pytest.raises(ValueError, match="on_failure"):
        check_solves(cg(lambda v: v, jnp.ones((1, 2))), max_residual=1e-3, on_failure="ignore")
    with pytest.raises(ValueError, match="scale must be > 0"):
        lissa(lambda v: v, jnp.ones((1, 2)), scale=0.0)
