"""Spread of the curve parameters across tasks: fixed at the family's pool scales (default)
or learned; the tasks' deviations from the population mean summing to zero (default) or iid."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers
from numpyro.infer import Predictive

from lcurve.config import ConfigError
from lcurve.curves import FitConfig
from lcurve.curves.families import get_family
from lcurve.curves.model import _pooled

from .conftest import latent_sites, prepared, saved_before


def test_a_fixed_spread_has_no_sd_sites_and_a_learned_one_has_one_per_parameter(pairs_table):
    names = get_family("pow4").param_names
    fixed = latent_sites(pairs_table)  # the default
    learned = latent_sites(pairs_table, curve_pooling="learned")
    assert not {f"{p}_sd" for p in names} & fixed
    assert {f"{p}_sd" for p in names} <= learned
    assert {f"{p}_mu" for p in names} | {f"{p}_z" for p in names} <= fixed & learned


def test_a_fixed_spread_is_the_parameters_pool_scale(pairs_table):
    fit = prepared(pairs_table, curve_pooling="fixed")
    family = fit.family
    z = jnp.array([-1.0, 0.5, 2.0])
    values = {f"{p}_mu": 0.3 for p in family.param_names}
    values.update({f"{p}_z": z for p in family.param_names})
    model = handlers.substitute(handlers.seed(fit.model(), jax.random.PRNGKey(0)), values)
    trace = handlers.trace(model).get_trace(**fit.model_args(fit._data))
    for p in family.params:
        expected = family.constrain(p.name, 0.3 + p.pool_scale * z)
        np.testing.assert_allclose(trace[p.name]["value"], expected, rtol=1e-6)


def test_unknown_curve_pooling_is_named_in_the_error():
    with pytest.raises(ConfigError, match="curve_pooling.*learned"):
        FitConfig(curve_pooling="shared")


def test_fits_saved_before_the_field_load_with_a_learned_spread(pairwise_fit, tmp_path):
    assert pairwise_fit.config.curve_pooling == "fixed"
    loaded = saved_before(pairwise_fit, tmp_path / "old.nc", "curve_pooling")
    assert loaded.config.curve_pooling == "learned"
    assert loaded.model().keywords["curve_pooling"] == "learned"


@pytest.mark.parametrize("pooling", ["fixed", "learned"])
def test_zero_sum_deviations_keep_the_tasks_prior_and_make_mu_their_mean(pooling):
    family, n_tasks = get_family("pow4"), 4
    draws = {zero_sum: Predictive(lambda z=zero_sum: _pooled(family, n_tasks, False, pooling, z),
                                  num_samples=40_000)(jax.random.PRNGKey(1))
             for zero_sum in (False, True)}
    iid, zero = (np.log(np.asarray(draws[z]["a"])) for z in (False, True))  # a: log link
    np.testing.assert_allclose(zero.mean(0), iid.mean(0), atol=0.03)  # prior loc 5, var ~1.09
    np.testing.assert_allclose(np.cov(zero.T), np.cov(iid.T), atol=0.04)
    np.testing.assert_allclose(np.asarray(draws[True]["a_mu"]), zero.mean(1), atol=1e-4)
    assert np.abs(np.asarray(draws[False]["a_mu"]) - iid.mean(1)).max() > 0.1


def test_fits_saved_before_zero_sum_deviations_load_with_iid_ones(pairwise_fit, tmp_path):
    assert pairwise_fit.config.zero_sum_curves
    loaded = saved_before(pairwise_fit, tmp_path / "old.nc", "zero_sum_curves")
    assert loaded.config.zero_sum_curves is False
    assert loaded.model().keywords["zero_sum_curves"] is False
