"""Data sources: the embedded MoleculeACE benchmark, synthetic planted data, and user tables."""

from __future__ import annotations

from lcurve.config import DataConfig
from lcurve.data import MultiTaskData
from lcurve.datasets._fingerprints import default_cache_dir, morgan_fingerprints
from lcurve.datasets.moleculeace import MOLECULEACE_CITATION, load_moleculeace, moleculeace_table
from lcurve.datasets.synthetic import SyntheticTruth, make_synthetic
from lcurve.datasets.tabular import DataCleaningWarning, from_csv, from_frame

__all__ = [
    "DataCleaningWarning",
    "MOLECULEACE_CITATION",
    "SyntheticTruth",
    "default_cache_dir",
    "from_csv",
    "from_frame",
    "load_data",
    "load_moleculeace",
    "make_synthetic",
    "moleculeace_table",
    "morgan_fingerprints",
]


def load_data(config: DataConfig, *, cache_dir=None) -> MultiTaskData:
    """Load the data a :class:`~lcurve.config.DataConfig` describes (task subset applied)."""
    if config.source == "moleculeace":
        return load_moleculeace(config.tasks, max_tasks=config.max_tasks,
                                threshold=config.threshold, cache_dir=cache_dir)
    if config.source == "synthetic":
        data, _ = make_synthetic(n_tasks=config.n_tasks, n_compounds=config.n_compounds,
                                 n_features=config.n_features, seed=config.seed)
    else:
        data = from_csv(config.path, threshold=config.threshold, cache_dir=cache_dir)
    tasks = list(config.tasks) if config.tasks is not None else list(data.tasks)
    if config.max_tasks is not None:
        tasks = tasks[: config.max_tasks]
    return data if tasks == list(data.tasks) else data.select_tasks(tasks)
