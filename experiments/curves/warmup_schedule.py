"""Warm-up windows and the SVI start against warm-up's leapfrog steps, on the 5-task benchmark.

Usage::

    python experiments/curves/warmup_schedule.py [--seeds 0 1 2]
    python experiments/curves/warmup_schedule.py --seeds 0 1 2 3 4 --no-svi \
        --variants "" dense_metric=spanned dense_metric=spanned,adapt_init_buffer=25

For each seed: the final loss of the 500-step SVI that starts NUTS from each
``FitConfig.init_strategy``; then the library's fit with one chain (so that numpyro can
collect its warm-up, :func:`step_cost.warmup_profile`) for each variant of
``adapt_window`` / ``init_strategy`` / ``num_warmup``: warm-up leapfrog steps, mean steps per
iteration in each adaptation window (:func:`lcurve.curves._inference.adaptation_schedule`),
the draws' steps (RESULTS.md M; ESS from `bench_nuts.py`'s four-chain fits). ``--variants``
(FitConfig settings, each ``FIELD=VALUE[,FIELD=VALUE]``, ``""`` the library's defaults)
replaces the built-in list; ``--no-svi`` skips the SVI losses (RESULTS.md T1).
"""

from __future__ import annotations

import argparse

import jax

from bench_nuts import planted_table
from lcurve.curves import CurveFit, FitConfig, _inference
from lfo import parse_options
from step_cost import warmup_profile

VARIANTS = ({}, dict(init_strategy="median"),
            dict(init_strategy="median", adapt_window=100),
            dict(init_strategy="median", adapt_window=100, num_warmup=500))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", metavar="FIELD=VALUE[,...]",
                        help="FitConfig settings per variant (default: the built-in list)")
    parser.add_argument("--no-svi", action="store_true", help="skip the SVI start's losses")
    args = parser.parse_args()
    variants = VARIANTS if args.variants is None else [
        parse_options([item for item in v.split(",") if item]) for v in args.variants]
    table, _ = planted_table()
    fit = CurveFit(table)
    fit._prepared()
    model, kwargs = fit.model(), fit.model_args(fit._data)
    for seed in args.seeds:
        init_key = jax.random.split(jax.random.PRNGKey(seed), 3)[0]  # run_nuts's SVI key
        for start in () if args.no_svi else _inference.INIT_STRATEGIES:
            *_, losses = _inference.run_svi(model, kwargs, model_key=fit._model_key(),
                                            guide="normal", steps=500, learning_rate=0.02,
                                            key=init_key, init_strategy=start)
            print(f"seed {seed}: SVI from init_strategy={start!r}, mean loss of steps "
                  f"450-500: {losses[-50:].mean():.4g}", flush=True)
        for variant in variants:
            warm, _, draws = warmup_profile(table, seed=seed, **variant)
            config = FitConfig(**variant)
            schedule = _inference.adaptation_schedule(config.num_warmup, config.adapt_window,
                                                      config.adapt_init_buffer)
            windows = " / ".join(f"{warm[w.start:w.end + 1].mean():.0f}" for w in schedule)
            # the profiled fit is not returned: ESS from a refit would be another chain, so
            # ESS comes from bench_nuts.py's four-chain fits (RESULTS.md M)
            label = ", ".join(f"{k}={v}" for k, v in variant.items()) or "library defaults"
            print(f"seed {seed}, {label}: warm-up {warm.sum()} leapfrog steps (per iteration "
                  f"by window {windows}), draws {draws.sum()}, in all "
                  f"{warm.sum() + draws.sum()}", flush=True)


if __name__ == "__main__":
    main()
