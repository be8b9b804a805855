"""Leave-future-out check of curve extrapolation: fit sizes <= 1/4 of the largest, predict the
largest; bias, MAE and 90% coverage of the predictive interval per structure and family.

Data:

- ``synthetic``: :func:`lcurve.curves.simulate_results` with nested-design noise, 4 tasks,
  own sizes 32..2048, partners/context at 256 and 1024, 2 seeds; one table per (true family
  in {exp3, pow3}, structure) so each family is also fitted to data it did not generate;
- ``moleculeace``: the cached sweeps of ``make_moleculeace_sweep.py`` (8 targets, 2 seeds,
  sizes 32..2048; ``pairs`` for ``none``/``pairwise``/``joint``, ``contextual`` for
  ``contextual``);
- ``moleculeace30``: its ``joint30`` sweep (all 30 targets, 2 seeds, sizes 32..512, each target
  beside 3 partners at 256 labels) for every structure: fit sizes <= 128, predict 512 (the
  same protocol at a smaller scale, on 22 targets the 8-target sweep does not have and those 8).

Fits use the library's default NUTS and model (``--set FIELD=VALUE`` overrides FitConfig
fields).

Held-out: every single-task run at each task's largest size (one per task and seed). A row is
used for fitting when its evaluated task's own size is <= 1/4 of that task's largest size.
Predictions are :meth:`CurveFit.predict` for a new run (nested-design effects and test-set noise
included); coverage counts observed scores inside the 90% predictive HDI, ``width90`` is that
interval's mean width. ``max_curve_gap`` is
the largest ``|gap|`` of :meth:`CurveFit.curve_gaps` (each task's curve against its own fitted
runs).

Usage::

    nice -n 5 python experiments/curves/lfo.py --data synthetic moleculeace \\
        --out experiments/curves/lfo.csv
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from lcurve.curves import fit_curves, request_cpu_devices, simulate_results
from lcurve.design import size_columns, task_of_column
from lcurve.sweep import read_results

STRUCTURES = ("none", "contextual", "pairwise", "joint")
FAMILIES = ("pow4", "exp3")  # the default family and the former one
FIT = dict(method="nuts")  # the library's default NUTS (FitConfig: 4 chains, 1000 warm-up)


def _own(table: pd.DataFrame) -> np.ndarray:
    columns = {task_of_column(c): c for c in size_columns(table)}
    return np.array([row[columns[t]] for t, (_, row) in zip(table["task"], table.iterrows())])


def split(table: pd.DataFrame, fraction: float = 0.25):
    """(training rows, held-out single-task rows at each task's largest size)."""
    table = table[table["metric"] == "auroc"].dropna(subset=["value"]).reset_index(drop=True)
    own = _own(table)
    largest = pd.Series(own).groupby(table["task"].to_numpy()).transform("max").to_numpy()
    columns = size_columns(table)
    single = (table[columns] > 0).sum(axis=1).to_numpy() == 1
    held = table[single & (own == largest)]
    train = table[own <= fraction * largest]
    return train, held


def synthetic_tables():
    for truth in FAMILIES:
        for structure in STRUCTURES:
            design = "context" if structure == "contextual" else "pairs"
            table, _ = simulate_results(
                n_tasks=4, family=truth, design=design,
                structure="pairwise" if structure == "joint" else structure,
                sizes=(32, 64, 128, 256, 512, 1024, 2048), source_sizes=(256, 1024),
                seeds=(0, 1), seed=7)
            yield f"synthetic-{truth}", structure, table


def moleculeace_tables():
    from make_moleculeace_sweep import sweep_path

    pairs = read_results(sweep_path("pairs"))
    context = read_results(sweep_path("contextual"))
    for structure in STRUCTURES:
        yield "moleculeace", structure, context if structure == "contextual" else pairs


def moleculeace30_tables():
    from make_moleculeace_sweep import sweep_path

    table = read_results(sweep_path("joint30"))
    for structure in STRUCTURES:
        yield "moleculeace30", structure, table


def evaluate(data: str, structure: str, table: pd.DataFrame, family: str,
             options: dict | None = None, fraction: float = 0.25) -> dict:
    train, held = split(table, fraction)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_curves(train, family=family, transfer=structure, **{**FIT, **(options or {})})
        diag = fit.diagnostics()
        gap = float(fit.curve_gaps()["gap"].abs().max())  # curve vs its own fitted runs
    seconds = time.perf_counter() - start
    request = held[["task", *size_columns(held), "n_test", "n_test_pos"]]
    pred = fit.predict(request)
    error = pred["mean"].to_numpy() - held["value"].to_numpy()
    inside = ((held["value"].to_numpy() >= pred["pred_low"].to_numpy())
              & (held["value"].to_numpy() <= pred["pred_high"].to_numpy()))
    return {"data": data, "structure": structure, "family": family, "n_train": len(train),
            "n_held": len(held), "fraction": fraction, "bias": error.mean(),
            "mae": np.abs(error).mean(),
            "coverage90": inside.mean(),
            "width90": (pred["pred_high"] - pred["pred_low"]).to_numpy().mean(),
            "max_curve_gap": gap, "max_rhat": diag.max_rhat,
            "min_ess_bulk": diag.min_ess_bulk, "divergences": diag.n_divergent,
            "seconds": seconds, "options": " ".join(f"{k}={v}" for k, v in (options or {}).items())}


def parse_options(items) -> dict:
    """``FIELD=VALUE`` strings -> FitConfig keyword arguments of the fields' types."""
    from lcurve.curves import FitConfig

    options = {}
    for item in items:
        field, value = item.split("=", 1)
        kind = type(getattr(FitConfig(), field))
        options[field] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return options


def parse_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add ``--cpu-devices N`` to ``parser``, parse, and ask JAX for N CPU devices before any
    JAX work (:func:`lcurve.curves.request_cpu_devices`; 4: NUTS chains in parallel, as the
    ``lcurve`` command runs them). Shared by this folder's scripts."""
    parser.add_argument("--cpu-devices", type=int, default=1,
                        help="CPU devices to ask JAX for (4: chains in parallel, as the "
                             "lcurve command runs them)")
    args = parser.parse_args()
    if args.cpu_devices > 1 and not request_cpu_devices(args.cpu_devices):
        print("could not set the CPU device count (XLA_FLAGS set?)")
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["synthetic", "moleculeace"])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--structures", nargs="+", default=list(STRUCTURES))
    parser.add_argument("--fraction", type=float, default=0.25,
                        help="fit sizes <= this fraction of each task's largest")
    parser.add_argument("--out", default="experiments/curves/lfo.csv")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="FitConfig fields, e.g. seed_effects=sum_to_zero num_warmup=500")
    args = parse_args(parser)
    options = parse_options(args.set)
    sources = {"synthetic": synthetic_tables, "moleculeace": moleculeace_tables,
               "moleculeace30": moleculeace30_tables}
    rows = []
    for name in args.data:
        for data, structure, table in sources[name]():
            if structure not in args.structures:
                continue
            for family in args.families:
                rows.append(evaluate(data, structure, table, family, options,
                                     fraction=args.fraction))
                print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False, header=len(rows) == 1),
                      flush=True)
                pd.DataFrame(rows).to_csv(args.out, index=False)
    print(pd.DataFrame(rows).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
