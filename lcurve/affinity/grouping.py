"""Partition tasks into groups that help each other most (TAG's selection rule).

A grouping is scored as in Fifty et al. (2021): the *total affinity onto each task* from the
other members of its group, where the affinity onto task ``j`` in group ``G`` is the mean of
``S(i -> j)`` over ``i in G, i != j`` (0 for a task alone). :func:`group_tasks` maximises the
sum over tasks subject to at most ``max_groups`` groups.

Search:

* ``K <= exact_max`` tasks: exact branch and bound over set partitions (tasks assigned in order,
  a new group opened only as the next label). A partial assignment is pruned when an upper bound
  on its best completion cannot beat the incumbent: the mean onto a task can only move towards
  the values ``S(u -> j)`` of tasks ``u`` still unassigned, so an assigned task's bound is the
  larger of its current mean and the best such value (0 for a lone task), and an unassigned
  task's bound is ``max(0, max_i S(i -> j))``.
* larger ``K``: a heuristic. Greedy agglomeration (start from singletons, repeatedly merge the
  pair of groups with the best gain; forced merges while more than ``max_groups`` remain),
  then local search moving one task at a time to the group that raises the score most, until
  no move helps. Not guaranteed optimal.

Scores come from :func:`~lcurve.affinity.tag_affinity` (``affinity``) or a learning-curve
transfer matrix (``mean`` with ``hdi_low``/``hdi_high`` or ``sd``). Uncertainty is used by
``uncertainty="lower"`` (group on the lower HDI bound: only confident transfer counts) or
``"sample"`` (draw score matrices from a normal with the HDI's width, group each draw and keep
the partition chosen most often; its frequency is reported as ``support``).

Example
-------
>>> import pandas as pd
>>> scores = pd.DataFrame({"source": ["a", "b", "c", "a", "b", "c"],
...                        "target": ["b", "a", "a", "c", "c", "b"],
...                        "affinity": [1.0, 1.0, -1.0, -1.0, -1.0, -1.0]})
>>> group_tasks(scores, max_groups=2).groups
(('a', 'b'), ('c',))
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = ["TaskGrouping", "group_tasks", "grouping_score", "score_matrix"]

UNCERTAINTY = ("mean", "lower", "sample")


@dataclasses.dataclass(frozen=True)
class TaskGrouping:
    """A chosen partition of the tasks.

    Attributes
    ----------
    groups
        Groups of task names (each sorted by task order; groups sorted by first task).
    score
        Total affinity onto each task under the scores the search used.
    method
        ``"exact"`` or ``"greedy"`` (the large-K heuristic).
    support
        Fraction of posterior draws choosing this partition (1.0 unless ``"sample"``).
    """

    groups: tuple[tuple[str, ...], ...]
    score: float
    method: str
    support: float = 1.0

    def table(self) -> pd.DataFrame:
        """Tidy ``task, group`` table."""
        return pd.DataFrame([(t, g) for g, members in enumerate(self.groups) for t in members],
                            columns=["task", "group"])


def score_matrix(scores: pd.DataFrame, *, value: str | None = None,
                 tasks=None) -> tuple[list[str], np.ndarray]:
    """``(tasks, S)`` with ``S[i, j]`` the score of ``source i -> target j`` (NaN -> 0).

    ``value`` defaults to ``affinity`` if present, else ``mean``.
    """
    if value is None:
        value = "affinity" if "affinity" in scores else "mean"
    missing = {"source", "target", value} - set(scores.columns)
    if missing:
        raise KeyError(f"scores lack column(s) {sorted(missing)}; have {list(scores.columns)}")
    if tasks is None:
        tasks = sorted(set(scores["source"]) | set(scores["target"]))
    index = {t: k for k, t in enumerate(tasks)}
    s = np.zeros((len(tasks), len(tasks)))
    for src, tgt, v in zip(scores["source"], scores["target"], scores[value]):
        if src in index and tgt in index and src != tgt and np.isfinite(v):
            s[index[src], index[tgt]] = v
    return list(tasks), s


def grouping_score(S: np.ndarray, labels) -> float:
    """Total mean affinity onto each task within its group (``labels[k]``: task k's group)."""
    labels = np.asarray(labels)
    total = 0.0
    for j in range(len(labels)):
        others = np.flatnonzero((labels == labels[j]) & (np.arange(len(labels)) != j))
        if len(others):
            total += S[others, j].mean()
    return float(total)


def _exact(S: np.ndarray, max_groups: int) -> np.ndarray:
    n = len(S)
    best_labels = np.zeros(n, dtype=int) if max_groups == 1 else np.arange(n) % max_groups
    best = [grouping_score(S, best_labels), best_labels.copy()]
    labels = np.full(n, -1)
    off_diagonal = np.where(np.eye(n, dtype=bool), -np.inf, S)
    best_any = np.maximum(0.0, off_diagonal.max(axis=0, initial=-np.inf))

    def bound(k: int) -> float:
        rest = np.arange(k, n)
        total = 0.0
        for j in range(n):
            if j >= k:  # unassigned: it may join any group, or stay alone (0)
                total += best_any[j]
                continue
            best_rest = S[rest, j].max(initial=-np.inf)
            mates = np.flatnonzero((labels[:k] == labels[j]) & (np.arange(k) != j))
            current = S[mates, j].mean() if len(mates) else 0.0
            total += max(current, best_rest) if len(mates) else max(0.0, best_rest)
        return total

    def recurse(k: int, n_used: int) -> None:
        if k == n:
            value = grouping_score(S, labels)
            if value > best[0] + 1e-12:
                best[0], best[1] = value, labels.copy()
            return
        if bound(k) <= best[0] + 1e-12:
            return
        for g in range(min(n_used + 1, max_groups)):
            labels[k] = g
            recurse(k + 1, max(n_used, g + 1))
        labels[k] = -1

    recurse(0, 0)
    return best[1]


def _greedy(S: np.ndarray, max_groups: int) -> np.ndarray:
    n = len(S)
    labels = np.arange(n)
    while True:
        groups = np.unique(labels)
        current = grouping_score(S, labels)
        best_gain, best_pair = -np.inf, None
        for a_pos, a in enumerate(groups):
            for b in groups[a_pos + 1:]:
                gain = grouping_score(S, np.where(labels == b, a, labels)) - current
                if gain > best_gain:
                    best_gain, best_pair = gain, (a, b)
        if best_pair is None or (best_gain <= 0 and len(groups) <= max_groups):
            break
        labels = np.where(labels == best_pair[1], best_pair[0], labels)
    improved = True
    while improved:  # local search: move single tasks
        improved = False
        for j in range(n):
            current = grouping_score(S, labels)
            options = [g for g in np.unique(labels) if g != labels[j]]
            if len(np.unique(labels)) < max_groups:
                options.append(labels.max() + 1)
            for g in options:
                trial = labels.copy()
                trial[j] = g
                if grouping_score(S, trial) > current + 1e-12:
                    labels, improved = trial, True
                    break
    return labels


def _canonical(labels, tasks) -> tuple[tuple[str, ...], ...]:
    groups = collections.defaultdict(list)
    for t, g in zip(tasks, labels):
        groups[g].append(t)
    return tuple(sorted((tuple(m) for m in groups.values()), key=lambda m: tasks.index(m[0])))


def _search(S, max_groups, exact_max):
    if len(S) <= exact_max:
        return _exact(S, max_groups), "exact"
    return _greedy(S, max_groups), "greedy"


def group_tasks(scores: pd.DataFrame, *, max_groups: int, value: str | None = None,
                uncertainty: str = "mean", hdi_prob: float = 0.9, n_samples: int = 200,
                exact_max: int = 9, seed: int = 0) -> TaskGrouping:
    """Choose at most ``max_groups`` groups of tasks maximising total affinity onto each task.

    Parameters
    ----------
    scores
        Tidy ``source, target`` table with an ``affinity`` (TAG) or ``mean`` (transfer) column.
    max_groups
        Largest number of groups (1 puts every task together).
    value
        Score column (default ``affinity``, else ``mean``).
    uncertainty
        ``"mean"``: the point scores. ``"lower"``: the ``hdi_low`` column. ``"sample"``:
        normal draws around ``value`` with sd from the interval width (``hdi_low``,
        ``hdi_high`` at ``hdi_prob``; else the ``sd`` column; NaN counts as 0),
        grouping each draw and returning the modal partition with its ``support``.
    exact_max
        Up to this many tasks the search is exact (branch and bound); above, greedy.
    seed
        Seed of the draws for ``"sample"``.

    Example
    -------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"source": ["a", "b"], "target": ["b", "a"], "mean": [.1, .2],
    ...                   "hdi_low": [-.1, -.05], "hdi_high": [.3, .45]})
    >>> group_tasks(t, max_groups=2).groups  # on average a and b help each other
    (('a', 'b'),)
    >>> group_tasks(t, max_groups=2, uncertainty="lower").groups  # but not confidently
    (('a',), ('b',))
    """
    if max_groups < 1:
        raise ValueError(f"max_groups must be >= 1, got {max_groups}")
    if uncertainty not in UNCERTAINTY:
        raise ValueError(f"uncertainty must be one of {UNCERTAINTY}, got {uncertainty!r}")
    tasks, S = score_matrix(scores, value=value)
    if uncertainty == "mean":
        labels, method = _search(S, max_groups, exact_max)
        return TaskGrouping(_canonical(labels, tasks), grouping_score(S, labels), method)
    if uncertainty == "lower":
        if "hdi_low" not in scores:
            raise KeyError("uncertainty='lower' needs an 'hdi_low' column")
        _, low = score_matrix(scores, value="hdi_low", tasks=tasks)
        labels, method = _search(low, max_groups, exact_max)
        return TaskGrouping(_canonical(labels, tasks), grouping_score(low, labels), method)
    # The uncertainty of the *estimate* is read from its interval, which means the same thing
    # in an empirical table (t-interval of the mean over seeds) and a posterior (HDI); ``sd``
    # is only a fallback, since in an empirical table it is the seed-to-seed spread.
    if {"hdi_low", "hdi_high"} <= set(scores.columns):
        _, low = score_matrix(scores, value="hdi_low", tasks=tasks)
        _, high = score_matrix(scores, value="hdi_high", tasks=tasks)
        sd = (high - low) / (2 * norm.ppf(0.5 + hdi_prob / 2))
    elif "sd" in scores:
        _, sd = score_matrix(scores, value="sd", tasks=tasks)
    else:
        raise KeyError("uncertainty='sample' needs 'hdi_low'/'hdi_high' or 'sd' columns")
    sd = np.nan_to_num(sd, nan=0.0)
    rng = np.random.default_rng(seed)
    chosen = collections.Counter()
    for _ in range(n_samples):
        draw = S + sd * rng.standard_normal(S.shape)
        labels, method = _search(draw, max_groups, exact_max)
        chosen[_canonical(labels, tasks)] += 1
    groups, count = chosen.most_common(1)[0]
    labels = [next(g for g, m in enumerate(groups) if t in m) for t in tasks]
    return TaskGrouping(groups, grouping_score(S, labels), method, count / n_samples)
