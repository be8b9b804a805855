"""Sweep runners: train a design's runs and keep every result as a tidy, resumable table.

* :func:`run_sweep` (:mod:`lcurve.sweep.local`): every run retrained from scratch, chunked,
  resumable, on the devices of this host, or with ``executor="ray"`` on a Ray cluster
  (:mod:`lcurve.sweep.ray`, optional extra; see ``docs/cluster.md``).
* :func:`run_fast_sweep` (:mod:`lcurve.sweep.fast`): the warm-started approximation.
"""

from lcurve.sweep.fast import design_chains, run_fast_sweep
from lcurve.sweep.local import (
    METRICS,
    SweepMismatchError,
    read_results,
    result_rows,
    run_sweep,
    sort_results,
    versions,
)

__all__ = [
    "METRICS",
    "SweepMismatchError",
    "design_chains",
    "read_results",
    "result_rows",
    "run_fast_sweep",
    "run_sweep",
    "sort_results",
    "versions",
]
