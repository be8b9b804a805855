"""Transfer scores from sweep results, measured pair benefits, and agreement with a truth.

:func:`empirical_transfer` is the simple, model-free learning-curve transfer estimate used by the
comparison harness: for every pair run that trains task ``t`` next to a partner ``a``, the gain
is the pair run's test score on ``t`` minus the single-task run's score on ``t`` *at the same
seed and the same size of t* (nested subsamples make these paired differences). The transfer
``a -> t`` is the mean gain over sizes, partner sizes and seeds; its standard error and a
normal 90% interval (``hdi_low``, ``hdi_high``) let :func:`~lcurve.affinity.group_tasks`
account for uncertainty.

Example
-------
>>> import pandas as pd
>>> res = pd.DataFrame({"run_id": [0, 1, 1], "seed": 0, "kind": ["single", "pairs", "pairs"],
...                     "task": ["a", "a", "b"], "metric": "auroc", "value": [.6, .7, .8],
...                     "n_a": [32, 32, 32], "n_b": [0, 64, 64]})
>>> empirical_transfer(res)[["source", "target", "mean"]].values.tolist()
[['b', 'a', 0.09999999999999998]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu, spearmanr

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import size_column, validate_design
from lcurve.sweep import run_sweep

__all__ = ["empirical_transfer", "measured_benefit", "agreement", "Z90"]

Z90 = 1.6448536269514722  # normal quantile of a central 90% interval


def empirical_transfer(results: pd.DataFrame, *, metric: str = "auroc") -> pd.DataFrame:
    """Mean paired gain of training ``target`` next to ``source`` over training it alone.

    Returns
    -------
    pandas.DataFrame
        ``source, target, mean, sd, n, hdi_low, hdi_high``, sorted by ``mean`` (best first);
        ``sd`` is the standard error of the mean gain (over its ``n`` paired differences).
    """
    res = results[(results["metric"] == metric) & results["value"].notna()]
    tasks = [t for t in pd.unique(results["task"]) if size_column(t) in results]
    sizes = res[[size_column(t) for t in tasks]].to_numpy()
    n_trained = (sizes > 0).sum(axis=1)
    singles = res[n_trained == 1]
    alone = {(int(s), t, int(n)): v for s, t, n, v in zip(
        singles["seed"], singles["task"],
        singles[[size_column(t) for t in tasks]].max(axis=1), singles["value"])}
    pairs = res[n_trained == 2]
    pair_sizes = sizes[n_trained == 2]
    gains: dict[tuple[str, str], list[float]] = {}
    for row, sz in zip(pairs.itertuples(index=False), pair_sizes):
        target = row.task
        partner = tasks[[k for k in np.flatnonzero(sz > 0) if tasks[k] != target][0]]
        key = (int(row.seed), target, int(sz[tasks.index(target)]))
        if key in alone:
            gains.setdefault((partner, target), []).append(row.value - alone[key])
    out = []
    for (source, target), g in gains.items():
        g = np.asarray(g)
        se = g.std(ddof=1) / np.sqrt(len(g)) if len(g) > 1 else np.nan
        out.append((source, target, g.mean(), se, len(g)))
    table = pd.DataFrame(out, columns=["source", "target", "mean", "sd", "n"])
    table["hdi_low"] = table["mean"] - Z90 * table["sd"]
    table["hdi_high"] = table["mean"] + Z90 * table["sd"]
    return table.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)


def measured_benefit(data: MultiTaskData, config: TrainConfig, *, seeds,
                     target_size: int | None = 128, progress: bool = False) -> pd.DataFrame:
    """The benefit of actually training each pair together, on fresh seeds.

    For every ordered pair, train the target at ``target_size`` labels (``None``: all) next to
    the source at all its labels, and the target alone at the same size; the benefit is the
    mean test AUROC difference over ``seeds``.

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
    table = empirical_transfer(results)
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
