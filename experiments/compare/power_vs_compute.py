"""Power versus compute: TAG vs learning curves (full, warm-start, accumulating), one process.

    cd experiments/compare && nice -n 5 python power_vs_compute.py        # both data sets
    python power_vs_compute.py --datasets synthetic                        # one of them

For each data set (``synthetic.toml``: 6 planted tasks with a sign-flipped one;
``moleculeace.toml``: 8 MoleculeACE targets) it measures, in this one process:

* the ground truths: planted relatedness (synthetic), and the *measured benefit* of training each
  target with each partner at full data vs alone at full data on fresh seeds (both data sets);
* every method at >= 4 compute budgets, recording wall time and optimizer steps:
  - ``tag``: (steps, seeds) = (S/2, 1), (S, 1), (S, 3), (2S, 3);
  - ``lc_full``: seeds 1, 2, 3 x grid {sparse (min_size x 4), the config's grid}; one sweep of
    3 seeds is trained and each budget is the subset of its runs (its compute is the sum of the
    subset's per-run wall time, chunk time divided by runs, and steps);
  - ``lc_fast``: seeds 1, 2, 3 at ``steps_per_size = S/3`` (subsets of one run) and 3 seeds at
    ``S/6``;
  - ``lc_accumulating``: (steps, seeds) = (S, 1), (S, 2), (S, 3), (2S, 3);
* wall time including compilation (``seconds``) and, for TAG and the accumulating runs whose
  compiled programs are cached, a second identical call (``seconds_warm``: execution only);
* score quality per budget: ``auroc_related`` and ``spearman_truth`` (synthetic, against the
  planted relatedness), ``spearman_benefit`` (against the measured benefit), and
  ``spearman_full_lc`` (against the largest ``lc_full`` budget's transfer estimates);
* at each method's largest budget, the mean test AUROC of the task groups it picks, trained at
  full data on the fresh seeds (plus the all-together and single-task baselines).

Writes ``results/power_vs_compute.csv``, ``results/groupings.csv``, ``power_vs_compute.png``
and the tables in ``RESULTS.md`` (between the ``<!-- table -->`` markers).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from lcurve.affinity import (CompareExperiment, comparison_data, group_tasks,  # noqa: E402
                             method_scores)
from lcurve._markdown import markdown_table  # noqa: E402
from lcurve.affinity.compare import grouping_auroc  # noqa: E402
from lcurve.affinity.truth import agreement, measured_benefit  # noqa: E402
from lcurve.design import size_column, size_grid  # noqa: E402
from lcurve.plot.compare import plot_power_vs_compute  # noqa: E402
from lcurve.transfer import transfer_table  # noqa: E402

HERE = Path(__file__).resolve().parent
METHODS = ("tag", "lc_full", "lc_fast", "lc_accumulating", "lc_accumulating_pairs")


def _quality(scores, truth, benefit, reference, threshold):
    row = {}
    if truth is not None:
        power = agreement(scores, truth.relatedness, value="score", truth="relatedness",
                          related_threshold=threshold)
        row.update(auroc_related=power["auroc_related"], spearman_truth=power["spearman"])
    row["spearman_benefit"] = agreement(scores, benefit, value="score", truth="benefit")["spearman"]
    if reference is not None:
        m = scores.merge(reference, on=["source", "target"]).dropna(subset=["score", "ref"])
        row["spearman_full_lc"] = float(spearmanr(m["score"], m["ref"]).statistic)
    return row


def _subset(results, seeds, grid=None, data=None):
    """Rows of ``seeds`` (and, with ``grid``, whose evaluated task's size is on the grid)."""
    keep = results["seed"].isin(seeds).to_numpy().copy()
    if grid is not None:
        sizes = results[[size_column(t) for t in data.tasks]].to_numpy()
        own = sizes[np.arange(len(results)), [data.task_index(t) for t in results["task"]]]
        keep &= np.isin(own, grid)
    return results[keep]


def _lc_budgets(method, results, train_steps_per_run, data, design, extra=""):
    """(label, seeds, compute, scores) for seed and grid subsets of one sweep's results."""
    seeds_all = sorted(results["seed"].unique())
    sparse = size_grid(design.max_size or 10**9, min_size=design.min_size * 4,
                       points_per_doubling=design.points_per_doubling)
    out = []
    grids = [("sparse grid", sparse), ("grid", None)] if method == "lc_full" else [("grid", None)]
    for n_seeds in range(1, len(seeds_all) + 1):
        for grid_name, grid in grids:
            part = _subset(results, seeds_all[:n_seeds], grid, data)
            runs = part.drop_duplicates("run_id")
            compute = {"seconds": float(runs["seconds"].sum()),
                       "train_steps": int(len(runs) * train_steps_per_run)}
            scores = transfer_table(part).rename(columns={"mean": "score"})
            out.append((f"{n_seeds} seed(s), {grid_name}{extra}", compute, scores))
    return out


def run_dataset(name: str, *, progress: bool, config_dir: Path = HERE, methods=METHODS):
    """Truths, every method at every budget, and groupings for one data set's TOML.

    ``lc_full`` always runs (its largest budget is the reference of ``spearman_full_lc``)."""
    exp = CompareExperiment.from_toml(config_dir / f"{name}.toml")
    data, truth = comparison_data(exp.data)
    train, design, tag, compare = exp.train, exp.design, exp.tag, exp.compare
    S = train.steps
    print(f"[{name}] {data}", flush=True)
    start = time.perf_counter()
    benefit = measured_benefit(data, train, seeds=compare.benefit_seeds, progress=progress)
    print(f"[{name}] truth (full data, fresh seeds {list(compare.benefit_seeds)}): "
          f"{time.perf_counter() - start:.0f} s", flush=True)

    entries = []  # (method, budget label, compute, scores)
    for steps, seeds in ((S // 2, 1), (S, 1), (S, 3), (2 * S, 3)) if "tag" in methods else ():
        cfg = dataclasses.replace(tag, steps=steps, seeds=tuple(range(seeds)))
        scores, _, compute = method_scores("tag", data, train=train, design=design, tag=cfg)
        compute["seconds_warm"] = method_scores("tag", data, train=train, design=design,
                                                tag=cfg)[2]["seconds"]  # compiled: cached
        entries.append(("tag", f"{steps} steps, {seeds} seed(s)", compute, scores))
        print(f"[{name}] tag {steps} steps x {seeds}: {compute['seconds']:.1f} s", flush=True)

    full_design = dataclasses.replace(design, seeds=(0, 1, 2))
    _, results, compute = method_scores("lc_full", data, train=train, design=full_design,
                                        tag=tag, progress=progress)
    print(f"[{name}] lc_full 3 seeds: {compute['seconds']:.0f} s", flush=True)
    for label, c, scores in _lc_budgets("lc_full", results, S, data, design):
        entries.append(("lc_full", label, c, scores))
    full_scores = entries[-1][3]
    reference = full_scores[["source", "target", "score"]].rename(columns={"score": "ref"})
    split = transfer_table(results[results["seed"] == 0]).merge(
        transfer_table(results[results["seed"] != 0]), on=["source", "target"])
    split_half = float(spearmanr(split["mean_x"], split["mean_y"]).statistic)

    for per_size in (S // 3, S // 6) if "lc_fast" in methods else ():
        cmp = dataclasses.replace(compare, steps_per_size=per_size)
        _, fast, compute = method_scores("lc_fast", data, train=train, design=full_design,
                                         tag=tag, compare=cmp, progress=progress)
        print(f"[{name}] lc_fast {per_size} steps/size: {compute['seconds']:.0f} s", flush=True)
        per_run = fast.attrs["train_steps"] / fast["run_id"].nunique()
        budgets = _lc_budgets("lc_fast", fast, per_run, data, design,
                              extra=f", {per_size} steps/size")
        entries += [("lc_fast", *b) for b in (budgets if per_size == S // 3 else budgets[-1:])]

    for acc_design, label in (("leave_one_out", "lc_accumulating"),
                              ("pairs", "lc_accumulating_pairs")):
        if label not in methods:
            continue
        cmp = dataclasses.replace(compare, accumulating_design=acc_design)
        for steps, seeds in ((S, 1), (S, 2), (S, 3), (2 * S, 3)):
            cfg_train = dataclasses.replace(train, steps=steps)
            cfg_design = dataclasses.replace(design, seeds=tuple(range(seeds)))
            run = dict(train=cfg_train, design=cfg_design, tag=tag, compare=cmp)
            scores, _, compute = method_scores("lc_accumulating", data, **run)
            compute["seconds_warm"] = method_scores("lc_accumulating", data, **run)[2]["seconds"]
            entries.append((label, f"{steps} steps, {seeds} seed(s)", compute, scores))
            print(f"[{name}] {label} {steps} steps x {seeds}: {compute['seconds']:.1f} s",
                  flush=True)

    rows, largest = [], {}
    for method, label, compute, scores in entries:
        row = {"dataset": name, "method": method, "budget": label, **compute}
        ref = None if (method == "lc_full" and scores is full_scores) else reference
        row.update(_quality(scores, truth, benefit, ref, compare.related_threshold))
        rows.append(row)
        if method not in largest or compute["train_steps"] >= largest[method][0]:
            largest[method] = (compute["train_steps"], label, scores)
    table = pd.DataFrame(rows)
    table.attrs["split_half"] = split_half

    groups = []
    baselines = {"all_together": (tuple(data.tasks),),
                 "single_task": tuple((t,) for t in data.tasks)}
    if "lc_full" not in methods:  # lc_full ran as the reference only
        largest.pop("lc_full")
        table = table[table["method"] != "lc_full"].copy()
        table.attrs["split_half"] = split_half
        baselines = {}
    for method, (_, label, scores) in largest.items():
        grouping = group_tasks(scores.rename(columns={"score": "mean"}),
                               max_groups=compare.max_groups)
        groups.append({"dataset": name, "method": method, "budget": label,
                       "groups": "; ".join(",".join(g) for g in grouping.groups),
                       "group_auroc": grouping_auroc(data, grouping.groups, train,
                                                     compare.benefit_seeds)})
    for method, g in baselines.items():
        groups.append({"dataset": name, "method": method, "budget": "",
                       "groups": "; ".join(",".join(x) for x in g),
                       "group_auroc": grouping_auroc(data, g, train, compare.benefit_seeds)})
    groups = pd.DataFrame(groups)
    groups.attrs["split_half"] = split_half
    print(f"[{name}] done in {time.perf_counter() - start:.0f} s; lc_full split-half "
          f"Spearman {split_half:.2f}", flush=True)
    return table, groups


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["synthetic", "moleculeace"])
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--config-dir", type=Path, default=HERE,
                        help="folder of the <dataset>.toml files (default: this folder)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the outputs go")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="methods to run (lc_full always runs: it is a reference)")
    parser.add_argument("--append", action="store_true",
                        help="add the rows to results/*.csv instead of replacing them")
    parser.add_argument("--render-only", action="store_true",
                        help="re-draw the figure and tables from results/*.csv")
    args = parser.parse_args(argv)
    out = args.out / "results"
    out.mkdir(exist_ok=True)
    if args.render_only:
        notes = [line[2:] for line in (out / "tables.md").read_text().splitlines()
                 if line.startswith("- ")]
        render(pd.read_csv(out / "power_vs_compute.csv"), pd.read_csv(out / "groupings.csv"),
               notes, args.out)
        return 0
    tables, groups, notes = [], [], []
    for name in args.datasets:
        table, grouping = run_dataset(name, progress=args.progress, config_dir=args.config_dir,
                                      methods=args.methods)
        tables.append(table)
        groups.append(grouping)
        notes.append(f"{name}: lc_full split-half Spearman (seed 0 vs seeds 1-2) "
                     f"{table.attrs['split_half']:.2f}")
        if not args.append:
            pd.concat(tables).to_csv(out / "power_vs_compute.csv", index=False)
            pd.concat(groups).to_csv(out / "groupings.csv", index=False)
    table, grouping = pd.concat(tables, ignore_index=True), pd.concat(groups, ignore_index=True)
    if args.append:
        old = pd.read_csv(out / "power_vs_compute.csv")
        keep = ~(old["method"].isin(set(table["method"])) & old["dataset"].isin(args.datasets))
        table = pd.concat([old[keep], table], ignore_index=True)
        old = pd.read_csv(out / "groupings.csv")
        keep = ~(old["method"].isin(set(grouping["method"])) & old["dataset"].isin(args.datasets))
        grouping = pd.concat([old[keep], grouping], ignore_index=True)
        notes = [line[2:] for line in (out / "tables.md").read_text().splitlines()
                 if line.startswith("- ")]
    table = table.sort_values(["dataset", "method"], key=_order, kind="stable")
    grouping = grouping.sort_values(["dataset", "method"], key=_order, kind="stable")
    table.to_csv(out / "power_vs_compute.csv", index=False)
    grouping.to_csv(out / "groupings.csv", index=False)
    render(table, grouping, notes, args.out)
    return 0


def _order(column: pd.Series) -> pd.Series:
    """Sort key: data sets as run, methods in METHODS order, then baselines."""
    if column.name == "dataset":
        return column.map({"synthetic": 0, "moleculeace": 1}).fillna(2)
    rank = {m: i for i, m in enumerate([*METHODS, "all_together", "single_task"])}
    return column.map(rank).fillna(len(rank))


def render(table: pd.DataFrame, grouping: pd.DataFrame, notes, out: Path) -> None:
    """Figure (quality vs optimizer steps) and the markdown tables, into ``out``/RESULTS.md."""
    quality = [c for c in ("auroc_related", "spearman_truth", "spearman_benefit",
                           "spearman_full_lc") if c in table]
    fig = plot_power_vs_compute(table, quality=tuple(quality), compute="train_steps")
    fig.savefig(out / "power_vs_compute.png", dpi=110)
    text = (markdown_table(table) + "\n\n" + markdown_table(grouping) + "\n\n"
            + "\n".join(f"- {n}" for n in notes) + "\n")
    (out / "results" / "tables.md").write_text(text)
    results_md = out / "RESULTS.md"
    if results_md.is_file():
        body = results_md.read_text()
        head, _, rest = body.partition("<!-- table -->")
        _, _, tail = rest.partition("<!-- /table -->")
        if rest:
            results_md.write_text(f"{head}<!-- table -->\n{text}<!-- /table -->{tail}")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
