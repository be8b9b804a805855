"""MTIF: data attribution across tasks with influence functions (Tu et al. 2025).

Layer: uses ``data`` and the ``train`` building blocks (model, optimizer, masked BCE); never
imports plotting, reporting or CLI modules.
"""

from lcurve.influence._fit import FitArrays, fit_arrays, train_weighted
from lcurve.influence.experiment import (
    InfluenceConfig,
    InfluenceExperimentConfig,
    SelectionConfig,
    influence_experiment,
    reduce_data,
)
from lcurve.influence.mtif import MTIF
from lcurve.influence.selection import drop_harmful

__all__ = [
    "FitArrays",
    "InfluenceConfig",
    "InfluenceExperimentConfig",
    "MTIF",
    "SelectionConfig",
    "drop_harmful",
    "fit_arrays",
    "influence_experiment",
    "reduce_data",
    "train_weighted",
]
