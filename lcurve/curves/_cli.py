"""The ``lcurve fit`` sub-command (integrated into ``lcurve.cli`` by ``add_fit_parser``).

``lcurve fit DIR/results.parquet --family exp3 --transfer pairwise --method nuts --out fit.nc``
fits curves to a results table, writes the posterior as netCDF and prints the strongest
transfers, the diagnostics and the findings; ``--alternatives pow4`` also fits other families
(``fit_pow4.nc``) and stacks them with the first where its sample sizes extrapolate;
``--leave-future-out`` refits on the smaller sizes and predicts the largest
(``fit_lfo.csv``, :func:`lcurve.curves.leave_future_out`). On a CPU
it asks JAX for one device per chain first
(:func:`lcurve.curves._inference.request_cpu_devices`), so NUTS chains run in parallel.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

__all__ = ["add_fit_parser", "run_fit"]

logger = logging.getLogger("lcurve")


def add_fit_parser(subparsers) -> None:
    """Add the ``fit`` sub-command to an ``argparse`` sub-parser collection."""
    from lcurve.curves._table import METRICS, STRUCTURES
    from lcurve.curves.families import FAMILIES
    from lcurve.curves.fit import GUIDES, METHODS, FitConfig
    from lcurve.curves.model import TEST_OFFSETS

    defaults = FitConfig()  # one home for the defaults

    p = subparsers.add_parser("fit", help="fit Bayesian multi-task learning curves to results")
    p.add_argument("results", type=Path, help="results table (parquet or csv), e.g. "
                   "runs/pairs/results.parquet")
    p.add_argument("--family", default=defaults.family, choices=sorted(FAMILIES))
    p.add_argument("--transfer", default=defaults.transfer, choices=list(STRUCTURES))
    p.add_argument("--method", default=defaults.method, choices=list(METHODS))
    p.add_argument("--metric", default=defaults.metric, choices=list(METRICS))
    p.add_argument("--guide", default=defaults.guide, choices=list(GUIDES), help="SVI guide")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-warmup", type=int, default=defaults.num_warmup)
    p.add_argument("--num-samples", type=int, default=defaults.num_samples)
    p.add_argument("--num-chains", type=int, default=defaults.num_chains)
    p.add_argument("--svi-steps", type=int, default=defaults.svi_steps)
    p.add_argument("--test-shared", type=float, default=defaults.test_shared, metavar="RHO",
                   help="share of a run's test-set variance common to all runs of its task "
                        "(one test set per task), so that the curve is the score expected on "
                        "a new test set (FitConfig.test_shared; default: auto, 0.55 where "
                        "the table has n_test; 0 lets the curve absorb it)")
    p.add_argument("--test-offsets", default=defaults.test_offsets, choices=TEST_OFFSETS,
                   help="the test-set offsets sampled, or integrated out of the likelihood "
                        "(the same model; faster for large pair models; "
                        "FitConfig.test_offsets)")
    p.add_argument("--alternatives", nargs="+", default=[], choices=sorted(FAMILIES),
                   metavar="FAMILY", help="other curve families to fit with the same settings "
                   "(saved as OUT_<family>.nc, where `lcurve report` finds them) and stack "
                   "with the main fit where its sample sizes extrapolate")
    p.add_argument("--leave-future-out", type=float, nargs="?", const=0.25, default=None,
                   metavar="FRACTION", help="also refit on each task's sizes <= FRACTION "
                   "(default 0.25) of its largest and predict the largest (saved as "
                   "OUT_lfo.csv, where `lcurve report` finds it): how far off the curves' "
                   "extrapolation was on these runs")
    p.add_argument("--top", type=int, default=10, help="how many transfers to print")
    p.add_argument("--out", type=Path, required=True, help="output netCDF, e.g. DIR/fit.nc")


def run_fit(args) -> int:
    """Run ``lcurve fit``; returns the process exit status (2 for unusable input)."""
    import pandas as pd

    from lcurve.curves._inference import request_cpu_devices
    from lcurve.curves._summaries import CurveFitWarning
    from lcurve.curves.fit import fit_curves

    request_cpu_devices(args.num_chains)  # chains in parallel on a CPU (before any JAX work)

    if not args.results.exists():
        logger.error("no results table at %s", args.results)
        return 2
    table = (pd.read_csv(args.results) if args.results.suffix == ".csv"
             else pd.read_parquet(args.results))
    options = dict(transfer=args.transfer, method=args.method, metric=args.metric,
                   seed=args.seed, guide=args.guide, num_warmup=args.num_warmup,
                   num_samples=args.num_samples, num_chains=args.num_chains,
                   svi_steps=args.svi_steps, test_shared=args.test_shared,
                   test_offsets=args.test_offsets)
    families = [args.family] + [f for f in dict.fromkeys(args.alternatives) if f != args.family]
    fits = []
    for i, family in enumerate(families):
        try:
            fits.append(fit_curves(table, family=family, **options))
        except ValueError as err:
            logger.error("cannot fit %s: %s", args.results, err)
            return 2
        path = args.out if i == 0 else args.out.with_name(
            f"{args.out.stem}_{family}{args.out.suffix}")
        fits[-1].save(path)
        print(f"fit: {fits[-1]!r} on {len(fits[-1].tasks)} tasks -> {path}")
    fit, alternatives = fits[0], fits[1:]
    lfo = None
    if args.leave_future_out is not None:
        from lcurve.curves.checks import leave_future_out, lfo_path

        try:
            lfo = leave_future_out(table, fraction=args.leave_future_out,
                                   family=args.family, **options)
        except ValueError as err:
            logger.error("cannot run leave-future-out on %s: %s", args.results, err)
            return 2
        lfo.to_csv(lfo_path(args.out), index=False)
        print(f"leave-future-out: {len(lfo)} held-out runs -> {lfo_path(args.out)}")
    if args.transfer != "none":
        rates = fit.transfer_matrix().sort_values("mean", key=abs, ascending=False)
        print(rates.head(args.top).round(3).to_string(index=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CurveFitWarning)
        diag = fit.diagnostics()
    print(f"diagnostics: max R-hat {diag.max_rhat:.3f}, min bulk ESS {diag.min_ess_bulk:.0f}, "
          f"{diag.n_divergent} divergences")
    for warning in caught:
        print(f"warning: {warning.message}")
    from lcurve.curves.findings import format_findings

    print(f"findings (90% intervals):\n"
          f"{format_findings(fit.findings(alternatives=alternatives, lfo=lfo))}")
    return 0
