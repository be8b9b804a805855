"""lcurve: how much one learning task helps another, from multi-task learning curves.

Layers, lowest first: ``data`` -> ``design`` (which runs) -> ``train`` (vmapped JAX) ->
``sweep`` (results table) -> analysis and reporting layers built on the table.
"""

from lcurve import datasets, design
from lcurve.config import ConfigError, DataConfig, DesignConfig, SweepConfig, TrainConfig
from lcurve.data import DataError, MultiTaskData
from lcurve.design import DesignError, make_design, size_grid
from lcurve.sweep import SweepMismatchError, read_results, run_sweep

__all__ = [
    "ConfigError",
    "DataConfig",
    "DataError",
    "DesignConfig",
    "DesignError",
    "MultiTaskData",
    "SweepConfig",
    "SweepMismatchError",
    "TrainConfig",
    "datasets",
    "design",
    "make_design",
    "read_results",
    "run_sweep",
    "size_grid",
]
