"""Latent task traits: the transfer matrix, its factors, and the data statistics behind them.

Layer: built on the results table of :mod:`lcurve.sweep` (and on a posterior transfer table,
accepted as a DataFrame); never imports plotting, reporting or CLI modules.
"""

from lcurve.latent.factors import (
    TransferFactors,
    parallel_analysis,
    plot_biplot,
    plot_transfer_matrix,
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
from lcurve.latent.transfer import (
    TransferError,
    pair_gains,
    transfer_from_posterior,
    transfer_matrix,
    transfer_table,
)

__all__ = [
    "HIDDEN_TRAITS",
    "SURFACE_TRAITS",
    "TransferError",
    "TransferFactors",
    "murcko_scaffold",
    "pair_gains",
    "parallel_analysis",
    "pair_traits",
    "plot_biplot",
    "plot_transfer_matrix",
    "prepare_matrix",
    "relate_scores",
    "relate_traits",
    "tanimoto_matrix",
    "task_traits",
    "transfer_factors",
    "transfer_from_posterior",
    "transfer_matrix",
    "transfer_table",
]
