"""The multi-task data container shared by every layer of lcurve.

A :class:`MultiTaskData` holds one feature matrix over compounds and a sparse label matrix over
(compound, task) pairs, with a fixed per-task train/test split. Drug–target interaction data is
sparse: most compounds are measured on one target only, so unmeasured labels are ``NaN``.

Example
-------
>>> import numpy as np
>>> from lcurve import MultiTaskData
>>> X = np.eye(4, dtype=np.float32)
>>> Y = np.array([[1, np.nan], [0, 1], [1, 0], [0, np.nan]])
>>> test = np.array([[False, False], [False, True], [True, False], [True, False]])
>>> data = MultiTaskData(X=X, Y=Y, tasks=("a", "b"), compound_ids=list("wxyz"), test_mask=test)
>>> data.task_summary()["n_train"].tolist()
[2, 1]
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DataError", "MultiTaskData", "stratified_split"]


class DataError(ValueError):
    """Data are malformed: wrong shapes, labels outside {0, 1}, duplicate names, ..."""


def stratified_split(tasks: Sequence[str], labels: Sequence[float], *, test_fraction: float,
                     seed: int) -> np.ndarray:
    """Per-task, per-class random test assignment of labelled ``(task, label)`` items.

    Within each task and class, ``round(test_fraction * size)`` items go to the test set (at
    least one and at most ``size - 1`` when the class has >= 2 items, none for a singleton), so
    every task keeps both classes on both sides when it can. The draw depends on ``seed`` and
    the task's *name*, not its position: adding a task does not move another task's split.

    Parameters
    ----------
    tasks, labels
        One entry per labelled item (equal lengths); labels in {0, 1}.
    test_fraction
        Fraction of each task's items (per class) in the test set, in (0, 1).
    seed
        Seed of the split.

    Returns
    -------
    numpy.ndarray
        Boolean, True for test items, in the input order.

    Example
    -------
    >>> stratified_split(["a"] * 4, [0, 0, 1, 1], test_fraction=0.5, seed=0).sum()
    np.int64(2)
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    tasks = np.asarray(tasks, dtype=object)
    labels = np.asarray(labels, dtype=float)
    if tasks.shape != labels.shape:
        raise DataError(f"{len(tasks)} task names for {len(labels)} labels")
    is_test = np.zeros(len(labels), dtype=bool)
    for task, rows in pd.Series(np.arange(len(tasks))).groupby(tasks, sort=False).indices.items():
        rows = np.asarray(rows)
        rng = np.random.default_rng([seed, zlib.crc32(str(task).encode())])
        for cls in (0.0, 1.0):
            members = rows[labels[rows] == cls]
            n_test = int(round(test_fraction * len(members)))
            n_test = min(max(n_test, 1), len(members) - 1) if len(members) >= 2 else 0
            is_test[rng.permutation(members)[:n_test]] = True
    return is_test


@dataclasses.dataclass(frozen=True, eq=False)
class MultiTaskData:
    """Features, sparse binary labels and a fixed per-task train/test split.

    Parameters
    ----------
    X
        ``(n_compounds, n_features)`` feature matrix (fingerprint bits or real features).
    Y
        ``(n_compounds, n_tasks)`` labels in {0, 1}; ``NaN`` where not measured.
    tasks
        Task names, unique, one per column of ``Y``.
    compound_ids
        One identifier per compound (SMILES for molecular data), unique.
    test_mask
        ``(n_compounds, n_tasks)`` boolean, True where the label belongs to that task's fixed
        test set. Only measured labels may be test labels.
    info
        Free-form provenance (source, threshold, ...), carried into results.
    """

    X: np.ndarray
    Y: np.ndarray
    tasks: tuple[str, ...]
    compound_ids: tuple[str, ...]
    test_mask: np.ndarray
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        X = np.asarray(self.X)
        Y = np.asarray(self.Y, dtype=np.float32)
        test_mask = np.asarray(self.test_mask, dtype=bool)
        tasks = tuple(str(t) for t in self.tasks)
        ids = tuple(str(c) for c in self.compound_ids)
        if X.ndim != 2:
            raise DataError(f"X must be 2-D (n_compounds, n_features), got shape {X.shape}")
        if Y.ndim != 2:
            raise DataError(f"Y must be 2-D (n_compounds, n_tasks), got shape {Y.shape}")
        if Y.shape[0] != X.shape[0]:
            raise DataError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}")
        if test_mask.shape != Y.shape:
            raise DataError(f"test_mask shape {test_mask.shape} differs from Y shape {Y.shape}")
        if len(tasks) != Y.shape[1]:
            raise DataError(f"{len(tasks)} task names for {Y.shape[1]} label columns")
        if len(tasks) == 0:
            raise DataError("data must have at least one task")
        reserved = [t for t in tasks if t in ("test", "test_pos")]
        if reserved:
            raise DataError(f"task name(s) {reserved} are reserved (results tables have "
                            "n_test and n_test_pos columns); rename the task(s)")
        dup_tasks = sorted({t for t in tasks if tasks.count(t) > 1})
        if dup_tasks:
            raise DataError(f"duplicate task names: {dup_tasks}")
        if len(ids) != X.shape[0]:
            raise DataError(f"{len(ids)} compound ids for {X.shape[0]} compounds")
        if len(set(ids)) != len(ids):
            dup = pd.Series(ids)[pd.Series(ids).duplicated()].unique()[:5].tolist()
            raise DataError(f"duplicate compound ids, e.g. {dup}")
        if not np.all(np.isfinite(X)):
            raise DataError("X contains NaN or infinite values")
        measured = ~np.isnan(Y)
        bad = measured & (Y != 0) & (Y != 1)
        if bad.any():
            r, k = np.argwhere(bad)[0]
            raise DataError(
                f"labels must be 0, 1 or NaN; found {Y[r, k]!r} for task {tasks[k]!r} "
                f"({int(bad.sum())} bad labels in all)"
            )
        if (test_mask & ~measured).any():
            raise DataError("test_mask marks unmeasured (NaN) labels as test labels")
        for name, value in (("X", X), ("Y", Y), ("test_mask", test_mask)):
            value = value.view()
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "compound_ids", ids)
        object.__setattr__(self, "info", dict(self.info))

    @classmethod
    def from_arrays(cls, X, Y, *, tasks: Sequence[str] | None = None,
                    compound_ids: Sequence[str] | None = None, test_fraction: float = 0.2,
                    seed: int = 0, info: dict[str, Any] | None = None) -> MultiTaskData:
        """Data from a feature matrix and a label matrix, with a stratified per-task split.

        Parameters
        ----------
        X
            ``(n_compounds, n_features)`` features.
        Y
            ``(n_compounds, n_tasks)`` labels in {0, 1}, ``NaN`` where not measured (a 1-D
            array is one task).
        tasks
            Task names (default ``task_0, task_1, ...``).
        compound_ids
            Compound identifiers (default ``c0, c1, ...``).
        test_fraction
            Fraction of each task's labels, per class, held out as its fixed test set
            (:func:`stratified_split`).
        seed
            Seed of the split.
        info
            Provenance carried into results (``source`` defaults to ``"arrays"``).

        Example
        -------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> data = MultiTaskData.from_arrays(rng.normal(size=(40, 3)),
        ...                                  rng.integers(0, 2, (40, 2)), tasks=["a", "b"])
        >>> data.task_summary()["n_test"].tolist()
        [8, 8]
        """
        Y = np.asarray(Y, dtype=np.float32)
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.ndim != 2:
            raise DataError(f"Y must be 1-D or 2-D (n_compounds, n_tasks), got shape {Y.shape}")
        if tasks is None:
            tasks = [f"task_{k}" for k in range(Y.shape[1])]
        if len(tasks) != Y.shape[1]:
            raise DataError(f"{len(tasks)} task names for {Y.shape[1]} label columns")
        if compound_ids is None:
            compound_ids = [f"c{i}" for i in range(Y.shape[0])]
        rows, cols = np.nonzero(~np.isnan(Y))
        test_mask = np.zeros(Y.shape, dtype=bool)
        test_mask[rows, cols] = stratified_split(np.asarray(tasks, dtype=object)[cols],
                                                 Y[rows, cols], test_fraction=test_fraction,
                                                 seed=seed)
        meta = {"source": "arrays", "test_fraction": test_fraction, "split_seed": seed}
        meta.update(info or {})
        return cls(X=np.asarray(X), Y=Y, tasks=tuple(tasks), compound_ids=tuple(compound_ids),
                   test_mask=test_mask, info=meta)

    # ------------------------------------------------------------------ shape
    @property
    def n_compounds(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def measured(self) -> np.ndarray:
        """``(n_compounds, n_tasks)`` True where a label exists."""
        return ~np.isnan(self.Y)

    @property
    def train_mask(self) -> np.ndarray:
        """``(n_compounds, n_tasks)`` True where a label is in that task's training pool."""
        return self.measured & ~self.test_mask

    def n_train(self) -> dict[str, int]:
        """Number of training labels per task (the largest size a design may ask for)."""
        return dict(zip(self.tasks, self.train_mask.sum(axis=0).tolist()))

    def task_index(self, task: str) -> int:
        try:
            return self.tasks.index(task)
        except ValueError:
            raise KeyError(f"unknown task {task!r}; tasks are {list(self.tasks)}") from None

    # ------------------------------------------------------------------ views
    def task_summary(self) -> pd.DataFrame:
        """Per task: training and test labels and active fractions (tidy DataFrame)."""
        train, test = self.train_mask, self.test_mask
        y = np.nan_to_num(self.Y)
        return pd.DataFrame(
            {
                "task": list(self.tasks),
                "n_train": train.sum(0),
                "n_test": test.sum(0),
                "active_fraction_train": (y * train).sum(0) / np.maximum(train.sum(0), 1),
                "active_fraction_test": (y * test).sum(0) / np.maximum(test.sum(0), 1),
            }
        )

    def select_tasks(self, tasks: Sequence[str]) -> MultiTaskData:
        """A new data set with only ``tasks`` (in that order) and the compounds they label."""
        tasks = list(tasks)
        if not tasks:
            raise DataError("select_tasks needs at least one task")
        cols = [self.task_index(t) for t in tasks]
        keep = self.measured[:, cols].any(axis=1)
        return MultiTaskData(
            X=self.X[keep],
            Y=self.Y[keep][:, cols],
            tasks=tuple(tasks),
            compound_ids=tuple(np.asarray(self.compound_ids, dtype=object)[keep]),
            test_mask=self.test_mask[keep][:, cols],
            info=self.info,
        )

    def fingerprint(self) -> str:
        """A short content hash (features, labels, split, names): identifies the data in a sweep."""
        h = hashlib.sha256()
        for arr in (self.X, self.Y, self.test_mask):
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("\x1f".join(self.tasks).encode())
        h.update("\x1f".join(self.compound_ids).encode())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        return (
            f"MultiTaskData(n_compounds={self.n_compounds}, n_features={self.n_features}, "
            f"n_tasks={self.n_tasks}, labels={int(self.measured.sum())}, "
            f"source={self.info.get('source', '?')!r})"
        )
