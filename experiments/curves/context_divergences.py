"""Where the divergences of a ``contextual`` fit sit: by quartile of the spread of the per-task
context rates (``transfer_context_sd`` when learned, else the rates' sd across tasks), on one
of ``lfo.py``'s synthetic context tables (4 tasks, exp3 truth, fitted sizes <= 512).

Usage::

    python experiments/curves/context_divergences.py --sim-seed 11 [--set context_spread=learned]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from lcurve.curves import fit_curves, simulate_results
from lfo import parse_args, parse_options, split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-seed", type=int, default=11)
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    args = parse_args(parser)
    table, _ = simulate_results(n_tasks=4, family="exp3", design="context", structure="contextual",
                                sizes=(32, 64, 128, 256, 512, 1024, 2048),
                                source_sizes=(256, 1024), seeds=(0, 1), seed=args.sim_seed)
    train, _ = split(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_curves(train, transfer="contextual", **parse_options(args.set))
        diag = fit.diagnostics()
    post = fit.idata.posterior
    divergent = fit.idata.sample_stats["diverging"].values.reshape(-1)
    if "transfer_context_sd" in post:
        spread = post["transfer_context_sd"].values.reshape(-1)
    else:
        spread = post["transfer_context"].values.reshape(divergent.size, -1).std(axis=1)
    edges = np.quantile(spread, [0, 0.25, 0.5, 0.75, 1])
    quartile = np.clip(np.searchsorted(edges, spread, side="right") - 1, 0, 3)
    print(f"sim seed {args.sim_seed} {parse_options(args.set)}: {int(divergent.sum())} "
          f"divergences; by quartile of the spread {np.bincount(quartile[divergent], minlength=4)}"
          f" (quartile edges {np.round(edges, 3)}); max R-hat {diag.max_rhat:.3f}, "
          f"min bulk ESS {diag.min_ess_bulk:.0f}")


if __name__ == "__main__":
    main()
