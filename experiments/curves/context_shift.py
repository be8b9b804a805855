"""``contextual`` with and without its per-task asymptote shift (``FitConfig.context_shift``),
compared by LOO on all the runs of a MoleculeACE sweep (not only the sizes a leave-future-out
refit sees): does the shift describe the runs with context better within the data?

Fits both on every AUROC row of each data set (the library's default NUTS and family) and
prints ``compare_curves`` (ArviZ's LOO: ``elpd_loo``, its difference and standard error,
stacking weights) with each fit's diagnostics and largest Pareto k.

Usage::

    python experiments/curves/context_shift.py --data moleculeace30 moleculeace-context \\
        --cpu-devices 4
"""

from __future__ import annotations

import argparse
import warnings

import pandas as pd

import lfo
from lcurve.curves import compare_curves, fit_curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["moleculeace30", "moleculeace-context"],
                        choices=["moleculeace30", "moleculeace-context"])
    args = lfo.parse_args(parser)
    for data in args.data:
        table = lfo.structure_table(data, "contextual")
        table = table[table["metric"] == "auroc"].dropna(subset=["value"])
        fits = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for shift in (True, False):
                fit = fit_curves(table, transfer="contextual", method="nuts",
                                 context_shift=shift)
                diag = fit.diagnostics()
                fits[f"context_shift={shift}"] = fit
                print(f"{data} context_shift={shift}: {len(table)} rows, max R-hat "
                      f"{diag.max_rhat:.3f}, min bulk ESS {diag.min_ess_bulk:.0f}, "
                      f"{diag.n_divergent} divergences, largest |curve gap| "
                      f"{fit.curve_gaps()['gap'].abs().max():.4f}", flush=True)
            table_cmp = compare_curves(list(fits.values()), names=list(fits))
        with pd.option_context("display.width", 200):
            print(table_cmp.round(3).to_string(), flush=True)


if __name__ == "__main__":
    main()
