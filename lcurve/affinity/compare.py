"""Head-to-head: TAG vs learning curves (full, warm-start, accumulating) against independent truths.

:func:`compare_methods` runs, on the same data and the same network (:class:`TrainConfig`):

* ``tag``: :func:`~lcurve.affinity.tag_affinity` (score = affinity; Fifty et al. 2021);
* ``lc_full``: the pairs design (:class:`~lcurve.config.DesignConfig`) trained by
  :func:`lcurve.run_sweep`, every run from scratch;
* ``lc_fast``: the same design by :func:`lcurve.sweep.run_fast_sweep` (warm-started chains);
* ``lc_accumulating``: ``K + 1`` accumulating-data runs per seed
  (:func:`~lcurve.affinity.accumulating_sweep`, leave-one-out gains), or with
  ``accumulating_design = "pairs"`` each task alone and each pair (pairwise gains).

Learning-curve scores are :func:`~lcurve.transfer.transfer_table` (mean paired gain of the pair
run over the single run at the same target size; ``curves = "bayesian"``: the posterior mean of
``lcurve.curves.fit_curves``), or :func:`~lcurve.affinity.accumulating_transfer`.

Ground truths (no method is graded by its own estimator):

``auroc_related``, ``spearman_truth`` (synthetic data only)
    the *planted* relatedness of :func:`lcurve.datasets.make_synthetic`: AUROC of separating
    related pairs (``|relatedness| >= related_threshold``) and Spearman with the signed value.
``spearman_benefit``
    the *measured benefit* at an operating point none of the methods measures: every target
    trained with each partner, both at *full* data, minus the target alone at full data, on fresh
    seeds (``benefit_seeds``, disjoint from every method's seeds; :func:`measured_benefit`).
    The learning-curve designs must not contain that point (partner at full data): a design
    that does is refused, otherwise ``lc_full`` would be graded by its own estimator.
``group_auroc``
    the decision the scores are for: the mean test AUROC over tasks of the groups each method
    picks (:func:`~lcurve.affinity.group_tasks`), trained at full data on the fresh seeds.

Compute (wall time, optimizer steps) is measured in the same process, method after method.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from lcurve._markdown import markdown_table
from lcurve.config import (ConfigError, ConfigSection, DataConfig, DesignConfig,
                           ExperimentConfig, TrainConfig)
from lcurve.data import MultiTaskData
from lcurve.design import design_from_config, size_column
from lcurve.sweep import run_fast_sweep, run_sweep
from lcurve.affinity.accumulating import (ACCUMULATING_DESIGNS, accumulating_sweep,
                                          accumulating_transfer)
from lcurve.affinity.grouping import group_tasks
from lcurve.affinity.tag import TagConfig, tag_affinity
from lcurve.affinity.truth import _custom_design, agreement, measured_benefit
from lcurve.transfer import transfer_table, transfer_from_posterior

__all__ = ["CompareConfig", "CompareExperiment", "Comparison", "compare_methods",
           "comparison_data", "grouping_auroc", "method_scores", "METHODS"]

METHODS = ("tag", "lc_full", "lc_fast", "lc_accumulating")
_LC_DESIGN = ("lc_full", "lc_fast")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompareConfig(ConfigSection):
    """The ``[compare]`` table: which methods, the ground-truth runs and the grouping.

    The learning-curve design is the experiment's ``[design]`` table
    (:class:`~lcurve.config.DesignConfig`, ``kind = "pairs"``), the network its ``[train]``
    table, TAG's settings its ``[tag]`` table.

    Parameters
    ----------
    methods
        Subset of :data:`METHODS`.
    steps_per_size
        Steps per size of a warm-start chain (``lc_fast``; default ``train.steps // 3``).
    benefit_seeds
        Fresh seeds of the ground-truth and grouping runs (disjoint from the methods' seeds).
    benefit_size
        Target size of the measured benefit (``None``: full data, the independent truth).
    max_groups, uncertainty
        Grouping settings (see :func:`~lcurve.affinity.group_tasks`).
    related_threshold
        Planted ``|relatedness|`` at or above which a synthetic pair counts as related.
    curves
        ``"empirical"`` or ``"bayesian"`` (needs ``lcurve.curves.fit_curves``).
    curve_method
        Inference method for ``curves = "bayesian"``: ``"svi"`` (fast) or ``"nuts"``.
    accumulating_design
        Runs of ``lc_accumulating``: ``"leave_one_out"`` (``K + 1`` per seed) or ``"pairs"``
        (each task alone and each pair, ``K + K(K-1)/2`` per seed, read by ``transfer_table``).
    """

    _section = "compare"
    methods: tuple[str, ...] = METHODS
    steps_per_size: int | None = None
    benefit_seeds: tuple[int, ...] = (100, 101)
    benefit_size: int | None = None
    max_groups: int = 3
    uncertainty: str = "mean"
    related_threshold: float = 0.5
    curves: str = "empirical"
    curve_method: str = "svi"
    accumulating_design: str = "leave_one_out"

    def _validate(self) -> None:
        if self.accumulating_design not in ACCUMULATING_DESIGNS:
            raise ConfigError(f"compare.accumulating_design must be one of "
                              f"{ACCUMULATING_DESIGNS}, got {self.accumulating_design!r}")
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
        if not self.benefit_seeds or len(set(self.benefit_seeds)) != len(self.benefit_seeds):
            raise ConfigError(f"compare.benefit_seeds must be distinct and non-empty, got "
                              f"{list(self.benefit_seeds)}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompareExperiment(ExperimentConfig):
    """A whole comparison (``lcurve compare CONFIG``): ``name`` and the tables ``[data]``,
    ``[design]``, ``[train]``, ``[tag]`` and ``[compare]``.

    Checked on construction: the design is a ``pairs`` design; TAG trains the same network as
    the learning curves (``hidden``, ``batch_size``, ``learning_rate``, ``weight_decay``); the
    ground-truth seeds are fresh (used by no method).
    """

    name: str = "compare"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    design: DesignConfig = dataclasses.field(default_factory=DesignConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    tag: TagConfig = dataclasses.field(default_factory=TagConfig)
    compare: CompareConfig = dataclasses.field(default_factory=CompareConfig)

    def __post_init__(self) -> None:
        check_compare_settings(self.design, self.train, self.tag, self.compare)


def check_compare_settings(design: DesignConfig, train: TrainConfig, tag: TagConfig,
                           compare: CompareConfig) -> None:
    """Raise :class:`ConfigError` unless the methods share a network and the truth's seeds are
    fresh (and the design is a pairs design)."""
    if design.kind != "pairs":
        raise ConfigError(f"design.kind must be 'pairs' for a comparison, got {design.kind!r}")
    for name in ("hidden", "batch_size", "learning_rate", "weight_decay"):
        if getattr(tag, name) != getattr(train, name):
            raise ConfigError(f"tag.{name} ({getattr(tag, name)!r}) differs from train.{name} "
                              f"({getattr(train, name)!r}): TAG and the learning curves must "
                              "train the same network (use TagConfig.from_train)")
    reused = sorted(set(compare.benefit_seeds) & (set(design.seeds) | set(tag.seeds)))
    if reused:
        raise ConfigError(f"compare.benefit_seeds {reused} are also method seeds; the ground "
                          "truth must use fresh seeds")


def comparison_data(config: DataConfig, *, cache_dir=None):
    """``(data, truth)`` for a comparison; ``truth`` is the planted truth of synthetic data.

    ``config.tasks`` / ``max_tasks`` are honoured for every source (for synthetic data the
    planted relatedness is restricted to the kept tasks).
    """
    from lcurve.datasets import load_data, make_synthetic

    if config.source != "synthetic":
        return load_data(config, cache_dir=cache_dir), None
    data, truth = make_synthetic(n_tasks=config.n_tasks, n_compounds=config.n_compounds,
                                 n_features=config.n_features, seed=config.seed)
    tasks = list(config.tasks) if config.tasks is not None else list(data.tasks)
    unknown = sorted(set(tasks) - set(data.tasks))
    if unknown:
        raise ConfigError(f"data.tasks {unknown} are not synthetic tasks; they are "
                          f"{list(data.tasks)}")
    if config.max_tasks is not None:
        tasks = tasks[:config.max_tasks]
    if tasks != list(data.tasks):
        data = data.select_tasks(tasks)
        rel = truth.relatedness
        keep = rel["source"].isin(tasks) & rel["target"].isin(tasks)
        truth = dataclasses.replace(
            truth, relatedness=rel[keep].reset_index(drop=True),
            groups={t: g for t, g in truth.groups.items() if t in tasks},
            weights=truth.weights[[list(truth.groups).index(t) for t in tasks]])
    return data, truth


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What :func:`compare_methods` found.

    Attributes
    ----------
    table
        One row per method (then grouping baselines): power, compute and grouping columns.
    scores
        Tidy ``source, target, score, method`` (plus ``truth`` / ``benefit`` where known).
    fidelity
        Learning-curve approximations vs full curves: ``pearson``, ``spearman``, ``mae``,
        ``bias`` of the per-run test AUROC (fast vs full) and ``transfer_spearman_<method>``
        of the transfer estimates (empty without ``lc_full``).
    groupings
        Method -> :class:`~lcurve.affinity.TaskGrouping`.
    """

    table: pd.DataFrame
    scores: pd.DataFrame
    fidelity: dict
    groupings: dict

    def markdown(self) -> str:
        """The table (and fidelity line) as markdown."""
        text = markdown_table(self.table)
        if self.fidelity:
            text += "\n\nvs full curves: " + ", ".join(f"{k} {v:.3g}"
                                                        for k, v in self.fidelity.items())
        return text


def _lc_scores(results: pd.DataFrame, compare: CompareConfig) -> pd.DataFrame:
    if compare.curves == "empirical":
        return transfer_table(results)
    from lcurve.curves import fit_curves  # optional: the Bayesian curve layer

    fit = fit_curves(results, transfer="pairwise", method=compare.curve_method)
    return transfer_from_posterior(fit.transfer_matrix())


def check_truth_not_measured(data: MultiTaskData, design: pd.DataFrame) -> None:
    """Refuse a pairs design that contains the ground truth's point (both tasks at full data)."""
    available = np.array([data.n_train()[t] for t in data.tasks])
    sizes = design[[size_column(t) for t in data.tasks]].to_numpy()
    full_pairs = ((sizes == available) & (available > 0)).sum(axis=1) >= 2
    if full_pairs.any():
        raise ConfigError(
            f"{int(full_pairs.sum())} run(s) of the learning-curve design train two tasks at full "
            "data, the ground truth's operating point; cap design.aux_sizes or design.max_size "
            "below the tasks' training labels so that no method is graded by its own estimator")


def method_scores(method: str, data: MultiTaskData, *, train: TrainConfig,
                  design: DesignConfig, tag: TagConfig, compare: CompareConfig | None = None,
                  progress: bool = False):
    """Run one method; return ``(scores, results, compute)``.

    ``scores`` is tidy ``source, target, score`` (plus the interval columns), ``results`` the
    results table (``None`` for TAG), ``compute`` a dict ``seconds`` (wall time of this call,
    compilation included) and ``train_steps`` (optimizer steps, TAG's lookahead steps included).
    """
    compare = compare or CompareConfig()
    start = time.perf_counter()
    results = None
    if method == "tag":
        table = tag_affinity(data, tag)
        scores = table.rename(columns={"affinity": "score"})
        steps = table.attrs["train_steps"] + table.attrs["lookahead_steps"]
    elif method in _LC_DESIGN:
        runs = design_from_config(data, design)
        check_truth_not_measured(data, runs)
        if method == "lc_full":
            results = run_sweep(data, runs, train, progress=progress)
            steps = len(runs) * train.steps
        else:
            results = run_fast_sweep(data, runs, train, progress=progress,
                                     steps_per_size=compare.steps_per_size)
            steps = results.attrs["train_steps"]
        scores = _lc_scores(results, compare).rename(columns={"mean": "score"})
    elif method == "lc_accumulating":
        results = accumulating_sweep(data, train, seeds=design.seeds, min_size=design.min_size,
                                     max_size=design.max_size,
                                     points_per_doubling=design.points_per_doubling,
                                     design=compare.accumulating_design)
        steps = results.attrs["train_steps"]
        estimate = (accumulating_transfer if compare.accumulating_design == "leave_one_out"
                    else transfer_table)
        scores = estimate(results).rename(columns={"mean": "score"})
    else:
        raise ValueError(f"unknown method {method!r}; methods are {METHODS}")
    compute = {"seconds": time.perf_counter() - start, "train_steps": int(steps)}
    return scores, results, compute


def grouping_auroc(data: MultiTaskData, groups, config: TrainConfig, seeds, size=None,
                   progress: bool = False) -> float:
    """Mean test AUROC over tasks when each group is trained together (``size``: labels per
    task, ``None``: all), averaged over ``seeds``: the decision a grouping is for."""
    available = data.n_train()
    runs = [{t: available[t] if size is None else min(size, available[t]) for t in g}
            for g in groups]
    results = run_sweep(data, _custom_design(data, runs, seeds), config, progress=progress)
    auroc = results[results["metric"] == "auroc"]
    return float(auroc.groupby("task")["value"].mean().mean())


def compare_methods(data: MultiTaskData, *, truth=None, train: TrainConfig | None = None,
                    design: DesignConfig | None = None, tag: TagConfig | None = None,
                    compare: CompareConfig | None = None, progress: bool = True) -> Comparison:
    """Run the methods on ``data`` and grade them against truths none of them estimates.

    Parameters
    ----------
    data
        The multi-task data.
    truth
        :class:`~lcurve.datasets.SyntheticTruth` for planted data (adds the power columns
        ``auroc_related``, ``spearman_truth``, ``spearman_abs_truth``), else ``None``.
    train, design, tag, compare
        Network training, the learning-curve pairs design, TAG and comparison settings; TAG
        defaults to ``TagConfig.from_train(train)``. Checked as by :class:`CompareExperiment`.

    Returns
    -------
    Comparison
        ``table``: one row per method with ``seconds``, ``train_steps``, the power columns,
        ``spearman_benefit``, ``groups``, ``group_auroc`` and ``seconds_vs_tag``; then the
        baselines ``all_together`` and ``single_task``. ``scores``: ``source, target, score,
        method`` (+ ``benefit``, ``truth``).

    Example
    -------
    >>> from lcurve.datasets import make_synthetic
    >>> data, truth = make_synthetic(n_tasks=3, n_compounds=400, n_features=16)
    >>> train = TrainConfig(hidden=(8,), steps=20, chunk_size=16)
    >>> cmp = compare_methods(data, truth=truth, progress=False, train=train,
    ...     design=DesignConfig(seeds=(0,), min_size=32, max_size=64, aux_sizes=(64,)),
    ...     tag=TagConfig.from_train(train, every=5, seeds=(0,)),
    ...     compare=CompareConfig(benefit_seeds=(9,), methods=("tag", "lc_accumulating")))
    >>> cmp.table["method"].tolist()
    ['tag', 'lc_accumulating', 'all_together', 'single_task']
    """
    train, compare = train or TrainConfig(), compare or CompareConfig()
    design = design or DesignConfig()
    tag = tag or TagConfig.from_train(train)
    check_compare_settings(design, train, tag, compare)
    scores, rows, results = {}, [], {}
    for method in compare.methods:
        scores[method], results[method], compute = method_scores(
            method, data, train=train, design=design, tag=tag, compare=compare,
            progress=progress)
        rows.append({"method": method, **compute})

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
        groupings[method] = group_tasks(grouped, max_groups=compare.max_groups,
                                        uncertainty=compare.uncertainty)
        row["groups"] = "; ".join(",".join(g) for g in groupings[method].groups)
        long.append(s[["source", "target", "score"]].assign(method=method))
    baselines = {"all_together": (tuple(data.tasks),),
                 "single_task": tuple((t,) for t in data.tasks)}
    for name, groups in [*((r["method"], groupings[r["method"]].groups) for r in rows),
                         *baselines.items()]:
        value = grouping_auroc(data, groups, train, compare.benefit_seeds, None, progress)
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
    fidelity = _fidelity(results, scores) if "lc_full" in results else {}
    table.attrs["benefit_seconds"] = benefit.attrs["seconds"]
    return Comparison(table=table, scores=long, fidelity=fidelity, groupings=groupings)


def _fidelity(results: dict, scores: dict) -> dict:
    """Approximations vs full curves: per-run AUROC (fast) and transfer Spearman (each)."""
    out = {}
    if "lc_fast" in results:
        keys = ["run_id", "task", "metric"]
        m = results["lc_full"].merge(results["lc_fast"], on=keys, suffixes=("_full", "_fast"))
        m = m[m["metric"] == "auroc"].dropna(subset=["value_full", "value_fast"])
        diff = m["value_fast"] - m["value_full"]
        out.update(pearson=float(np.corrcoef(m["value_full"], m["value_fast"])[0, 1]),
                   spearman=float(m["value_full"].rank().corr(m["value_fast"].rank())),
                   mae=float(diff.abs().mean()), bias=float(diff.mean()))
    for method in ("lc_fast", "lc_accumulating"):
        if method in scores:
            pair = scores["lc_full"].merge(scores[method], on=["source", "target"])
            out[f"transfer_spearman_{method}"] = float(
                pair["score_x"].rank().corr(pair["score_y"].rank()))
    return out
