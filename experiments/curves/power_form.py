"""Power-law families written ``exp(e log b)`` against ``b ** e``: the same curve, the cost.

Usage::

    python experiments/curves/power_form.py [--repeat 2] [--evals 2000]

The library's power families (``pow4``, ``pow3``, ``exp4``, ``mmf``, ``weibull``) compute
``base ** exponent`` with ``**`` (XLA's ``pow`` with a traced exponent). This script compares
that with ``exp(exponent * log(base))`` (every base is positive and every exponent non-zero,
so the same function) for the default family ``pow4`` on the benchmark's planted pairs table
(``bench_nuts.planted_table``). The exp-log form was the default for one commit (797ca2c) and
was reverted: faster, but on the demo's design it diverged more (RESULTS.md N1). It prints:

1. the largest difference of the two curves (in score units; float32) over sizes 1..10^6
   and 2,000 prior draws of the parameters (are they the same function?);
2. the potential's value and gradient per evaluation inside one compiled loop, both forms
   in this process, alternating, ``--repeat`` times (``step_cost.gradient_cost``);
3. default NUTS fits (``fit_curves``, 4 chains in parallel as ``lcurve fit`` runs them),
   each form in its own fresh process, alternating: the first fit (compilation included)
   and a refit of the same table (compiled).
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lcurve.curves import FAMILIES, CurveFit, register_family


def _pow4_exp_log(x, p):
    return p["c"] - jnp.exp(-p["alpha"] * jnp.log(p["a"] * x + p["b"]))


def with_exp_log() -> None:
    """Register ``pow4`` computed as ``exp(e log b)`` in place of the library's (this
    process)."""
    register_family(dataclasses.replace(FAMILIES["pow4"], fn=_pow4_exp_log))


def largest_difference(draws: int = 2000) -> float:
    """Largest absolute difference of the two forms over sizes and prior draws."""
    family = FAMILIES["pow4"]
    rng = np.random.default_rng(0)
    x = np.geomspace(1e-3, 1e3, 61)[:, None]  # 1 to 10^6 samples, in thousands
    params = {p.name: family.constrain(p.name, rng.normal(p.loc, p.scale, draws))
              for p in family.params}
    ours, theirs = family(x, params), _pow4_exp_log(x, params)
    return float(jnp.max(jnp.abs(ours - theirs)))


def gradient_costs(repeat: int, evals: int) -> list[tuple[float, float]]:
    """``(exp-log, library's **)`` microseconds per value-and-gradient of the benchmark's
    potential."""
    from numpyro.infer.util import initialize_model

    from bench_nuts import planted_table
    from step_cost import gradient_cost

    table, _ = planted_table()
    library = FAMILIES["pow4"]
    potentials = []
    for form in ("exp-log", "pow"):
        if form == "exp-log":
            with_exp_log()
        fit = CurveFit(table)
        fit._prepared()
        info = initialize_model(jax.random.PRNGKey(0), fit.model(),
                                model_kwargs=fit.model_args(fit._data))
        potentials.append((info.potential_fn, info.param_info.z))
        register_family(library)
    return [tuple(1e6 * gradient_cost(potential, z, evals) for potential, z in potentials)
            for _ in range(repeat)]


def fit_twice(form: str) -> None:
    """In this (fresh) process: two default fits of the benchmark table; print their times."""
    from bench_nuts import planted_table
    from lcurve.curves import fit_curves, request_cpu_devices

    request_cpu_devices(4)
    if form == "exp-log":
        with_exp_log()
    table, _ = planted_table()
    times = []
    for rep in range(2):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_curves(table, seed=rep)
        times.append(time.perf_counter() - start)
    steps = float(fit.idata.sample_stats["n_steps"].mean())
    print(f"{form} {times[0]:.1f} {times[1]:.1f} {fit.diagnostics().max_rhat:.3f} {steps:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--evals", type=int, default=2000)
    parser.add_argument("--fit", choices=["exp-log", "pow"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit:
        fit_twice(args.fit)
        return
    print(f"largest difference of the two pow4 forms (score units): "
          f"{largest_difference():.1e}")
    for exp_log, pow_ in gradient_costs(args.repeat, args.evals):
        print(f"value and gradient: exp-log {exp_log:.1f} us, ** {pow_:.1f} us "
              f"(ratio {exp_log / pow_:.2f})", flush=True)
    print("fresh process per fit: form, first fit s, refit s, max R-hat, leapfrog steps/draw")
    for _ in range(args.repeat):
        for form in ("exp-log", "pow"):
            out = subprocess.run([sys.executable, __file__, "--fit", form], check=True,
                                 capture_output=True, text=True).stdout
            print(out.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
