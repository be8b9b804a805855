"""Which runs a sweep trains: nested subsamples over task combinations.

For every seed, each task's training labels are put in a fixed random order (a permutation that
depends only on the seed and the task's *name*). A run that uses ``n_k`` samples of task ``k``
takes the first ``n_k`` of that order, so smaller training sets are always inside larger ones
(nested subsamples): differences along a learning curve are due to added data, not to a new draw.

A design is a tidy DataFrame, one row per run: ``run_id, seed, kind, target`` and one
``n_<task>`` column per task (0 = the task is not trained in that run).

Example
-------
>>> from lcurve.datasets import make_synthetic
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=400)
>>> design = make_design(data, kind="single", seeds=[0], min_size=32)
>>> sorted(design["kind"].unique())
['single']
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lcurve.config import DesignConfig
from lcurve.data import MultiTaskData

__all__ = [
    "DesignError",
    "size_column",
    "task_of_column",
    "size_columns",
    "own_sizes",
    "size_grid",
    "task_permutation",
    "training_rows",
    "make_design",
    "design_from_config",
    "validate_design",
]

RUN_COLUMNS = ("run_id", "seed", "kind", "target")
#: ``n_``-prefixed columns of a results table that are not task sizes; no task may be named
#: ``test`` or ``test_pos`` (see :class:`~lcurve.data.MultiTaskData`).
RESERVED_COLUMNS = ("n_test", "n_test_pos")


class DesignError(ValueError):
    """A design asks for something the data cannot give (unknown task, too many samples, ...)."""


def size_column(task: str) -> str:
    """Name of the column holding the number of training samples of ``task``: ``n_<task>``."""
    return f"n_{task}"


def task_of_column(column: str) -> str:
    """Inverse of :func:`size_column`."""
    if not column.startswith("n_"):
        raise ValueError(f"{column!r} is not a size column (n_<task>)")
    return column[2:]


def size_columns(table: pd.DataFrame) -> list[str]:
    """The ``n_<task>`` columns of a design or results table, in table order.

    The results' test-set counts ``n_test`` and ``n_test_pos`` are not size columns.
    """
    return [c for c in table.columns if c.startswith("n_") and c not in RESERVED_COLUMNS]


def own_sizes(table: pd.DataFrame) -> np.ndarray:
    """Each row's own training size: the ``n_<task>`` of the task it evaluates (``task``).

    Raises ``ValueError`` naming the evaluated tasks that have no size column.

    >>> own_sizes(pd.DataFrame({"task": ["a", "b"], "n_a": [64, 32], "n_b": [0, 128]}))
    array([ 64., 128.])
    """
    columns = size_columns(table)
    position = {task_of_column(c): i for i, c in enumerate(columns)}
    unknown = sorted(set(table["task"]) - set(position))
    if unknown:
        raise ValueError(f"evaluated task(s) {unknown} have no size column; size columns give "
                         f"tasks {list(position)}")
    index = np.array([position[t] for t in table["task"]], dtype=int)
    return table[columns].to_numpy(float)[np.arange(len(table)), index]


def size_grid(
    max_size: int, *, min_size: int = 16, points_per_doubling: int = 2
) -> np.ndarray:
    """Geometric sample sizes ``round(min_size * 2**(k / points_per_doubling))`` up to ``max_size``.

    The cap ``max_size`` itself is always the last point (as in LCDB's 2^(k/2) schedules).

    Example
    -------
    >>> size_grid(100, min_size=16).tolist()
    [16, 23, 32, 45, 64, 91, 100]
    """
    if max_size < 1:
        raise DesignError(f"max_size must be >= 1, got {max_size}")
    if min_size < 1 or points_per_doubling < 1:
        raise DesignError("min_size and points_per_doubling must be >= 1")
    if max_size <= min_size:
        return np.array([max_size])
    n_points = int(np.floor(points_per_doubling * np.log2(max_size / min_size))) + 1
    sizes = np.round(min_size * 2.0 ** (np.arange(n_points) / points_per_doubling)).astype(int)
    sizes = np.unique(np.append(sizes[sizes < max_size], max_size))
    return sizes


def task_permutation(data: MultiTaskData, task: str, seed: int) -> np.ndarray:
    """Compound indices of ``task``'s training labels in the fixed order used for ``seed``.

    The order depends only on the seed, the task name and the task's training compounds, so
    adding or removing other tasks never changes it.
    """
    k = data.task_index(task)
    members = np.flatnonzero(data.train_mask[:, k])
    rng = np.random.default_rng([seed, zlib.crc32(task.encode())])
    return members[rng.permutation(len(members))]


def rank_matrix(data: MultiTaskData, seeds: Sequence[int]) -> np.ndarray:
    """``(n_seeds, n_compounds, n_tasks)`` position of each training label in its permutation.

    Labels that are not in a task's training pool get a position larger than any size, so
    ``rank < n_k`` selects exactly the first ``n_k`` training labels of task ``k``.
    """
    big = np.iinfo(np.int32).max
    ranks = np.full((len(seeds), data.n_compounds, data.n_tasks), big, dtype=np.int32)
    for s, seed in enumerate(seeds):
        for k, task in enumerate(data.tasks):
            perm = task_permutation(data, task, seed)
            ranks[s, perm, k] = np.arange(len(perm), dtype=np.int32)
    return ranks


def training_rows(data: MultiTaskData, seed: int, sizes: Mapping[str, int]) -> np.ndarray:
    """Sorted compound indices a run trains on: the union of each task's first ``n_k`` labels."""
    parts = [task_permutation(data, t, seed)[: int(n)] for t, n in sizes.items() if n > 0]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=int)


def _grid(n_available: int, config: DesignConfig) -> np.ndarray:
    cap = n_available if config.max_size is None else min(config.max_size, n_available)
    return size_grid(cap, min_size=config.min_size, points_per_doubling=config.points_per_doubling)


def make_design(
    data: MultiTaskData,
    *,
    kind: str = "pairs",
    seeds: Sequence[int] = (0, 1, 2),
    min_size: int = 16,
    max_size: int | None = None,
    points_per_doubling: int = 2,
    targets: Sequence[str] | None = None,
    aux_sizes: Sequence[int] | None = None,
    context_fraction: float | Sequence[float] = (0.5, 1.0),
    include_single: bool = True,
    custom_sizes: Sequence[Mapping[str, int]] | None = None,
) -> pd.DataFrame:
    """Build a design: one row per run with its seed and per-task sample sizes.

    Parameters
    ----------
    data
        The multi-task data (sizes are capped at each task's number of training labels).
    kind
        ``"single"``: each target alone at each grid size. ``"pairs"``: every unordered pair
        ``{i, j}`` (at least one a target) at each ``n_i`` of i's grid and each ``n_j`` of
        ``aux_sizes`` (or j's grid), which traces both directions at once. ``"contextual"``:
        each target at each grid size with all other tasks at ``context_fraction`` of their
        training labels, once per fraction (default two levels, half and all: see
        :class:`~lcurve.config.DesignConfig`). ``"custom"``: the runs in ``custom_sizes``.
    seeds
        Replicate seeds (each has its own nested permutations).
    include_single
        Also add the single-task runs (the no-transfer baseline) to pairs/contextual designs.

    Returns
    -------
    pandas.DataFrame
        ``run_id, seed, kind, target, n_<task>...``, deduplicated (a run asked for twice is
        trained once) and sorted by ``run_id``.
    """
    config = DesignConfig(
        kind=kind, seeds=tuple(seeds), min_size=min_size, max_size=max_size,
        points_per_doubling=points_per_doubling,
        targets=tuple(targets) if targets is not None else None,
        aux_sizes=tuple(aux_sizes) if aux_sizes is not None else None,
        context_fraction=(float(context_fraction) if np.isscalar(context_fraction)
                          else tuple(context_fraction)),
        include_single=include_single,
        custom_sizes=tuple(dict(c) for c in custom_sizes) if custom_sizes else None,
    )
    return design_from_config(data, config)


def design_from_config(data: MultiTaskData, config: DesignConfig) -> pd.DataFrame:
    """Build the design described by a :class:`~lcurve.config.DesignConfig`."""
    tasks = list(data.tasks)
    available = data.n_train()
    targets = list(config.targets) if config.targets is not None else tasks
    for t in targets:
        data.task_index(t)  # raises KeyError naming the valid tasks
    empty = [t for t in targets if available[t] == 0]
    if empty:
        raise DesignError(f"task(s) {empty} have no training labels")
    if config.kind in ("pairs", "contextual") and len(tasks) < 2:
        raise DesignError(f"a {config.kind!r} design needs at least 2 tasks, the data has "
                          f"{len(tasks)}: {tasks}")
    grids = {t: _grid(available[t], config) for t in tasks if available[t] > 0}

    runs: list[tuple[str, str, dict[str, int]]] = []  # (kind, target, sizes)
    if config.kind == "single" or (config.include_single and config.kind != "custom"):
        runs += [("single", t, {t: int(n)}) for t in targets for n in grids[t]]
    if config.kind == "pairs":
        for i, j in itertools.combinations([t for t in tasks if t in grids], 2):
            if config.aux_sizes is None:  # the full grid_i x grid_j traces both directions
                if i in targets or j in targets:
                    target = i if i in targets else j
                    for n_i, n_j in itertools.product(grids[i], grids[j]):
                        runs.append(("pairs", target, {i: int(n_i), j: int(n_j)}))
                continue
            for target, aux in ((i, j), (j, i)):
                if target not in targets:
                    continue
                aux_grid = sorted({min(int(n), available[aux]) for n in config.aux_sizes} - {0})
                for n_t, n_a in itertools.product(grids[target], aux_grid):
                    runs.append(("pairs", target, {target: int(n_t), aux: int(n_a)}))
    elif config.kind == "contextual":
        for fraction in config.context_fraction:  # one level after another
            context = {t: int(np.floor(fraction * available[t])) for t in tasks}
            for t in targets:
                for n in grids[t]:
                    sizes = {o: context[o] for o in tasks if o != t}
                    sizes[t] = int(n)
                    runs.append(("contextual", t, sizes))
    elif config.kind == "custom":
        for r, sizes in enumerate(config.custom_sizes):
            unknown = sorted(set(sizes) - set(tasks))
            if unknown:
                raise DesignError(f"custom run {r} names unknown task(s) {unknown}; "
                                  f"tasks are {tasks}")
            clean = {t: int(n) for t, n in sizes.items()}
            target = max(clean, key=clean.get) if clean else ""
            runs.append(("custom", target, clean))

    rows = []
    for seed in config.seeds:
        for run_kind, target, sizes in runs:
            row = {"seed": int(seed), "kind": run_kind, "target": target}
            row.update({size_column(t): int(sizes.get(t, 0)) for t in tasks})
            rows.append(row)
    design = pd.DataFrame(rows, columns=["seed", "kind", "target",
                                         *[size_column(t) for t in tasks]])
    design = design.drop_duplicates(
        subset=["seed", *[size_column(t) for t in tasks]], keep="first"
    ).reset_index(drop=True)
    design.insert(0, "run_id", np.arange(len(design), dtype=np.int64))
    validate_design(design, data)
    return design


def validate_design(design: pd.DataFrame, data: MultiTaskData) -> None:
    """Raise :class:`DesignError` if ``design`` cannot be trained on ``data``.

    Checks: required columns, one ``n_<task>`` column per task of the data (and no others),
    unique integer run ids, non-negative integer sizes not above each task's training labels,
    and at least one trained task per run.
    """
    missing = [c for c in ("run_id", "seed") if c not in design.columns]
    if missing:
        raise DesignError(f"design is missing column(s) {missing}")
    expected = {size_column(t) for t in data.tasks}
    present = set(size_columns(design))
    if expected != present:
        raise DesignError(
            f"design size columns do not match the data's tasks: missing "
            f"{sorted(expected - present)}, unknown {sorted(present - expected)}"
        )
    if design.empty:
        raise DesignError("design has no runs")
    if design["run_id"].duplicated().any():
        dup = design.loc[design["run_id"].duplicated(), "run_id"].tolist()[:5]
        raise DesignError(f"duplicate run_id(s) {dup}")
    for col in ["run_id", "seed", *expected]:
        if not pd.api.types.is_integer_dtype(design[col]):
            raise DesignError(f"column {col!r} must be integer, got {design[col].dtype}")
    if (design["seed"] < 0).any():
        raise DesignError("seeds must be >= 0")
    available = data.n_train()
    for task in data.tasks:
        sizes = design[size_column(task)]
        if (sizes < 0).any():
            raise DesignError(f"negative size for task {task!r}")
        if (sizes > available[task]).any():
            raise DesignError(
                f"task {task!r} has {available[task]} training labels but the design asks for "
                f"up to {int(sizes.max())}"
            )
    trained = design[sorted(expected)].sum(axis=1)
    if (trained == 0).any():
        raise DesignError(f"run(s) {design.loc[trained == 0, 'run_id'].tolist()[:5]} train no task")

