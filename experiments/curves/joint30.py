"""The 30-task ``joint`` fit on MoleculeACE (issue 12: max R-hat <= 1.01, min bulk ESS >= 400,
<= 10 minutes wall on the 2-core CPU).

Reads the ``joint30`` sweep of ``make_moleculeace_sweep.py`` (all 30 targets, sizes 32..512,
single-task runs plus each target beside three fixed partners at 256 labels; make it first
with ``python experiments/curves/make_moleculeace_sweep.py --kinds joint30``), fits
``transfer="joint"`` with the library's default NUTS (``--set FIELD=VALUE`` overrides
FitConfig fields) and prints one line per fit: wall time (compilation included), the
diagnostics, leapfrog steps per draw, the worst variables and the largest gap between a task's
curve and its own runs. Rows are appended to ``--out``.

Usage::

    nice -n 5 python experiments/curves/joint30.py [--cpu-devices 4] [--set num_samples=1000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from lcurve.curves import fit_curves
from lcurve.sweep import read_results
from lfo import parse_args, parse_options
from make_moleculeace_sweep import sweep_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--out", default="experiments/curves/joint30.csv")
    args = parse_args(parser)
    options = parse_options(args.set)
    table = read_results(sweep_path("joint30"))
    table = table[table["metric"] == "auroc"].dropna(subset=["value"]).reset_index(drop=True)
    print(f"{len(table)} rows, {table['task'].nunique()} tasks", flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_curves(table, transfer="joint", **{"method": "nuts", **options})
        seconds = time.perf_counter() - start
        diag = fit.diagnostics()
        gap = float(fit.curve_gaps()["gap"].abs().max())
    worst = diag.table.sort_values("r_hat", ascending=False).head(4)
    row = {"rows": len(table), "tasks": table["task"].nunique(), "seconds": seconds,
           "max_rhat": diag.max_rhat, "min_ess_bulk": diag.min_ess_bulk,
           "min_ess_tail": diag.min_ess_tail, "divergences": diag.n_divergent,
           "leapfrog_per_draw": float(np.mean(fit.idata.sample_stats["n_steps"].values)),
           "max_curve_gap": gap,
           "worst": " ".join(f"{v}:{r:.3f}/{e:.0f}" for v, r, e in
                             worst[["variable", "r_hat", "ess_bulk"]].to_numpy()),
           "cpu_devices": args.cpu_devices,
           "options": " ".join(f"{k}={v}" for k, v in options.items())}
    print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
    try:
        previous = pd.read_csv(args.out)
    except FileNotFoundError:
        previous = pd.DataFrame()
    pd.concat([previous, pd.DataFrame([row])]).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
