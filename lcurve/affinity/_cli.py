"""The ``lcurve compare CONFIG`` sub-command (wired into :mod:`lcurve.cli`).

The config is a :class:`~lcurve.affinity.CompareExperiment` TOML file: ``name`` and the tables
``[data]``, ``[design]``, ``[train]``, ``[tag]`` and ``[compare]``; see
``experiments/compare/synthetic.toml``. Outputs under ``--out``: ``comparison.md``,
``comparison.csv``, ``scores.parquet``, ``comparison.png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

__all__ = ["add_compare_parser", "run_compare"]


def add_compare_parser(subparsers) -> argparse.ArgumentParser:
    """Declare ``compare CONFIG --out DIR [--no-progress]`` on an argparse sub-parser set."""
    p = subparsers.add_parser(
        "compare", help="TAG vs learning curves (full, fast, accumulating) on the same data")
    p.add_argument("config", type=Path,
                   help="compare TOML, e.g. experiments/compare/synthetic.toml")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default lcurve_runs/<name>)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return p


def run_compare(args) -> int:
    """Run the comparison a TOML describes; print the markdown table; write the outputs."""
    from lcurve.affinity.compare import CompareExperiment, compare_methods, comparison_data
    from lcurve.plot.compare import plot_comparison

    exp = CompareExperiment.from_toml(args.config)
    data, truth = comparison_data(exp.data)
    out = args.out or Path("lcurve_runs") / exp.name
    out.mkdir(parents=True, exist_ok=True)
    print(f"data: {data}")
    start = time.perf_counter()
    result = compare_methods(data, truth=truth, train=exp.train, design=exp.design, tag=exp.tag,
                             compare=exp.compare, progress=not args.no_progress)
    text = result.markdown()
    print(text)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    (out / "comparison.md").write_text(f"# {exp.name}\n\n{text}\n")
    result.table.to_csv(out / "comparison.csv", index=False)
    result.scores.to_parquet(out / "scores.parquet", index=False)
    plot_comparison(result).savefig(out / "comparison.png", dpi=120)
    print(f"outputs: {out}")
    return 0
