"""The ``lcurve`` command line: ``datasets``, ``sweep``, ``demo``, ``fit``, ``compare``, ``latent``,
``influence``, ``report``, ``bench``.

Each sub-command is a pair of functions: ``_add_<name>(subparsers)`` declares its arguments and
``_run_<name>(args)`` does the work through the public API. Library code never reads argparse
or the environment; this module is the only place that does.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]

logger = logging.getLogger("lcurve")

# ------------------------------------------------------------------------------ datasets
def _add_datasets(sub) -> None:
    p = sub.add_parser("datasets", help="list the available data sets and their tasks")
    p.add_argument("--threshold", type=float, default=7.0,
                   help="pAct activity threshold for MoleculeACE (default 7.0 = 100 nM)")


def _run_datasets(args) -> int:
    import pandas as pd

    from lcurve.datasets import MOLECULEACE_CITATION, moleculeace_table

    table = moleculeace_table()
    table["active"] = table["pact"] >= args.threshold
    per_task = table.groupby("task", sort=False).agg(
        n_compounds=("smiles", "size"),
        n_train=("split", lambda s: int((s == "train").sum())),
        n_test=("split", lambda s: int((s == "test").sum())),
        active_fraction=("active", "mean"),
    )
    print(f"moleculeace (embedded default): {table['task'].nunique()} tasks, "
          f"{table['smiles'].nunique()} unique compounds, {len(table)} labels; active if "
          f"pAct >= {args.threshold}")
    with pd.option_context("display.max_rows", 100, "display.width", 120):
        print(per_task.round(3).to_string())
    print(f"  source: {MOLECULEACE_CITATION}")
    print("synthetic: generated with planted task relatedness (lcurve.datasets.make_synthetic)")
    print("csv: a long table of your own (lcurve.datasets.from_csv; [data] source = 'csv')")
    return 0


# ------------------------------------------------------------------------------ sweep
def _add_sweep(sub) -> None:
    p = sub.add_parser("sweep", help="train the runs of a TOML experiment config")
    p.add_argument("config", type=Path, help="experiment TOML, e.g. experiments/synthetic_planted.toml")
    p.add_argument("--out", required=True,
                   help="output folder or fsspec URL, e.g. s3://bucket/sweep (re-running into it "
                        "resumes an interrupted sweep)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where chunks train: this process (default) or a Ray cluster "
                        "(pip install -e \".[ray]\"; see docs/cluster.md)")
    p.add_argument("--address", default=None,
                   help="Ray cluster to connect to (default: RAY_ADDRESS, else a new local one)")
    p.add_argument("--gpus-per-task", type=float, default=0,
                   help="Ray: GPUs each chunk worker reserves (default 0: 1 CPU each)")


def _sweep(config, out, *, progress: bool, **executor_options):
    from lcurve import _io
    from lcurve.datasets import load_data
    from lcurve.design import design_from_config
    from lcurve.sweep import run_sweep

    data = load_data(config.data)
    print(f"data: {data}")
    design = design_from_config(data, config.design)
    print(f"design: {len(design)} runs ({config.design.kind}, seeds {list(config.design.seeds)})")
    _io.atomic_write_bytes(_io.join(out, "config.toml"), config.to_toml_string().encode())
    start = time.perf_counter()
    results = run_sweep(data, design, config.train, out_dir=out, progress=progress,
                        **executor_options)
    elapsed = time.perf_counter() - start
    print(f"sweep: {results['run_id'].nunique()} runs in {elapsed:.1f} s "
          f"({results.attrs.get('n_compiles', '?')} compilation(s)); "
          f"results: {_io.join(out, 'results.parquet')}")
    return data, results


def _run_sweep(args) -> int:
    from lcurve.config import SweepConfig

    config = SweepConfig.from_toml(args.config)
    options = {}
    if args.executor == "ray":
        options = {"executor": "ray", "address": args.address,
                   "gpus_per_task": args.gpus_per_task}
    elif args.address is not None or args.gpus_per_task:
        print("lcurve sweep: error: --address and --gpus-per-task need --executor ray",
              file=sys.stderr)
        return 2
    try:
        _sweep(config, args.out, progress=not args.no_progress, **options)
    except ImportError as err:  # the optional Ray extra is missing; the message names it
        print(f"lcurve sweep: error: {err}", file=sys.stderr)
        return 2
    return 0


# ------------------------------------------------------------------------------ demo
def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job on the embedded MoleculeACE data: "
                                    "sweep, curve fit, TAG and an HTML report")
    p.add_argument("--out", type=Path, default=Path("lcurve_runs/demo"),
                   help="output folder (default lcurve_runs/demo)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _run_demo(args) -> int:
    """Sweep -> Bayesian curve fit -> TAG -> HTML report (see :func:`lcurve.demo.run_demo`)."""
    from lcurve.curves import FitConfig
    from lcurve.curves._inference import request_cpu_devices
    from lcurve.demo import DEMO_FIT, run_demo

    # NUTS chains in parallel, one CPU device each; must precede the sweep's first JAX work
    request_cpu_devices(FitConfig(**DEMO_FIT).num_chains)
    run_demo(args.out, progress=not args.no_progress)
    return 0


# ------------------------------------------------------------------------------ main
def _commands() -> dict:
    """Sub-command name -> (add parser, run). Layers above the sweep own their commands."""
    from lcurve.affinity._cli import add_compare_parser, run_compare
    from lcurve.bench._cli import add_bench_parser, run_bench
    from lcurve.curves._cli import add_fit_parser, run_fit
    from lcurve.influence._cli import add_influence_parser, run_influence
    from lcurve.latent._cli import add_latent_parser, run_latent
    from lcurve.report._cli import add_report_parser, run_report

    return {
        "datasets": (_add_datasets, _run_datasets),
        "sweep": (_add_sweep, _run_sweep),
        "demo": (_add_demo, _run_demo),
        "fit": (add_fit_parser, run_fit),
        "compare": (add_compare_parser, run_compare),
        "latent": (add_latent_parser, run_latent),
        "influence": (add_influence_parser, run_influence),
        "report": (add_report_parser, run_report),
        "bench": (add_bench_parser, run_bench),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lcurve",
        description="Multi-task learning curves: how much one learning task helps another.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in _commands().values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lcurve`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from lcurve.config import ConfigError
    from lcurve.data import DataError
    from lcurve.design import DesignError
    from lcurve.transfer import TransferError
    from lcurve.sweep import SweepMismatchError

    try:
        return _commands()[args.command][1](args)
    except (ConfigError, DataError, DesignError, SweepMismatchError, TransferError,
            FileNotFoundError, KeyError) as err:
        print(f"lcurve {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
