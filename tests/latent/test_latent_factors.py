"""Transfer factors: planted group recovery, exact low-rank structure, centring."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

from lcurve.datasets import make_synthetic
from lcurve.latent import (
    parallel_analysis,
    prepare_matrix,
    transfer_factors,
)
from lcurve.transfer import transfer_matrix


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_factors_recover_planted_groups(seed):
    """A noisy transfer table built from the planted relatedness: in the space of the first
    n_groups factors, tasks of one planted group lie on one line through the origin (the
    sign-flipped task on the opposite side), so clustering on |cosine| recovers the groups."""
    _, truth = make_synthetic(n_tasks=8, n_compounds=400, n_groups=2, seed=seed)
    rng = np.random.default_rng(seed)
    table = truth.relatedness.rename(columns={"relatedness": "mean"})
    table["mean"] += rng.normal(scale=0.05, size=len(table))
    fac = transfer_factors(transfer_matrix(table), center="none")
    assert fac.explained["explained_variance_ratio"].iloc[:2].sum() > 0.6
    z = fac.scores.iloc[:, :2].to_numpy()
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    distance = 1 - np.abs(z @ z.T)
    tree = linkage(distance[np.triu_indices(len(z), 1)], method="average")
    found = fcluster(tree, 2, criterion="maxclust")
    planted = [truth.groups[t] for t in fac.scores.index]
    assert adjusted_rand_score(planted, found) == 1.0


def test_rank_one_matrix_and_reconstruction():
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=5), rng.normal(size=5)
    m = pd.DataFrame(np.outer(u, v), index=list("abcde"), columns=list("abcde"))
    fac = transfer_factors(m, center="none")
    assert fac.explained["explained_variance_ratio"].iloc[0] == pytest.approx(1.0)
    np.testing.assert_allclose(fac.reconstruct(1), m, atol=1e-10)
    np.testing.assert_allclose(fac.explained["cumulative"].iloc[-1], 1.0)


@pytest.mark.parametrize("center", ["column", "row", "double", "none"])
def test_centring_is_as_documented(center):
    rng = np.random.default_rng(1)
    m = pd.DataFrame(rng.normal(size=(4, 4)), index=list("abcd"), columns=list("abcd"))
    m.iloc[0, 0] = np.nan
    prepared = prepare_matrix(m, center=center).to_numpy()
    if center in ("column", "double"):
        np.testing.assert_allclose(prepared.mean(axis=0), 0, atol=1e-12)
    if center in ("row", "double"):
        np.testing.assert_allclose(prepared.mean(axis=1), 0, atol=1e-12)
    assert np.isfinite(prepared).all()


def test_bad_inputs():
    m = pd.DataFrame(np.eye(3), index=list("abc"), columns=list("abc"))
    with pytest.raises(ValueError, match="center must be one of"):
        transfer_factors(m, center="mean")
    with pytest.raises(ValueError, match="scale must be one of"):
        transfer_factors(m, scale="unit")
    with pytest.raises(ValueError, match="n_factors"):
        transfer_factors(m, n_factors=7)
    with pytest.raises(TypeError, match="DataFrame"):
        transfer_factors(np.eye(3))


def test_parallel_analysis_separates_structure_from_noise():
    rng = np.random.default_rng(3)
    names = list("abcdefgh")
    structured = pd.DataFrame(np.outer(rng.normal(size=8), rng.normal(size=8))
                              + 0.05 * rng.normal(size=(8, 8)), index=names, columns=names)
    noise = pd.DataFrame(rng.normal(size=(8, 8)), index=names, columns=names)
    assert parallel_analysis(structured, n_permutations=99)["p_value"].iloc[0] < 0.05
    assert parallel_analysis(noise, n_permutations=99)["p_value"].iloc[0] > 0.05
