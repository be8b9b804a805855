"""Ground truths for the comparison: measured pair benefits, and agreement of scores with a truth.

:func:`measured_benefit` trains each ordered pair together and each target alone at full data on
fresh seeds (for synthetic data the planted relatedness of
:func:`lcurve.datasets.make_synthetic` is the other truth);
:func:`agreement` scores a method's transfer scores against such a truth (or planted relatedness).
Learning-curve transfer scores themselves come from :func:`lcurve.transfer.transfer_table`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu, spearmanr

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import size_column, validate_design
from lcurve.sweep import run_sweep
from lcurve.transfer import transfer_table

__all__ = ["measured_benefit", "agreement"]


def measured_benefit(data: MultiTaskData, config: TrainConfig, *, seeds,
                     target_size: int | None = None, progress: bool = False) -> pd.DataFrame:
    """The benefit of actually training each pair together at full data, on fresh seeds.

    For every ordered pair, train the target at ``target_size`` labels (``None``: all, the
    default) next to the source at all its labels, and the target alone at the same size; the
    benefit is the mean test AUROC difference over ``seeds``. As a ground truth for transfer
    scores it must be measured at a point the scored methods do not measure (full data for both
    tasks; see :func:`lcurve.affinity.compare.check_truth_not_measured`) and on seeds they do
    not use, so that no method is graded by its own estimator.

    Returns
    -------
    pandas.DataFrame
        ``source, target, benefit`` with ``.attrs`` ``seconds``, ``train_steps``, ``results``.
    """
    available = data.n_train()
    runs = []
    for t in data.tasks:
        n_t = available[t] if target_size is None else min(target_size, available[t])
        runs.append({t: n_t})
        runs += [{t: n_t, a: available[a]} for a in data.tasks if a != t]
    design = _custom_design(data, runs, seeds)
    results = run_sweep(data, design, config, progress=progress)
    table = transfer_table(results)
    benefit = table[["source", "target", "mean"]].rename(columns={"mean": "benefit"})
    benefit.attrs.update(seconds=float(results.drop_duplicates("run_id")["seconds"].sum()),
                         train_steps=len(design) * config.steps, results=results)
    return benefit


def _custom_design(data: MultiTaskData, runs, seeds) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        for sizes in runs:
            target = next(iter(sizes))
            row = {"seed": int(seed), "kind": "pairs" if len(sizes) > 1 else "single",
                   "target": target}
            row.update({size_column(t): int(sizes.get(t, 0)) for t in data.tasks})
            rows.append(row)
    design = pd.DataFrame(rows).drop_duplicates(["seed", *[size_column(t) for t in data.tasks]])
    design.insert(0, "run_id", np.arange(len(design), dtype=np.int64))
    validate_design(design, data)
    return design.reset_index(drop=True)


def agreement(scores: pd.DataFrame, reference: pd.DataFrame, *, value: str, truth: str,
              related_threshold: float | None = None) -> dict[str, float]:
    """Spearman of ``scores[value]`` with ``reference[truth]`` over shared ordered pairs.

    With ``related_threshold``, also the AUROC of ``value`` separating related pairs
    (``|truth| >= related_threshold``) from the rest (the Mann-Whitney U statistic over the pair counts).
    """
    merged = scores.merge(reference, on=["source", "target"]).dropna(subset=[value, truth])
    out = {"n_pairs": float(len(merged))}
    if len(merged) < 3:
        return {**out, "spearman": np.nan, "auroc_related": np.nan, "spearman_abs": np.nan}
    out["spearman"] = float(spearmanr(merged[value], merged[truth]).statistic)
    if related_threshold is not None:
        related = merged[truth].abs() >= related_threshold
        out["auroc_related"] = (_auroc(related.to_numpy(), merged[value].to_numpy())
                                if 0 < related.sum() < len(related) else np.nan)
        out["spearman_abs"] = float(spearmanr(merged[value], merged[truth].abs()).statistic)
    return out


def _auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUROC of ``scores`` for binary ``labels`` (ties count one half): ``U / (n_pos n_neg)``."""
    pos, neg = scores[labels], scores[~labels]
    return float(mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)))
