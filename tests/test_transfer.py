"""Transfer tables from results: gains against a sequential reference, and clear errors."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import scipy.stats

from lcurve.transfer import (
    TRANSFER_COLUMNS,
    TransferError,
    transfer_from_posterior,
    transfer_matrix,
    transfer_table,
)


@pytest.fixture
def pair_table(random_pair_results):
    """3 tasks, 3 seeds, 2 target sizes, pairs at aux size 64."""
    return lambda seed=0: random_pair_results(["a", "b", "c"], seeds=range(3), sizes=(32, 64),
                                              seed=seed)


def test_transfer_table_matches_sequential_loop(pair_table):
    results = pair_table()
    table = transfer_table(results).set_index(["source", "target"])
    for (src, tgt), row in table.iterrows():
        per_seed = []
        for s in range(3):
            gains = []
            for n in (32, 64):
                base = results[(results.kind == "single") & (results.seed == s)
                               & (results.task == tgt) & (results[f"n_{tgt}"] == n)]
                pair = results[(results.kind == "pairs") & (results.seed == s)
                               & (results.task == tgt) & (results[f"n_{tgt}"] == n)
                               & (results[f"n_{src}"] == 64)]
                gains.append(pair.value.iloc[0] - base.value.iloc[0])
            per_seed.append(np.mean(gains))
        assert row["mean"] == pytest.approx(np.mean(per_seed))
        assert row["sd"] == pytest.approx(np.std(per_seed, ddof=1))
        assert row["se"] == pytest.approx(np.std(per_seed, ddof=1) / np.sqrt(3))
        half = scipy.stats.t.ppf(0.95, 2) * row["se"]  # 90% Student-t interval, 2 dof
        assert (row["hdi_low"], row["hdi_high"]) == pytest.approx(
            (row["mean"] - half, row["mean"] + half))
        assert np.isnan(row["p_positive"])  # not a posterior
        assert row["n"] == 3
    assert tuple(table.reset_index().columns) == TRANSFER_COLUMNS
    assert table["mean"].is_monotonic_decreasing  # sorted best first
    m = transfer_matrix(table.reset_index())
    assert m.shape == (3, 3) and np.isnan(np.diag(m.to_numpy())).all()
    assert m.loc["a", "b"] == pytest.approx(table.loc[("a", "b"), "mean"])


def test_transfer_table_size_filter_and_errors(pair_table):
    results = pair_table()
    small = transfer_table(results, n_target=32)
    assert len(small) == 6
    with pytest.raises(TransferError, match="matches no run"):
        transfer_table(results, n_target=999)
    with pytest.raises(TransferError, match="metric 'auprc'"):
        transfer_table(results, metric="auprc")
    with pytest.raises(TransferError, match="no pair runs"):
        transfer_table(results[results.kind == "single"])
    with pytest.raises(TransferError, match="lacks column"):
        transfer_table(results.drop(columns="value"))
    # a run of a task without a size column is an error, not silently left out
    orphan = results.assign(task=results["task"].where(results.index != 0, "nowhere"))
    with pytest.raises(TransferError, match=r"\['nowhere'\] have no size column"):
        transfer_table(orphan)


def test_transfer_from_posterior():
    post = pd.DataFrame({"source": ["a", "b", "a"], "target": ["b", "a", "c"],
                         "mean": [0.1, 0.3, -0.2], "sd": [0.05, 0.1, 0.1]})
    table = transfer_from_posterior(post)
    assert table["mean"].tolist() == [0.3, 0.1, -0.2]
    assert set(TRANSFER_COLUMNS) <= set(table.columns) and table["se"].isna().all()
    assert transfer_matrix(table).loc["a", "c"] == -0.2
    with pytest.raises(TransferError, match="mean"):
        transfer_from_posterior(post.drop(columns="mean"))
    with pytest.raises(TransferError, match="duplicate"):
        transfer_from_posterior(pd.concat([post, post]))
    with pytest.raises(TransferError, match="DataFrame"):
        transfer_from_posterior(post.to_dict())


def test_one_seed_gives_a_mean_but_no_interval(pair_table):
    table = transfer_table(pair_table()[lambda r: r.seed == 0])
    assert table["n"].eq(1).all() and table["mean"].notna().all()
    assert table[["sd", "se", "hdi_low", "hdi_high"]].isna().all().all()
