"""Protocol sensitivity: do learning curves and transfer estimates measure data or the optimiser?

One design (single-task curves of every task plus pair runs of every ordered pair of tasks at a
few target sizes with the partner at a fixed size) is trained under several protocols
(:class:`lcurve.config.TrainConfig` settings), all in this one process:

* ``default@B``  - the default: task-balanced loss, stratified batches, early stopping on
  held-out training labels (AUROC criterion), at most ``B`` steps;
* ``default@5B`` - the same with a 5x larger maximum;
* ``pooled@B``   - pooled loss and uniform batches, early stopping, at most ``B`` steps;
* ``fixed@B``    - the former default: pooled loss, uniform batches, exactly ``B`` steps;
* ``fixed@5B``   - the former default with 5x the steps (on the data sets in ``--legacy-5b``).

For each data set it reports (markdown tables printed and written to ``--out``, one figure):
how single-task curves move against ``default@B``, how monotone they are, how the empirical
pairwise transfer estimates (mean gain of a pair run over its single run,
``transfer_table``) move (Spearman rank correlation and mean absolute difference), steps used
and wall time (the ratio ``default@B / fixed@B`` is the cost of the default protocol at equal
maximum steps).

Run (about 15 min on 2 CPU cores)::

    PYTHONPATH=$PWD nice -n 5 python experiments/protocol/protocol_sensitivity.py \\
        --out runs/protocol --figure experiments/protocol/protocol_sensitivity.png

Sweeps resume from ``--out`` (re-running skips trained runs; their wall time is then not
re-measured, so time a fresh folder).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from lcurve.config import TrainConfig
from lcurve.design import make_design, size_column
from lcurve.sweep import run_sweep

MOLECULEACE_TASKS = ("CHEMBL234_Ki", "CHEMBL219_Ki", "CHEMBL214_Ki", "CHEMBL228_Ki",
                     "CHEMBL238_Ki", "CHEMBL204_Ki", "CHEMBL244_Ki", "CHEMBL236_Ki")


def markdown(table: pd.DataFrame, *, index: bool = False) -> str:
    """A pipe table (pandas' ``to_markdown`` needs the undeclared ``tabulate``)."""
    table = table.reset_index() if index else table
    fmt = lambda v: f"{v:.3f}" if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(map(str, table.columns)) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in table.to_numpy()]
    return "\n".join(lines)


def transfer_table(results: pd.DataFrame, **options) -> pd.DataFrame:
    """The empirical pair-gain transfer table (the one place that names its module)."""
    from lcurve.latent import transfer_table as table

    return table(results, **options)


def protocols(steps: int, hidden: tuple[int, ...], names) -> dict[str, TrainConfig]:
    base = dict(hidden=hidden, chunk_size=64, vmap_width=8)
    legacy = dict(objective="pooled", batches="uniform")
    every = {
        "default@B": TrainConfig(steps=steps, **base),
        "default@5B": TrainConfig(steps=5 * steps, **base),
        "pooled@B": TrainConfig(steps=steps, **legacy, **base),
        "fixed@B": TrainConfig(steps=steps, stopping="fixed", **legacy, **base),
        "fixed@5B": TrainConfig(steps=5 * steps, stopping="fixed", **legacy, **base),
    }
    return {name: every[name] for name in names}


def load(name: str):
    if name == "moleculeace":
        from lcurve.datasets import load_moleculeace

        return load_moleculeace(MOLECULEACE_TASKS)
    from lcurve.datasets import make_synthetic

    data, _ = make_synthetic(n_tasks=6, n_compounds=3000, n_features=64, seed=0)
    return data


def build_design(data, *, seeds, max_size, aux_size, pair_sizes) -> pd.DataFrame:
    """Single runs on the whole grid; pair runs at ``pair_sizes`` of the target, partner at
    ``aux_size``."""
    design = make_design(data, kind="pairs", seeds=seeds, min_size=32, max_size=max_size,
                         points_per_doubling=1, aux_sizes=[aux_size])
    target_size = np.array([row[size_column(t)] for t, (_, row) in
                            zip(design["target"], design.iterrows())])
    keep = (design["kind"] == "single") | np.isin(target_size, pair_sizes)
    return design[keep].reset_index(drop=True)


def single_curves(results: pd.DataFrame) -> pd.DataFrame:
    """Seed-mean test AUROC of the single-task runs: ``task, n, auroc, steps_used``."""
    single = results[(results["kind"] == "single") & (results["metric"] == "auroc")]
    n = np.array([row[size_column(t)] for t, (_, row) in zip(single["task"], single.iterrows())])
    single = single.assign(n=n)
    return single.groupby(["task", "n"], as_index=False)[["value", "steps_used"]].mean().rename(
        columns={"value": "auroc"})


def monotone_fraction(curves: pd.DataFrame) -> tuple[float, int]:
    """Share of consecutive grid points (per task) where the seed-mean AUROC does not fall."""
    steps = [np.diff(c.sort_values("n")["auroc"].to_numpy()) for _, c in curves.groupby("task")]
    steps = np.concatenate(steps)
    return float((steps >= 0).mean()), len(steps)


def compare(tables: dict[str, pd.DataFrame], curves: dict[str, pd.DataFrame],
            reference: str) -> pd.DataFrame:
    """How every protocol's curves and transfer estimates differ from ``reference``'s."""
    rows = []
    ref_t = tables[reference].set_index(["source", "target"])["mean"]
    ref_c = curves[reference].set_index(["task", "n"])["auroc"]
    for name in tables:
        t = tables[name].set_index(["source", "target"])["mean"].reindex(ref_t.index)
        c = curves[name].set_index(["task", "n"])["auroc"].reindex(ref_c.index)
        largest = curves[name].sort_values("n").groupby("task").tail(1)
        frac, n_steps = monotone_fraction(curves[name])
        rows.append({
            "protocol": name,
            "transfer_spearman": spearmanr(ref_t, t).statistic if name != reference else 1.0,
            "transfer_mean_abs_diff": float(np.abs(t - ref_t).mean()),
            "transfer_mean": float(t.mean()),
            "curve_mean_abs_diff": float(np.abs(c - ref_c).mean()),
            "curve_mean_auroc": float(c.mean()),
            "largest_n_mean_auroc": float(largest["auroc"].mean()),
            "monotone_fraction": frac,
            "monotone_pairs": n_steps,
        })
    return pd.DataFrame(rows)


def train_seconds(results: pd.DataFrame, chunk_size: int) -> tuple[float, float]:
    """Training wall time of a sweep from its results' per-run chunk times (``seconds``).

    Returns ``(total, steady)``: the sum over runs (compilation included: the first chunk
    carries it), and the mean per run without the first chunk, times the number of runs.
    Read from the stored chunks, so a resumed sweep reports the time it took when trained.
    """
    per_run = results.drop_duplicates("run_id").sort_values("run_id")["seconds"].to_numpy()
    steady = per_run[chunk_size:] if len(per_run) > chunk_size else per_run
    return float(per_run.sum()), float(steady.mean() * len(per_run))


def run(data_name: str, args) -> dict:
    data = load(data_name)
    design = build_design(data, seeds=args.seeds, max_size=args.max_size,
                          aux_size=args.aux_size, pair_sizes=args.pair_sizes)
    print(f"\n## {data_name}: {data.n_tasks} tasks, {len(design)} runs "
          f"({(design['kind'] == 'single').sum()} single)", flush=True)
    names = list(args.protocols)
    if data_name in args.legacy_5b and "fixed@5B" not in names:
        names.append("fixed@5B")
    steps = args.synthetic_steps if data_name == "synthetic" else args.steps
    configs = protocols(steps, tuple(args.hidden), names)
    results, seconds = {}, {}
    for name, config in configs.items():
        start = time.perf_counter()
        results[name] = run_sweep(data, design, config, progress=False,
                                  out_dir=Path(args.out) / data_name / name.replace("@", "_"))
        seconds[name] = time.perf_counter() - start
        used = results[name].drop_duplicates("run_id")["steps_used"]
        print(f"{name}: {seconds[name]:.0f} s this call, steps used mean {used.mean():.0f}, "
              f"{(used >= config.steps).mean():.0%} of runs at the maximum {config.steps}",
              flush=True)
    tables = {name: transfer_table(r, n_source=args.aux_size) for name, r in results.items()}
    curves = {name: single_curves(r) for name, r in results.items()}
    summary = compare(tables, curves, "default@B")
    if "default@5B" in tables:
        budget = compare({k: tables[k] for k in ("default@5B", "default@B")},
                         {k: curves[k] for k in ("default@5B", "default@B")}, "default@5B")
        print("default@B against default@5B:\n" + markdown(budget))
    if {"fixed@B", "fixed@5B"} <= set(tables):
        legacy = compare({k: tables[k] for k in ("fixed@5B", "fixed@B")},
                         {k: curves[k] for k in ("fixed@5B", "fixed@B")}, "fixed@5B")
        print("fixed@B against fixed@5B:\n" + markdown(legacy))
    timing = {k: train_seconds(r, 64) for k, r in results.items()}
    summary["seconds"] = summary["protocol"].map({k: t[0] for k, t in timing.items()})
    summary["seconds_no_compile"] = summary["protocol"].map({k: t[1] for k, t in timing.items()})
    summary["steps_used_mean"] = summary["protocol"].map(
        {k: float(r.drop_duplicates("run_id")["steps_used"].mean()) for k, r in results.items()})
    summary["runs_at_max"] = summary["protocol"].map(
        {k: float((r.drop_duplicates("run_id")["steps_used"] >= configs[k].steps).mean())
         for k, r in results.items()})
    print(markdown(summary), flush=True)
    if {"default@B", "fixed@B"} <= set(timing):
        (a, a_steady), (b, b_steady) = timing["default@B"], timing["fixed@B"]
        print(f"wall time default@B / fixed@B = {a / b:.2f} (compilation included), "
              f"{a_steady / b_steady:.2f} (without the first chunk)", flush=True)
    grid = pd.concat([c.assign(protocol=k) for k, c in curves.items()])
    curve_table = grid.groupby(["protocol", "n"])["auroc"].mean().unstack("protocol")
    print("single-task AUROC, mean over tasks present at n:\n"
          + markdown(curve_table, index=True), flush=True)
    out = Path(args.out) / data_name
    summary.to_csv(out / "summary.csv", index=False)
    grid.to_csv(out / "curves.csv", index=False)
    pd.concat([t.assign(protocol=k) for k, t in tables.items()]).to_csv(out / "transfer.csv",
                                                                        index=False)
    return {"curves": curves, "tables": tables, "summary": summary}


def figure(outputs: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(outputs), figsize=(5.5 * len(outputs), 9), squeeze=False)
    for col, (data_name, out) in enumerate(outputs.items()):
        ax = axes[0, col]
        for name, curves in out["curves"].items():
            mean = curves.groupby("n")["auroc"].mean()
            ax.plot(mean.index, mean.to_numpy(), marker="o", label=name)
        ax.set(xscale="log", xlabel="training labels of the task (n)",
               ylabel="test AUROC (mean over tasks and seeds)",
               title=f"{data_name}: single-task curves")
        ax.legend()
        ax = axes[1, col]
        ref = out["tables"]["default@B"].set_index(["source", "target"])["mean"]
        for name, table in out["tables"].items():
            if name == "default@B":
                continue
            other = table.set_index(["source", "target"])["mean"].reindex(ref.index)
            ax.scatter(ref, other, s=12, alpha=0.7, label=name)
        lim = [np.nanmin(ref) - 0.01, np.nanmax(ref) + 0.01]
        ax.plot(lim, lim, color="grey", lw=1)
        ax.set(xlabel="transfer under default@B (AUROC gain)",
               ylabel="transfer under the other protocol (AUROC gain)",
               title=f"{data_name}: pairwise transfer estimates")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure: {path}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/protocol")
    parser.add_argument("--figure", default=None)
    parser.add_argument("--data", nargs="+", default=["moleculeace", "synthetic"])
    parser.add_argument("--protocols", nargs="+",
                        default=["default@B", "default@5B", "pooled@B", "fixed@B"])
    parser.add_argument("--legacy-5b", nargs="*", default=["synthetic"],
                        help="data sets on which the former default also runs at 5B steps")
    parser.add_argument("--steps", type=int, default=200, help="the budget B (MoleculeACE)")
    parser.add_argument("--synthetic-steps", type=int, default=1000,
                        help="the budget B on synthetic data (it learns more slowly)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--max-size", type=int, default=1024)
    parser.add_argument("--aux-size", type=int, default=256)
    parser.add_argument("--pair-sizes", type=int, nargs="+", default=[128])
    args = parser.parse_args(argv)
    start = time.perf_counter()
    outputs = {name: run(name, args) for name in args.data}
    if args.figure:
        figure(outputs, args.figure)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "args.json").write_text(json.dumps(vars(args), indent=2))
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
