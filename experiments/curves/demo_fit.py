"""Fit the demo's results table with given curve-fit options; print time and diagnostics.

Usage (after ``lcurve demo --out DIR``)::

    python experiments/curves/demo_fit.py DIR/results.parquet --method nuts --family pow4 \
        --set target_accept=0.95 num_samples=500 seed=1
    python experiments/curves/demo_fit.py DIR/results.parquet --method svi
    python experiments/curves/demo_fit.py DIR/results.parquet --cpu-devices 4 \
        --seeds 0 1 2 3 --set target_accept=0.95 --brief

``--cpu-devices 4`` runs the chains in parallel as ``lcurve demo`` does (its draws differ
from chains in turn); ``--seeds`` fits once per seed in one process (compiled once);
``--brief`` prints only the time and diagnostics. ``--leave-future-out`` runs the demo's
leave-future-out refit instead (:func:`lcurve.curves.leave_future_out`: sizes <= 1/4 of each
task's largest, the single-task runs at the largest predicted) and prints its summary and the
refit's diagnostics. ``--points row`` evaluates the curve once per run instead of once per
distinct design point (the library's default), to compare the two.

Shows whether an inference setting converges on the real (MoleculeACE) demo design.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

from lcurve.curves import fit as curve_fit
from lcurve.curves import fit_curves, leave_future_out
from lfo import parse_args, parse_options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--method", default="nuts", choices=["nuts", "svi"])
    parser.add_argument("--family", default="pow4")
    parser.add_argument("--likelihood", default="logit")
    parser.add_argument("--num-samples", type=int, default=None, help="NUTS draws per chain")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="further FitConfig fields, e.g. num_warmup=500 target_accept=0.95")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--brief", action="store_true", help="time and diagnostics only")
    parser.add_argument("--leave-future-out", action="store_true",
                        help="run the demo's leave-future-out refit instead of the fit")
    parser.add_argument("--points", default="shared", choices=["shared", "row"],
                        help="the curve once per distinct design point (default) or per run")
    args = parse_args(parser)
    curve_fit.SHARE_DESIGN_POINTS = args.points == "shared"
    table = pd.read_parquet(args.results)
    options = dict(svi_steps=3000, num_samples=1000) if args.method == "svi" else {}
    if args.num_samples:
        options["num_samples"] = args.num_samples
    options.update(parse_options(args.set))
    for seed in args.seeds:
        print(f"seed {seed}:", end=" ")
        if args.leave_future_out:
            refit_one(table, args, {**options, "seed": seed})
        else:
            fit_one(table, args, {**options, "seed": seed})


def refit_one(table, args, options) -> None:
    """The demo's leave-future-out refit of ``table``, one line: time, summary, diagnostics."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        runs = leave_future_out(table, family=args.family, transfer="pairwise",
                                method=args.method, likelihood=args.likelihood, **options)
    summary = runs.attrs["summary"]
    print(f"leave-future-out {time.perf_counter() - start:.1f} s: mean error "
          f"{summary['bias']:+.3f}, MAE {summary['mae']:.3f}, {int(runs['inside'].sum())} of "
          f"{len(runs)} inside; refit max R-hat {runs['max_rhat'].iloc[0]:.3f}, min bulk ESS "
          f"{runs['min_ess_bulk'].iloc[0]:.0f}, {runs['divergences'].iloc[0]:.0f} divergences",
          flush=True)


def fit_one(table, args, options) -> None:
    """Fit ``table`` once and print what :func:`main` promises."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        fit = fit_curves(table, family=args.family, transfer="pairwise", method=args.method,
                         likelihood=args.likelihood, **options)
    print(f"{args.method} {args.family} {args.likelihood}: {time.perf_counter() - start:.1f} s")
    if args.method == "nuts":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            diag = fit.diagnostics()
        steps = float(fit.idata.sample_stats["n_steps"].mean())
        print(f"max R-hat {diag.max_rhat:.3f}, min bulk ESS {diag.min_ess_bulk:.0f}, "
              f"{diag.n_divergent} divergences, {steps:.0f} leapfrog steps per draw; "
              f"warnings: {[str(w.message) for w in caught]}", flush=True)
    if args.brief:
        return
    print(fit.transfer_matrix()[["source", "target", "mean", "hdi_low", "hdi_high"]]
          .round(3).to_string())
    params = fit.curve_params()
    print(params[params["parameter"] == "c"].round(3).to_string())
    print("each task's curve against its own runs (CurveFit.curve_gaps):")
    print(fit.curve_gaps().round(3).to_string())


if __name__ == "__main__":
    main()
