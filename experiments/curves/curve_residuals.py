"""Does a fitted curve follow the runs at every size? Fit one structure to the leave-future-out
training rows of the MoleculeACE sweep (own sizes <= 512, as in ``lfo.py``) and print the
worst-mixing parameters, the curve parameters, and the per-task and per-size gaps
(:meth:`CurveFit.curve_gaps`: runs minus curve).

Usage::

    cd experiments/curves && python curve_residuals.py pairwise --set num_warmup=1000
"""

from __future__ import annotations

import argparse
import time
import warnings

import arviz as az
import numpy as np

from lfo import FIT, moleculeace_tables, parse_options, split
from lcurve.curves import fit_curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("structure", choices=["none", "contextual", "pairwise", "joint"])
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--save", help="write the fit (netCDF) here")
    args = parser.parse_args()
    table = dict((s, t) for _, s, t in moleculeace_tables())[args.structure]
    train, _ = split(table)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_curves(train, transfer=args.structure, **{**FIT, **parse_options(args.set)})
        summary = az.summary(fit.idata, var_names=[v for v in fit.idata.posterior.data_vars
                                                   if not v.startswith("expected")])
    print(f"fit: {time.perf_counter() - start:.0f} s")
    print(summary.sort_values("r_hat", ascending=False).head(8).to_string())
    post = fit.idata.posterior
    for name in (*fit.family.param_names, "subsample_sd", "trajectory_sd"):
        print(name, np.round(post[name].mean(("chain", "draw")).values, 3))
    print(fit.curve_gaps().round(3).to_string(index=False))
    by_size = fit.curve_gaps(by_size=True)
    print(by_size.pivot_table(index="size", columns="task", values="gap").round(3).to_string())
    if args.save:
        fit.save(args.save)


if __name__ == "__main__":
    main()
