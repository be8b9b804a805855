"""The curve evaluated once per distinct design point: the same model as once per observation."""

from functools import partial

import jax
import numpy as np
import pytest
from numpyro import handlers
from numpyro.infer.util import log_density

from lcurve.curves import simulate_results
from lcurve.curves import fit as curve_fit
from lcurve.curves.model import design_points

from .conftest import prepared


@pytest.fixture(scope="module")
def table():
    return simulate_results(n_tasks=3, seed=4, seeds=(0, 1, 2), sizes=(32, 64, 128),
                            source_sizes=(64, 256))[0]


def test_design_points_index_back_to_every_observation():
    rng = np.random.default_rng(0)
    task = rng.integers(0, 3, 40)
    sizes = rng.choice([0.0, 32.0, 64.0], size=(40, 3))
    point, point_task, point_sizes = design_points(task, sizes)
    np.testing.assert_array_equal(point_task[point], task)
    np.testing.assert_array_equal(point_sizes[point], sizes)
    assert len(point_task) == len({(t, *s) for t, s in zip(task, sizes.tolist())})
    assert point.dtype == point_task.dtype == np.int32


def test_no_design_points_when_every_observation_is_its_own():
    assert design_points(np.array([0, 1, 0]), np.array([[8.0, 0.0], [0.0, 8.0], [16.0, 0.0]])) \
        is None


def test_a_table_of_seeds_passes_its_design_points(table):
    fit = prepared(table, transfer="pairwise")
    kwargs = fit.model_args(fit._data)
    assert kwargs["point"] is not None
    assert len(kwargs["point_task"]) * 3 == len(kwargs["task"])  # three seeds per point


def density(model, kwargs, params):
    return log_density(model, (), kwargs, params)[0]


@pytest.mark.parametrize("options", [
    dict(transfer="pairwise"), dict(transfer="contextual"), dict(transfer="none"),
    dict(transfer="joint", family="exp3"), dict(transfer="pairwise", likelihood="truncnormal"),
])
def test_the_model_is_the_same_per_point_and_per_observation(table, options, monkeypatch):
    """At prior draws, the log density and its gradient, and the predicted curve, agree."""
    fit = prepared(table, **options)
    model = fit.model()
    per_point = fit.model_args(fit._data)
    monkeypatch.setattr(curve_fit, "SHARE_DESIGN_POINTS", False)
    per_row = fit.model_args(fit._data)
    assert per_row["point"] is None and per_point["point"] is not None
    # one compiled density and gradient per layout, shared by the three draws
    densities = [jax.jit(jax.value_and_grad(partial(density, model, kwargs)))
                 for kwargs in (per_point, per_row)]
    for seed in range(3):
        trace = handlers.trace(handlers.seed(model, seed)).get_trace(**per_point)
        params = {k: v["value"] for k, v in trace.items()
                  if v["type"] == "sample" and not v["is_observed"]}
        (value, point_grads), (row_value, row_grads) = [f(params) for f in densities]
        np.testing.assert_allclose(value, row_value, rtol=1e-5)
        for name in params:
            np.testing.assert_allclose(point_grads[name], row_grads[name], rtol=1e-3, atol=1e-3)
    new = {**per_point, "value": None}
    new_row = {**per_row, "value": None}
    predicted = [handlers.trace(handlers.seed(handlers.condition(model, params), 0)).get_trace(
        **kwargs)["expected_score"]["value"] for kwargs in (new, new_row)]
    np.testing.assert_allclose(predicted[0], predicted[1], rtol=1e-6)
