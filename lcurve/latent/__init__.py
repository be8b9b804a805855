"""Latent task traits: the transfer matrix, its factors, and the data statistics behind them.

Layer: built on the transfer tables of :mod:`lcurve.transfer` (empirical or posterior); never
imports plotting, reporting or CLI modules (the biplot is :func:`lcurve.plot.plot_biplot`).
"""

from lcurve.latent.factors import (
    TransferFactors,
    parallel_analysis,
    prepare_matrix,
    transfer_factors,
)
from lcurve.latent.traits import (
    HIDDEN_TRAITS,
    SURFACE_TRAITS,
    murcko_scaffold,
    pair_traits,
    relate_scores,
    relate_traits,
    tanimoto_matrix,
    task_traits,
)

__all__ = [
    "HIDDEN_TRAITS",
    "SURFACE_TRAITS",
    "TransferFactors",
    "murcko_scaffold",
    "parallel_analysis",
    "pair_traits",
    "prepare_matrix",
    "relate_scores",
    "relate_traits",
    "tanimoto_matrix",
    "task_traits",
    "transfer_factors",
]
