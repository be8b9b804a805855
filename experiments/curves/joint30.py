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
    nice -n 5 python experiments/curves/joint30.py --cpu-devices 4 --dense-block greedy
    python experiments/curves/joint30.py --cpu-devices 4 --set test_shared=0.55 --worst-pairs 5
    python experiments/curves/joint30.py --cpu-devices 4 --points row   # the curve per run

``--dense-block`` replaces the library's choice of the dense mass-matrix block (one block of
every global site when they total <= ``_inference.DENSE_MAX`` dimensions, else none, so the
30-task ``joint`` is diagonal): ``greedy`` takes sites in the guide's order while the block fits
(here the curve parameters, noise and effect scales and the horseshoe's global scales, 158
dimensions), ``curves`` only the curve parameters (124).
"""

from __future__ import annotations

import argparse
import time
import warnings

import arviz as az
import numpy as np
import pandas as pd

from lcurve.curves import _inference, fit_curves
from lcurve.curves import fit as curve_fit
from lcurve.sweep import read_results
from lfo import parse_args, parse_options
from make_moleculeace_sweep import sweep_path


def _greedy_block(sizes, dense_sites):
    block, total = [], 0
    for site in sizes:
        if site in dense_sites and total + sizes[site] <= _inference.DENSE_MAX:
            block.append(site)
            total += sizes[site]
    return [tuple(block)] if total > 1 else []


def _curve_block(sizes, dense_sites):
    block = tuple(s for s in sizes if s in dense_sites and s.split("_")[0] in ("a", "b", "c",
                                                                                "alpha"))
    return [block] if block else []


def _curve_test_block(sizes, dense_sites):
    """The curve parameters and the test-set offsets (``FitConfig.test_shared``): a task's
    asymptote and its offset trade off along a ridge."""
    block = tuple(s for s in sizes if s in dense_sites and s.split("_")[0] in (
        "a", "b", "c", "alpha", "test"))
    return [block] if block else []


DENSE_BLOCKS = {"library": _inference._blocks, "greedy": _greedy_block, "curves": _curve_block,
                "curves_test": _curve_test_block}


def worst_pairs(fit, n: int) -> pd.DataFrame:
    """The ``n`` pairs whose horseshoe local scale has the lowest bulk ESS, with the
    posterior of that scale and of the pair's rate (a rate whose posterior sits between
    shrunk and unshrunk mixes slowly), and the ESS quantiles over all pairs."""
    post = fit.idata.posterior
    ess = az.ess(post[["hs_local"]], method="bulk")["hs_local"].values
    local = post["hs_local"].values.reshape(-1, ess.size)
    z = post["transfer_z"].values.reshape(-1, ess.size)
    rows = [{"pair": str(post["pair"].values[i]), "ess_bulk": ess[i],
             "local_median": np.median(local[:, i]), "transfer_z_mean": z[:, i].mean(),
             "abs_transfer_z_mean": np.abs(z[:, i]).mean()} for i in np.argsort(ess)[:n]]
    print("hs_local bulk ESS over all pairs, min / 5% / 50%:",
          np.percentile(ess, [0, 5, 50]).round(0).tolist())
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--out", default="experiments/curves/joint30.csv")
    parser.add_argument("--dense-block", default="library", choices=sorted(DENSE_BLOCKS))
    parser.add_argument("--points", default="shared", choices=["shared", "row"],
                        help="evaluate the curve once per distinct design point (the "
                             "library's default) or once per run, to compare the two")
    parser.add_argument("--worst-pairs", type=int, default=0, metavar="N",
                        help="print the N pairs whose horseshoe local scale mixed worst")
    args = parse_args(parser)
    _inference._blocks = DENSE_BLOCKS[args.dense_block]
    curve_fit.SHARE_DESIGN_POINTS = args.points == "shared"
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
           "options": " ".join([f"{k}={v}" for k, v in options.items()]
                               + ([f"dense_block={args.dense_block}"]
                                  if args.dense_block != "library" else [])
                               + (["points=row"] if args.points == "row" else []))}
    print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
    if args.worst_pairs:
        print(worst_pairs(fit, args.worst_pairs).round(3).to_string(index=False), flush=True)
    try:
        previous = pd.read_csv(args.out)
    except FileNotFoundError:
        previous = pd.DataFrame()
    pd.concat([previous, pd.DataFrame([row])]).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
