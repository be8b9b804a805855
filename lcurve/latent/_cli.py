"""Command-line entry point ``lcurve latent DIR``.

To be registered in :mod:`lcurve.cli`::

    from lcurve.latent._cli import add_latent_parser, run_latent

``add_latent_parser(subparsers)`` declares the sub-command and sets ``func`` to
:func:`run_latent`, which returns an exit status.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lcurve._markdown import markdown_table

logger = logging.getLogger("lcurve")

__all__ = ["add_latent_parser", "run_latent"]


# ------------------------------------------------------------------------------ latent
def add_latent_parser(subparsers) -> argparse.ArgumentParser:
    """``lcurve latent DIR``: transfer matrix, latent factors and traits of a pair sweep."""
    p = subparsers.add_parser(
        "latent", help="transfer matrix, latent factors and data-set traits of a pair sweep")
    p.add_argument("dir", type=Path, help="sweep folder with results.parquet (and config.toml)")
    p.add_argument("--metric", default="auroc", help="score the gain is measured in (auroc)")
    p.add_argument("--center", default="column", help="column | row | double | none")
    p.add_argument("--scale", default="none", help="none | column")
    p.add_argument("--posterior", type=Path, default=None,
                   help="CSV of a posterior transfer table (source,target,mean,...) to use "
                        "instead of the pair-run gains")
    p.add_argument("--permutations", type=int, default=999, help="permutations per p-value")
    p.add_argument("--out", type=Path, default=None, help="output folder (default DIR/latent)")
    p.set_defaults(func=run_latent)
    return p


def _load_sweep_data(folder: Path):
    from lcurve.config import SweepConfig
    from lcurve.datasets import load_data

    config_path = folder / "config.toml"
    if not config_path.exists():
        print(f"no {config_path}: data-set traits are skipped")
        return None
    return load_data(SweepConfig.from_toml(config_path).data)


def run_latent(args) -> int:
    """Write the tables and figures of ``lcurve latent`` into ``DIR/latent`` (or ``--out``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from lcurve.latent import (
        pair_traits, parallel_analysis, relate_scores, relate_traits, task_traits,
        transfer_factors,
    )
    from lcurve.plot import plot_biplot, plot_transfer_matrix
    from lcurve.transfer import transfer_from_posterior, transfer_matrix, transfer_table
    from lcurve.sweep import read_results

    out = args.out or args.dir / "latent"
    out.mkdir(parents=True, exist_ok=True)
    if args.posterior is not None:
        table = transfer_from_posterior(pd.read_csv(args.posterior))
    else:
        table = transfer_table(read_results(args.dir), metric=args.metric)
    matrix = transfer_matrix(table)
    factors = transfer_factors(matrix, center=args.center, scale=args.scale)
    explained = parallel_analysis(matrix, center=args.center, scale=args.scale,
                                  n_permutations=args.permutations)
    table.to_csv(out / "transfer.csv", index=False)
    matrix.to_csv(out / "transfer_matrix.csv")
    explained.to_csv(out / "factors_explained.csv", index=False)
    factors.scores.to_csv(out / "factor_scores.csv")
    factors.loadings.to_csv(out / "factor_loadings.csv")

    fig, ax = plt.subplots(figsize=(7, 6))
    plot_transfer_matrix(table, ax=ax, order="given",
                         colorbar_kwargs={} if args.posterior is not None else
                         {"label": f"transfer (gain in target {args.metric})"})
    fig.tight_layout(); fig.savefig(out / "transfer_matrix.png", dpi=120); plt.close(fig)
    if factors.scores.shape[1] >= 2:
        fig, ax = plt.subplots(figsize=(7, 6))
        plot_biplot(factors, ax=ax)
        fig.tight_layout(); fig.savefig(out / "biplot.png", dpi=120); plt.close(fig)

    ev = explained
    lines = [f"# Latent transfer traits: {args.dir}", "",
             f"{len(table)} ordered pairs, gain in test {args.metric} with the source vs alone "
             f"(mean over seeds; centre={args.center}, scale={args.scale}).", "",
             "## Explained variance (null: sources shuffled within each target)", "", markdown_table(ev), ""]
    data = _load_sweep_data(args.dir)
    if data is not None:
        tasks = task_traits(data)
        pairs = pair_traits(data)
        tasks.to_csv(out / "task_traits.csv", index=False)
        pairs.to_csv(out / "pair_traits.csv", index=False)
        relations = relate_traits(table, tasks, pairs, n_permutations=args.permutations)
        relations.to_csv(out / "trait_relations.csv", index=False)
        k = min(2, factors.scores.shape[1])
        score_rel = relate_scores(factors.scores.iloc[:, :k], tasks,
                                  n_permutations=args.permutations)
        score_rel.to_csv(out / "factor_trait_relations.csv", index=False)
        best = relations.dropna(subset=["rho"]).groupby("kind")["rho"].agg(
            lambda r: r.abs().max())
        verdict = ("surface similarity" if best.get("surface", 0) >= best.get("hidden", 0)
                   else "a hidden data statistic")
        lines += ["## Traits vs transfer (Spearman, task-permutation p-values)", "",
                  markdown_table(relations), "",
                  f"Strongest |rho|: surface {best.get('surface', float('nan')):.3f}, hidden "
                  f"{best.get('hidden', float('nan')):.3f} -> {verdict} explains transfer "
                  "better here (read the p-values before believing it).", "",
                  "## Source factor scores vs task traits", "",
                  markdown_table(score_rel), ""]
    (out / "summary.md").write_text("\n".join(lines))
    print("\n".join(lines[:8 + len(ev)]))
    print(f"latent: tables and figures in {out}")
    return 0
