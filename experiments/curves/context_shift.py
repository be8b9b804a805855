"""``contextual`` with and without its per-task asymptote shift (``FitConfig.context_shift``),
compared by LOO on all the runs of a MoleculeACE sweep (not only the sizes a leave-future-out
refit sees): does the shift describe the runs with context better within the data?

Fits both on every AUROC row of each data set (the library's default NUTS and family) and
prints ``compare_curves`` (ArviZ's LOO: ``elpd_loo``, its difference and standard error,
stacking weights) with each fit's diagnostics, largest curve gap and context reach
(:meth:`CurveFit.context_reach`), and each fit's per-task rates and shifts
(:func:`posterior_summary`). ``--set FIELD=VALUE`` passes further FitConfig fields to both.

Usage::

    python experiments/curves/context_shift.py --data moleculeace30 moleculeace-context \\
        --cpu-devices 4
    python experiments/curves/context_shift.py --data moleculeace-context2 \\
        moleculeace-context2-half --cpu-devices 4   # two context levels, and one
    python experiments/curves/context_shift.py --data moleculeace30-context2 --target-rows \\
        --cpu-devices 4   # 30 targets: each run's target's rows only

``--target-rows`` keeps the single-task runs and, of every run with context, only the row
scoring its target (a contextual run scores every task it trained: on the 30-target sweep
18,300 rows, of which 900 are the targets').
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

import lfo
from context_ridge import rate_shift_correlation, rate_shift_draws
from lcurve.curves import compare_curves, fit_curves


def posterior_summary(fit) -> str:
    """The per-task rates (and shifts, where fitted): mean of the posterior means, mean
    posterior sd, and the median over tasks of their correlation across draws."""
    draws = rate_shift_draws(fit)
    parts = [f"{s}: mean {d.mean(0).mean():+.4f} ({d.mean(0).min():+.4f} to "
             f"{d.mean(0).max():+.4f}), posterior sd {d.std(0).mean():.4f}"
             for s, d in draws.items()]
    if len(draws) == 2:
        corr = rate_shift_correlation(draws)
        parts.append(f"correlation across draws, median over tasks {np.median(corr):+.2f}")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["moleculeace30", "moleculeace-context"],
                        choices=[d for d in lfo.MOLECULEACE_SOURCES if d != "moleculeace"])
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="further FitConfig fields for both fits, e.g. transfer_scale=0.01")
    parser.add_argument("--target-rows", action="store_true",
                        help="fit only the single-task runs and the rows scoring each run's "
                             "target")
    args = lfo.parse_args(parser)
    for data in args.data:
        table = lfo.structure_table(data, "contextual")
        table = table[table["metric"] == "auroc"].dropna(subset=["value"])
        if args.target_rows:
            table = table[table["task"] == table["target"]]
        fits = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for shift in (True, False):
                fit = fit_curves(table, transfer="contextual", method="nuts",
                                 **{**lfo.parse_options(args.set), "context_shift": shift})
                diag = fit.diagnostics()
                fits[f"context_shift={shift}"] = fit
                print(f"{data} context_shift={shift}: {len(table)} rows, max R-hat "
                      f"{diag.max_rhat:.3f}, min bulk ESS {diag.min_ess_bulk:.0f}, "
                      f"{diag.n_divergent} divergences, largest |curve gap| "
                      f"{fit.curve_gaps()['gap'].abs().max():.4f}, largest context reach "
                      f"{fit.context_reach()['ratio'].max():.2f}", flush=True)
                print("  " + posterior_summary(fit), flush=True)
            table_cmp = compare_curves(list(fits.values()), names=list(fits))
        with pd.option_context("display.width", 200):
            print(table_cmp.round(3).to_string(), flush=True)


if __name__ == "__main__":
    main()
