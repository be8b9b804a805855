"""Traits on hand-made molecules: scaffolds, Tanimoto values, entropy, overlap; trait tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lcurve import MultiTaskData
from lcurve.datasets import morgan_fingerprints
from lcurve.latent import (
    murcko_scaffold,
    pair_traits,
    relate_scores,
    relate_traits,
    tanimoto_matrix,
    task_traits,
)

SMILES = ["c1ccccc1CC", "c1ccccc1CCO", "C1CCCCC1N", "CCO", "c1ccncc1C", "c1ccccc1O"]


def _data():
    X = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1],
                  [0, 0, 0, 1], [1, 0, 1, 0], [1, 1, 0, 1]], dtype=np.uint8)
    Y = np.array([[1, np.nan], [0, 1], [1, np.nan], [np.nan, 0], [np.nan, 1], [0, np.nan]])
    return MultiTaskData(X=X, Y=Y, tasks=("a", "b"), compound_ids=SMILES,
                         test_mask=np.zeros((6, 2), bool))


def test_murcko_scaffolds_of_known_molecules():
    assert murcko_scaffold("c1ccccc1CC") == "c1ccccc1"
    assert murcko_scaffold("c1ccccc1CCc1ccncc1") == "c1ccc(CCc2ccncc2)cc1"
    assert murcko_scaffold("CCO") == ""
    assert murcko_scaffold("not a smiles") is None


def test_tanimoto_against_rdkit():
    from rdkit import DataStructs
    from rdkit.Chem import AllChem, MolFromSmiles

    fps = [AllChem.GetMorganFingerprintAsBitVect(MolFromSmiles(s), 2, nBits=2048) for s in SMILES]
    expected = np.array([DataStructs.BulkTanimotoSimilarity(f, fps) for f in fps])
    bits = np.array([list(f) for f in fps], dtype=np.uint8)
    np.testing.assert_allclose(tanimoto_matrix(bits, bits), expected, atol=1e-6)
    assert tanimoto_matrix([[0, 0]], [[0, 0]])[0, 0] == 0.0
    with pytest.raises(ValueError, match="binary"):
        tanimoto_matrix(np.array([[0.5, 1]]), np.array([[1, 1]]))


def test_task_traits_by_hand():
    traits = task_traits(_data()).set_index("task")
    # task a: compounds 0,1,2,5 with labels 1,0,1,0; scaffolds benzene x3 + cyclohexane
    assert traits.loc["a", "n_labelled"] == 4
    assert traits.loc["a", "active_fraction"] == 0.5
    assert traits.loc["a", "label_entropy"] == pytest.approx(1.0)
    assert traits.loc["a", "scaffold_diversity"] == pytest.approx(2 / 4)
    assert traits.loc["a", "fingerprint_density"] == pytest.approx((2 + 3 + 2 + 3) / 16)
    # task b: compounds 1,3,4 labels 1,0,1; scaffolds benzene, acyclic, pyridine
    assert traits.loc["b", "active_fraction"] == pytest.approx(2 / 3)
    p = 2 / 3
    assert traits.loc["b", "label_entropy"] == pytest.approx(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)))
    assert traits.loc["b", "scaffold_diversity"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="split must be one of"):
        task_traits(_data(), split="test")


def test_pair_traits_by_hand():
    pairs = pair_traits(_data()).set_index(["source", "target"])
    assert pairs.loc[("a", "b"), "compound_overlap"] == pytest.approx(1 / 6)  # {1} of 6
    # target b's compounds 1, 3, 4; nearest in a (0, 1, 2, 5): 1 (itself) -> 1,
    # 3 = {3} -> best 2 = {2,3}: 1/2; 4 = {0,2} -> best 1 = {0,1,2}: 2/3
    assert pairs.loc[("a", "b"), "surface_similarity"] == pytest.approx((1 + 0.5 + 2 / 3) / 3)


def test_relate_traits_finds_planted_driver():
    rng = np.random.default_rng(0)
    tasks = [f"t{i}" for i in range(7)]
    size = rng.permutation(np.arange(7.0))
    traits = pd.DataFrame({"task": tasks, "n_labelled": size, "noise": rng.normal(size=7)})
    transfer = pd.DataFrame([(s, t, size[i] + 0.1 * rng.normal()) for i, s in enumerate(tasks)
                             for t in tasks if s != t], columns=["source", "target", "mean"])
    out = relate_traits(transfer, traits, n_permutations=199)
    top = out.iloc[0]
    assert (top["trait"], top["role"]) == ("n_labelled", "source")
    assert top["rho"] > 0.9 and top["p_value"] < 0.02
    noise = out[(out.trait == "noise")]
    assert (noise["p_value"] > 0.01).all()
    with pytest.raises(ValueError, match="no traits for"):
        relate_traits(transfer, traits.iloc[:3])
    scores = pd.DataFrame({"factor1": size}, index=tasks)
    rel = relate_scores(scores, traits, n_permutations=99)
    assert rel.iloc[0]["trait"] == "n_labelled" and rel.iloc[0]["rho"] == pytest.approx(1.0)
