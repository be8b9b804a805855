"""The curve families of a run folder side by side: diagnostics, LOO and stacking weights,
and each task's samples needed from each family and from their stack.

Reads what the report reads (``lcurve.report.find_inputs``): the folder's ``fit.nc`` and the
other families' fits of the same runs (``lcurve demo`` writes ``fit_exp3.nc`` beside it).

Usage (after ``lcurve demo --out DIR``)::

    python experiments/curves/family_stack.py DIR [--target 0.85]
"""

from __future__ import annotations

import argparse
import warnings

import pandas as pd

from lcurve.curves import compare_curves, required_samples_stacked
from lcurve.curves.findings import choose_target_score
from lcurve.report import find_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--target", type=float, default=None,
                        help="expected score to plan for (default: the findings' choice)")
    args = parser.parse_args()
    found = find_inputs(args.folder)
    if found.fit is None or not found.alternatives:
        raise SystemExit(f"{args.folder}: needs fit.nc and another family's fit of the same runs")
    fits = [found.fit, *found.alternatives]
    names = [fit.config.family for fit in fits]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fit in zip(names, fits):
            diag = fit.diagnostics()
            print(f"{name}: max R-hat {diag.max_rhat:.3f}, min bulk ESS {diag.min_ess_bulk:.0f}, "
                  f"{diag.n_divergent} divergences")
        print(compare_curves(fits, names=names)[["rank", "elpd_loo", "se", "elpd_diff",
                                                 "weight"]].round(3).to_string())
        target = args.target or choose_target_score(found.fit.idata.observed_data["score"].values)
        rows = []
        for task in found.fit.tasks:
            stacked = required_samples_stacked(fits, task, target, names=names)
            rows += [pd.DataFrame(stacked.attrs["per_fit"][name]).assign(fit=name)
                     for name in names]  # each family alone, from the stack's own draws
            rows.append(stacked.assign(fit="stacked"))
    table = pd.concat(rows)
    print(f"samples needed for an expected score of {target:g} (90% intervals):")
    print(table[["task", "fit", "scenario", "p_reachable", "median", "low", "high"]]
          .round(2).to_string(index=False))


if __name__ == "__main__":
    main()
