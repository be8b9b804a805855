import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lcurve.config import ConfigError, DesignConfig
from lcurve.design import (
    DesignError,
    make_design,
    size_column,
    size_columns,
    size_grid,
    task_permutation,
    training_rows,
    validate_design,
)


@given(max_size=st.integers(1, 5000), min_size=st.integers(1, 64), ppd=st.integers(1, 4))
@settings(max_examples=200, deadline=None)
def test_size_grid_properties(max_size, min_size, ppd):
    grid = size_grid(max_size, min_size=min_size, points_per_doubling=ppd)
    assert grid[-1] == max_size
    assert (np.diff(grid) > 0).all()
    assert grid[0] == min(min_size, max_size)
    geometric = {round(min_size * 2 ** (k / ppd)) for k in range(200)}
    assert set(grid[:-1].tolist()) == {n for n in geometric if n < max_size}


def test_size_grid_lcdb_schedule():
    assert size_grid(100, min_size=16).tolist() == [16, 23, 32, 45, 64, 91, 100]
    with pytest.raises(DesignError):
        size_grid(0)


def test_permutation_depends_on_seed_and_task_name_only(synthetic):
    data, _ = synthetic
    perm = task_permutation(data, "task01", seed=4)
    assert sorted(perm) == sorted(np.flatnonzero(data.train_mask[:, 1]))
    sub = data.select_tasks(["task01", "task03"])
    sub_perm = task_permutation(sub, "task01", seed=4)
    ids = np.asarray(data.compound_ids)[perm]
    assert (np.asarray(sub.compound_ids)[sub_perm] == ids).all()
    assert not np.array_equal(perm, task_permutation(data, "task01", seed=5))


@given(seed=st.integers(0, 10_000), small=st.integers(1, 100), extra=st.integers(0, 100))
@settings(max_examples=50, deadline=None)
def test_subsets_are_nested(synthetic, seed, small, extra):
    data, _ = synthetic
    n_small = dict(zip(data.tasks, [small] * data.n_tasks))
    n_large = {t: n + extra for t, n in n_small.items()}
    rows_small = set(training_rows(data, seed, n_small))
    rows_large = set(training_rows(data, seed, n_large))
    assert rows_small <= rows_large
    for t in data.tasks:
        first = task_permutation(data, t, seed)
        assert set(first[:small]) <= set(first[: small + extra])


@pytest.mark.parametrize("kind", ["single", "pairs", "contextual"])
def test_design_kinds(synthetic, kind):
    data, _ = synthetic
    design = make_design(data, kind=kind, seeds=[0, 1], min_size=32)
    cols = size_columns(design)
    assert cols == [size_column(t) for t in data.tasks]
    assert design["run_id"].is_unique
    assert not design.duplicated(["seed", *cols]).any()
    trained = (design[cols] > 0).sum(axis=1)
    by_kind = trained.groupby(design["kind"]).agg(["min", "max"])
    assert by_kind.loc["single"].tolist() == [1, 1]
    if kind == "pairs":
        assert by_kind.loc["pairs"].tolist() == [2, 2]
    if kind == "contextual":
        assert by_kind.loc["contextual"].tolist() == [data.n_tasks] * 2
    available = data.n_train()
    for t in data.tasks:
        assert design[size_column(t)].max() == available[t]  # the grid reaches each task's cap


def test_contextual_design_has_two_context_levels_by_default(synthetic):
    data, _ = synthetic
    design = make_design(data, kind="contextual", seeds=[0], min_size=32,
                         include_single=False)
    cols = size_columns(design)
    available = data.n_train()
    expected = set()
    for t in data.tasks:  # every grid size of every target beside half and all the others
        for n in size_grid(available[t], min_size=32):
            for fraction in (0.5, 1.0):
                expected.add(tuple(int(n) if o == t else int(np.floor(fraction * available[o]))
                                   for o in data.tasks))
    # a run asked for twice (every task at its full size) is trained once
    assert set(map(tuple, design[cols].to_numpy())) == expected
    assert len(design) == len(expected)


def test_context_levels_add_up(synthetic):
    data, _ = synthetic

    def runs(fraction):
        design = make_design(data, kind="contextual", seeds=[0, 1], min_size=32,
                             context_fraction=fraction)
        return set(map(tuple, design[["seed", *size_columns(design)]].to_numpy()))

    assert runs([1.0, 0.25]) == runs(1.0) | runs(0.25)
    assert runs(1.0) < runs([1.0, 0.25])


@pytest.mark.parametrize("fraction, stored", [(1.0, (1.0,)), (0.5, (0.5,)),
                                              ([1.0, 0.25], (0.25, 1.0)),
                                              ((0.5, 1.0), (0.5, 1.0))])
def test_context_fraction_is_stored_as_a_sorted_tuple(fraction, stored):
    config = DesignConfig(kind="contextual", context_fraction=fraction)
    assert config.context_fraction == stored
    assert DesignConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("fraction, match", [([], "must be in"), ([0.5, 1.5], "must be in"),
                                          (0.0, "must be in"), ([0.5, 0.5], "has duplicates")])
def test_bad_context_fractions_are_named(fraction, match):
    with pytest.raises(ConfigError, match=f"context_fraction {match}"):
        DesignConfig(kind="contextual", context_fraction=fraction)


def test_pairs_cover_every_target_size_with_every_aux_size(synthetic):
    data, _ = synthetic
    design = make_design(data, kind="pairs", seeds=[0], min_size=32, aux_sizes=[16, 64],
                         targets=["task00"], include_single=False)
    assert set(design["target"]) == {"task00"}
    grid = size_grid(data.n_train()["task00"], min_size=32)
    for other in data.tasks[1:]:
        sub = design[design[size_column(other)] > 0]
        assert set(zip(sub["n_task00"], sub[size_column(other)])) == {
            (n, a) for n in grid for a in (16, 64)
        }


def test_size_columns_skip_test_set_counts(synthetic, tiny_train):
    table = pd.DataFrame(columns=["run_id", "n_task00", "n_test", "n_test_pos", "n_task01"])
    assert size_columns(table) == ["n_task00", "n_task01"]


def test_custom_design_and_errors(synthetic):
    data, _ = synthetic
    design = make_design(data, kind="custom", seeds=[0], custom_sizes=[{"task00": 10}])
    assert design.loc[0, "n_task00"] == 10 and design.loc[0, "n_task01"] == 0
    with pytest.raises(DesignError, match="unknown task"):
        make_design(data, kind="custom", seeds=[0], custom_sizes=[{"nope": 10}])
    with pytest.raises(DesignError, match="training labels but the design asks for"):
        make_design(data, kind="custom", seeds=[0], custom_sizes=[{"task00": 10**6}])
    with pytest.raises(KeyError, match="unknown task"):
        make_design(data, kind="single", targets=["nope"])
    one = data.select_tasks(["task00"])
    with pytest.raises(DesignError, match="at least 2 tasks"):
        make_design(one, kind="pairs")


def test_validate_design_catches_malformed_tables(synthetic):
    data, _ = synthetic
    good = make_design(data, kind="single", seeds=[0], min_size=64)
    validate_design(good, data)
    bad_cases = {
        "missing column": good.drop(columns="seed"),
        "do not match": good.drop(columns="n_task01"),
        "duplicate run_id": pd.concat([good, good.iloc[[0]]]),
        "must be integer": good.assign(n_task00=good["n_task00"].astype(float)),
        "negative size": good.assign(n_task00=-good["n_task00"]),
        "train no task": good.assign(**{c: 0 for c in size_columns(good)}),
        "has no runs": good.iloc[:0],
    }
    for match, table in bad_cases.items():
        with pytest.raises(DesignError, match=match):
            validate_design(table, data)
