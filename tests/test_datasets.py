import warnings

import numpy as np
import pandas as pd
import pytest

from lcurve.data import DataError
from lcurve.datasets import (
    DataCleaningWarning,
    from_csv,
    from_frame,
    load_moleculeace,
    make_synthetic,
    moleculeace_table,
    morgan_fingerprints,
)
from lcurve.datasets._fingerprints import featurize_smiles

SMILES = ["CCO", "CCN", "CCC", "CCCl", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CCOC"]


def _table(**extra):
    df = pd.DataFrame({"smiles": SMILES * 2, "task": ["a"] * 8 + ["b"] * 8,
                       "label": [0, 1] * 8})
    for k, v in extra.items():
        df[k] = v
    return df


def test_from_frame_builds_sparse_matrix(tmp_path):
    df = _table().iloc[:12]  # task b measures only the first 4 compounds
    data = from_frame(df, test_fraction=0.25, cache_dir=tmp_path, n_bits=128)
    assert data.tasks == ("a", "b")
    assert data.X.shape == (8, 128)
    assert np.isnan(data.Y[4:, 1]).all() and not np.isnan(data.Y[:, 0]).any()
    summary = data.task_summary()
    assert summary["n_test"].tolist() == [2, 2]  # stratified: one of each class per task


def test_from_frame_does_not_modify_input(tmp_path):
    df = _table()
    before = df.copy()
    from_frame(df, cache_dir=tmp_path, n_bits=64)
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda d: d.assign(smiles=d.smiles.where(d.index != 3, "not_a_smiles")), "invalid smiles"),
        (lambda d: pd.concat([d, d.iloc[[0]]]), "duplicate rows"),
        (lambda d: d.assign(label=np.where(d.task == "b", 1, d.label)), "single class tasks"),
    ],
)
def test_table_problems_are_reported_by_count_and_name(tmp_path, mutate, problem):
    df = mutate(_table())
    with pytest.raises(DataError, match=f"1 {problem}"):
        from_frame(df, cache_dir=tmp_path, n_bits=64)
    with pytest.warns(DataCleaningWarning, match=f"1 {problem}"):
        data = from_frame(df, cache_dir=tmp_path, n_bits=64, errors="drop")
    assert data.info["cleaning"][problem.replace(" ", "_")] == 1


def test_bad_labels_and_columns(tmp_path):
    with pytest.raises(DataError, match="not 0 or 1"):
        from_frame(_table(label=[0, 2] * 8), cache_dir=tmp_path)
    with pytest.raises(DataError, match=r"missing column\(s\) \['label'\]"):
        from_frame(_table().drop(columns="label"), cache_dir=tmp_path)
    with pytest.raises(DataError, match="empty"):
        from_frame(_table().iloc[:0], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="threshold"):
        from_frame(_table(pact=1.0), value_col="pact", cache_dir=tmp_path)


def test_value_column_is_binarised_at_threshold(tmp_path):
    df = _table(pact=[6.0, 7.5] * 8).drop(columns="label")
    data = from_frame(df, value_col="pact", threshold=7.0, cache_dir=tmp_path, n_bits=64)
    assert np.nanmean(data.Y) == 0.5


def test_feature_columns_instead_of_smiles():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.random((20, 3)), columns=["f1", "f2", "f3"])
    df["task"] = ["a"] * 10 + ["b"] * 10
    df["label"] = [0, 1] * 10
    data = from_frame(df, feature_cols=["f1", "f2", "f3"])
    assert data.X.shape == (20, 3)
    row = data.compound_ids.index(data.compound_ids[0])
    np.testing.assert_allclose(data.X[row], df[["f1", "f2", "f3"]].to_numpy()[0], rtol=1e-6)


def test_from_csv(tmp_path):
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    assert from_csv(path, cache_dir=tmp_path, n_bits=64).n_tasks == 2
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        from_csv(tmp_path / "empty.csv")
    with pytest.raises(FileNotFoundError):
        from_csv(tmp_path / "missing.csv")


def test_fingerprints_cached_and_match_rdkit(tmp_path):
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    fp = morgan_fingerprints(SMILES, n_bits=256, cache_dir=tmp_path)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=256)
    ref = np.array([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in SMILES])
    np.testing.assert_array_equal(fp, ref)
    assert len(list(tmp_path.glob("morgan-*.npz"))) == 1
    np.testing.assert_array_equal(morgan_fingerprints(SMILES, n_bits=256, cache_dir=tmp_path), fp)
    # a corrupt cache file is recomputed, not trusted
    next(tmp_path.glob("morgan-*.npz")).write_bytes(b"garbage")
    np.testing.assert_array_equal(morgan_fingerprints(SMILES, n_bits=256, cache_dir=tmp_path), fp)
    valid, _ = featurize_smiles(["CCO", "C1CC"], use_cache=False)
    assert valid.tolist() == [True, False]
    with pytest.raises(ValueError, match="1 invalid SMILES"):
        morgan_fingerprints(["CCO", "C1CC"], use_cache=False)


def test_moleculeace_embedded_table():
    table = moleculeace_table()
    assert table["task"].nunique() == 30
    assert table["smiles"].nunique() == 35633
    assert set(table["split"]) == {"train", "test"}
    sizes = table.groupby("task").size()
    assert sizes.min() == 615 and sizes.max() == 3657


def test_load_moleculeace_subset(tmp_path):
    tasks = ["CHEMBL2047_EC50", "CHEMBL1871_Ki"]
    data = load_moleculeace(tasks, cache_dir=tmp_path, threshold=7.0)
    assert data.tasks == tuple(tasks) and data.n_features == 2048
    table = moleculeace_table()
    sub = table[table.task == tasks[0]]
    summary = data.task_summary().set_index("task")
    assert summary.loc[tasks[0], "n_train"] == (sub.split == "train").sum()
    active = (sub.pact >= 7.0)[sub.split == "train"].mean()
    assert summary.loc[tasks[0], "active_fraction_train"] == pytest.approx(active)
    stricter = load_moleculeace(tasks, cache_dir=tmp_path, threshold=8.0)
    assert np.nanmean(stricter.Y) < np.nanmean(data.Y)
    with pytest.raises(KeyError, match="unknown MoleculeACE task"):
        load_moleculeace(["CHEMBL0_Ki"], cache_dir=tmp_path)


def test_synthetic_plants_groups_negative_pair_and_imbalance():
    data, truth = make_synthetic(n_tasks=6, n_compounds=1500, seed=2)
    m = truth.matrix()
    groups = truth.groups
    same = [(s, t) for s in m.index for t in m.columns if s != t and groups[s] == groups[t]]
    other = [(s, t) for s in m.index for t in m.columns if groups[s] != groups[t]]
    assert min(abs(m.loc[s, t]) for s, t in same) > 0.7
    assert max(abs(m.loc[s, t]) for s, t in other) < 0.5
    assert (m.to_numpy()[~np.isnan(m.to_numpy())] < -0.7).any()  # a negatively related pair
    summary = data.task_summary()
    assert summary["n_train"].max() > 2 * summary["n_train"].min()
    assert summary["active_fraction_train"].max() - summary["active_fraction_train"].min() > 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_synthetic(n_tasks=2, n_compounds=100)
