"""Pairwise transfer priors: the learned spread (NUTS default), the fixed scale (SVI default),
the pair shift."""

from __future__ import annotations

import pytest

from lcurve.config import ConfigError
from lcurve.curves import FitConfig

from .conftest import latent_sites, saved_before


def test_nuts_learns_the_spread_of_the_rates_and_svi_keeps_it_fixed(pairs_table):
    assert FitConfig().pairwise_prior == "auto"
    assert FitConfig(method="nuts").resolved_pairwise_prior() == "hierarchical"
    assert FitConfig(method="svi").resolved_pairwise_prior() == "fixed"
    assert "transfer_sd" in latent_sites(pairs_table, method="nuts")
    assert "transfer_sd" not in latent_sites(pairs_table, method="svi")
    assert "transfer_sd" in latent_sites(pairs_table, method="svi", pairwise_prior="hierarchical")
    assert "transfer_sd" not in latent_sites(pairs_table, pairwise_prior="fixed")
    assert "transfer_sd" not in latent_sites(pairs_table, transfer="joint")


def test_pair_shift_adds_one_asymptote_shift_per_task(pairs_table):
    assert "context_shift" not in latent_sites(pairs_table)
    assert "context_shift" in latent_sites(pairs_table, pair_shift=True)
    assert "context_shift" in latent_sites(pairs_table, transfer="joint", pair_shift=True)
    assert "context_shift" not in latent_sites(pairs_table, transfer="none", pair_shift=True)


def test_unknown_pairwise_prior_is_named_in_the_error():
    with pytest.raises(ConfigError, match="pairwise_prior.*hierarchical"):
        FitConfig(pairwise_prior="wide")


def test_fits_saved_before_the_field_load_with_the_fixed_scale(pairwise_fit, tmp_path):
    loaded = saved_before(pairwise_fit, tmp_path / "old.nc", "pairwise_prior")
    # its model() reads the prior from the saved settings
    assert loaded.config.pairwise_prior == "fixed" and loaded._meta["pairwise_prior"] == "fixed"
    assert loaded.model().keywords["pairwise_prior"] == "fixed"
