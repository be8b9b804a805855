"""Pairwise transfer priors: the learned spread (NUTS default), the fixed scale (SVI default),
the pair shift."""

from __future__ import annotations

import pytest

from lcurve.config import ConfigError
from lcurve.curves import CurveFit, FitConfig, simulate_results
from lcurve.curves.fit import _site_names

from .conftest import saved_before


@pytest.fixture(scope="module")
def table():
    return simulate_results(n_tasks=3, structure="pairwise", seed=0)[0]


def latent_sites(table, transfer="pairwise", **options) -> set[str]:
    fit = CurveFit(table, transfer=transfer, **options)
    fit._prepared()
    latent, _ = _site_names(fit.model(), fit.model_args(fit._data))
    return set(latent)


def test_nuts_learns_the_spread_of_the_rates_and_svi_keeps_it_fixed(table):
    assert FitConfig().pairwise_prior == "auto"
    assert FitConfig(method="nuts").resolved_pairwise_prior() == "hierarchical"
    assert FitConfig(method="svi").resolved_pairwise_prior() == "fixed"
    assert "transfer_sd" in latent_sites(table, method="nuts")
    assert "transfer_sd" not in latent_sites(table, method="svi")
    assert "transfer_sd" in latent_sites(table, method="svi", pairwise_prior="hierarchical")
    assert "transfer_sd" not in latent_sites(table, pairwise_prior="fixed")
    assert "transfer_sd" not in latent_sites(table, transfer="joint")


def test_pair_shift_adds_one_asymptote_shift_per_task(table):
    assert "context_shift" not in latent_sites(table)
    assert "context_shift" in latent_sites(table, pair_shift=True)
    assert "context_shift" in latent_sites(table, transfer="joint", pair_shift=True)
    assert "context_shift" not in latent_sites(table, transfer="none", pair_shift=True)


def test_unknown_pairwise_prior_is_named_in_the_error():
    with pytest.raises(ConfigError, match="pairwise_prior.*hierarchical"):
        FitConfig(pairwise_prior="wide")


def test_fits_saved_before_the_field_load_with_the_fixed_scale(pairwise_fit, tmp_path):
    loaded = saved_before(pairwise_fit, tmp_path / "old.nc", "pairwise_prior")
    # its model() reads the prior from the saved settings
    assert loaded.config.pairwise_prior == "fixed" and loaded._meta["pairwise_prior"] == "fixed"
    assert loaded.model().keywords["pairwise_prior"] == "fixed"
