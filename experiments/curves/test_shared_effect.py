"""What modelling the shared test set (``FitConfig.test_shared``) does to a fit's answers.

Every run of a target is scored on that target's one test set, and ``test_set_share.py``
measures that about 0.57 of a run's Hanley-McNeil test-set variance is common to all runs of
a MoleculeACE target. With ``test_shared=0`` (the default) the curve's level absorbs that
common error, so the curve is the test set's and its interval (and every "samples needed"
interval read from it) leaves out the uncertainty of a finite test set; with
``test_shared=rho`` the common part is a per-task offset outside the curve.

This script fits one results table both ways (same family, structure and sampler settings,
one process) and prints, per task: the curve at the task's largest size (mean and 90% width
of the curve, and of a new run on the task's own test set), the samples needed for
``--target`` alone (median and 90% interval), the curve gaps, and each fit's time and
diagnostics. Usage::

    python experiments/curves/test_shared_effect.py RESULTS.parquet [--transfer pairwise]
        [--rho 0.55] [--target 0.85] [--cpu-devices 4]

e.g. on the demo's runs (``lcurve demo --out DIR``: ``DIR/results.parquet``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from lcurve.curves import fit_curves
from lcurve.design import size_column
from lfo import parse_args


def answers(fit, target: float) -> pd.DataFrame:
    """Per task: the curve and a new run at the largest size, and samples to ``target``."""
    table = fit.results
    rows = []
    for task in fit.tasks:
        largest = float(table.loc[table["task"] == task, size_column(task)].max())
        pred = fit.predict({task: [largest]}).iloc[0]
        need = fit.required_samples(task, target)
        alone = need[need["scenario"] == "alone"].iloc[0]
        rows.append({"task": task, "largest": int(largest), "curve": pred["mean"],
                     "curve_width": pred["hdi_high"] - pred["hdi_low"],
                     "run_width": pred["pred_high"] - pred["pred_low"],
                     "need_median": alone["median"], "need_low": alone["low"],
                     "need_high": alone["high"]})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--family", default="pow4")
    parser.add_argument("--transfer", default="pairwise")
    parser.add_argument("--rho", type=float, default=0.55,
                        help="test_shared of the second fit (the first has 0)")
    parser.add_argument("--target", type=float, default=0.85, help="AUROC to reach")
    args = parse_args(parser)
    table = pd.read_parquet(args.results)
    out = {}
    for rho in (0.0, args.rho):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_curves(table, family=args.family, transfer=args.transfer,
                             test_shared=rho)
            diag = fit.diagnostics()
        seconds = time.perf_counter() - start
        gaps = fit.curve_gaps()
        out[rho] = answers(fit, args.target)
        print(f"test_shared={rho}: {seconds:.0f} s, max R-hat {diag.max_rhat:.3f}, min bulk "
              f"ESS {diag.min_ess_bulk:.0f}, {diag.n_divergent} divergences, max |curve gap| "
              f"{gaps['gap'].abs().max():.3f}")
        print(out[rho].round(3).to_string(index=False), flush=True)
    base, shared = out[0.0], out[args.rho]
    ratio = lambda col: (shared[col] / base[col]).to_numpy()  # noqa: E731
    need = ((shared["need_high"] - shared["need_low"])
            / (base["need_high"] - base["need_low"])).to_numpy()
    print(f"\nwidth ratios (test_shared={args.rho} / 0), per task: curve "
          f"{np.round(ratio('curve_width'), 2).tolist()}, new run on the task's test set "
          f"{np.round(ratio('run_width'), 2).tolist()}, samples to {args.target} "
          f"{np.round(need, 2).tolist()}")


if __name__ == "__main__":
    main()
