"""The fast warm-start sweep: same schema as run_sweep, nested stages, curves that rise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lcurve.config import TrainConfig
from lcurve.datasets import make_synthetic
from lcurve.design import make_design, size_column, training_rows
from lcurve.sweep import design_chains, run_fast_sweep
from lcurve.sweep import run_sweep
from lcurve.train import nested_rows

CONFIG = TrainConfig(hidden=(16,), steps=60, batch_size=32, learning_rate=1e-2, chunk_size=16,
                     vmap_width=8)


@pytest.fixture(scope="module")
def planted():
    data, truth = make_synthetic(n_tasks=3, n_compounds=900, n_features=32, seed=3)
    design = make_design(data, kind="pairs", seeds=[0], min_size=16, max_size=128,
                         points_per_doubling=1, aux_sizes=[128])
    return data, truth, design


@pytest.fixture(scope="module")
def fast(planted):
    data, _, design = planted
    return run_fast_sweep(data, design, CONFIG, progress=False)


def test_schema_matches_run_sweep(planted, fast):
    data, _, design = planted
    one_run = design[design["run_id"] == design["run_id"].iloc[0]]
    full = run_sweep(data, one_run, CONFIG, progress=False)
    assert list(fast.columns) == [*full.columns, "mode"]
    assert (fast["mode"] == "fast").all()
    assert set(fast["run_id"]) == set(design["run_id"])
    per_run = fast.groupby("run_id").size()
    trained = (design.set_index("run_id")[[size_column(t) for t in data.tasks]] > 0).sum(axis=1)
    pd.testing.assert_series_equal(per_run, 2 * trained, check_names=False)
    for col in full.columns:
        assert fast[col].dtype.kind == full[col].dtype.kind, col


def test_scores_rise_with_size(planted, fast):
    data, _, _ = planted
    single = fast[(fast["kind"] == "single") & (fast["metric"] == "auroc")]
    for task in data.tasks:
        curve = single[single["task"] == task].groupby(size_column(task))["value"].mean()
        assert curve.iloc[-1] > curve.iloc[0] + 0.05, (task, curve.to_dict())


def test_reproducible_bit_for_bit(planted, fast):
    data, _, design = planted
    again = run_fast_sweep(data, design, CONFIG, progress=False)
    np.testing.assert_array_equal(fast["value"].to_numpy(), again["value"].to_numpy())


def test_chains_cover_the_design_and_grow_only_the_target(planted):
    data, _, design = planted
    chains = design_chains(design, data.tasks)
    assert sorted(pd.concat(chains)["run_id"]) == sorted(design["run_id"])
    for chain in chains:
        target = chain["target"].iloc[0]
        others = chain[[size_column(t) for t in data.tasks if t != target]]
        assert (others.nunique() == 1).all()
        assert chain[size_column(target)].is_monotonic_increasing
        assert chain["seed"].nunique() == 1


def test_nested_rows_are_prefixes_of_each_stage(planted):
    data, _, _ = planted
    stages = np.array([[16, 0, 128], [32, 0, 128], [64, 0, 128]])
    rows, n_rows = nested_rows(data, 0, stages)
    for sizes, n in zip(stages, n_rows):
        expected = training_rows(data, 0, dict(zip(data.tasks, sizes.tolist())))
        assert sorted(rows[:n].tolist()) == expected.tolist()
    with pytest.raises(ValueError, match="nested"):
        nested_rows(data, 0, stages[::-1])
