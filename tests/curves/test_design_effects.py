"""Nested-design structure and scale-free priors: group indices, correlated simulation,
prior predictive invariance to fitting a prefix of the sizes."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest

from lcurve.curves import prior_predictive, simulate_results
from lcurve.curves.families import FAMILIES
from lcurve.curves._table import prepare
from lcurve.datasets import make_synthetic
from lcurve.design import make_design


@pytest.fixture(scope="module")
def real_design():
    data, _ = make_synthetic(n_tasks=3, n_compounds=600, seed=0)
    return make_design(data, kind="pairs", seeds=[0, 1], min_size=32, points_per_doubling=1,
                       aux_sizes=(64, 256))


def test_runs_sharing_a_subsample_share_a_group(real_design):
    table, _ = simulate_results(design=real_design, seed=0)
    data = prepare(table, metric="auroc", transfer="pairwise")
    own = data.sizes[np.arange(data.n_obs), data.task]
    key = pd.Series(list(zip(data.task, data.seed, own)))
    # same (task, seed, own size) <=> same subsample group; same (task, seed) <=> trajectory
    assert key.groupby(data.subsample).nunique().eq(1).all()
    assert pd.Series(data.subsample).groupby(key.astype(str)).nunique().eq(1).all()
    assert len(np.unique(data.trajectory)) == len(set(zip(data.task, data.seed)))
    # the single run and the pair runs of a target at one (seed, size) are one group
    shared = pd.Series(data.subsample).value_counts()
    assert shared.max() >= 3


def _intra_class_correlation(table, truth):
    data = prepare(table, metric="auroc", transfer="pairwise")
    residual = pd.Series(table["value"].to_numpy() - truth["mean"])
    group_mean = residual.groupby(data.subsample).transform("mean")
    sizes = pd.Series(data.subsample).map(pd.Series(data.subsample).value_counts())
    many = sizes.to_numpy() >= 3
    between = group_mean[many].var()
    return between / residual[many].var()


def test_simulated_noise_is_correlated_within_a_shared_subsample(real_design):
    options = dict(design=real_design, n_test=5000, noise_sd=0.005, trajectory_sd=0.0,
                   seed=3)
    shared = _intra_class_correlation(*simulate_results(subsample_sd=0.03, **options))
    independent = _intra_class_correlation(*simulate_results(subsample_sd=0.0, **options))
    assert shared > 0.7 and independent < 0.5


def test_prior_predictive_does_not_depend_on_the_largest_fitted_size():
    full, _ = simulate_results(n_tasks=2, structure="none", design="pairs", source_sizes=(),
                               sizes=(32, 64, 2048), seeds=(0,), seed=1)
    prefix = full[full[["n_task00", "n_task01"]].max(axis=1) <= 64]
    options = dict(family="exp3", transfer="none", num_samples=3000, seed=0)
    a = prior_predictive(full, **options)
    b = prior_predictive(prefix, **options)
    small = a[a[["n_task00", "n_task01"]].max(axis=1) <= 64].reset_index(drop=True)
    assert np.allclose(small["mean"], b["mean"], atol=0.015)
    # the prior is vague (90% intervals span most of [0, 1]); 0.06 is the Monte Carlo error of
    # an interval end at 3000 draws, a prior scaled by the largest size moves them by ~0.3
    assert np.allclose(small["high"] - small["low"], b["high"] - b["low"], atol=0.06)
    assert a["pit"].between(0, 1).all() and len(b) == len(prefix)


@pytest.mark.parametrize("structure", ["pairwise", "contextual"])
def test_prior_predictive_works_for_transfer_structures(structure):
    table, _ = simulate_results(n_tasks=3, structure=structure, seed=2, seeds=(0,))
    check = prior_predictive(table, family="exp3", transfer=structure, num_samples=50)
    assert len(check) == len(table) and (check["low"] <= check["high"]).all()
    assert check[["low", "high"]].stack().between(0, 1).all()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_prior_rarely_implies_an_auroc_near_zero(family):
    """A prior that puts a quarter of its mass on AUROC < 0 at 32 samples (exp3's old
    ``b ~ Normal(-1, 1)``; pow3's and pow4's first priors, 32% and 22%) makes simulated scores
    underflow to 0, which no real sweep shows and which broke simulation-based calibration;
    every family's prior now keeps that corner small."""
    from lcurve.curves import CurveFit
    from lcurve.curves.checks import prior_draws

    table, _ = simulate_results(n_tasks=2, structure="none", design="pairs", source_sizes=(),
                                sizes=(32, 1024), seeds=(0,), seed=1)
    fit = CurveFit(table, family=family, transfer="none")
    fit._prepared()
    draws = prior_draws(fit.model(), fit.model_args(fit._data, observed=False, groups=True),
                        jax.random.PRNGKey(0), num_samples=4000)
    small = np.asarray(draws["expected_score"])[:, fit._data.sizes.max(axis=1) == 32]
    assert (small < 0.01).mean() < 0.04
    assert 0.45 < np.median(small) < 0.75  # a curve starts near chance, not at its asymptote
