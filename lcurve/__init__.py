"""lcurve: how much one learning task helps another, from multi-task learning curves.

Layers, lowest first: ``data`` -> ``design`` (which runs) -> ``train`` (vmapped JAX) ->
``sweep`` (results table) -> ``transfer`` (transfer tables) -> ``curves`` / ``affinity`` / ``latent`` / ``influence`` (the
analyses) -> ``plot`` / ``report`` -> ``cli``.
"""

import warnings

with warnings.catch_warnings():  # local: the caller's warning filters are left as they were
    # ArviZ announces its own coming refactor on import, once a day per user cache; it says
    # nothing about the results. Its message starts with a newline, and ``message`` is matched
    # from the start.
    warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing", category=FutureWarning)
    import arviz  # noqa: F401

from lcurve import affinity, curves, datasets, design, influence, latent, transfer
from lcurve.affinity import (
    CompareConfig,
    accumulating_sweep,
    accumulating_transfer,
    TagConfig,
    TaskGrouping,
    compare_methods,
    group_tasks,
    tag_affinity,
)
from lcurve.curves import CurveFit, FitConfig, compare_curves, fit_curves, load_fit
from lcurve.config import ConfigError, DataConfig, DesignConfig, SweepConfig, TrainConfig
from lcurve.data import DataError, MultiTaskData
from lcurve.design import DesignError, make_design, size_grid
from lcurve.sweep import run_fast_sweep
from lcurve.report import write_report
from lcurve.sweep import SweepMismatchError, read_results, run_fast_sweep, run_sweep
from lcurve.transfer import TransferError, transfer_table

__all__ = [
    "CompareConfig",
    "CurveFit",
    "FitConfig",
    "ConfigError",
    "DataConfig",
    "DataError",
    "DesignConfig",
    "DesignError",
    "MultiTaskData",
    "SweepConfig",
    "SweepMismatchError",
    "TagConfig",
    "TaskGrouping",
    "TrainConfig",
    "TransferError",
    "accumulating_sweep",
    "accumulating_transfer",
    "affinity",
    "compare_curves",
    "compare_methods",
    "curves",
    "datasets",
    "design",
    "fit_curves",
    "group_tasks",
    "influence",
    "latent",
    "load_fit",
    "make_design",
    "read_results",
    "run_fast_sweep",
    "run_sweep",
    "size_grid",
    "tag_affinity",
    "transfer",
    "transfer_table",
    "write_report",
]
