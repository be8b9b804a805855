"""Cost of one evaluation of a model's potential and gradient (what every leapfrog step pays),
for the 5-task benchmark table (``bench_nuts.planted_table``).

Each variant's ``value_and_grad`` runs ``--steps`` times in one compiled loop (no dispatch
between evaluations); the rounds alternate between the variants (a side-by-side comparison on
a shared machine) and the minimum over rounds is printed, in microseconds per evaluation.

Usage::

    python experiments/curves/gradient_cost.py
    python experiments/curves/gradient_cost.py --variants points=row points=shared \\
        transfer=none --rounds 7

A variant is ``FIELD=VALUE[,...]`` of FitConfig settings, plus ``points=row`` (the curve
evaluated once per run) or ``points=shared`` (once per distinct design point, the default).
"""

from __future__ import annotations

import argparse
import time
import warnings

import jax
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro.infer.util import initialize_model

from bench_nuts import planted_table
from lcurve.curves import fit as curve_fit
from lfo import parse_options


def compiled_loop(table, steps: int, share_points: bool, options: dict):
    """``(loop, start)``: ``loop(start)`` evaluates the potential's value and gradient
    ``steps`` times, each at a point moved by the last gradient (so none is hoisted)."""
    curve_fit.SHARE_DESIGN_POINTS = share_points
    try:
        fit = curve_fit.CurveFit(table, curve_fit.FitConfig(**options))
        fit._prepared()
        kwargs = fit.model_args(fit._data)
    finally:
        curve_fit.SHARE_DESIGN_POINTS = True
    info = initialize_model(jax.random.PRNGKey(0), fit.model(), model_kwargs=kwargs)
    start, unravel = ravel_pytree(info.param_info.z)

    def body(_, x):
        _, grad = jax.value_and_grad(lambda flat: info.potential_fn(unravel(flat)))(x)
        return x - 1e-6 * grad

    return jax.jit(lambda x: jax.lax.fori_loop(0, steps, body, x)), start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["points=row", "points=shared"],
                        metavar="FIELD=VALUE[,...]")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    table, _ = planted_table()
    loops = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for variant in args.variants:
            items = [item for item in variant.split(",") if item]
            options = {"transfer": "pairwise",
                       **parse_options([i for i in items if not i.startswith("points=")])}
            loop, start = compiled_loop(table, args.steps, "points=row" not in items, options)
            jax.block_until_ready(loop(start))  # compile
            loops[variant] = (loop, start)
    times = {variant: [] for variant in loops}
    for _ in range(args.rounds):
        for variant, (loop, start) in loops.items():
            began = time.perf_counter()
            jax.block_until_ready(loop(start))
            times[variant].append((time.perf_counter() - began) / args.steps * 1e6)
    for variant, values in times.items():
        print(f"{variant or 'defaults'}: {min(values):.1f} us per value and gradient "
              f"(median {np.median(values):.1f}, {len(values)} rounds of {args.steps})")


if __name__ == "__main__":
    main()
