"""The MTIF experiment of ``lcurve influence CONFIG``: data, fit, checks, validation, selection.

:func:`influence_experiment` runs one :class:`~lcurve.influence.InfluenceExperimentConfig`
and returns tidy tables: per-label influences, the diagnostics of every solve and of the fit's
stationarity, the removal-fraction curve against retraining (test BCE and test AUROC) with its
agreement summary, and the harmful-sample selection against random controls.

Example
-------
>>> config = InfluenceExperimentConfig.from_toml_string('''
... [data]
... source = "synthetic"
... n_tasks = 3
... n_compounds = 200
... n_features = 8
... [train]
... hidden = [4]
... steps = 1500
... learning_rate = 0.02
... weight_decay = 0.0
... [influence]
... max_grad_norm = 0.03
... [validation]
... fractions = [0.5, 1.0]
... [selection]
... seeds = [0]
... fractions = [0.2]
... targets = ["task00"]
... l2_grid = [0.01]
... n_random = 1
... ''')
>>> tables = influence_experiment(config)
>>> sorted(tables)
['agreement', 'removal_curve', 'samples', 'selection', 'selection_summary', 'solves', 'stationarity']
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from lcurve.config import ConfigError
from lcurve.data import MultiTaskData
from lcurve.design import rank_matrix
from lcurve.influence.config import InfluenceConfig, InfluenceExperimentConfig
from lcurve.influence.mtif import MTIF
from lcurve.influence.selection import drop_harmful
from lcurve.influence.validation import agreement, removal_curve

__all__ = ["influence_experiment", "reduce_data", "selection_summary"]


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


def selection_summary(selection: pd.DataFrame) -> pd.DataFrame:
    """Mean (and standard error over seeds x targets x draws) change of the target's test
    metrics per selection variant and fraction (``harmful@val``: the fraction chosen on
    validation, reported as its mean)."""
    if not len(selection):
        return pd.DataFrame()
    part = selection[selection["variant"] != "all"].copy()
    part["group_fraction"] = np.where(part["variant"] == "harmful@val", np.nan, part["fraction"])
    out = part.groupby(["variant", "group_fraction"], dropna=False, as_index=False).agg(
        n_runs=("seed", "size"), fraction=("fraction", "mean"), n_dropped=("n_dropped", "mean"),
        delta_test_loss=("delta_test_loss", "mean"), sd_test_loss=("delta_test_loss", "std"),
        delta_test_auroc=("delta_test_auroc", "mean"), sd_test_auroc=("delta_test_auroc", "std"),
        loss_improved=("delta_test_loss", lambda v: float((v < 0).mean())))
    out["se_test_loss"] = out["sd_test_loss"] / np.sqrt(out["n_runs"])
    out["se_test_auroc"] = out["sd_test_auroc"] / np.sqrt(out["n_runs"])
    return out.drop(columns=["group_fraction", "sd_test_loss", "sd_test_auroc"])


def influence_experiment(config: InfluenceExperimentConfig, *, data=None) -> dict[str, pd.DataFrame]:
    """Fit MTIF, check it, validate it against retraining and (if enabled) select data.

    Returns
    -------
    dict of pandas.DataFrame
        ``samples`` (per-label influences), ``solves`` (every solve's residual),
        ``stationarity`` (gradient norm and drift per target), ``removal_curve`` and
        ``agreement`` (predictions vs retraining per removal fraction; test BCE and AUROC),
        ``selection`` and ``selection_summary``.
    """
    from lcurve.datasets import load_data

    full = load_data(config.data) if data is None else data
    small = reduce_data(full, config.influence)
    mtif = MTIF(small, train=config.train, influence=config.influence).fit()
    tables = {"samples": mtif.sample_influence(), "stationarity": mtif.stationarity()}
    curve = pd.DataFrame()
    agree = pd.DataFrame()
    if config.validation.enabled:
        curve = removal_curve(mtif, fractions=config.validation.fractions,
                              seed=config.validation.seed)
        agree = pd.concat([agreement(curve), agreement(curve, metric="actual_auroc")],
                          ignore_index=True)
    tables.update(removal_curve=curve, agreement=agree, solves=mtif.solve_diagnostics())
    selection = pd.DataFrame()
    if config.selection.enabled:
        s = config.selection
        targets = s.targets if s.targets is not None else small.tasks
        selection = pd.concat(
            [drop_harmful(small, t, train=config.train, influence=config.influence,
                          fractions=s.fractions, validation_fraction=s.validation_fraction,
                          seeds=s.seeds, l2_grid=s.l2_grid, n_random=s.n_random)
             for t in targets], ignore_index=True)
    tables["selection"] = selection
    tables["selection_summary"] = selection_summary(selection)
    return tables
