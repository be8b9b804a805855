"""Influence predictions against the truth they approximate: retraining without the data.

:func:`removal_curve` removes a growing fraction of each source task's training labels (nested:
the labels removed at 10% are among those removed at 25%; 100% is leave-task-out), retrains
from the same initialisation, and puts the actual change of every target's test loss (and test
AUROC, the metric the other views of lcurve use) beside MTIF's first-order and one-step Newton
predictions of the change in test loss. :func:`agreement` summarises each fraction: Spearman
and Pearson correlations over cross-task pairs (and all pairs), sign agreement, and the slope
of actual on predicted, so the linear regime and where it breaks are visible.

Example
-------
>>> from lcurve.config import TrainConfig
>>> from lcurve.datasets import make_synthetic
>>> from lcurve.influence import MTIF, InfluenceConfig
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=200, n_features=8, seed=0)
>>> train = TrainConfig(hidden=(4,), steps=1500, learning_rate=0.02, weight_decay=0.0)
>>> mtif = MTIF(data, train=train, influence=InfluenceConfig(l2=0.01)).fit()
>>> curve = removal_curve(mtif, fractions=(0.5, 1.0))
>>> sorted(agreement(curve)["fraction"].unique().tolist())
[0.5, 1.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr

from lcurve.influence.mtif import MTIF

__all__ = ["agreement", "removal_curve", "removal_masks"]


def removal_masks(mtif: MTIF, fractions, *, seed: int = 0) -> dict[tuple[str, float], np.ndarray]:
    """``(source, fraction) -> (n_rows, n_tasks)`` masks of nested random removals."""
    weights = mtif.arrays_.weights
    masks = {}
    for j, source in enumerate(mtif.data.tasks):
        members = np.flatnonzero(weights[:, j] > 0)
        order = np.random.default_rng([seed, j]).permutation(members)
        for f in fractions:
            n = max(1, int(round(float(f) * len(members))))
            mask = np.zeros(weights.shape, bool)
            mask[order[:n], j] = True
            masks[(source, float(f))] = mask
    return masks


def removal_curve(mtif: MTIF, *, fractions=(0.1, 0.25, 0.5, 1.0), seed: int = 0,
                  newton: bool = True) -> pd.DataFrame:
    """Predicted and retrained change of each target's test loss for nested source removals.

    Parameters
    ----------
    mtif
        A fitted :class:`~lcurve.influence.MTIF`.
    fractions
        Fractions of each source task's training labels to remove (in (0, 1]).
    seed
        Seed of each source's random removal order.
    newton
        Also give the one-step Newton prediction (one checked solve per removal).

    Returns
    -------
    pandas.DataFrame
        ``source, target, fraction, n_removed, predicted, predicted_newton, actual,
        actual_auroc, cross_task``: ``predicted*`` and ``actual`` are changes in the target's
        test BCE (nats), ``actual_auroc`` the retrained change in its test AUROC.
    """
    fractions = tuple(float(f) for f in fractions)
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ValueError(f"fractions must be in (0, 1], got {list(fractions)}")
    masks = removal_masks(mtif, fractions, seed=seed)
    names = {key: f"{key[0]}@{key[1]:g}" for key in masks}
    removals = {names[key]: mask for key, mask in masks.items()}
    predicted = mtif.predict_removals(removals, newton=newton)
    actual = mtif.retrain(removals)
    table = predicted.merge(actual[["removal", "target", "delta_loss", "delta_auroc"]],
                            on=["removal", "target"])
    lookup = {name: key for key, name in names.items()}
    table.insert(0, "source", [lookup[r][0] for r in table["removal"]])
    table.insert(2, "fraction", [lookup[r][1] for r in table["removal"]])
    table.insert(3, "n_removed", [int(masks[lookup[r]].sum()) for r in table["removal"]])
    table = table.drop(columns="removal").rename(
        columns={"delta_loss": "actual", "delta_auroc": "actual_auroc"})
    table["cross_task"] = table["source"] != table["target"]
    return table


def _stats(predicted, actual, *, same_units: bool) -> dict:
    if len(predicted) < 3 or np.ptp(predicted) == 0 or np.ptp(actual) == 0:
        return {"spearman": np.nan, "pearson": np.nan, "sign_agreement": np.nan, "slope": np.nan}
    slope = (float(np.dot(predicted, actual) / np.dot(predicted, predicted)) if same_units
             else np.nan)
    return {"spearman": float(spearmanr(predicted, actual).statistic),
            "pearson": float(pearsonr(predicted, actual).statistic),
            "sign_agreement": float((np.sign(predicted) == np.sign(actual)).mean()),
            "slope": slope}


def agreement(curve: pd.DataFrame, *, metric: str = "actual") -> pd.DataFrame:
    """Agreement of predictions with retraining, per fraction and pair subset.

    Parameters
    ----------
    curve
        A :func:`removal_curve` table.
    metric
        The retrained column compared (``"actual"``: test-loss change; ``"actual_auroc"``:
        test-AUROC change, compared with the *negated* loss predictions, since a higher loss
        should mean a lower AUROC).

    Returns
    -------
    pandas.DataFrame
        ``fraction, pairs ("cross-task" / "all"), estimate ("first_order" / "newton"), metric,
        n, spearman, pearson, sign_agreement, slope`` (``slope``: least-squares slope of actual
        on predicted through 0; 1 is calibrated; NaN for AUROC, whose units differ).
    """
    if metric not in ("actual", "actual_auroc"):
        raise ValueError(f"metric must be 'actual' or 'actual_auroc', got {metric!r}")
    sign = -1.0 if metric == "actual_auroc" else 1.0
    estimates = [("first_order", "predicted")]
    if "predicted_newton" in curve:
        estimates.append(("newton", "predicted_newton"))
    rows = []
    for fraction, part in curve.groupby("fraction"):
        for pairs, subset in (("cross-task", part[part["cross_task"]]), ("all", part)):
            subset = subset.dropna(subset=[metric])
            for estimate, column in estimates:
                rows.append({"fraction": fraction, "pairs": pairs, "estimate": estimate,
                             "metric": "test_bce" if metric == "actual" else "test_auroc",
                             "n": len(subset),
                             **_stats(sign * subset[column].to_numpy(np.float64),
                                      subset[metric].to_numpy(np.float64),
                                      same_units=metric == "actual")})
    return pd.DataFrame(rows)
