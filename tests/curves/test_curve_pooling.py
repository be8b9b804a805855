"""Spread of the curve parameters across tasks: fixed at the family's pool scales (default)
or learned."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers

from lcurve.config import ConfigError
from lcurve.curves import FitConfig
from lcurve.curves.families import get_family

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
