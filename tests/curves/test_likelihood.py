"""The bounded likelihood against scipy far in the tails, and FitConfig as a TOML section."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tomli_w
import tomllib
from scipy.stats import truncnorm

from lcurve.config import ConfigError
from lcurve.curves import FitConfig
from lcurve.curves.model import UnitTruncatedNormal


def _grid():
    """loc from 20 sd below 0 to 20 sd above 1, sd from 1e-3 to 10, values across [0, 1]."""
    rows = [(loc, sd, y) for sd in np.geomspace(1e-3, 10, 15)
            for loc in np.linspace(-20 * sd, 1 + 20 * sd, 41)
            for y in (0.0, 1e-3, 0.2, 0.5, 0.999, 1.0)]
    # the reference sees the same float32-rounded inputs the model does
    return (np.array(v, dtype=np.float32) for v in zip(*rows))


def test_log_density_matches_scipy_20_sd_outside_the_interval():
    loc, sd, y = _grid()
    ref = truncnorm.logpdf(y.astype(float), -loc / sd.astype(float),
                           (1 - loc.astype(float)) / sd, loc=loc.astype(float), scale=sd)
    got = np.asarray(UnitTruncatedNormal(jnp.asarray(loc), jnp.asarray(sd)).log_prob(y))
    rel = np.abs(got - ref) / np.maximum(1.0, np.abs(ref))
    assert rel.max() <= 1e-4, (rel.max(), loc[rel.argmax()], sd[rel.argmax()])


def test_the_old_normaliser_bug_is_gone():
    # mean 1.2, sd 0.02, y = 0.99: the float32 ndtr difference gave -24.5; correct is +1.10
    value = float(UnitTruncatedNormal(1.2, 0.02).log_prob(0.99))
    assert value == pytest.approx(truncnorm.logpdf(0.99, -60, -10, loc=1.2, scale=0.02), rel=1e-5)


def test_gradients_are_finite_everywhere_on_the_grid():
    loc, sd, y = _grid()
    grad = jax.vmap(jax.grad(lambda m, s, v: UnitTruncatedNormal(m, s).log_prob(v),
                             argnums=(0, 1)))(loc, sd, y)
    assert all(np.isfinite(np.asarray(g)).all() for g in grad)


@pytest.mark.parametrize("loc, sd", [(0.5, 0.1), (1.2, 0.02), (-0.25, 0.01), (0.97, 0.05)])
def test_samples_have_the_truncated_mean_and_stay_in_the_unit_interval(loc, sd):
    draws = np.asarray(UnitTruncatedNormal(loc, sd).sample(jax.random.PRNGKey(0), (4000,)))
    a, b = -loc / sd, (1 - loc) / sd
    mean, spread = truncnorm.mean(a, b, loc=loc, scale=sd), truncnorm.std(a, b, loc=loc, scale=sd)
    assert ((draws >= 0) & (draws <= 1)).all()
    assert abs(draws.mean() - mean) < 5 * spread / np.sqrt(len(draws)) + 1e-5


def test_fit_config_round_trips_as_a_toml_fit_table():
    config = FitConfig(family="pow3", transfer="contextual", num_chains=2, target_accept=0.95)
    text = tomli_w.dumps({"fit": config.to_dict()})
    assert FitConfig.from_dict(tomllib.loads(text)["fit"]) == config


@pytest.mark.parametrize("values, match", [
    ({"transfer": "pairs"}, "valid"), ({"num_samples": 0}, "num_samples"),
    ({"num_chains": 1.5}, "integer"), ({"bogus": 1}, "bogus"),
    ({"transfer_scale": -1.0}, "transfer_scale"), ({"target_accept": 1.0}, "target_accept")])
def test_fit_config_rejects_bad_values_by_name(values, match):
    with pytest.raises(ConfigError, match=match):
        FitConfig.from_dict(values)
