"""The ``lcurve compare CONFIG`` sub-command (wired into :mod:`lcurve.cli`).

The config is a TOML file with ``name`` and the tables ``[data]`` (:class:`~lcurve.DataConfig`),
``[train]`` (:class:`~lcurve.TrainConfig`), ``[tag]`` (:class:`~lcurve.affinity.TagConfig`)
and ``[compare]`` (:class:`~lcurve.affinity.compare.CompareConfig`); see
``experiments/compare_synthetic.toml``. Outputs under ``--out``: ``comparison.md``,
``comparison.csv``, ``scores.parquet``, ``comparison.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from lcurve.affinity.compare import CompareConfig
from lcurve.affinity.tag import TagConfig
from lcurve.config import DataConfig, ExperimentConfig, TrainConfig

__all__ = ["CompareExperiment", "add_compare_parser", "run_compare"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompareExperiment(ExperimentConfig):
    """A whole comparison: ``name``, ``data``, ``train``, ``tag`` and ``compare`` settings."""

    name: str = "compare"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    tag: TagConfig = dataclasses.field(default_factory=TagConfig)
    compare: CompareConfig = dataclasses.field(default_factory=CompareConfig)

    _SECTIONS = {"data": DataConfig, "train": TrainConfig, "tag": TagConfig,
                 "compare": CompareConfig}


def add_compare_parser(subparsers) -> argparse.ArgumentParser:
    """Declare ``compare CONFIG --out DIR [--no-progress]`` on an argparse sub-parser set."""
    p = subparsers.add_parser(
        "compare", help="TAG vs full vs fast learning curves on the same data (TOML config)")
    p.add_argument("config", type=Path, help="compare TOML, e.g. experiments/compare_synthetic.toml")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default lcurve_runs/<name>)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return p


def run_compare(args) -> int:
    """Run the comparison a TOML describes; print the markdown table; write the outputs."""
    from lcurve.affinity.compare import compare_methods
    from lcurve.datasets import load_data, make_synthetic

    exp = CompareExperiment.from_toml(args.config)
    truth = None
    if exp.data.source == "synthetic":
        data, truth = make_synthetic(n_tasks=exp.data.n_tasks, n_compounds=exp.data.n_compounds,
                                     n_features=exp.data.n_features, seed=exp.data.seed)
    else:
        data = load_data(exp.data)
    out = args.out or Path("lcurve_runs") / exp.name
    out.mkdir(parents=True, exist_ok=True)
    print(f"data: {data}")
    start = time.perf_counter()
    result = compare_methods(data, truth=truth, train=exp.train, tag=exp.tag,
                             compare=exp.compare, progress=not args.no_progress)
    text = result.markdown()
    print(text)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    (out / "comparison.md").write_text(f"# {exp.name}\n\n{text}\n")
    result.table.to_csv(out / "comparison.csv", index=False)
    result.scores.to_parquet(out / "scores.parquet", index=False)
    result.figure().savefig(out / "comparison.png", dpi=120)
    print(f"outputs: {out}")
    return 0
