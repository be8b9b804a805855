"""Spread of the contextual structure's per-task rates around their mean: fixed at the prior
scale of the mean (default) or learned."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers

from lcurve.config import ConfigError
from lcurve.curves import FitConfig, fit_curves, load_fit, simulate_results

from .conftest import latent_sites, prepared, saved_before


@pytest.fixture(scope="module")
def context_table():
    return simulate_results(n_tasks=3, structure="contextual", seed=0)[0]


def test_the_default_spread_is_fixed_and_only_a_learned_one_is_sampled(context_table):
    assert FitConfig().context_spread == "fixed"
    fixed = latent_sites(context_table, transfer="contextual")
    learned = latent_sites(context_table, transfer="contextual", context_spread="learned")
    assert "transfer_context_sd" not in fixed and "transfer_context_sd" in learned
    assert {"transfer_context_mu", "transfer_context_z"} <= fixed & learned


def test_a_fixed_spread_is_the_prior_scale_of_the_mean(context_table):
    fit = prepared(context_table, transfer="contextual", transfer_scale=0.8,
                   context_prior="rate")
    z = jnp.array([-1.0, 0.5, 2.0])
    model = handlers.substitute(handlers.seed(fit.model(), jax.random.PRNGKey(0)),
                                {"transfer_context_mu": 0.1, "transfer_context_z": z})
    trace = handlers.trace(model).get_trace(**fit.model_args(fit._data))
    np.testing.assert_allclose(trace["transfer_context"]["value"],
                               0.1 + 0.8 / math.sqrt(2) * z, rtol=1e-6)
    assert trace["transfer_context_mu"]["fn"].scale == pytest.approx(0.8 / math.sqrt(2))


def test_unknown_context_spread_is_named_in_the_error():
    with pytest.raises(ConfigError, match="context_spread.*learned"):
        FitConfig(context_spread="pooled")


def test_fits_saved_before_the_field_load_with_a_learned_spread(pairwise_fit, tmp_path):
    loaded = saved_before(pairwise_fit, tmp_path / "old.nc", "context_spread")
    assert loaded.config.context_spread == "learned"
    assert loaded.model().keywords["context_spread"] == "learned"


def test_the_asymptote_shift_is_off_by_default_and_kept_by_fits_saved_with_it(context_table,
                                                                              tmp_path):
    assert FitConfig().context_shift is False
    assert "context_shift" not in latent_sites(context_table, transfer="contextual")
    assert "context_shift" in latent_sites(context_table, transfer="contextual",
                                           context_shift=True)
    fit = fit_curves(context_table, transfer="contextual", method="svi", svi_steps=50,
                     num_samples=20, context_shift=True)
    fit.save(tmp_path / "shifted.nc")
    loaded = load_fit(tmp_path / "shifted.nc")
    assert loaded.config.context_shift is True
    assert "context_shift" in loaded.idata.posterior
