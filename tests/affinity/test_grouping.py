"""Task grouping: exact branch and bound == brute force; heuristic and uncertainty behave."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from lcurve.affinity import group_tasks, grouping_score, score_matrix
from lcurve.affinity.grouping import _exact, _greedy


def _partitions(n: int, max_groups: int):
    """All set partitions of range(n) with at most max_groups blocks (restricted growth)."""
    for labels in itertools.product(range(max_groups), repeat=n):
        if labels[0] == 0 and all(labels[k] <= max(labels[:k]) + 1 for k in range(1, n)):
            yield np.array(labels)


def _scores(S: np.ndarray, column: str = "affinity") -> pd.DataFrame:
    n = len(S)
    tasks = [f"t{k}" for k in range(n)]
    return pd.DataFrame([(tasks[i], tasks[j], S[i, j]) for i in range(n) for j in range(n)
                         if i != j], columns=["source", "target", column])


@pytest.mark.parametrize("n_tasks", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("max_groups", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_exact_search_equals_brute_force(n_tasks, max_groups, seed):
    S = np.random.default_rng(seed).normal(size=(n_tasks, n_tasks))
    brute = max(grouping_score(S, labels) for labels in _partitions(n_tasks, max_groups))
    labels = _exact(S, max_groups)
    assert len(np.unique(labels)) <= max_groups
    assert grouping_score(S, labels) == pytest.approx(brute, abs=1e-12)


def test_greedy_is_valid_and_never_beats_exact():
    rng = np.random.default_rng(3)
    for _ in range(5):
        S = rng.normal(size=(7, 7))
        greedy, exact = _greedy(S, 3), _exact(S, 3)
        assert len(np.unique(greedy)) <= 3
        assert grouping_score(S, greedy) <= grouping_score(S, exact) + 1e-12


def test_planted_blocks_are_recovered_by_both_searches():
    blocks = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 1])
    S = np.where(blocks[:, None] == blocks[None, :], 1.0, -1.0)
    table = _scores(S)
    expected = {frozenset(f"t{k}" for k in np.flatnonzero(blocks == g)) for g in range(3)}
    for exact_max in (12, 4):  # exact, then the greedy heuristic
        grouping = group_tasks(table, max_groups=3, exact_max=exact_max)
        assert {frozenset(g) for g in grouping.groups} == expected
        assert grouping.method == ("exact" if exact_max == 12 else "greedy")


def test_uncertainty_lower_bound_and_sampling():
    # a -> b and b -> a look good on average, but only a <-> c is confidently positive
    rows = [("a", "b", 0.5, -0.4, 1.4), ("b", "a", 0.5, -0.4, 1.4),
            ("a", "c", 0.2, 0.1, 0.3), ("c", "a", 0.2, 0.1, 0.3),
            ("b", "c", -1.0, -1.2, -0.8), ("c", "b", -1.0, -1.2, -0.8)]
    table = pd.DataFrame(rows, columns=["source", "target", "mean", "hdi_low", "hdi_high"])
    assert group_tasks(table, max_groups=2).groups == (("a", "b"), ("c",))
    assert group_tasks(table, max_groups=2, uncertainty="lower").groups == (("a", "c"), ("b",))
    sampled = group_tasks(table, max_groups=2, uncertainty="sample", n_samples=50)
    assert 0 < sampled.support <= 1
    narrow = table.assign(hdi_low=table["mean"] - 1e-6, hdi_high=table["mean"] + 1e-6)
    certain = group_tasks(narrow, max_groups=2, uncertainty="sample", n_samples=10)
    assert certain.groups == (("a", "b"), ("c",)) and certain.support == 1.0


def test_score_matrix_and_errors():
    tasks, S = score_matrix(_scores(np.arange(9.0).reshape(3, 3)))
    assert tasks == ["t0", "t1", "t2"] and S[0, 1] == 1.0 and S[1, 1] == 0.0
    with pytest.raises(ValueError, match="max_groups"):
        group_tasks(_scores(np.eye(3)), max_groups=0)
    with pytest.raises(ValueError, match="uncertainty"):
        group_tasks(_scores(np.eye(3)), max_groups=2, uncertainty="median")
    with pytest.raises(KeyError, match="hdi_low"):
        group_tasks(_scores(np.eye(3)), max_groups=2, uncertainty="lower")
