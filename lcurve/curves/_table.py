"""Turn a results table into the arrays a curve model consumes (validated, never mutated)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lcurve.design import own_sizes, size_columns, task_of_column

logger = logging.getLogger("lcurve.curves")

METRICS = ("auroc", "auprc")
STRUCTURES = ("none", "contextual", "pairwise", "joint")


class CurveDataError(ValueError):
    """A results table cannot be fitted (missing columns, unknown tasks, scores out of range)."""


@dataclass(frozen=True)
class CurveData:
    """Observations of one metric, one row per (run, evaluated task, seed).

    ``sizes[o, k]`` is the number of training samples of task ``k`` in observation ``o``'s run;
    ``task[o]`` indexes the evaluated task. ``n_test``/``n_test_pos`` are ``None`` when the
    table has no test-set sizes (a per-task noise scale is then used alone).
    ``subsample[o]`` numbers the shared nested subsample ``(task, seed, own size)`` and
    ``trajectory[o]`` the seed trajectory ``(task, seed)`` of observation ``o`` (``None`` for
    new runs to predict).
    """

    tasks: tuple[str, ...]
    task: np.ndarray
    sizes: np.ndarray
    value: np.ndarray
    seed: np.ndarray
    n_test: np.ndarray | None
    n_test_pos: np.ndarray | None
    subsample: np.ndarray | None = None
    trajectory: np.ndarray | None = None

    @property
    def n_obs(self) -> int:
        return len(self.value)

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_subsample(self) -> int:
        return 0 if self.subsample is None else int(self.subsample.max()) + 1

    @property
    def n_trajectory(self) -> int:
        return 0 if self.trajectory is None else int(self.trajectory.max()) + 1

    @property
    def max_cells(self) -> int:
        """Most shared subsamples (cells ``(seed, own size)``) of any one task (0 without)."""
        if self.subsample is None:
            return 0
        cells = pd.DataFrame({"task": self.task, "cell": self.subsample}).drop_duplicates()
        return int(cells.groupby("task").size().max())


def group_indices(task: np.ndarray, seed: np.ndarray, own: np.ndarray):
    """Dense indices of the nested-design groups: ``(task, seed, own size)`` and ``(task, seed)``.

    Example
    -------
    >>> import numpy as np
    >>> sub, traj = group_indices(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 0]),
    ...                           np.array([32, 32, 32, 64]))
    >>> sub.tolist(), traj.tolist()
    ([0, 0, 1, 2], [0, 0, 1, 2])
    """
    frame = pd.DataFrame({"task": task, "seed": seed, "own": own})
    subsample = frame.groupby(["task", "seed", "own"], sort=True).ngroup().to_numpy(np.int32)
    trajectory = frame.groupby(["task", "seed"], sort=True).ngroup().to_numpy(np.int32)
    return subsample, trajectory


def _require(table: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise CurveDataError(f"results table lacks column(s) {missing}; it needs task, metric, "
                             f"value, seed and one n_<task> column per task "
                             f"(has {list(table.columns)})")


def prepare(results: pd.DataFrame, *, metric: str, transfer: str,
            use_all_rows: bool = False) -> CurveData:
    """Validate ``results`` and select the rows ``transfer`` uses, for ``metric``.

    Rows with a missing score (undefined or diverged runs) are dropped with a warning that counts
    them. ``none`` keeps runs in which only the evaluated task was trained; ``pairwise`` keeps
    runs with at most one other trained task; ``contextual`` and ``joint`` keep every run.
    ``use_all_rows=True`` keeps every run for every structure (so fits can be compared by LOO).
    """
    if not isinstance(results, pd.DataFrame):
        raise CurveDataError(f"results must be a pandas DataFrame, got {type(results).__name__}")
    if metric not in METRICS:
        raise CurveDataError(f"unknown metric {metric!r}; valid metrics: {list(METRICS)}")
    if transfer not in STRUCTURES:
        raise CurveDataError(f"unknown transfer structure {transfer!r}; "
                             f"valid structures: {list(STRUCTURES)}")
    _require(results, ["task", "metric", "value", "seed"])
    columns = size_columns(results)
    if not columns:
        raise CurveDataError("results table has no n_<task> size columns")
    tasks = tuple(task_of_column(c) for c in columns)
    available = sorted(results["metric"].dropna().unique())
    table = results[results["metric"] == metric]
    if table.empty:
        raise CurveDataError(f"no rows with metric {metric!r}; metrics present: {available}")
    try:
        own = own_sizes(table)
    except ValueError as error:
        raise CurveDataError(str(error)) from None
    bad = table["value"].isna()
    if "diverged" in table.columns:
        bad = bad | table["diverged"].fillna(False).astype(bool)
    if bad.any():
        warnings.warn(f"dropping {int(bad.sum())} of {len(table)} {metric} rows with a missing "
                      f"score (undefined or diverged runs)", UserWarning, stacklevel=3)
        table, own = table[~bad], own[~bad.to_numpy()]
    value = table["value"].to_numpy(float)
    if ((value < 0) | (value > 1)).any():
        worst = value[(value < 0) | (value > 1)][0]
        raise CurveDataError(f"{metric} scores must lie in [0, 1]; found {worst!r}")
    sizes = table[columns].to_numpy(float)
    if np.isnan(sizes).any() or (sizes < 0).any():
        raise CurveDataError("n_<task> columns must be non-negative numbers without NaN")
    task = np.array([tasks.index(t) for t in table["task"]], dtype=np.int32)
    others = (sizes > 0).sum(axis=1) - (own > 0)
    keep = np.ones(len(task), bool)
    if use_all_rows:
        pass
    elif transfer == "none":
        keep = (others == 0) & (own > 0)
    elif transfer == "pairwise":
        keep = others <= 1
    keep &= (sizes.sum(axis=1) > 0)
    if not keep.any():
        raise CurveDataError(f"no runs usable by transfer={transfer!r} (e.g. 'none' needs runs "
                             f"that train only the evaluated task)")
    if (~keep).any():
        logger.info("transfer=%s uses %d of %d rows", transfer, int(keep.sum()), len(keep))
    n_test = n_test_pos = None
    if "n_test" in table.columns and table["n_test"].notna().all():
        n_test = table["n_test"].to_numpy(float)[keep]
        if "n_test_pos" in table.columns and table["n_test_pos"].notna().all():
            n_test_pos = table["n_test_pos"].to_numpy(float)[keep]
        else:
            n_test_pos = np.round(n_test / 2)
        if (n_test < 2).any() or (n_test_pos < 1).any() or (n_test_pos >= n_test).any():
            raise CurveDataError("n_test must be >= 2 with 1 <= n_test_pos < n_test")
    seed = table["seed"].to_numpy()[keep]
    subsample, trajectory = group_indices(task[keep], seed, own[keep])
    return CurveData(tasks=tasks, task=task[keep], sizes=sizes[keep], value=value[keep],
                     seed=seed, n_test=n_test, n_test_pos=n_test_pos, subsample=subsample,
                     trajectory=trajectory)
