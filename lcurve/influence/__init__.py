"""MTIF: data attribution across tasks with influence functions (Tu et al. 2025).

Checked solves (:mod:`~lcurve.influence.solvers`) with Gauss-Newton or exact curvature
(:mod:`~lcurve.influence.curvature`), validated against retraining
(:mod:`~lcurve.influence.validation`), and data selection (:func:`drop_harmful`).

Layer: uses ``data``, ``design`` and the public ``train`` building blocks (model, optimizer,
masked BCE, step loop, compile cache, run sharding); never imports plotting, reporting or CLI
modules.
"""

from lcurve.influence._fit import FitArrays, fit_arrays, train_weighted
from lcurve.influence.config import (
    InfluenceConfig,
    InfluenceExperimentConfig,
    SelectionConfig,
    ValidationConfig,
)
from lcurve.influence.experiment import influence_experiment, reduce_data, selection_summary
from lcurve.influence.mtif import MTIF, NonStationaryError
from lcurve.influence.selection import choose_l2, drop_harmful
from lcurve.influence.solvers import (
    IndefiniteCurvatureError,
    InfluenceSolveError,
    InfluenceWarning,
    SolveResult,
    cg,
    lissa,
)
from lcurve.influence.validation import agreement, removal_curve

__all__ = [
    "FitArrays",
    "IndefiniteCurvatureError",
    "InfluenceConfig",
    "InfluenceExperimentConfig",
    "InfluenceSolveError",
    "InfluenceWarning",
    "MTIF",
    "NonStationaryError",
    "SelectionConfig",
    "SolveResult",
    "ValidationConfig",
    "agreement",
    "cg",
    "choose_l2",
    "drop_harmful",
    "fit_arrays",
    "influence_experiment",
    "lissa",
    "reduce_data",
    "removal_curve",
    "selection_summary",
    "train_weighted",
]
