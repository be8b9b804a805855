"""Command-line entry point ``lcurve influence CONFIG --out DIR`` (registered in :mod:`lcurve.cli`).

``add_influence_parser(subparsers)`` declares the sub-command and sets ``func`` to
:func:`run_influence`, which returns an exit status.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_influence_parser", "run_influence", "summary_markdown"]


def add_influence_parser(subparsers) -> argparse.ArgumentParser:
    """``lcurve influence CONFIG --out DIR``: MTIF, its checks, retraining curve, selection."""
    p = subparsers.add_parser(
        "influence", help="MTIF task relatedness, its check by retraining, and data selection")
    p.add_argument("config", type=Path,
                   help="TOML, e.g. experiments/influence/moleculeace.toml")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(func=run_influence)
    return p


def summary_markdown(config, tables, *, agreement_tables: bool = True) -> str:
    """The Markdown summary of one influence experiment's tables (``agreement_tables=False``
    leaves out the per-fraction agreement tables)."""
    from lcurve._markdown import markdown_table

    solves = tables["solves"]
    station = tables["stationarity"]
    c = config.influence
    lines = [f"## {config.name}", "",
             f"Curvature `{c.curvature}`, solver `{c.solver}`, damping {c.damping:g}, "
             f"l2 {c.l2:g}, weighting `{c.weighting}`; network {list(config.train.hidden)}, "
             f"{config.train.steps} full-batch AdamW steps.", "",
             f"Fit: gradient norm {station['grad_norm'].iloc[0]:.3g} "
             f"(max_grad_norm {c.max_grad_norm:g}); largest |drift| of a target's test loss "
             f"{station['drift'].abs().max():.3g} nats.", "",
             f"Solves: {len(solves)}, relative residual max "
             f"{solves['relative_residual'].max():.2e}, median "
             f"{solves['relative_residual'].median():.2e} (max_residual {c.max_residual:g}); "
             f"negative curvature met in {int(solves['negative_curvature'].sum())}.", ""]
    agree = tables["agreement"]
    if len(agree) and agreement_tables:
        show = agree[agree["pairs"] == "cross-task"].drop(columns="pairs")
        lines += ["### Predicted vs retrained change (cross-task pairs; per removal fraction)",
                  "", markdown_table(show), ""]
        own = agree[agree["pairs"] == "all"].drop(columns="pairs")
        lines += ["### Same, all pairs (own-task removals included)", "",
                  markdown_table(own), ""]
    summary = tables["selection_summary"]
    if len(summary):
        lines += ["### Dropping harmful auxiliary labels (change vs keeping all; random control)",
                  "", markdown_table(summary, digits=4), ""]
    return "\n".join(lines)


def run_influence(args) -> int:
    """Run the influence experiment of a TOML config and write tables and figures to ``--out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lcurve.influence import InfluenceExperimentConfig, influence_experiment

    config = InfluenceExperimentConfig.from_toml(args.config)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    config.to_toml(out / "config.toml")
    tables = influence_experiment(config)
    tables["samples"].to_parquet(out / "sample_influence.parquet", index=False)
    for name in ("removal_curve", "agreement", "solves", "stationarity", "selection",
                 "selection_summary"):
        tables[name].to_csv(out / f"{name}.csv", index=False)

    curve = tables["removal_curve"]
    if len(curve):
        fractions = sorted(curve["fraction"].unique())
        fig, axes = plt.subplots(1, len(fractions), figsize=(3.6 * len(fractions), 3.6),
                                 squeeze=False)
        for ax, f in zip(axes[0], fractions):
            part = curve[curve["fraction"] == f]
            cross = part["cross_task"]
            ax.scatter(part["predicted"][cross], part["actual"][cross], s=14, label="cross-task")
            ax.scatter(part["predicted"][~cross], part["actual"][~cross], s=14, marker="s",
                       label="own task")
            ax.axhline(0, color="0.8", lw=0.8)
            ax.axvline(0, color="0.8", lw=0.8)
            ax.set_title(f"{f:.0%} of the source removed")
            ax.set_xlabel("MTIF predicted change in test BCE (nats)")
        axes[0, 0].set_ylabel("retrained change in test BCE (nats)")
        axes[0, 0].legend(fontsize=8)
        fig.tight_layout(); fig.savefig(out / "removal_curve.png", dpi=120); plt.close(fig)
    text = summary_markdown(config, tables)
    (out / "summary.md").write_text(text)
    print(text)
    print(f"influence: tables and figures in {out}")
    return 0
