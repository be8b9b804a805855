"""Benchmark (not a test): a 30-task ``joint`` curve fit with NUTS and with SVI, and extrapolation.

Reports wall time, bulk ESS per second (worst sampled site) and worst R-hat for a joint
(regularised-horseshoe) fit of 30 simulated tasks, then extrapolation: fitted on runs whose
sizes are at most a quarter of the largest size, predict the largest size's mean score and check
the error and the 90% predictive-interval coverage, for single-task vs multi-task structures.

Usage::

    python experiments/benchmarks/bench_curves.py                       # both parts
    python experiments/benchmarks/bench_curves.py --part joint --tasks 30
    python experiments/benchmarks/bench_curves.py --part extrapolate --results runs/x/results.parquet
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from lcurve.curves import CurveFitWarning, fit_curves, simulate_results
from lcurve.design import size_columns as task_size_columns


def bench_joint(n_tasks: int, *, num_warmup: int, num_samples: int, num_chains: int,
                svi_steps: int) -> pd.DataFrame:
    table, truth = simulate_results(n_tasks=n_tasks, structure="pairwise", seed=0,
                                    sizes=(16, 64, 256), source_sizes=(256,), seeds=(0, 1))
    print(f"joint benchmark: {n_tasks} tasks, {len(table)} observations, "
          f"{n_tasks * (n_tasks - 1)} transfer rates")
    rows = []
    settings = {"svi": dict(svi_steps=svi_steps, num_samples=num_samples * num_chains),
                "nuts": dict(num_warmup=num_warmup, num_samples=num_samples,
                             num_chains=num_chains)}
    for method, options in settings.items():
        start = time.perf_counter()
        fit = fit_curves(table, transfer="joint", method=method, seed=0, **options)
        wall = time.perf_counter() - start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CurveFitWarning)
            diag = fit.diagnostics()
        rates = fit.transfer_matrix()
        true = np.array([truth["transfer"][truth["tasks"].index(t), truth["tasks"].index(s)]
                         for s, t in zip(rates["source"], rates["target"])])
        covered = (rates["hdi_low"] <= true) & (true <= rates["hdi_high"])
        rows.append({"method": method, "wall_s": wall, "min_ess_bulk": diag.min_ess_bulk,
                     "ess_per_s": diag.min_ess_bulk / wall, "max_rhat": diag.max_rhat,
                     "divergences": diag.n_divergent,
                     "transfer_rmse": float(np.sqrt(np.mean((rates["mean"] - true) ** 2))),
                     "transfer_coverage90": float(covered.mean())})
        print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def extrapolation(results: pd.DataFrame, *, structures, method: str, options: dict,
                  metric: str = "auroc") -> pd.DataFrame:
    """Per task k: fit on runs with every n_k <= max(n_k)/4; predict single-task runs at max(n_k)."""
    table = results[results["metric"] == metric]
    columns = task_size_columns(table)
    sizes = table[columns]
    largest = sizes.max(axis=0)
    train = table[(sizes <= largest / 4).all(axis=1)]
    own = sizes.to_numpy()[np.arange(len(table)), [columns.index(f"n_{t}") for t in table["task"]]]
    at_max = own == largest[[f"n_{t}" for t in table["task"]]].to_numpy()
    alone = (sizes > 0).sum(axis=1).to_numpy() == 1
    test = table[at_max & alone].dropna(subset=["value"])
    truth = test.groupby("task")["value"].mean()
    rows = []
    for structure in structures:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_curves(train, transfer=structure, method=method, seed=0, **options)
        query = test.drop_duplicates("task")[["task", *task_size_columns(test), "n_test",
                                              "n_test_pos"]]
        pred = fit.predict(query).set_index("task")
        inside = [(pred.loc[t, "pred_low"] <= v <= pred.loc[t, "pred_high"])
                  for t, v in zip(test["task"], test["value"])]
        error = pred.loc[truth.index, "mean"] - truth
        rows.append({"structure": structure, "method": method, "n_train_rows": len(train),
                     "n_test_rows": len(test),
                     "mae": float(error.abs().mean()), "bias": float(error.mean()),
                     "coverage90": float(np.mean(inside)),
                     "wall_s": time.perf_counter() - start})
        print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["joint", "extrapolate", "all"], default="all")
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--num-warmup", type=int, default=300)
    parser.add_argument("--num-samples", type=int, default=300)
    parser.add_argument("--num-chains", type=int, default=2)
    parser.add_argument("--svi-steps", type=int, default=3000)
    parser.add_argument("--results", help="sweep results.parquet for the extrapolation part")
    parser.add_argument("--structures", default="none,contextual,joint")
    parser.add_argument("--method", default="svi", choices=["svi", "nuts"])
    args = parser.parse_args()
    if args.part in ("joint", "all"):
        print(bench_joint(args.tasks, num_warmup=args.num_warmup, num_samples=args.num_samples,
                          num_chains=args.num_chains, svi_steps=args.svi_steps)
              .round(3).to_string(index=False))
    if args.part in ("extrapolate", "all"):
        if args.results:
            results = pd.read_parquet(args.results)
        else:
            results, _ = simulate_results(n_tasks=4, structure="pairwise", seed=3,
                                          sizes=(16, 32, 64, 128, 256, 512, 1024),
                                          source_sizes=(64, 256), seeds=(0, 1, 2))
        options = (dict(svi_steps=args.svi_steps, num_samples=400, guide="mvn")
                   if args.method == "svi" else
                   dict(num_warmup=args.num_warmup, num_samples=args.num_samples,
                        num_chains=args.num_chains))
        print(extrapolation(results, structures=args.structures.split(","), method=args.method,
                            options=options).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
