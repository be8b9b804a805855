"""The contextual rates' prior on the data's scale (``context_prior="data"``, the default):
a pooled normal prior on the log effective-size factor at each task's reference context
ratio, and the rate derived from it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers

from lcurve.config import ConfigError
from lcurve.curves import FitConfig, fit_curves, simulate_results
from lcurve.curves.model import context_rate, context_reference, effective_size

from .conftest import latent_sites, prepared, saved_before


@pytest.fixture(scope="module")
def context_table():
    return simulate_results(n_tasks=3, structure="contextual", seed=0)[0]


@pytest.fixture(scope="module")
def pair_runs():
    # this module's own (the curves conftest's pairs_table was "not found" on an xdist worker
    # of a run of this module beside tests/plot and tests/test_report.py)
    return simulate_results(n_tasks=3, structure="pairwise", seed=0)[0]


def test_the_reference_is_the_geometric_mean_context_ratio_of_a_tasks_context_runs():
    task = np.array([0, 0, 0, 1, 2])
    sizes = np.array([[100., 0., 0.], [100., 200., 200.], [50., 300., 500.],
                      [0., 80., 0.], [10., 10., 10.]])
    ref = context_reference(task, sizes, 3)
    # task 0: ratios 400/100 and 800/50 -> sqrt(4 * 16); task 1 has no context run
    np.testing.assert_allclose(ref, [8.0, 1.0, 2.0])


@pytest.mark.parametrize("log_gain", [-2.0, -0.3, 0.0, 0.4, 3.0])
def test_the_rate_multiplies_the_effective_size_by_the_gain_at_the_reference(log_gain):
    ref, own = 250.0, 40.0
    rate = context_rate(jnp.array([log_gain]), jnp.array([ref]))
    sizes = jnp.array([[own, own * ref]])  # a context of ref times the task's own size
    n_eff = effective_size("contextual", {"transfer_context": rate}, jnp.array([0]), sizes)
    np.testing.assert_allclose(float(n_eff[0]) / own, np.exp(log_gain), rtol=1e-5)


def test_the_rate_and_its_gradient_stay_finite_far_out():
    grad = jax.grad(lambda g: context_rate(g, 100.0).sum())
    for value in (-40.0, 0.0, 60.0):
        g = jnp.array([value])
        assert np.isfinite(float(context_rate(g, 100.0)[0]))
        assert np.isfinite(float(grad(g)[0]))


def test_the_default_prior_is_on_the_log_gain_at_the_fitted_tables_reference(context_table):
    assert FitConfig().context_prior == "data"
    fit = prepared(context_table, transfer="contextual", context_scale=0.7)
    data = fit._data
    ref = context_reference(data.task, data.sizes, 3)
    np.testing.assert_allclose(fit._prepared()["context_ref"], ref)
    assert (ref > 1).all()  # every simulated task has context runs
    z = jnp.array([-1.0, 0.5, 2.0])
    model = handlers.substitute(handlers.seed(fit.model(), jax.random.PRNGKey(0)),
                                {"transfer_context_mu": 0.1, "transfer_context_z": z})
    trace = handlers.trace(model).get_trace(**fit.model_args(fit._data))
    gain = 0.1 + 0.7 * z
    np.testing.assert_allclose(trace["context_log_gain"]["value"], gain, rtol=1e-6)
    np.testing.assert_allclose(trace["transfer_context"]["value"],
                               np.where(gain >= 0, np.expm1(gain), gain) / ref, rtol=1e-5)
    assert trace["transfer_context_mu"]["fn"].scale == pytest.approx(0.7)


def test_the_rate_prior_is_a_named_option_and_other_structures_have_no_reference(
        context_table, pair_runs):
    assert "context_ref" not in prepared(context_table, transfer="contextual",
                                         context_prior="rate")._prepared()
    assert "context_ref" not in prepared(pair_runs, transfer="pairwise")._prepared()
    sites = latent_sites(context_table, transfer="contextual", context_prior="rate")
    assert {"transfer_context_mu", "transfer_context_z"} <= sites


def test_bad_context_prior_and_scale_are_named_in_the_error():
    with pytest.raises(ConfigError, match="context_prior.*data"):
        FitConfig(context_prior="log")
    with pytest.raises(ConfigError, match="context_scale"):
        FitConfig(context_scale=0.0)


def test_a_saved_fit_predicts_with_its_own_reference_and_old_fits_load_with_the_rate_prior(
        context_table, tmp_path):
    fit = fit_curves(context_table, transfer="contextual", method="svi", svi_steps=50,
                     num_samples=20)
    fit.save(tmp_path / "fit.nc")
    from lcurve.curves import load_fit
    loaded = load_fit(tmp_path / "fit.nc")
    assert loaded._prepared()["context_ref"] == fit._prepared()["context_ref"]
    grid = context_table.head(3)
    assert np.allclose(loaded.predict(grid, seed=0)["mean"], fit.predict(grid, seed=0)["mean"])
    old = saved_before(fit, tmp_path / "old.nc", "context_prior")
    assert old.config.context_prior == "rate"
