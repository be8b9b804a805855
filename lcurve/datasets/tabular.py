"""Build :class:`~lcurve.MultiTaskData` from a user's long table (one row per compound and task).

Problems in the table (invalid SMILES, empty tasks, tasks with a single class, duplicate rows)
are never silently dropped or silently kept: with ``errors="raise"`` (default) the first call
fails with a message that counts and names every problem; with ``errors="drop"`` the offending
rows/tasks are removed, a warning lists them, and ``data.info["cleaning"]`` records them.
"""

from __future__ import annotations

import logging
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lcurve.data import DataError, MultiTaskData, stratified_split
from lcurve.datasets._fingerprints import featurize_smiles

logger = logging.getLogger(__name__)

__all__ = ["from_frame", "from_csv", "DataCleaningWarning"]

_ERRORS = ("raise", "drop")


class DataCleaningWarning(UserWarning):
    """Rows or tasks were dropped from a user table (``errors="drop"``)."""


def _examples(values: Sequence[Any], k: int = 5) -> str:
    values = list(values)
    more = f" and {len(values) - k} more" if len(values) > k else ""
    return ", ".join(repr(v) for v in values[:k]) + more


def from_frame(
    df: pd.DataFrame,
    *,
    task_col: str = "task",
    smiles_col: str | None = "smiles",
    feature_cols: Sequence[str] | None = None,
    label_col: str | None = "label",
    value_col: str | None = None,
    threshold: float | None = None,
    split_col: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    errors: str = "raise",
    radius: int = 2,
    n_bits: int = 2048,
    cache_dir: str | Path | None = None,
    info: dict[str, Any] | None = None,
) -> MultiTaskData:
    """Build multi-task data from a long table with one row per (compound, task) label.

    Parameters
    ----------
    df
        The table. It is not modified.
    task_col
        Column naming the task of each row.
    smiles_col, feature_cols
        Either a SMILES column (Morgan fingerprints are computed, ``radius``/``n_bits``) or a
        list of numeric feature columns (then the compound id is the row's feature vector hash
        and rows with identical features are the same compound).
    label_col, value_col, threshold
        Either binary labels in ``label_col``, or continuous values in ``value_col`` binarised
        as ``value >= threshold``.
    split_col
        Optional column with ``"train"``/``"test"`` per row; otherwise each task's labels are
        split at random, stratified by class, with ``test_fraction`` of them in the test set.
    errors
        ``"raise"`` (default) or ``"drop"`` for invalid SMILES, duplicate rows, empty tasks and
        single-class tasks; see the module docstring.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"smiles": ["CCO", "CCN", "CCC", "CCCl"] * 2,
    ...                    "task": ["a"] * 4 + ["b"] * 4, "label": [0, 1, 0, 1, 1, 0, 1, 0]})
    >>> data = from_frame(df, n_bits=64, split_col=None, test_fraction=0.5, cache_dir=None)
    >>> data.tasks
    ('a', 'b')
    """
    if errors not in _ERRORS:
        raise ValueError(f"errors must be one of {_ERRORS}, got {errors!r}")
    if len(df) == 0:
        raise DataError("the table is empty: no rows to build tasks from")
    use_smiles = feature_cols is None
    if use_smiles and smiles_col is None:
        raise ValueError("give smiles_col (a SMILES column) or feature_cols (numeric columns)")
    needed = [task_col] + ([smiles_col] if use_smiles else list(feature_cols))
    if value_col is not None:
        if threshold is None:
            raise ValueError("value_col needs a threshold to binarise the values")
        needed.append(value_col)
    else:
        needed.append(label_col)
    if split_col is not None:
        needed.append(split_col)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; the table has {list(df.columns)}")

    long = pd.DataFrame({"task": df[task_col].astype(str).to_numpy(), "row": np.arange(len(df))})
    if use_smiles:
        long["compound"] = df[smiles_col].astype(str).to_numpy()
    else:
        features = df[list(feature_cols)].to_numpy(dtype=np.float32)
        long["compound"] = [
            f"f{zlib.crc32(np.ascontiguousarray(row).tobytes()):08x}" for row in features
        ]
    if value_col is not None:
        values = pd.to_numeric(df[value_col], errors="coerce").to_numpy(dtype=float)
        long["label"] = np.where(np.isnan(values), np.nan, (values >= threshold).astype(float))
    else:
        long["label"] = pd.to_numeric(df[label_col], errors="coerce").to_numpy(dtype=float)
    if split_col is not None:
        split = df[split_col].astype(str).str.lower().to_numpy()
        bad_split = sorted(set(split) - {"train", "test"})
        if bad_split:
            raise DataError(f"{split_col!r} must hold 'train' or 'test', found {bad_split}")
        long["is_test"] = split == "test"

    problems: dict[str, list] = {}
    bad_label = ~long["label"].isin([0.0, 1.0])
    if bad_label.any():
        shown = df.loc[bad_label.to_numpy(), value_col or label_col].tolist()
        raise DataError(
            f"{int(bad_label.sum())} rows have a label that is not 0 or 1 (or a missing value): "
            f"{_examples(shown)}"
        )
    if use_smiles:
        unique_smiles = pd.unique(long["compound"])
        valid, bits = featurize_smiles(unique_smiles, radius=radius, n_bits=n_bits,
                                       cache_dir=cache_dir)
        ok = pd.Series(valid, index=unique_smiles).loc[long["compound"]].to_numpy()
        if not ok.all():
            problems["invalid_smiles"] = long.loc[~ok, "compound"].tolist()
            long = long[ok]
    dup = long.duplicated(["compound", "task"], keep="first")
    if dup.any():
        problems["duplicate_rows"] = (
            long.loc[dup, "task"] + ":" + long.loc[dup, "compound"]
        ).tolist()
        long = long[~dup]
    counts = long.groupby("task")["label"].agg(["size", "nunique"])
    all_tasks = pd.unique(df[task_col].astype(str))
    empty = [t for t in all_tasks if t not in counts.index]
    if empty:
        problems["empty_tasks"] = empty
    single = counts.index[counts["nunique"] < 2].tolist()
    if single:
        problems["single_class_tasks"] = single
        long = long[~long["task"].isin(single)]

    if problems:
        lines = [f"{len(v)} {k.replace('_', ' ')}: {_examples(v)}" for k, v in problems.items()]
        if errors == "raise":
            raise DataError(
                "the table has problems (pass errors='drop' to drop them, with a report):\n  "
                + "\n  ".join(lines)
            )
        warnings.warn("dropped from the table:\n  " + "\n  ".join(lines),
                      DataCleaningWarning, stacklevel=2)
    if long.empty:
        raise DataError("no usable rows are left after cleaning")

    if split_col is None:
        long = long.reset_index(drop=True)
        long["is_test"] = stratified_split(long["task"].to_numpy(), long["label"].to_numpy(),
                                          test_fraction=test_fraction, seed=seed)
    tasks = [t for t in all_tasks if t in set(long["task"])]
    compounds = pd.unique(long["compound"])
    row = pd.Index(compounds).get_indexer(long["compound"])
    col = pd.Index(tasks).get_indexer(long["task"])
    Y = np.full((len(compounds), len(tasks)), np.nan, dtype=np.float32)
    test_mask = np.zeros(Y.shape, dtype=bool)
    Y[row, col] = long["label"].to_numpy()
    test_mask[row, col] = long["is_test"].to_numpy()
    if use_smiles:
        X = bits[pd.Index(unique_smiles).get_indexer(compounds)]
    else:
        first_row = long.drop_duplicates("compound").set_index("compound")["row"]
        X = features[first_row.loc[compounds].to_numpy()]
    meta = {"source": "table", "cleaning": {k: len(v) for k, v in problems.items()}}
    meta.update(info or {})
    return MultiTaskData(X=X, Y=Y, tasks=tuple(tasks), compound_ids=tuple(compounds),
                         test_mask=test_mask, info=meta)


def from_csv(path: str | Path, **kwargs: Any) -> MultiTaskData:
    """Read a long CSV table and pass it to :func:`from_frame` (same keyword arguments)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CSV file at {path}")
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    return from_frame(df, **kwargs)
