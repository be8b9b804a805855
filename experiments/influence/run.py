"""MTIF you can trust: checked solves, agreement with retraining, and data selection.

Runs ``synthetic.toml`` (for several data seeds) and ``moleculeace.toml`` of this folder with
:func:`lcurve.influence.influence_experiment`, writes every table under ``--out`` and the
summary to ``RESULTS.md`` beside this script.

Usage::

    python experiments/influence/run.py [--out lcurve_runs/influence] [--seeds 0 1 2]

Sized for ~15 min on 2 shared CPU cores: MoleculeACE reduced to 150 training labels per task
and 512 folded bits (see ``moleculeace.toml``); selection on 4 of its 8 targets.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import pandas as pd

from lcurve.influence import InfluenceExperimentConfig, influence_experiment
from lcurve.influence._cli import summary_markdown
from lcurve._markdown import markdown_table

HERE = Path(__file__).resolve().parent
TARGET_SPEARMAN = 0.7


def run_one(config: InfluenceExperimentConfig, out: Path) -> tuple[dict, float]:
    start = time.perf_counter()
    tables = influence_experiment(config)
    elapsed = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    config.to_toml(out / "config.toml")
    tables["samples"].to_parquet(out / "sample_influence.parquet", index=False)
    for name, table in tables.items():
        if name != "samples":
            table.to_csv(out / f"{name}.csv", index=False)
    print(f"{config.name}: {elapsed:.0f} s", flush=True)
    return tables, elapsed


def curve_table(agree: pd.DataFrame, metric: str = "test_bce") -> pd.DataFrame:
    """Cross-task agreement per removal fraction, first-order and Newton side by side."""
    part = agree[(agree["pairs"] == "cross-task") & (agree["metric"] == metric)]
    wide = part.pivot(index="fraction", columns="estimate",
                      values=["spearman", "pearson", "sign_agreement", "slope"])
    wide.columns = [f"{stat}_{est}" for stat, est in wide.columns]
    keep = [c for c in ("spearman_first_order", "spearman_newton", "pearson_first_order",
                        "pearson_newton", "sign_agreement_first_order", "sign_agreement_newton",
                        "slope_first_order", "slope_newton") if c in wide and wide[c].notna().any()]
    return wide[keep].reset_index()


def lto(agree: pd.DataFrame, estimate: str, metric: str = "test_bce") -> float:
    row = agree[(agree["pairs"] == "cross-task") & (agree["metric"] == metric)
                & (agree["estimate"] == estimate) & (agree["fraction"] == 1.0)]
    return float(row["spearman"].iloc[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("lcurve_runs/influence"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="data seeds of the synthetic experiment (selection on the first)")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()

    base = InfluenceExperimentConfig.from_toml(HERE / "synthetic.toml")
    runs = []
    for k, seed in enumerate(args.seeds):
        config = dataclasses.replace(
            base, name=f"{base.name}_seed{seed}", data=dataclasses.replace(base.data, seed=seed),
            selection=dataclasses.replace(base.selection, enabled=base.selection.enabled and k == 0))
        runs.append(("synthetic", seed, config))
    runs.append(("moleculeace", None, InfluenceExperimentConfig.from_toml(HERE / "moleculeace.toml")))

    results = []
    for kind, seed, config in runs:
        tables, elapsed = run_one(config, args.out / config.name)
        results.append((kind, seed, config, tables, elapsed))
    write_results(results, args.results)


def write_results(results, path: Path) -> None:
    """Write RESULTS.md from ``(kind, seed, config, tables, seconds)`` of every experiment."""
    headline = []
    for kind, seed, config, tables, elapsed in results:
        agree, solves, station = tables["agreement"], tables["solves"], tables["stationarity"]
        headline.append({
            "data": kind if seed is None else f"{kind} (seed {seed})",
            "LTO spearman first-order": lto(agree, "first_order"),
            "LTO spearman newton": lto(agree, "newton"),
            "LTO spearman newton (AUROC)": lto(agree, "newton", "test_auroc"),
            "solves": len(solves),
            "max residual": f"{solves['relative_residual'].max():.1e}",
            "negative curvature": int(solves["negative_curvature"].sum()),
            "grad norm": f"{station['grad_norm'].iloc[0]:.1e}", "wall s": round(elapsed)})
    headline = pd.DataFrame(headline)
    selection_rows = []
    for kind, seed, config, tables, elapsed in results:
        sel = tables["selection"]
        if not len(sel):
            continue
        for variant in ("harmful@val", "random"):
            part = sel[sel["variant"] == variant]
            n = len(part)
            selection_rows.append({
                "data": kind if seed is None else f"{kind} (seed {seed})", "variant": variant,
                "runs": n, "mean fraction": part["fraction"].mean(),
                "delta test BCE": f"{part['delta_test_loss'].mean():+.4f} +- "
                                  f"{part['delta_test_loss'].std() / n ** 0.5:.4f}",
                "delta test AUROC": f"{part['delta_test_auroc'].mean():+.4f} +- "
                                    f"{part['delta_test_auroc'].std() / n ** 0.5:.4f}",
                "l2 chosen": ", ".join(f"{v:g}" for v in sorted(part["l2"].unique()))})
    synthetic = headline[headline["data"].str.startswith("synthetic")]
    worst = synthetic["LTO spearman newton"].min()
    worst_first = synthetic["LTO spearman first-order"].min()
    mace = headline[headline["data"] == "moleculeace"].iloc[0]

    def verdict(value):
        return ("met" if value >= TARGET_SPEARMAN
                else f"missed by {TARGET_SPEARMAN - value:.2f}")

    lines = [
        "# MTIF you can trust: results (issue 17)", "",
        "Produced by one command (2 shared CPU cores, no GPU; wall times below were measured "
        "while other jobs shared the machine):", "",
        "    python experiments/influence/run.py", "",
        "What is compared: the change of each target task's **test BCE** (nats) when a fraction "
        "of one source task's training labels is removed, predicted by MTIF and measured by "
        "retraining from the same initialisation with the same full-batch program (deltas "
        "against a refit on all labels). `first_order` sums the labels' influences (Koh & "
        "Liang 2017, as MTIF does; Tu et al. 2025); `newton` is one Newton step on the objective "
        "without the removed labels (Pregibon 1981; Koh et al. 2019), one checked solve per "
        "removal. AUROC rows compare the negated loss predictions with the retrained change of "
        "test AUROC, the metric lcurve's other views use. Curvature: Gauss-Newton (= Fisher for "
        "the Bernoulli likelihood; positive definite with l2 > 0), CG with every relative "
        "residual recomputed and checked. LTO = leave-task-out (fraction 1.0); Spearman over "
        "cross-task ordered pairs (source != target).", "",
        "## Headline", "", markdown_table(headline), "",
        f"Target (issue 17): Spearman >= {TARGET_SPEARMAN} on cross-task leave-task-out pairs of "
        f"synthetic data. Newton estimate, worst of {len(synthetic)} data seeds: {worst:.3f} "
        f"({verdict(worst)}); first-order sum: worst {worst_first:.3f} ({verdict(worst_first)}). "
        f"MoleculeACE (8 targets, reduced): Newton {mace['LTO spearman newton']:.3f}, "
        f"first-order {mace['LTO spearman first-order']:.3f} ({verdict(mace['LTO spearman newton'])}"
        " for Newton; no target was set for it).", "",
        "## Data selection (nested split; details per experiment below)", "",
        markdown_table(pd.DataFrame(selection_rows), digits=4), "",
        "`harmful@val`: the drop fraction (0 included) with the lowest validation loss of the "
        "target, chosen before the test labels are read; `random`: same numbers of randomly "
        "chosen auxiliary labels, averaged over all fractions. Deltas are mean +- standard "
        "error over targets x seeds (x draws) of the change in the target's test metric "
        "against keeping all labels.", "",
        "## Removal-fraction curves (cross-task pairs, test BCE)", "",
        "`slope`: least-squares slope of retrained on predicted change through 0 (1 = calibrated; "
        "> 1: the prediction underestimates the change, the sign of leaving the linear regime).",
        ""]
    calib = []
    for kind, seed, config, tables, elapsed in results:
        part = tables["agreement"]
        part = part[(part["pairs"] == "cross-task") & (part["metric"] == "test_bce")]
        for row in part.itertuples():
            calib.append({"data": kind, "fraction": row.fraction, "estimate": row.estimate,
                          "spearman": row.spearman, "slope": row.slope})
    calib = pd.DataFrame(calib).groupby(["data", "fraction", "estimate"], as_index=False).agg(
        runs=("slope", "size"), spearman=("spearman", "mean"), slope=("slope", "mean"))
    calib = calib.pivot(index=["data", "fraction"], columns="estimate",
                        values=["spearman", "slope"])
    calib.columns = [f"{stat}_{est}" for stat, est in calib.columns]
    lines += ["Mean over data seeds (synthetic) of the cross-task Spearman and slope per fraction:",
              "", markdown_table(calib.reset_index()), ""]
    syn = calib.loc["synthetic"]
    small, whole = syn.index.min(), syn.index.max()
    lines += [
        f"Reading: on synthetic data the first-order slope goes from "
        f"{syn.loc[small, 'slope_first_order']:.2f} at {small:.0%} removed to "
        f"{syn.loc[whole, 'slope_first_order']:.2f} at leave-task-out (the summed first-order "
        f"terms underestimate large removals), while the Newton slope stays between "
        f"{syn['slope_newton'].min():.2f} and {syn['slope_newton'].max():.2f}. Small removals "
        f"change the test loss little; their lower rank agreement is probably limited by the "
        f"precision of the fits (ReLU fits stop near kinks, so the gradient norms above are "
        f"not 0; not measured separately). On MoleculeACE, cross-task agreement stays at "
        f"Spearman "
        f"{calib.loc['moleculeace'][['spearman_first_order', 'spearman_newton']].min().min():.2f}"
        f"-{calib.loc['moleculeace'][['spearman_first_order', 'spearman_newton']].max().max():.2f}"
        " at every fraction: MTIF's cross-task numbers there do not reproduce retraining "
        "well enough to be read pair by pair.", ""]
    for kind, seed, config, tables, elapsed in results:
        title = kind if seed is None else f"{kind}, data seed {seed}"
        lines += [f"### {title}", "", markdown_table(curve_table(tables["agreement"])), "",
                  "Same against test AUROC:", "",
                  markdown_table(curve_table(tables["agreement"], "test_auroc")), ""]
    lines += ["## Details per experiment", ""]
    for kind, seed, config, tables, elapsed in results:
        lines += [summary_markdown(config, tables, agreement_tables=False), ""]
    path.write_text("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
