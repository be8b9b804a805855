"""Does a better initial metric shorten NUTS's warm-up? The library starts each chain's metric
at the mean-field SVI guide's variances; here the alternative is the inverse Hessian of the
potential at the guide's mean (a Laplace approximation, dense), on the 5-task benchmark.

Usage::

    python experiments/curves/warmup_metric.py [--seeds 0 1]

For each seed and initial metric (``guide``: the library's; ``laplace``: the inverse Hessian,
its eigenvalues floored at 1e-4 of the largest so it is positive definite; ``posterior``: the
covariance of 2,000 draws of a chain from the library's start, printed with each site's
posterior sd over the guide's, and also run as a fixed metric after 200 step-size-only
warm-up iterations), one chain with the
library's settings otherwise (start at the guide's mean plus its jitter, dense block over all
latent sites, 1000 warm-up iterations, 1000 draws, tree depth 8) prints the warm-up's leapfrog
steps per adaptation window (:data:`step_cost.WINDOWS`), the draws' steps and the chain's
bulk ESS of the transfer rates. A lead for the library's warm-up (RESULTS.md section L), not a
library feature.
"""

from __future__ import annotations

import argparse

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import numpyro.infer.hmc_util as hmc_util
from jax.flatten_util import ravel_pytree
from numpyro.infer import MCMC, NUTS
from numpyro.infer.util import potential_energy, unconstrain_fn

from bench_nuts import planted_table
from lcurve.curves import CurveFit, _inference
from step_cost import WINDOWS, warmup_then_draws


def guide_start(model, kwargs, model_key, seed: int):
    """The library's SVI start: per-site unconstrained means and scales."""
    _, params, _ = _inference.run_svi(model, kwargs, model_key=model_key, guide="normal",
                                      steps=500, learning_rate=0.02,
                                      key=jax.random.PRNGKey(seed))
    return _inference._guide_moments(params)


def laplace_inverse(model, kwargs, locs):
    """Inverse Hessian of the potential at ``locs`` (flattened in ``ravel_pytree`` order),
    eigenvalues floored at 1e-4 of the largest."""
    flat, unravel = ravel_pytree(locs)
    hessian = jax.hessian(lambda x: potential_energy(model, (), kwargs, unravel(x)))(flat)
    values, vectors = jnp.linalg.eigh(0.5 * (hessian + hessian.T))
    inverse = 1.0 / jnp.maximum(values, 1e-4 * values.max())
    return (vectors * inverse) @ vectors.T, unravel


def _towards_diagonal(welford):
    """numpyro's Welford covariance whose dense estimate is shrunk towards its own diagonal,
    ``n/(n+5) cov + 5/(n+5) diag(cov)`` (plus Stan's ``1e-3 * 5/(n+5)``), instead of towards
    ``1e-3 I`` (Stan's regularisation, numpyro's ``final_fn``)."""
    def make(diagonal=False):
        init_fn, update_fn, final_fn = welford(diagonal=diagonal)

        def final(state, regularize=False):
            if isinstance(state, dict):
                out = {block: final(part, regularize) for block, part in state.items()}
                return tuple({block: o[i] for block, o in out.items()} for i in range(3))
            if diagonal or not regularize:
                return final_fn(state, regularize)
            mean, m2, n = state
            cov = m2 / (n - 1)
            cov = (n / (n + 5)) * cov + (5 / (n + 5)) * (jnp.diag(jnp.diag(cov))
                                                         + 1e-3 * jnp.identity(cov.shape[0]))
            # factored as numpyro's final_fn factors it (not through final_fn: rescaling
            # the estimate by n - 1 and back changes its last bits, and so the chain)
            tril_inv = jnp.swapaxes(
                jnp.linalg.cholesky(cov[..., ::-1, ::-1])[..., ::-1, ::-1], -2, -1)
            cov_inv_sqrt = jax.scipy.linalg.solve_triangular(
                tril_inv, jnp.identity(cov.shape[-1]), lower=True)
            return cov, cov_inv_sqrt, tril_inv

        return init_fn, update_fn, final
    return make


def run_chain(model, kwargs, start, inverse_mass, block, seed: int, *, num_warmup=1000,
              num_samples=1000, adapt_mass_matrix=True, mcmc_out=None):
    kernel = NUTS(model, dense_mass=[block], inverse_mass_matrix={block: inverse_mass},
                  target_accept_prob=0.9, max_tree_depth=8,
                  adapt_mass_matrix=adapt_mass_matrix)
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples, progress_bar=False)
    if mcmc_out is not None:
        mcmc_out.append(mcmc)
    warm, draws = warmup_then_draws(mcmc, jax.random.PRNGKey(seed), start, kwargs)
    rates = np.asarray(mcmc.get_samples()["transfer_z"])[None]
    ess = float(az.ess(az.convert_to_dataset({"r": rates}))["r"].min())
    return warm, draws, ess


def posterior_covariance(model, kwargs, start, guide_metric, block, scales, seed: int):
    """Covariance (``ravel_pytree`` order) of 2,000 unconstrained draws of one chain from the
    library's start and metric; prints each site's posterior sd over the guide's."""
    made = []
    with _inference._reused_jit_wrappers():
        run_chain(model, kwargs, start, guide_metric, block, 1000 + seed, num_samples=2000,
                  mcmc_out=made)
    samples = made[0].get_samples()
    z = jax.vmap(lambda p: unconstrain_fn(model, (), kwargs, p))({k: samples[k] for k in block})
    for name in block:
        ratio = np.ravel(np.std(np.asarray(z[name]), 0)) / np.ravel(np.asarray(scales[name]))
        print(f"seed {seed}: {name} posterior sd / guide sd: median {np.median(ratio):.2f} "
              f"(range {ratio.min():.2f}-{ratio.max():.2f})")
    flat = jax.vmap(lambda d: ravel_pytree(d)[0])(z)
    return jnp.asarray(np.cov(np.asarray(flat).T))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--metrics", nargs="+", default=["guide", "laplace"],
                        choices=["guide", "laplace", "guide+diagonal-shrinkage", "posterior"])
    args = parser.parse_args()
    welford = hmc_util.welford_covariance
    table, _ = planted_table()
    fit = CurveFit(table)
    fit._prepared()
    model, kwargs = fit.model(), fit.model_args(fit._data)
    for seed in args.seeds:
        locs, scales = guide_start(model, kwargs, fit._model_key(), seed)
        noise = jax.random.split(jax.random.PRNGKey(100 + seed), len(locs))
        start = {name: loc + 0.5 * scales[name] * jax.random.normal(k, jnp.shape(loc))
                 for (name, loc), k in zip(locs.items(), noise)}
        block = tuple(sorted(locs))  # ravel_pytree's order
        guide_metric = jnp.diag(ravel_pytree({n: scales[n] ** 2 for n in block})[0])
        laplace, _ = laplace_inverse(model, kwargs, locs)
        metrics = {"guide": guide_metric, "laplace": laplace,
                   "guide+diagonal-shrinkage": guide_metric}
        if "posterior" in args.metrics:
            metrics["posterior"] = posterior_covariance(model, kwargs, start, guide_metric,
                                                        block, scales, seed)
        for label in args.metrics:
            metric = metrics[label]
            hmc_util.welford_covariance = (_towards_diagonal(welford)
                                           if label.endswith("shrinkage") else welford)
            with _inference._reused_jit_wrappers():
                warm, draws, ess = run_chain(model, kwargs, start, metric, block, seed)
            windows = " / ".join(f"{warm[a:b].mean():.0f}"
                                 for a, b in zip(WINDOWS[:-1], WINDOWS[1:]))
            print(f"seed {seed}, initial metric {label}: warm-up {warm.sum()} leapfrog steps "
                  f"(per iteration by window {windows}), draws {draws.sum()}, min bulk ESS "
                  f"of transfer_z {ess:.0f}", flush=True)
            if label == "posterior":
                with _inference._reused_jit_wrappers():
                    warm, draws, ess = run_chain(model, kwargs, start, metric, block, seed,
                                                 num_warmup=200, adapt_mass_matrix=False)
                print(f"seed {seed}, fixed metric posterior after 200 step-size iterations: "
                      f"warm-up {warm.sum()} leapfrog steps, draws {draws.sum()}, min bulk "
                      f"ESS of transfer_z {ess:.0f}", flush=True)


if __name__ == "__main__":
    main()
