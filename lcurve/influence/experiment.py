"""The MTIF experiment of ``lcurve influence CONFIG``: configuration, data, tables.

A TOML config has a ``[data]`` table (:class:`lcurve.config.DataConfig`), an ``[influence]``
table (:class:`InfluenceConfig`: network, optimiser, solver, data reduction) and a
``[selection]`` table (:class:`SelectionConfig`). :func:`influence_experiment` returns tidy
tables: per-sample influences, task-level MTIF relatedness, its agreement with actual
leave-task-out retraining, and the harmful-sample selection results.

Example
-------
>>> config = InfluenceExperimentConfig.from_toml_string('''
... [data]
... source = "synthetic"
... n_tasks = 3
... n_compounds = 200
... n_features = 8
... [influence]
... hidden = [4]
... steps = 200
... [selection]
... seeds = [0]
... fractions = [0.2]
... ''')
>>> tables = influence_experiment(config)
>>> sorted(tables)
['agreement', 'leave_task_out', 'samples', 'selection', 'selection_summary']
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr

from lcurve.config import (
    ConfigError,
    ConfigSection,
    DataConfig,
    ExperimentConfig,
    require_positive,
)
from lcurve.data import MultiTaskData
from lcurve.design import rank_matrix
from lcurve.influence.mtif import MTIF
from lcurve.influence.selection import drop_harmful

__all__ = ["InfluenceConfig", "InfluenceExperimentConfig", "SelectionConfig",
           "influence_experiment", "reduce_data"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class InfluenceConfig(ConfigSection):
    """Network, full-batch training, CG solver, and data reduction of the MTIF model.

    ``max_train_per_task`` keeps the first labels of each task's nested order (seed
    ``seed``); ``fold_bits`` ORs fingerprint bits into that many (0 keeps all features).
    """

    _section = "influence"
    hidden: tuple[int, ...] = (16,)
    steps: int = 1000
    learning_rate: float = 1e-2
    l2: float = 1e-3
    damping: float = 1e-3
    cg_maxiter: int = 300
    seed: int = 0
    max_train_per_task: int | None = 150
    fold_bits: int = 512

    def _validate(self) -> None:
        require_positive("influence", steps=self.steps, learning_rate=self.learning_rate,
                  cg_maxiter=self.cg_maxiter, max_train_per_task=self.max_train_per_task)
        if not self.hidden or any(h <= 0 for h in self.hidden):
            raise ConfigError(f"influence.hidden must be positive widths, got {list(self.hidden)}")
        for name in ("l2", "damping", "fold_bits"):
            if getattr(self, name) < 0:
                raise ConfigError(f"influence.{name} must be >= 0, got {getattr(self, name)!r}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SelectionConfig(ConfigSection):
    """Harmful-sample selection: which targets, how much to drop, replicate seeds."""

    _section = "selection"
    enabled: bool = True
    targets: tuple[str, ...] | None = None
    fractions: tuple[float, ...] = (0.05, 0.1, 0.25)
    validation_fraction: float = 0.3
    seeds: tuple[int, ...] = (0, 1)

    def _validate(self) -> None:
        if not self.fractions or any(not 0 < f < 1 for f in self.fractions):
            raise ConfigError(f"selection.fractions must be in (0, 1), got {list(self.fractions)}")
        if not 0 < self.validation_fraction < 1:
            raise ConfigError("selection.validation_fraction must be in (0, 1), got "
                              f"{self.validation_fraction!r}")
        if not self.seeds:
            raise ConfigError("selection.seeds must list at least one seed")


@dataclasses.dataclass(frozen=True, kw_only=True)
class InfluenceExperimentConfig(ExperimentConfig):
    """``[data]``, ``[influence]`` and ``[selection]`` of an influence experiment."""

    name: str = "influence"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    influence: InfluenceConfig = dataclasses.field(default_factory=InfluenceConfig)
    selection: SelectionConfig = dataclasses.field(default_factory=SelectionConfig)

    _SECTIONS = {"data": DataConfig, "influence": InfluenceConfig, "selection": SelectionConfig}


def reduce_data(data: MultiTaskData, config: InfluenceConfig) -> MultiTaskData:
    """Keep at most ``max_train_per_task`` training labels per task (nested order of
    ``config.seed``; test labels all kept) and fold fingerprint bits to ``fold_bits``."""
    train = data.train_mask
    if config.max_train_per_task is not None:
        train = train & (rank_matrix(data, [config.seed])[0] < config.max_train_per_task)
    Y = np.where(train | data.test_mask, data.Y, np.nan)
    X = np.asarray(data.X)
    if config.fold_bits and X.shape[1] > config.fold_bits:
        if X.shape[1] % config.fold_bits or not np.isin(X, (0, 1)).all():
            raise ConfigError(f"influence.fold_bits={config.fold_bits} needs binary features "
                              f"whose count ({X.shape[1]}) it divides")
        X = X.reshape(len(X), -1, config.fold_bits).max(axis=1)
    keep = ~np.isnan(Y).all(axis=1)
    return MultiTaskData(X=X[keep], Y=Y[keep], tasks=data.tasks,
                         compound_ids=np.asarray(data.compound_ids, dtype=object)[keep],
                         test_mask=data.test_mask[keep], info=data.info)


def _agreement(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for subset, part in (("all pairs", table), ("cross-task", table[table.source != table.target])):
        rows.append({"pairs": subset, "n": len(part),
                     "pearson": pearsonr(part.predicted, part.actual).statistic,
                     "spearman": spearmanr(part.predicted, part.actual).statistic,
                     "sign_agreement": float((np.sign(part.predicted) == np.sign(part.actual)).mean())})
    return pd.DataFrame(rows)


def influence_experiment(config: InfluenceExperimentConfig, *, data=None) -> dict[str, pd.DataFrame]:
    """Run MTIF, its leave-task-out check and (if enabled) harmful-sample selection.

    Returns
    -------
    dict of pandas.DataFrame
        ``samples`` (per-label influences), ``leave_task_out`` (MTIF prediction vs retrained
        change in each target's test loss), ``agreement`` (their correlations), ``selection``
        and ``selection_summary`` (mean over seeds of the change in target test AUROC/loss).
    """
    from lcurve.datasets import load_data

    full = load_data(config.data) if data is None else data
    small = reduce_data(full, config.influence)
    c = config.influence
    kwargs = dict(hidden=c.hidden, steps=c.steps, learning_rate=c.learning_rate, l2=c.l2,
                  damping=c.damping, cg_maxiter=c.cg_maxiter)
    mtif = MTIF(small, seed=c.seed, **kwargs).fit()
    samples = mtif.sample_influence()
    lto = mtif.leave_task_out()
    tables = {"samples": samples, "leave_task_out": lto, "agreement": _agreement(lto)}
    selection = pd.DataFrame()
    if config.selection.enabled:
        s = config.selection
        targets = s.targets if s.targets is not None else small.tasks
        selection = pd.concat(
            [drop_harmful(small, t, fractions=s.fractions, validation_fraction=s.validation_fraction,
                          seeds=s.seeds, mtif_kwargs=kwargs) for t in targets], ignore_index=True)
    tables["selection"] = selection
    if len(selection):
        summary = selection[selection.variant != "all"].groupby(
            ["variant", "fraction"], as_index=False).agg(
            n_runs=("seed", "size"), n_dropped=("n_dropped", "mean"),
            delta_test_auroc=("delta_test_auroc", "mean"),
            sd_test_auroc=("delta_test_auroc", "std"),
            improved=("delta_test_auroc", lambda v: float((v > 0).mean())),
            delta_test_loss=("delta_test_loss", "mean"))
    else:
        summary = pd.DataFrame()
    tables["selection_summary"] = summary
    return tables
