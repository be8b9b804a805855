"""Head-to-head: TAG vs full learning-curve sweeps vs the fast warm-start approximation.

:func:`compare_methods` runs, on the same data and the same network:

* ``tag``: :func:`~lcurve.affinity.tag_affinity` (score = affinity);
* ``lc_full``: a pairs design trained by :func:`lcurve.run_sweep` (every run from scratch);
* ``lc_fast``: the same design by :func:`lcurve.sweep.run_fast_sweep` (warm-started chains).

Learning-curve scores are :func:`~lcurve.transfer.transfer_table` (mean paired gain
of the pair run over the single run at the same target size), or with ``curves = "bayesian"``
the posterior mean of ``lcurve.curves.fit_curves(results, transfer="pairwise")``.

It reports, one row per method: power (synthetic: AUROC of separating planted related pairs,
``|relatedness| >= related_threshold``, and Spearman with the planted relatedness; every data
set: Spearman with the *measured benefit* of training each pair together on fresh seeds, see
:func:`~lcurve.affinity.truth.measured_benefit`), compute (wall time and optimizer steps,
measured in the same process), and grouping quality (mean test AUROC over tasks when the
groups each method picks are actually trained, on the benefit seeds). Baseline rows give the
grouping quality of all tasks together and of every task alone.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from lcurve.config import ConfigError, DataConfig, TrainConfig, ConfigSection
from lcurve.data import MultiTaskData
from lcurve.design import make_design
from lcurve.sweep import run_fast_sweep, run_sweep
from lcurve.affinity.grouping import group_tasks
from lcurve.affinity.tag import TagConfig, tag_affinity
from lcurve.affinity.truth import _custom_design, agreement, measured_benefit
from lcurve.transfer import transfer_table

__all__ = ["CompareConfig", "Comparison", "compare_methods", "METHODS"]

METHODS = ("tag", "lc_full", "lc_fast")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompareConfig(ConfigSection):
    """The ``[compare]`` table: the learning-curve design, benefit runs and grouping.

    Parameters
    ----------
    methods
        Subset of ``("tag", "lc_full", "lc_fast")``.
    seeds, min_size, max_size, points_per_doubling, aux_sizes
        The pairs design shared by ``lc_full`` and ``lc_fast`` (see ``make_design``).
    steps_per_size
        Steps per size of a fast chain (default ``train.steps // 3``).
    benefit_seeds, benefit_size
        Fresh seeds and target size of the measured-benefit and grouping runs.
    max_groups, uncertainty
        Grouping settings (see :func:`~lcurve.affinity.group_tasks`); ``uncertainty`` applies
        to the learning-curve scores (TAG has none).
    related_threshold
        Planted ``|relatedness|`` at or above which a synthetic pair counts as related.
    curves
        ``"empirical"`` or ``"bayesian"`` (needs ``lcurve.curves.fit_curves``).
    curve_method
        Inference method for ``curves = "bayesian"``: ``"svi"`` (fast) or ``"nuts"``.
    """

    _section = "compare"
    methods: tuple[str, ...] = METHODS
    seeds: tuple[int, ...] = (0, 1)
    min_size: int = 32
    max_size: int | None = None
    points_per_doubling: int = 1
    aux_sizes: tuple[int, ...] | None = (256,)
    steps_per_size: int | None = None
    benefit_seeds: tuple[int, ...] = (100, 101)
    benefit_size: int | None = 128
    max_groups: int = 3
    uncertainty: str = "mean"
    related_threshold: float = 0.5
    curves: str = "empirical"
    curve_method: str = "svi"

    def _validate(self) -> None:
        bad = sorted(set(self.methods) - set(METHODS))
        if bad or not self.methods:
            raise ConfigError(f"compare.methods must be a subset of {METHODS}, got {bad}")
        if self.curves not in ("empirical", "bayesian"):
            raise ConfigError(f"compare.curves must be 'empirical' or 'bayesian', "
                              f"got {self.curves!r}")
        if self.curve_method not in ("svi", "nuts"):
            raise ConfigError(f"compare.curve_method must be 'svi' or 'nuts', "
                              f"got {self.curve_method!r}")
        if self.max_groups < 1:
            raise ConfigError(f"compare.max_groups must be >= 1, got {self.max_groups}")
        if self.uncertainty not in ("mean", "lower", "sample"):
            raise ConfigError("compare.uncertainty must be 'mean', 'lower' or 'sample', got "
                              f"{self.uncertainty!r}")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What :func:`compare_methods` found.

    Attributes
    ----------
    table
        One row per method (then grouping baselines): power, compute and grouping columns.
    scores
        Tidy ``method, source, target, score`` (plus ``truth`` / ``benefit`` where known).
    fidelity
        Fast vs full curves: ``pearson``, ``spearman``, ``mae``, ``bias`` of the per-run test
        AUROC and the Pearson correlation of the two transfer estimates (empty without both).
    groupings
        Method -> :class:`~lcurve.affinity.TaskGrouping`.
    """

    table: pd.DataFrame
    scores: pd.DataFrame
    fidelity: dict
    groupings: dict

    def markdown(self) -> str:
        """The table (and fidelity line) as markdown."""
        text = _markdown_table(self.table)
        if self.fidelity:
            text += "\n\nfast vs full: " + ", ".join(f"{k} {v:.3g}"
                                                      for k, v in self.fidelity.items())
        return text

    def figure(self):
        """Scores against the reference (truth or benefit), and wall time per method."""
        import matplotlib.pyplot as plt

        fig, (ax_scores, ax_cost) = plt.subplots(1, 2, figsize=(10, 4))
        reference = "truth" if "truth" in self.scores else "benefit"
        for method, block in self.scores.groupby("method", sort=False):
            ranks = block["score"].rank(pct=True)
            ax_scores.scatter(block[reference], ranks, label=method, alpha=0.7, s=18)
        ax_scores.set_xlabel("planted relatedness" if reference == "truth"
                             else "measured benefit (AUROC gain)")
        ax_scores.set_ylabel("method score (percentile rank)")
        ax_scores.legend()
        rows = self.table[self.table["method"].isin(METHODS)]
        ax_cost.bar(rows["method"], rows["seconds"])
        ax_cost.set_yscale("log")
        ax_cost.set_ylabel("wall time (s, log scale)")
        fig.tight_layout()
        return fig


def _markdown_table(table: pd.DataFrame) -> str:
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else f"{v:.3g}"
        return str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in table.itertuples(index=False)]
    return "\n".join(lines)


def _lc_scores(results: pd.DataFrame, compare: CompareConfig) -> pd.DataFrame:
    if compare.curves == "empirical":
        return transfer_table(results)
    from lcurve.curves import fit_curves  # optional: the Bayesian curve layer

    fit = fit_curves(results, transfer="pairwise", method=compare.curve_method)
    return fit.transfer_matrix()


def _grouping_auroc(data, groups, config: TrainConfig, seeds, size, progress) -> float:
    available = data.n_train()
    runs = [{t: available[t] if size is None else min(size, available[t]) for t in g}
            for g in groups]
    results = run_sweep(data, _custom_design(data, runs, seeds), config, progress=progress)
    auroc = results[results["metric"] == "auroc"]
    return float(auroc.groupby("task")["value"].mean().mean())


def compare_methods(data: MultiTaskData, *, truth=None, train: TrainConfig | None = None,
                    tag: TagConfig | None = None, compare: CompareConfig | None = None,
                    progress: bool = True) -> Comparison:
    """Run TAG, full and fast learning-curve sweeps on ``data`` and compare them.

    Parameters
    ----------
    data
        The multi-task data.
    truth
        :class:`~lcurve.datasets.SyntheticTruth` for planted data (adds the power columns
        ``auroc_related``, ``spearman_truth``), else ``None``.
    train, tag, compare
        Network training, TAG and comparison settings.

    Example
    -------
    >>> from lcurve.datasets import make_synthetic
    >>> from lcurve.affinity import TagConfig
    >>> data, truth = make_synthetic(n_tasks=3, n_compounds=400, n_features=16)
    >>> cmp = compare_methods(data, truth=truth, progress=False,
    ...     train=TrainConfig(hidden=(8,), steps=20, chunk_size=16),
    ...     tag=TagConfig(hidden=(8,), steps=20, every=5, seeds=(0,)),
    ...     compare=CompareConfig(seeds=(0,), aux_sizes=(64,), benefit_seeds=(9,)))
    >>> cmp.table["method"].tolist()[:3]
    ['tag', 'lc_full', 'lc_fast']
    """
    train, tag, compare = train or TrainConfig(), tag or TagConfig(), compare or CompareConfig()
    design = make_design(data, kind="pairs", seeds=compare.seeds, min_size=compare.min_size,
                         max_size=compare.max_size, points_per_doubling=compare.points_per_doubling,
                         aux_sizes=compare.aux_sizes)
    scores, rows, results = {}, [], {}
    for method in compare.methods:
        start = time.perf_counter()
        if method == "tag":
            table = tag_affinity(data, tag)
            scores[method] = table.rename(columns={"affinity": "score"})
            steps = table.attrs["train_steps"] + table.attrs["lookahead_steps"]
        elif method == "lc_full":
            results[method] = run_sweep(data, design, train, progress=progress)
            steps = len(design) * train.steps
        else:
            results[method] = run_fast_sweep(data, design, train, progress=progress,
                                              steps_per_size=compare.steps_per_size)
            steps = results[method].attrs["train_steps"]
        if method != "tag":
            scores[method] = _lc_scores(results[method], compare).rename(
                columns={"mean": "score"})
        rows.append({"method": method, "seconds": time.perf_counter() - start,
                     "train_steps": int(steps)})

    benefit = measured_benefit(data, train, seeds=compare.benefit_seeds,
                               target_size=compare.benefit_size, progress=progress)
    groupings, long = {}, []
    for row in rows:
        method, s = row["method"], scores[row["method"]]
        if truth is not None:
            power = agreement(s, truth.relatedness, value="score", truth="relatedness",
                              related_threshold=compare.related_threshold)
            row.update(auroc_related=power["auroc_related"], spearman_truth=power["spearman"],
                       spearman_abs_truth=power["spearman_abs"])
        row["spearman_benefit"] = agreement(s, benefit, value="score",
                                            truth="benefit")["spearman"]
        grouped = s.rename(columns={"score": "mean"})
        use = compare.uncertainty if method != "tag" else "mean"
        groupings[method] = group_tasks(grouped, max_groups=compare.max_groups, uncertainty=use)
        row["groups"] = "; ".join(",".join(g) for g in groupings[method].groups)
        part = s[["source", "target", "score"]].assign(method=method)
        long.append(part)
    baselines = {"all_together": (tuple(data.tasks),),
                 "single_task": tuple((t,) for t in data.tasks)}
    for name, groups in [*((r["method"], groupings[r["method"]].groups) for r in rows),
                         *baselines.items()]:
        value = _grouping_auroc(data, groups, train, compare.benefit_seeds,
                                None, progress)
        if name in baselines:
            rows.append({"method": name, "groups": "; ".join(",".join(g) for g in groups)})
        next(r for r in rows if r["method"] == name)["group_auroc"] = value
    table = pd.DataFrame(rows)
    first = table["method"].isin(METHODS)
    if "tag" in scores:
        tag_seconds = table.loc[table["method"] == "tag", "seconds"].iloc[0]
        table.loc[first, "seconds_vs_tag"] = table.loc[first, "seconds"] / tag_seconds
    long = pd.concat(long, ignore_index=True).merge(benefit, on=["source", "target"], how="left")
    if truth is not None:
        long = long.merge(truth.relatedness.rename(columns={"relatedness": "truth"}),
                          on=["source", "target"], how="left")
    fidelity = {}
    if {"lc_full", "lc_fast"} <= set(results):
        fidelity = _fidelity(results["lc_full"], results["lc_fast"], scores)
    table.attrs["benefit_seconds"] = benefit.attrs["seconds"]
    return Comparison(table=table, scores=long, fidelity=fidelity, groupings=groupings)


def _fidelity(full: pd.DataFrame, fast: pd.DataFrame, scores) -> dict:
    keys = ["run_id", "task", "metric"]
    m = full.merge(fast, on=keys, suffixes=("_full", "_fast"))
    m = m[m["metric"] == "auroc"].dropna(subset=["value_full", "value_fast"])
    diff = m["value_fast"] - m["value_full"]
    pair = scores["lc_full"].merge(scores["lc_fast"], on=["source", "target"])
    return {
        "pearson": float(np.corrcoef(m["value_full"], m["value_fast"])[0, 1]),
        "spearman": float(m["value_full"].rank().corr(m["value_fast"].rank())),
        "mae": float(diff.abs().mean()), "bias": float(diff.mean()),
        "transfer_pearson": float(np.corrcoef(pair["score_x"], pair["score_y"])[0, 1]),
    }
