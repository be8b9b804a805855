"""Checks behind `none`'s SBC failure of ``noise_sd`` and ``subsample_sd`` (RESULTS.md T2).

Usage::

    python experiments/curves/sbc_none_check.py [--rep 12] [--sims 40000] [--tables 100]
        [--ess-reps 12 13 20 5 6]

1. *Is the simulator the fitted model, and the likelihood its density?* For SBC replicate ``--rep`` (its design and truth as
   ``sbc.py`` draws them, with ``test_noise="curve"`` so that the test-set variance is the
   generative one), ``--sims`` score vectors at the true parameters with the nested-design
   effects redrawn: their logit mean and covariance against what
   :class:`~lcurve.curves.likelihood.NestedLogitNormal` integrates over (its ``loc``,
   ``var``, subsample and trajectory blocks), and ``NestedLogitNormal.log_prob`` of the true
   scores against that dense normal's density (with the logit's Jacobian).
2. *Are the true scores normal under the model?* Over ``--tables`` SBC tables, each true
   score's standardised residual (logit score minus ``loc``, over its marginal sd): KS test
   against N(0, 1), kurtosis.
3. *Do the chains mix?* Bulk ESS of ``noise_sd`` and ``subsample_sd`` in SBC's own fit (one
   chain, 150 + 198) and in a longer one (600 + 396) of replicates ``--ess-reps``.
"""

from __future__ import annotations

import argparse
import warnings

import arviz as az
import jax
import numpy as np
from numpyro import handlers
from scipy import stats

from lcurve.curves import CurveFit
from lcurve.curves.likelihood import logit_score
from sbc import FIT, draw_truth

EFFECTS = ("subsample_z", "trajectory_z")
DERIVED = ("score", "expected_score", "test_set_score")


def replicate(rep: int, **options):
    """SBC replicate ``rep`` of ``none`` (:func:`sbc.draw_truth`): (its table, the fit object,
    the model, the true draws)."""
    table, fit, truth = draw_truth("none", rep, **options)
    return table, fit, fit.model(), truth


def likelihood_at_truth(fit, model, truth):
    """The fitted model's ``NestedLogitNormal`` at the true parameters and true scores."""
    latent = {k: v[0] for k, v in truth.items() if k not in EFFECTS + DERIVED}
    kwargs = fit.model_args(fit._data, observed=True)
    kwargs["value"] = truth["score"][0]
    trace = handlers.trace(handlers.seed(handlers.condition(model, data=latent), 0)).get_trace(
        **kwargs)
    return trace["score"]["fn"], latent


def simulator_check(rep: int, sims: int) -> None:
    _, fit, model, truth = replicate(rep, test_noise="curve")
    fn, latent = likelihood_at_truth(fit, model, truth)
    kwargs = fit.model_args(fit._data, observed=False, groups=True)
    conditioned = handlers.condition(model, data=latent)

    def one(key):
        return handlers.trace(handlers.seed(conditioned, key)).get_trace(**kwargs)[
            "score"]["value"]

    scores = jax.jit(jax.vmap(one))(jax.random.split(jax.random.PRNGKey(1), sims))
    z = np.asarray(logit_score(scores)[0], np.float64)
    loc, var = np.asarray(fn.loc), np.asarray(fn.var)
    sub = np.broadcast_to(np.asarray(fn.sub_sd), loc.shape)
    sub_group, traj_group = np.asarray(fn.subsample), np.asarray(fn.trajectory)
    cov = (np.diag(var) + (sub_group[:, None] == sub_group[None, :]) * np.outer(sub, sub)
           + (traj_group[:, None] == traj_group[None, :]) * float(fn.traj_sd) ** 2)
    empirical = np.cov(z.T)
    off = ~np.eye(len(loc), dtype=bool)
    observed, log_jac = logit_score(truth["score"][0])
    dense = (stats.multivariate_normal(loc, cov).logpdf(np.asarray(observed, np.float64))
             + float(np.sum(log_jac)))
    print(f"replicate {rep}: true noise_sd {np.round(np.asarray(latent['noise_sd']), 3)}, "
          f"subsample_sd {float(latent['subsample_sd']):.3f}; {sims} simulated score vectors: "
          f"max |mean - loc| / sd {np.max(np.abs(z.mean(0) - loc) / np.sqrt(np.diag(empirical))):.3f}, "
          f"variance ratios {np.round(np.diag(empirical) / np.diag(cov), 3).tolist()}, "
          f"max |off-diagonal difference| {np.max(np.abs(empirical - cov)[off]):.4f} "
          f"(largest off-diagonal {np.max(np.abs(cov[off])):.4f}); log-density of the true "
          f"scores {float(fn.log_prob(truth['score'][0])):.5f}, dense normal {dense:.5f}",
          flush=True)


def residual_check(tables: int) -> None:
    residuals = []
    for rep in range(tables):
        _, fit, model, truth = replicate(rep, test_noise="curve")
        fn, _ = likelihood_at_truth(fit, model, truth)
        z = np.asarray(logit_score(truth["score"][0])[0], float)
        sd = np.sqrt(np.asarray(fn.var) + np.broadcast_to(np.asarray(fn.sub_sd), z.shape) ** 2
                     + float(fn.traj_sd) ** 2)
        residuals.append((z - np.asarray(fn.loc)) / sd)
    r = np.concatenate(residuals)
    print(f"{tables} tables, {r.size} true scores: standardised residuals mean {r.mean():.3f}, "
          f"sd {r.std():.3f}, |r| > 3 {np.mean(np.abs(r) > 3):.4f} (normal "
          f"{2 * stats.norm.sf(3):.4f}), KS p {stats.kstest(r, 'norm').pvalue:.3f}, excess "
          f"kurtosis {stats.kurtosis(r):.3f}", flush=True)


def ess_check(reps) -> None:
    for rep in reps:
        table, fit, _, truth = replicate(rep)
        simulated = table.copy()
        simulated["value"] = np.asarray(truth["score"][0])
        for options in ({}, dict(num_warmup=600, num_samples=396)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = CurveFit(simulated, transfer="none", seed=rep,
                                  **{**FIT, **options}).fit()
            post = fitted.idata.posterior
            ess = {name: float(np.min(az.ess(post[[name]])[name].values))
                   for name in ("noise_sd", "subsample_sd", "trajectory_sd")}
            print(f"replicate {rep}, {post.sizes['draw']} draws: min bulk ESS "
                  + ", ".join(f"{k} {v:.0f}" for k, v in ess.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rep", type=int, default=12)
    parser.add_argument("--sims", type=int, default=40000)
    parser.add_argument("--tables", type=int, default=100)
    parser.add_argument("--ess-reps", nargs="*", type=int, default=[12, 13, 20, 5, 6])
    args = parser.parse_args()
    simulator_check(args.rep, args.sims)
    if args.tables > 0:
        residual_check(args.tables)
    ess_check(args.ess_reps)


if __name__ == "__main__":
    main()
