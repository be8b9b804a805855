"""Benchmark: default NUTS fit of a simulated 5-task pairs table (~600 rows), wall time
including compilation, plus diagnostics and transfer recovery.

Usage::

    python experiments/curves/bench_nuts.py [--repeat 2] [--likelihood truncnormal]
    python experiments/curves/bench_nuts.py --repeat 2 --chain-methods vectorized sequential
    python experiments/curves/bench_nuts.py --variants curve_pooling=fixed curve_pooling=learned
    python experiments/curves/bench_nuts.py --repeat 3 --variants loop=reused loop=numpyro
    python experiments/curves/bench_nuts.py --cpu-devices 4 --chain-methods sequential parallel
    python experiments/curves/bench_nuts.py --cpu-devices 4 --repeat 1 --tables 0 1 2 3 4
    python experiments/curves/bench_nuts.py --cpu-devices 4 --repeat 1 --tables 0 1 2 \
        --variants family=pow4 family=exp3 transfer=joint

The second repeat reuses the compiled sampler (same model shape). With several chain methods
the repeats alternate between them in one process (a side-by-side comparison on a shared
machine), and so do ``--variants`` (space-separated FitConfig settings, each
``FIELD=VALUE[,FIELD=VALUE]``; ``loop=numpyro`` runs numpyro's sampling loop as it comes,
recompiled for every chain, ``loop=reused`` the library's default; ``init=eager`` runs the
initial SVI's ``init`` eagerly, as numpyro does, ``init=jit`` the default; ``pmap=numpyro`` runs
parallel chains with numpyro's ``"parallel"``, recompiled every fit, ``pmap=reused`` the
default; ``chain=eager`` starts chains run one after another (or vectorized) eagerly, as
numpyro does, ``chain=jit`` the default (one compiled program per chain, its start included);
``points=row`` evaluates the curve once per observation, ``points=shared`` once per
distinct design point, the default). ``--cpu-devices N`` asks
JAX for N CPU devices first (:func:`lcurve.curves.request_cpu_devices`, what ``lcurve fit`` and
``lcurve demo`` do with N = 4 chains), so ``auto`` chains run in parallel. "lockstep" is the mean
over draws of the longest chain's leapfrog steps divided by the mean steps (what vectorised
chains pay).

``--log-compiles`` prints every XLA compilation of >= 0.2 s (what a first fit spends
compiling); ``--compilation-cache DIR`` uses JAX's persistent compilation cache (run twice: the
second process loads what the first compiled).

``--tables S ...`` fits one planted table per simulation seed (same design, new curves, rates
and noise; default: the one table of seed 0) and ends with the recovery pooled over all of
them: 20 rates of one table give a Spearman correlation with a standard error of ~0.05.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import jax

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from lcurve.curves import FitConfig, _inference, fit_curves, simulate_results
from lcurve.curves import fit as curve_fit
from lcurve.curves.simulate import random_transfer
from lfo import parse_args, parse_options


def planted_table(n_tasks: int = 5, seed: int = 0, density: float | None = None):
    """The benchmark's planted pairs table (3 seeds, sizes 32..512, partners at 256 and 1024)
    and its truth (:func:`lcurve.curves.simulate_results`). ``density`` (default: the
    simulator's 0.5) draws the rates with that share non-zero from their own generator."""
    transfer = (None if density is None else
                random_transfer(n_tasks, np.random.default_rng([seed, 1]), density=density))
    return simulate_results(n_tasks=n_tasks, seed=seed, seeds=(0, 1, 2), transfer=transfer,
                            sizes=(32, 64, 128, 256, 512), source_sizes=(256, 1024))


def spearman_ceiling(true, *, draws: int = 500, seed: int = 0) -> float:
    """Mean Spearman correlation between ``true`` and itself with ties broken at random: what
    an estimator that recovered every value exactly would score, on average, when the truth
    has ties (a perfect estimate of tied values still orders them somehow)."""
    true = np.asarray(true, float)
    rng = np.random.default_rng(seed)
    jitter = 1e-9 * (np.ptp(true) or 1.0)
    return float(np.mean([spearmanr(true + jitter * rng.random(true.shape), true).statistic
                          for _ in range(draws)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--likelihood", default="logit", choices=["logit", "truncnormal"])
    parser.add_argument("--family", default=FitConfig.family,
                        help="curve family to fit (default: the library's default)")
    parser.add_argument("--transfer", default="pairwise", choices=["pairwise", "joint"])
    parser.add_argument("--chain-methods", nargs="+", default=["auto"],
                        choices=["auto", "sequential", "vectorized", "parallel"])
    parser.add_argument("--variants", nargs="+", default=[""], metavar="FIELD=VALUE[,...]",
                        help="FitConfig settings to alternate, e.g. curve_pooling=learned")
    parser.add_argument("--tables", nargs="+", type=int, default=[0], metavar="SEED",
                        help="simulation seeds of the planted tables (one fit each)")
    parser.add_argument("--density", type=float, default=None,
                        help="share of non-zero planted rates (default: the simulator's 0.5, "
                             "half the rates tied at zero)")
    parser.add_argument("--log-compiles", action="store_true",
                        help="print each XLA compilation that took >= 0.2 s, with its time")
    parser.add_argument("--compilation-cache", metavar="DIR",
                        help="JAX's persistent compilation cache in DIR (a second process "
                             "then loads the compiled programs)")
    args = parse_args(parser)
    if args.compilation_cache:
        jax.config.update("jax_compilation_cache_dir", args.compilation_cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    if args.log_compiles:
        jax.config.update("jax_log_compiles", True)
        handler = logging.StreamHandler()
        handler.addFilter(lambda r: "Finished XLA compilation" in r.getMessage()
                          and float(r.getMessage().split(" in ")[-1].split()[0]) >= 0.2)
        logging.getLogger("jax").addHandler(handler)
    recovered = []  # (table, variant, fitted mean, truth, inside the interval)
    for sim_seed in args.tables:
        table, truth = planted_table(args.tasks, sim_seed, args.density)
        print(f"table {sim_seed}: {len(table)} rows, {args.tasks} tasks")
        recovered += bench_table(args, table, truth, sim_seed)
    if len(args.tables) > 1:
        pooled = pd.DataFrame(recovered, columns=["table", "variant", "fitted", "true", "inside"])
        for variant, rows in pooled.groupby("variant", sort=False):
            per_table = rows.groupby("table").apply(
                lambda r: spearmanr(r["fitted"], r["true"]).statistic)
            nonzero = rows[rows["true"] != 0]
            print(f"pooled over {len(per_table)} tables{', ' + variant if variant else ''}: "
                  f"Spearman(tau) of all {len(rows)} rates "
                  f"{spearmanr(rows['fitted'], rows['true']).statistic:.3f}, per table "
                  f"{' '.join(f'{v:.3f}' for v in per_table)} (mean {per_table.mean():.3f}); "
                  f"90% coverage {rows['inside'].mean():.3f}; Spearman(tau) of the "
                  f"{len(nonzero)} non-zero rates "
                  f"{spearmanr(nonzero['fitted'], nonzero['true']).statistic:.3f}")
        first = pooled[pooled["variant"] == pooled["variant"].iloc[0]]
        per_table = [spearman_ceiling(rows["true"]) for _, rows in first.groupby("table")]
        print(f"ceiling (every rate exact, tied zero rates in random order): pooled "
              f"{spearman_ceiling(first['true']):.3f}, per table mean {np.mean(per_table):.3f}")


def bench_table(args, table, truth, sim_seed) -> list:
    """Fit ``table`` for every repeat, chain method and variant; print one line per fit and
    return the last repeat's rates as (table, variant, fitted mean, truth, covered) rows."""
    recovered = []
    runs = [(rep, method, variant) for rep in range(args.repeat)
            for method in args.chain_methods for variant in args.variants]
    for rep, method, variant in runs:
        items = [item for item in variant.split(",") if item]
        _inference.REUSE_JIT_WRAPPERS = "loop=numpyro" not in items
        _inference.JIT_SVI_INIT = "init=eager" not in items
        _inference.REUSE_PMAP = "pmap=numpyro" not in items
        _inference.JIT_CHAIN = "chain=eager" not in items
        curve_fit.SHARE_DESIGN_POINTS = "points=row" not in items
        options = parse_options([item for item in items
                                 if not item.startswith(("loop=", "init=", "pmap=", "points=",
                                                                 "chain="))])
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            chosen = {"transfer": args.transfer, "family": args.family}
            fit = fit_curves(table, method="nuts", seed=rep, likelihood=args.likelihood,
                             chain_method=method, **{**chosen, **options})
        seconds = time.perf_counter() - start
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            diag = fit.diagnostics()
        rates = fit.transfer_matrix()
        tasks = truth["tasks"]
        true = np.array([truth["transfer"][tasks.index(t), tasks.index(s)]
                         for s, t in zip(rates["source"], rates["target"])])
        cover = np.mean((rates["hdi_low"] <= true) & (true <= rates["hdi_high"]))
        n_steps = fit.idata.sample_stats["n_steps"].values  # (chain, draw)
        steps, lockstep = n_steps.mean(), n_steps.max(axis=0).mean() / n_steps.mean()
        resolved = _inference.resolve_chain_method(method, fit.config.num_chains)
        print(f"repeat {rep}, chains {resolved}{', ' + variant if variant else ''}: "
              f"{seconds:.1f} s wall; max R-hat {diag.max_rhat:.3f}, "
              f"min bulk ESS {diag.min_ess_bulk:.0f}, {diag.n_divergent} divergences, "
              f"mean leapfrog steps {steps:.0f} (lockstep {lockstep:.2f}); Spearman(tau) "
              f"{spearmanr(rates['mean'], true).statistic:.3f}, 90% coverage {cover:.2f}; "
              f"warnings: {[str(w.message)[:60] for w in caught]}", flush=True)
        if rep == args.repeat - 1:
            inside = (rates["hdi_low"] <= true) & (true <= rates["hdi_high"])
            recovered += [(sim_seed, variant, m, t, i)
                          for m, t, i in zip(rates["mean"], true, inside)]
    return recovered


if __name__ == "__main__":
    main()
