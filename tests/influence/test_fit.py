"""Weighted full-batch fits (the trainer core's step loop) against a hand-written reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lcurve.influence import fit_arrays, train_weighted
from lcurve.influence._fit import objective
from lcurve.train import MultiTaskMLP, make_optimizer

STEPS, RATE = 120, 2e-2


def _reference_fit(model, arrays, w, key, l2):
    """Plain full-batch AdamW on ``objective`` (cosine-decayed rate), one Python step at a time."""
    X, Y, scale = (jnp.asarray(a) for a in (arrays.X, arrays.Y, arrays.task_scale))
    params = model.init(key, X[:1])
    tx = make_optimizer(lambda count: RATE * (0.02 + 0.98 * 0.5 * (
        1 + jnp.cos(jnp.pi * jnp.minimum(count / STEPS, 1.0)))), 0.0)
    state = tx.init(params)
    loss = lambda p: objective(model, p, X, Y, jnp.asarray(w), scale, l2)  # noqa: E731

    @jax.jit
    def step(params, state):
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        return jax.tree.map(jnp.add, params, updates), state

    for _ in range(STEPS):
        params, state = step(params, state)
    return params, float(loss(params))


@pytest.fixture(scope="module")
def problem(influence_data):
    arrays = fit_arrays(influence_data, weighting="task")
    model = MultiTaskMLP(hidden=(4,), n_tasks=influence_data.n_tasks)
    weights = np.stack([arrays.weights] * 3)
    weights[1, :6] = 0  # leave out six compounds
    weights[2, :, 1] = 0  # leave out a task
    return model, arrays, weights


def test_weighted_fits_equal_a_plain_gradient_loop(problem):
    model, arrays, weights = problem
    l2 = np.array([1e-2, 3e-2, 0.0], np.float32)
    key = jax.random.key(4)
    params, value, grad_norm = train_weighted(model, arrays, weights, key, steps=STEPS,
                                              learning_rate=RATE, l2=l2)
    for run in range(3):
        expected, expected_value = _reference_fit(model, arrays, weights[run], key, l2[run])
        got = jax.tree.map(lambda p: p[run], params)
        for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(got)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
        assert float(value[run]) == pytest.approx(expected_value, rel=1e-5)
    assert np.isfinite(np.asarray(grad_norm)).all()
    # the L2 penalty is part of the objective the loop minimises
    norms = [sum(float(jnp.sum(p[r] ** 2)) for p in jax.tree.leaves(params)) for r in (0, 1)]
    unpenalised, _, _ = train_weighted(model, arrays, weights[:1], key, steps=STEPS,
                                       learning_rate=RATE, l2=0.0)
    assert sum(float(jnp.sum(p ** 2)) for p in jax.tree.leaves(unpenalised)) > norms[0]


def test_a_run_does_not_depend_on_the_runs_beside_it(problem):
    model, arrays, weights = problem
    key = jax.random.key(4)
    together, value, _ = train_weighted(model, arrays, weights, key, steps=STEPS,
                                        learning_rate=RATE, l2=1e-2)
    alone, value_alone, _ = train_weighted(model, arrays, weights[1:2], key, steps=STEPS,
                                           learning_rate=RATE, l2=1e-2)
    for a, b in zip(jax.tree.leaves(together), jax.tree.leaves(alone)):
        np.testing.assert_allclose(np.asarray(a)[1], np.asarray(b)[0], rtol=1e-5, atol=1e-6)
    assert float(value[1]) == pytest.approx(float(value_alone[0]), rel=1e-5)
