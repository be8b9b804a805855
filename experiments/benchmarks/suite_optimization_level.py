"""What compiling the test suite with XLA's optimisation mostly off (tests/conftest.py) saves,
and what it changes in the numbers.

* ``--check``: one toy sweep (3 synthetic tasks, 13 pair and single runs), one SVI fit and one
  NUTS fit of a simulated 3-task table, each in a fresh process with
  ``JAX_DISABLE_MOST_OPTIMIZATIONS`` 0 (users' build) and 1 (the suite's); prints, output by
  output, whether the two are bit-identical and their largest absolute difference.
* otherwise: runs ``pytest -n 2 -q`` on ``--tests`` (default: the whole suite), once per
  setting in the order given (``full``: ``LCURVE_TEST_OPTIMIZE=1``; ``cheap``: the suite's
  default), and prints each wall time and the ratio. Run it alone: the host's speed moves with
  its load, so compare ratios of one call, and run it again in the other order.

    python experiments/benchmarks/suite_optimization_level.py --check
    python experiments/benchmarks/suite_optimization_level.py [--order full cheap] [--tests ...]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _suite import ROOT, time_suite


def probe(out: str) -> None:
    """The toy sweep's scores and two fits' posterior draws, saved to ``out`` (.npz)."""
    import warnings

    import lcurve
    from lcurve.config import TrainConfig
    from lcurve.curves import fit_curves
    from lcurve.curves.simulate import simulate_results
    from lcurve.datasets import make_synthetic

    warnings.simplefilter("ignore")
    data, _ = make_synthetic(n_tasks=3, n_compounds=400, n_features=16, seed=1)
    design = lcurve.make_design(data, kind="pairs", seeds=[0], min_size=32, max_size=128,
                                points_per_doubling=1, aux_sizes=[64])
    results = lcurve.run_sweep(data, design, TrainConfig(hidden=(8,), steps=40, batch_size=32,
                                                         chunk_size=8), progress=False)
    table, _ = simulate_results(n_tasks=3, seed=0, sizes=(16, 64, 256), source_sizes=(64,),
                                seeds=(0, 1))
    fits = {"svi": fit_curves(table, family="exp3", method="svi", svi_steps=200,
                              num_samples=50),
            "nuts": fit_curves(table, family="exp3", method="nuts", num_warmup=60,
                               num_samples=40, num_chains=1)}
    arrays = {"sweep:value": results["value"].to_numpy()}
    for name, fit in fits.items():
        posterior = fit.idata.posterior
        arrays |= {f"{name}:{v}": np.asarray(posterior[v]) for v in posterior.data_vars}
    np.savez(out, **arrays)


def check() -> None:
    outputs = {}
    with tempfile.TemporaryDirectory() as folder:
        for flag in ("0", "1"):
            out = str(Path(folder) / f"o{flag}.npz")
            env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
            subprocess.run([sys.executable, __file__, "--probe", out], cwd=ROOT, check=True,
                           env={**env, "JAX_DISABLE_MOST_OPTIMIZATIONS": flag})
            outputs[flag] = dict(np.load(out))
    full, cheap = outputs["0"], outputs["1"]
    same = 0
    for name in full:
        a, b = full[name], cheap[name]
        equal = np.array_equal(a, b, equal_nan=True)
        same += equal
        diff = 0.0 if equal else float(np.nanmax(np.abs(a - b)))
        print(f"{name:28s} {a.size:6d} values  {'bit-identical' if equal else 'differ'}"
              f"{'' if equal else f'  max |diff| {diff:.2e}'}")
    print(f"{same} of {len(full)} outputs bit-identical")


def run(setting: str, tests: list[str]) -> float:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LCURVE_TEST_OPTIMIZE", "JAX_DISABLE_MOST_OPTIMIZATIONS")}
    if setting == "full":
        env["LCURVE_TEST_OPTIMIZE"] = "1"
    return time_suite(setting, tests, env)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare a sweep's and two fits' numbers under both settings")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # one setting's run of --check
    parser.add_argument("--order", nargs="+", default=["full", "cheap"],
                        choices=["full", "cheap"])
    parser.add_argument("--tests", nargs="+", default=["tests"])
    args = parser.parse_args(argv)
    if args.probe:
        return probe(args.probe)
    if args.check:
        return check()
    times = {setting: run(setting, args.tests) for setting in args.order}
    if len(times) == 2:
        print(f"ratio cheap / full: {times['cheap'] / times['full']:.2f}")


if __name__ == "__main__":
    main()
