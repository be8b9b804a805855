"""Where a NUTS fit of the 5-task benchmark spends its sampling time: the model's gradient
against NUTS's own work per leapfrog step (one chain, compiled, on this CPU).

Usage::

    python experiments/curves/step_cost.py [--repeat 3]

Prints, for the benchmark's planted pairs table (``bench_nuts.planted_table``, the library's
default model):

- the potential's value and gradient, evaluated ``--evals`` times inside one compiled loop
  (no dispatch), in microseconds per evaluation;
- one NUTS chain run as numpyro runs it (dense mass matrix over all latent sites, 1000
  warm-up steps and 1000 draws, the loop compiled once and then timed), in microseconds per
  leapfrog step over warm-up and sampling;
- the same chain on a standard normal of the same dimension (a potential that costs nearly
  nothing): NUTS's own work per step, and per draw;
- the library's default fit (one chain, so its warm-up can be recorded), at each
  ``--warmup-depths`` value of ``FitConfig.warmup_tree_depth``: leapfrog steps and step size
  per adaptation window of warm-up (numpyro's windows for 1000 warm-up iterations), against
  the steps of the 1000 draws.

Four chains on a 2-core CPU are compute bound (``bench_nuts.py``: a compiled refit is about
four chains' steps times the cost per step, over two cores), so these numbers bound what a
fit of this size can take on this machine.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro.infer import MCMC, NUTS
from numpyro.infer.util import initialize_model

from bench_nuts import planted_table
from lcurve.curves import CurveFit, _inference, fit_curves

#: numpyro's adaptation windows for 1000 warm-up iterations (Stan's: 75 fast, slow windows of
#: 25, 50, 100, 200, 500, then 50 fast)
WINDOWS = (0, 75, 100, 150, 250, 450, 950, 1000)


def gradient_cost(potential, z, evals: int) -> float:
    """Seconds per value-and-gradient of ``potential`` at ``z``, inside one compiled loop."""
    def loop(z):
        def body(_, carry):
            value, grad = jax.value_and_grad(potential)(
                jax.tree.map(lambda a: a + 1e-6 * carry, z))
            return carry + 1e-9 * (value + sum(jnp.sum(g) for g in jax.tree.leaves(grad)))
        return jax.lax.fori_loop(0, evals, body, 0.0)

    compiled = jax.jit(loop)
    jax.block_until_ready(compiled(z))
    start = time.perf_counter()
    jax.block_until_ready(compiled(z))
    return (time.perf_counter() - start) / evals


def warmup_then_draws(mcmc, key, init_params, kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Leapfrog steps of each warm-up iteration and of each draw of one chain: numpyro's
    ``warmup(collect_warmup=True)``, then ``run`` from where warm-up ended."""
    mcmc.warmup(key, init_params=init_params, collect_warmup=True,
                extra_fields=("num_steps",), **kwargs)
    warm = np.asarray(mcmc.get_extra_fields()["num_steps"])
    mcmc.run(mcmc.post_warmup_state.rng_key, extra_fields=("num_steps",), **kwargs)
    return warm, np.asarray(mcmc.get_extra_fields()["num_steps"])


def nuts_cost(potential, z, repeat: int) -> list[tuple[float, float, float]]:
    """``(seconds, leapfrog steps, draws)`` of each compiled run of one NUTS chain (warm-up
    1000, draws 1000), the first run (compilation) dropped."""
    names = tuple(sorted(z))
    kernel = NUTS(potential_fn=potential, dense_mass=[names], target_accept_prob=0.9,
                  max_tree_depth=8)
    mcmc = MCMC(kernel, num_warmup=1000, num_samples=1000, progress_bar=False)
    runs = []
    for rep in range(repeat + 1):
        start = time.perf_counter()
        with _inference._reused_jit_wrappers():  # compile the loop once, as the library does
            warm, draws = warmup_then_draws(mcmc, jax.random.PRNGKey(rep), z, {})
            steps = warm.sum() + draws.sum()
        if rep:
            runs.append((time.perf_counter() - start, float(steps), 2000.0))
    return runs


def warmup_profile(table, **options):
    """``(warm-up steps, step sizes, draws' steps)`` per iteration of the library's default
    fit of ``table`` with one chain: ``MCMC.run`` is replaced, for this fit only, by numpyro's
    ``warmup(collect_warmup=True)`` then ``run`` from its end (the same chain)."""
    record = {}
    run = MCMC.run

    def recorded(self, key, *args, init_params=None, extra_fields=(), **kwargs):
        MCMC.run = run  # numpyro's warmup calls run
        self.warmup(key, *args, init_params=init_params, collect_warmup=True,
                    extra_fields=("num_steps", "adapt_state.step_size"), **kwargs)
        fields = self.get_extra_fields()
        record["steps"] = np.asarray(fields["num_steps"])
        record["step_size"] = np.asarray(fields["adapt_state.step_size"])
        return run(self, self.post_warmup_state.rng_key, *args, extra_fields=extra_fields,
                   **kwargs)

    MCMC.run = recorded
    try:
        fit = fit_curves(table, num_chains=1, **options)
    finally:
        MCMC.run = run
    return record["steps"], record["step_size"], fit.idata.sample_stats["n_steps"].values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--evals", type=int, default=2000)
    parser.add_argument("--warmup-depths", nargs="*", type=int, default=[8, 5])
    args = parser.parse_args()
    table, _ = planted_table()
    fit = CurveFit(table)
    fit._prepared()
    model, kwargs = fit.model(), fit.model_args(fit._data)
    info = initialize_model(jax.random.PRNGKey(0), model, model_kwargs=kwargs)
    z = info.param_info.z
    dim = ravel_pytree(z)[0].size
    print(f"5-task benchmark table: {len(table)} rows, {dim} latent dimensions "
          f"({len(z)} sites)")
    for rep in range(args.repeat):
        print(f"model gradient in a compiled loop: "
              f"{gradient_cost(info.potential_fn, z, args.evals) * 1e6:.1f} us per evaluation")
    for label, potential, start in (
            ("model", info.potential_fn, z),
            ("standard normal, same sites", lambda p: 0.5 * sum(jnp.sum(v**2) for v in
                                                                 jax.tree.leaves(p)), z)):
        for seconds, steps, draws in nuts_cost(potential, start, args.repeat):
            print(f"NUTS, one chain, {label}: {seconds:.2f} s, {steps:.0f} leapfrog steps "
                  f"({steps / draws:.1f} per iteration): {seconds / steps * 1e6:.1f} us per "
                  f"step, {seconds / draws * 1e6:.0f} us per iteration")
    for depth in args.warmup_depths:
        for seed in range(args.repeat):
            steps, step_size, draws = warmup_profile(table, warmup_tree_depth=depth, seed=seed)
            windows = ", ".join(
                f"{a}-{b}: {steps[a:b].mean():.0f} (eps {np.median(step_size[a:b]):.3f})"
                for a, b in zip(WINDOWS[:-1], WINDOWS[1:]))
            print(f"library fit, one chain, warmup_tree_depth={depth}, seed {seed}: warm-up "
                  f"{steps.sum()} leapfrog steps, draws {draws.sum()}; mean steps per "
                  f"iteration by window: {windows}")


if __name__ == "__main__":
    main()
