"""The embedded default data: 30 ChEMBL bioactivity tasks from MoleculeACE.

Provenance: the 30 benchmark CSVs in the PyPI wheel ``MoleculeACE==3.0.0``
(``MoleculeACE/Data/benchmark_data/*.csv``; van Tilborg, Alenicheva & Grisoni, "Exposing the
limitations of molecular machine learning with activity cliffs", J. Chem. Inf. Model. 2022),
MIT licence (see ``_data/MoleculeACE_LICENSE.txt``). lcurve ships a compact derived file with
columns ``smiles, task, pact, split`` where ``pact = 9 - log10(exp_mean [nM])`` and ``split`` is
MoleculeACE's own per-task train/test split; it does not depend on the MoleculeACE package.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

from lcurve.data import MultiTaskData
from lcurve.datasets.tabular import from_frame

__all__ = ["load_moleculeace", "moleculeace_table", "MOLECULEACE_CITATION"]

MOLECULEACE_CITATION = (
    "van Tilborg D., Alenicheva A., Grisoni F. Exposing the limitations of molecular machine "
    "learning with activity cliffs. J. Chem. Inf. Model. 62, 5938-5951 (2022). "
    "Data: MoleculeACE 3.0.0 (MIT licence)."
)


def moleculeace_table() -> pd.DataFrame:
    """The embedded long table: ``smiles, task, pact, split`` (48,714 rows, 30 tasks)."""
    with resources.files("lcurve.datasets").joinpath("_data/moleculeace.csv.gz").open("rb") as fh:
        return pd.read_csv(fh, compression="gzip")


def load_moleculeace(
    tasks: Sequence[str] | None = None,
    *,
    max_tasks: int | None = None,
    threshold: float = 7.0,
    radius: int = 2,
    n_bits: int = 2048,
    cache_dir: str | Path | None = None,
) -> MultiTaskData:
    """Load the embedded MoleculeACE drug–target benchmark as binary multi-task data.

    Parameters
    ----------
    tasks
        Task names to keep (e.g. ``["CHEMBL204_Ki", "CHEMBL214_Ki"]``); ``None`` keeps all 30.
    max_tasks
        Keep only the first ``max_tasks`` of those (in file order), for quick runs.
    threshold
        A compound is active on a target if ``pAct >= threshold`` (default 7.0, i.e. <= 100 nM).
        The resulting active fraction per task is in ``data.task_summary()``.
    radius, n_bits
        Morgan fingerprint settings (defaults: radius 2, 2048 bits), cached in ``cache_dir``.

    Example
    -------
    >>> data = load_moleculeace(max_tasks=2, n_bits=256)  # doctest: +SKIP
    >>> data.n_tasks  # doctest: +SKIP
    2
    """
    table = moleculeace_table()
    available = list(pd.unique(table["task"]))
    if tasks is not None:
        unknown = [t for t in tasks if t not in available]
        if unknown:
            raise KeyError(f"unknown MoleculeACE task(s) {unknown}; available: {available}")
        keep = list(tasks)
    else:
        keep = available
    if max_tasks is not None:
        keep = keep[:max_tasks]
    order = {t: i for i, t in enumerate(keep)}
    table = table[table["task"].isin(keep)]
    table = table.sort_values("task", key=lambda s: s.map(order), kind="stable")
    return from_frame(
        table,
        smiles_col="smiles",
        value_col="pact",
        threshold=threshold,
        split_col="split",
        radius=radius,
        n_bits=n_bits,
        cache_dir=cache_dir,
        info={"source": "moleculeace", "threshold": threshold, "radius": radius,
              "n_bits": n_bits, "citation": MOLECULEACE_CITATION},
    )
