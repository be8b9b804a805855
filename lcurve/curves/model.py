"""The NumPyro multi-task learning-curve model: hierarchical curves, transfer, nested-design
random effects and a bounded likelihood.

Generative story
----------------
Sizes are in a fixed unit, ``x = n / SIZE_UNIT`` (thousands of samples,
:data:`lcurve.curves.families.SIZE_UNIT`), never relative to the largest fitted size, so a
prior means the same whether a table's sizes stop at 256 or at 4096.

1. *Curves.* Every curve parameter is partially pooled across tasks on its unconstrained scale,
   ``theta_k = link(mu + sd * z_k)`` with ``mu ~ Normal(loc, scale)``,
   ``sd ~ HalfNormal(pool_scale)`` (``curve_pooling="learned"``) or ``sd = pool_scale``
   (``curve_pooling="fixed"``, the default: 4 or 8 tasks could not estimate a spread, and
   its funnel made NUTS diverge), ``z_k ~ Normal(0, 1)`` (non-centred; see
   :class:`lcurve.curves.families.Param` for each family's units).
2. *Transfer* (effective sample size of target ``i`` in a run with ``n_j`` samples of task j)::

       r_i = sum_{j != i} tau_ij n_j / n_i            (pairwise, joint)
       r_i = tau_i * sum_{j != i} n_j / n_i           (contextual)
       n_eff_i = n_i * (1 + r_i)  if r_i >= 0,   n_i * exp(r_i)  if r_i < 0

   ``tau_ij`` is "samples of i that one sample of j is worth". The negative branch agrees with
   ``n_i + tau n_j`` to first order and is strictly monotone, so negative transfer lowers
   ``n_eff`` without ever reaching zero and without the flat likelihood of a floor.
   Priors are on the data's scale ``tau n_j / n_i``: pairwise ``tau_ij ~ Normal(0, s)``
   (``pairwise_prior="fixed"``: ``s = transfer_scale``; ``"hierarchical"``: the spread is
   learned, ``s ~ HalfNormal(transfer_scale)``); contextual (``context_prior="data"``,
   :class:`lcurve.curves.FitConfig`'s default) on the log of the factor by which context
   multiplies the target's effective size at its reference context ratio ``R_i`` (the
   geometric mean of ``sum_{j != i} n_j / n_i`` over its fitted runs with context,
   :func:`context_reference`), ``log_gain_i = mu + sd z_i`` with ``mu ~ Normal(0,
   context_scale)`` and ``sd = context_scale`` (``context_spread="fixed"``; ``"learned"``:
   ``sd ~ HalfNormal(context_scale)``), and ``tau_i = expm1(log_gain_i) / R_i`` (a gain) or
   ``log_gain_i / R_i`` (a loss; :func:`context_rate`), so at one prior sd (0.5) a context
   is worth about two thirds of the target's own samples whether it holds 10^2 or 10^4
   labels; or
   (``context_prior="rate"``, the only prior before 2026-12-07) ``tau_i = mu + sd z_i`` with
   ``mu ~ Normal(0, s / sqrt(K-1))`` and ``sd = s / sqrt(K-1)`` (the average of K-1 pair
   rates), which on 30 MoleculeACE targets beside ~2 x 10^4 labels of context let a fit
   value the context at ~100 times the targets' own runs (``experiments/curves/RESULTS.md``
   X2, Y1, Y4); and an optional per-task asymptote shift ``Normal(0, 0.5)`` on the logit scale
   (``FitConfig.context_shift``, off by default); joint: a
   regularised horseshoe (Piironen & Vehtari 2017, eq. 2.8) with global scale
   ``HalfCauchy(global_scale)``, local ``HalfCauchy(1)``, slab ``InverseGamma(2, 2 s^2)``.
   *What is identified:* with one partner level per pair plus the single-task runs, the data
   give one shift of the curve per pair, so ``tau_ij`` is identified through the target's own
   curve (a ridge with the rate parameter when that curve is flat); with >= 2 partner levels
   (``DesignConfig.aux_sizes``) the dependence on ``n_j`` is seen directly. Likewise for
   ``contextual``: with one context level (``DesignConfig.context_fraction``) a rate moves
   every context run along the target's curve by the same effective samples and an asymptote
   shift lifts them all, so with the shift the two trade off along a ridge, and without it the
   rate is identified only by assuming no shift; the default contextual design has two levels
   (half and all of the other tasks' labels): simulated from it with a planted rate and
   shift, the fit with the shift had half the rate error of a one-level design and 90%
   coverage 0.85 against 0.78 (``experiments/curves/RESULTS.md`` W1).
3. *Nested design.* A target's nested training subsample at (seed s, size n_i) is shared by its
   single-task run and every pair/context run at that (s, n_i), and a seed's subsamples are
   nested along n. Two random effects capture this, ``u_sub[i, s, n_i] ~ Normal(0,
   subsample_sd)`` and ``u_traj[i, s] ~ Normal(0, trajectory_sd)``, so K runs that share a
   subsample are not K independent looks at the curve.
4. *Likelihood* (one observed site, ``score``). Default ``likelihood="logit"``::

       logit(score) = logit(f(x_eff)) + u_sub + u_traj + e,   e ~ Normal(0, v),
       v = noise_sd[task]^2 + v_test / (m (1 - m))^2

   a logit-normal density on (0, 1) (:class:`lcurve.curves.likelihood.LogitNormal`).
   ``v_test`` is the Hanley–McNeil (1982, eq. 2) variance of an AUROC on ``n_test_pos``
   positives and ``n_test - n_test_pos`` negatives (AUPRC: ``f(1-f)/n_test_pos``), carried to
   the logit scale by the delta method, both at ``m``, the mean observed score of the task's
   runs at that own size (``test_noise="observed"``; at the curve ``f`` the variance would
   depend on the parameters and reward a curve nearer 0.5); ``noise_sd ~ HalfNormal(0.3)``
   per task is the run-level training noise, the effects' sds are ``HalfNormal(0.15)`` (logit units; 0.05 and
   0.02 in score units at a score of 0.8); the subsample effect's sd is ``subsample_sd`` at
   100 samples and shrinks like ``1/sqrt(n_i)`` (``SUBSAMPLE_REF``): a constant sd let the
   effects trade off against the curve's shape (chains in separate modes on the MoleculeACE
   demo). For observed scores both effects are integrated out
   exactly (:class:`~lcurve.curves.likelihood.NestedLogitNormal`): the sampler sees only the
   curve, transfer and variance parameters, whatever the number of seeds and sizes, and the
   log-likelihood has one term per seed trajectory (the unit of leave-one-out).
   ``likelihood="truncnormal"``: ``Normal(f(x_eff) + u_sub + u_traj, sd)`` truncated to
   [0, 1] on the score scale (:class:`~lcurve.curves.likelihood.UnitTruncatedNormal`), the
   effects sampled non-centred (prior sds 0.05 and 0.02), log-likelihood per row.
   A task's test set is shared by all its runs. With ``test_shared=0`` (this function's
   default; :class:`lcurve.curves.FitConfig` resolves its own "auto" to 0.55 where the
   table has test-set sizes, except for ``joint``) the part of its error common to all runs
   is absorbed by the asymptote (the curve is that test set's); ``test_shared=rho`` models
   it instead: a per-task offset with variance ``rho v_test``
   shifts all the task's runs and is left out of the curve, so the curve is the score
   expected on a new test set (its posterior wider by that set's uncertainty), predictions of
   runs on the task's own test set include the offset, and each run keeps ``(1 - rho) v_test``
   of its own. ``test_offsets="integrated"`` integrates the offsets out of the likelihood
   like the nested effects (the sampler never meets the ridge between a task's asymptote and
   its offset, which no run can resolve) and draws ``test_z`` from its exact conditional
   given the other parameters. Predicting a *new* run
   (no group indices) adds ``subsample_sd^2 + trajectory_sd^2`` to the variance: a new seed
   draws new subsamples.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from lcurve.curves.families import SIZE_UNIT, CurveFamily
from lcurve.curves.likelihood import (LogitNormal, NestedLogitNormal, UnitTruncatedNormal,
                                      test_variance)

__all__ = ["UnitTruncatedNormal", "curve_model", "effective_size", "expected_score",
           "offdiag_index", "test_variance", "LIKELIHOOD_SITE", "LIKELIHOODS", "SEED_EFFECTS",
           "SIZE_UNIT", "TEST_NOISE", "TEST_OFFSETS", "PAIRWISE_PRIORS", "CURVE_POOLINGS",
           "observed_test_score", "scaled_test_variance", "run_test_variance", "test_set_shift",
           "curve_on_test_set", "design_points", "NOISE_DECAYS", "test_share_at"]

#: Name of the single observed (log-likelihood) site.
LIKELIHOOD_SITE = "score"
#: Likelihoods of :func:`curve_model`.
LIKELIHOODS = ("logit", "truncnormal")
#: Seed-trajectory effects of :func:`curve_model` (logit likelihood).
SEED_EFFECTS = ("independent", "sum_to_zero", "centred")
#: Where :func:`curve_model` evaluates an observed score's test-set variance.
TEST_NOISE = ("observed", "curve", "none")
#: How :func:`curve_model` handles the test-set offsets (``test_shared > 0``).
TEST_OFFSETS = ("sampled", "integrated")
#: What ``test_offsets="integrated"`` needs (the error message when it is missing).
INTEGRATED_NEEDS = ("test_offsets='integrated' needs the logit likelihood with the "
                    "nested-design effects (random_effects=True, runs with seeds) and "
                    "seed_effects='independent'")
#: Priors of the pairwise rates (:class:`lcurve.curves.FitConfig` resolves ``"auto"``).
PAIRWISE_PRIORS = ("auto", "hierarchical", "fixed")
#: Spread of the curve parameters across tasks (``curve_pooling``).
CURVE_POOLINGS = ("fixed", "learned")
#: Priors of the contextual rates (``context_prior``): on the log effective-size factor at
#: each task's reference context ratio (``"data"``), or on the rate itself (``"rate"``).
CONTEXT_PRIORS = ("data", "rate")
#: ``context_prior="data"``: log effective-size factors above this are clipped when turned
#: into a rate (e^30: a context worth 10^13 times the target's own samples).
MAX_LOG_GAIN = 30.0
#: Prior scales (HalfNormal) of the run noise and of the nested-design effects' sds. On the
#: logit scale they are the score-scale ones divided by m(1 - m) ~ 0.16 at a score of 0.8.
SCORE_SCALES = {"noise": 0.05, "effect": 0.02}
LOGIT_SCALES = {"noise": 0.3, "effect": 0.15}
#: Under the logit likelihood ``subsample_sd`` is the sd of a shared subsample's effect at this
#: many samples; at ``n`` samples it is ``subsample_sd * sqrt(SUBSAMPLE_REF / n)`` (which
#: samples are drawn matters less as n grows, like any sampling noise).
SUBSAMPLE_REF = 100.0
#: How the run noise ``noise_sd`` depends on a run's own size (:func:`curve_model`).
NOISE_DECAYS = ("none", "learned")
#: ``noise_decay="learned"``: prior scale (HalfNormal) of the noise's exponent ``gamma``
#: (median 0.34; 1/2 is the 1/sqrt(n) of sampling noise).
NOISE_DECAY_SCALE = 0.5
#: ``noise_decay="learned"`` scales the trajectory effects at each size, which the centred
#: effects' dense covariance does not do.
NOISE_DECAY_NEEDS = "noise_decay='learned' is not defined with seed_effects='centred'"


def observed_test_score(task, sizes, value):
    """Mean observed score of each row's (task, own size) runs: where ``test_noise="observed"``
    evaluates the test-set variance (numpy in, numpy out)."""
    task, value = np.asarray(task), np.asarray(value, float)
    own = np.asarray(sizes)[np.arange(len(task)), task]
    _, cell = np.unique(np.stack([task, own]), axis=1, return_inverse=True)
    cell = cell.reshape(-1)
    return (np.bincount(cell, value) / np.bincount(cell))[cell]


def design_points(task, sizes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The distinct design points ``(task, sizes)`` of the observations (numpy in, numpy out):
    ``(point, point_task, point_sizes)`` with ``task == point_task[point]`` and ``sizes ==
    point_sizes[point]`` (:func:`curve_model`'s arguments), or ``None`` when every observation
    is its own design point (nothing to share).

    A nested design repeats every design point once per seed, and the curve (a power, logs,
    a logit) is one of the two costliest parts of the model's gradient per observation:
    evaluated per point, a 5-task pairs table's gradient took ~0.6x the time (675 rows, 225 points;
    ``experiments/curves/RESULTS.md`` V1).

    Example
    -------
    >>> import numpy as np
    >>> point, point_task, point_sizes = design_points(np.array([0, 0, 1]),
    ...                                                np.array([[8., 0.], [8., 0.], [0., 8.]]))
    >>> point.tolist(), point_task.tolist()
    ([0, 0, 1], [0, 1])
    """
    task = np.asarray(task)
    sizes = np.asarray(sizes)
    key = np.concatenate([task[:, None].astype(sizes.dtype), sizes], axis=1)
    unique, first, point = np.unique(key, axis=0, return_index=True, return_inverse=True)
    if len(unique) == len(key):
        return None
    return (point.reshape(-1).astype(np.int32), task[first].astype(np.int32),
            sizes[first])


def offdiag_index(n_tasks: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(target, source) indices of the ``n_tasks * (n_tasks - 1)`` ordered pairs, row-major."""
    rows, cols = [], []
    for i in range(n_tasks):
        for j in range(n_tasks):
            if i != j:
                rows.append(i)
                cols.append(j)
    return jnp.array(rows, dtype=jnp.int32), jnp.array(cols, dtype=jnp.int32)


def effective_size(structure: str, params, task, sizes):
    """``n_eff`` of each observation (samples); see the module docstring.

    Example
    -------
    >>> import jax.numpy as jnp
    >>> sizes = jnp.array([[100.0, 50.0]])
    >>> float(effective_size("pairwise", {"transfer": jnp.array([[0, .5], [0, 0]])},
    ...                      jnp.array([0]), sizes)[0])
    125.0
    """
    own = jnp.maximum(jnp.take_along_axis(sizes, task[:, None], axis=1)[:, 0], 1.0)
    if structure == "none":
        return own
    if structure == "contextual":
        gain = params["transfer_context"][task] * (sizes.sum(axis=1) - own)
    else:
        gain = jnp.sum(params["transfer"][task] * sizes, axis=1)
    ratio = jnp.maximum(gain / own, -30.0)  # below e^-30 n_i nothing is left to identify
    return own * jnp.where(ratio >= 0, 1.0 + jnp.maximum(ratio, 0.0),
                           jnp.exp(jnp.minimum(ratio, 0.0)))


def expected_score(family: CurveFamily, structure: str, params, task, sizes,
                   n_ref: float = SIZE_UNIT):
    """Expected score of each observation given per-task ``params`` (constrained values).

    ``n_ref`` is the size unit (samples per unit of ``x``); fits since the scale-free priors
    use :data:`SIZE_UNIT`, older saved fits record their own.
    """
    x = effective_size(structure, params, task, sizes) / n_ref
    per_obs = {name: params[name][task] for name in family.param_names}
    if "context_shift" in params:
        own = jnp.take_along_axis(sizes, task[:, None], axis=1)[:, 0]
        has_context = (sizes.sum(axis=1) - own) > 0
        logit_c = jnp.log(per_obs["c"]) - jnp.log1p(-per_obs["c"])
        per_obs["c"] = jax.nn.sigmoid(logit_c + params["context_shift"][task] * has_context)
    return family(x, per_obs)


# Vmapped outside ``jit``, JAX runs (and compiles) every batched operation on its own: the
# demo fit's findings took 5.0-5.3 s, 95 small compilations, against 2.1-2.7 s and 28 with
# these (experiments/benchmarks/findings_time.py; RESULTS.md section 10).
@partial(jax.jit, static_argnames=("family", "structure"))
def expected_score_draws(draws, task, sizes, n_ref=SIZE_UNIT, *, family: CurveFamily,
                         structure: str):
    """:func:`expected_score` for every posterior draw (leading axis of each ``draws`` value),
    as one compiled program per family, structure and shapes."""
    return jax.vmap(lambda d: expected_score(family, structure, d, task, sizes, n_ref))(draws)


@partial(jax.jit, static_argnames=("structure",))
def effective_size_draws(draws, task, sizes, *, structure: str):
    """:func:`effective_size` for every posterior draw, as one compiled program."""
    return jax.vmap(lambda d: effective_size(structure, d, task, sizes))(draws)


def _pooled(family: CurveFamily, n_tasks: int, centred: bool, pooling: str,
            zero_sum: bool = False) -> dict:
    params = {}
    for p in family.params:
        def spread():
            return (p.pool_scale if pooling == "fixed"
                    else numpyro.sample(f"{p.name}_sd", dist.HalfNormal(p.pool_scale)))

        if zero_sum and not centred:
            # mu is the tasks' mean and z sums to zero: the same joint prior of the tasks'
            # values as mu ~ N(loc, scale), z iid (the mean's variance scale^2 + sd^2 / K kept),
            # without the ridge along which mu and all z trade off
            sd = spread()
            mu = numpyro.sample(f"{p.name}_mu", dist.Normal(
                p.loc, jnp.sqrt(p.scale**2 + jnp.square(sd) / n_tasks)))
            z = numpyro.sample(f"{p.name}_z", dist.ZeroSumNormal(1.0, event_shape=(n_tasks,)))
            raw = mu + sd * z
        else:
            mu = numpyro.sample(f"{p.name}_mu", dist.Normal(p.loc, p.scale))
            sd = spread()
            if centred:  # each task's curve is well identified by its own runs
                raw = numpyro.sample(f"{p.name}_raw", dist.Normal(mu, sd).expand([n_tasks]))
            else:
                raw = mu + sd * numpyro.sample(f"{p.name}_z",
                                               dist.Normal(0.0, 1.0).expand([n_tasks]))
        params[p.name] = numpyro.deterministic(p.name, family.constrain(p.name, raw))
    return params


def context_reference(task, sizes, n_tasks: int) -> np.ndarray:
    """Each task's reference context ratio ``R_i`` (``context_prior="data"``).

    The geometric mean, over task ``i``'s observations with context, of the context's size
    relative to the task's own, ``sum_{j != i} n_j / n_i``; 1 for a task without such
    observations (its rate is then in samples per sample). Under ``context_prior="data"`` the
    prior is stated at this ratio: ``log_gain_i = log(n_eff / n_i)`` there.

    Example
    -------
    >>> import numpy as np
    >>> context_reference(np.array([0, 0, 1]), np.array([[100., 0.], [100., 400.],
    ...                                                   [0., 50.]]), 2).tolist()
    [4.0, 1.0]
    """
    task = np.asarray(task)
    sizes = np.asarray(sizes, dtype=float)
    own = sizes[np.arange(len(task)), task]
    context = sizes.sum(axis=1) - own
    own = np.maximum(own, 1.0)
    ref = np.ones(n_tasks)
    for i in range(n_tasks):
        rows = (task == i) & (context > 0)
        if rows.any():
            ref[i] = float(np.exp(np.mean(np.log(context[rows] / own[rows]))))
    return ref


def context_rate(log_gain, reference):
    """The contextual rate ``tau`` whose effective-size factor at ratio ``reference`` is
    ``exp(log_gain)`` (:func:`effective_size`: ``1 + tau R`` above zero, ``exp(tau R)``
    below): ``expm1(log_gain) / R`` for a gain, ``log_gain / R`` for a loss."""
    up = jnp.expm1(jnp.clip(log_gain, 0.0, MAX_LOG_GAIN))
    return jnp.where(log_gain >= 0, up, jnp.minimum(log_gain, 0.0)) / reference


def _transfer(structure: str, n_tasks: int, *, transfer_scale: float, global_scale: float,
              context_shift: bool, pairwise_prior: str = "fixed",
              context_spread: str = "fixed", context_prior: str = "rate",
              context_scale: float = 0.5, context_ref=None) -> dict:
    if structure == "none":
        return {}
    if structure == "contextual":
        if context_prior == "data":
            scale = context_scale
        else:
            scale = transfer_scale / math.sqrt(max(n_tasks - 1, 1))
        mu = numpyro.sample("transfer_context_mu", dist.Normal(0.0, scale))
        sd = (scale if context_spread == "fixed"
              else numpyro.sample("transfer_context_sd", dist.HalfNormal(scale)))
        z = numpyro.sample("transfer_context_z", dist.Normal(0.0, 1.0).expand([n_tasks]))
        if context_prior == "data":
            log_gain = numpyro.deterministic("context_log_gain", mu + sd * z)
            reference = jnp.ones(n_tasks) if context_ref is None else context_ref
            rate = context_rate(log_gain, reference)
        else:
            rate = mu + sd * z
        out = {"transfer_context": numpyro.deterministic("transfer_context", rate)}
        if context_shift:
            out["context_shift"] = numpyro.sample(
                "context_shift", dist.Normal(0.0, 0.5).expand([n_tasks]))
        return out
    n_pairs = n_tasks * (n_tasks - 1)
    z = numpyro.sample("transfer_z", dist.Normal(0.0, 1.0).expand([n_pairs]))
    if structure == "pairwise" and pairwise_prior == "hierarchical":
        rates = numpyro.sample("transfer_sd", dist.HalfNormal(transfer_scale)) * z
    elif structure == "pairwise":
        rates = transfer_scale * z
    else:  # joint: regularised horseshoe
        glob = numpyro.sample("hs_global", dist.HalfCauchy(global_scale))
        local = numpyro.sample("hs_local", dist.HalfCauchy(1.0).expand([n_pairs]))
        slab2 = numpyro.sample("hs_slab2", dist.InverseGamma(2.0, 2.0 * transfer_scale**2))
        lam = jnp.sqrt(slab2 * local**2 / (slab2 + glob**2 * local**2))
        rates = glob * lam * z
    rows, cols = offdiag_index(n_tasks)
    matrix = jnp.zeros((n_tasks, n_tasks)).at[rows, cols].set(rates)
    out = {"transfer": numpyro.deterministic("transfer", matrix)}
    if context_shift:  # pair_shift: the same per-task shift in every run with a partner
        out["context_shift"] = numpyro.sample(
            "context_shift", dist.Normal(0.0, 0.5).expand([n_tasks]))
    return out


def _logit_mean(mean, edge: float = 0.01):
    """``logit(mean)`` continued linearly (same value and slope) outside ``[edge, 1 - edge]``,
    and the slope ``m (1 - m)`` of the score in the logit at the clipped mean.

    A curve whose mean leaves (0, 1) (exp3 or pow3 at tiny sizes, during warm-up) then has a
    finite logit with a gradient back towards the data, rather than a clipped plateau where
    the likelihood is flat and a sampler can drift (seen as divergences and inflated noise).
    """
    m = jnp.clip(mean, edge, 1 - edge)
    slope = m * (1 - m)
    return jnp.log(m) - jnp.log1p(-m) + (mean - m) / slope, slope


def scaled_test_variance(at, n_test, n_test_pos, metric: str, *, likelihood: str = "logit"):
    """Test-set variance of a score at ``at`` (:func:`test_variance`) on the likelihood's
    scale: carried to the logit by the delta method (slope ``m (1 - m)`` at the clipped
    ``at``) for ``likelihood="logit"``."""
    v_test = test_variance(at, n_test, n_test_pos, metric)
    return v_test / _logit_mean(at)[1] ** 2 if likelihood == "logit" else v_test


def run_test_variance(mean, n_test, n_test_pos, metric: str, *, likelihood: str = "logit",
                      test_noise: str = "observed", test_score=None):
    """A run's test-set variance on the likelihood's scale (:func:`scaled_test_variance`),
    evaluated where ``test_noise`` says (:func:`curve_model`): at ``test_score``, the observed
    scores of observed runs (:func:`observed_test_score`), with ``"observed"``; else, and
    for predicted runs (``test_score=None``), at the curve ``mean``."""
    at = mean
    if test_noise == "observed" and test_score is not None:
        at = jnp.asarray(test_score, jnp.result_type(mean))
    return scaled_test_variance(at, n_test, n_test_pos, metric, likelihood=likelihood)


def test_share_at(own, test_shared: float, slope: float = 0.0):
    """The share of a run's test-set variance common to its task's runs, at its own size
    ``own``: ``test_shared`` at every size (``slope=0``), or a logistic in the log size,
    ``logit(share) = logit(test_shared) + slope log(own / SUBSAMPLE_REF)``
    (``FitConfig.test_share="by_size"``: ``test_shared`` is the share at
    :data:`SUBSAMPLE_REF` samples; runs trained on more labels rank the test compounds more
    alike, ``experiments/curves/RESULTS.md`` AC3, AD1). The share stays inside (0, 1) at
    every size: it shrinks towards 0 for tiny runs and grows towards 1 for large ones."""
    if slope == 0 or test_shared == 0:
        return test_shared
    if not 0 < test_shared < 1:
        raise ValueError(f"a share by size needs 0 < test_shared < 1, got {test_shared}")
    log_ratio = jnp.log(jnp.maximum(jnp.asarray(own, jnp.float32), 1.0) / SUBSAMPLE_REF)
    return jax.nn.sigmoid(math.log(test_shared / (1.0 - test_shared)) + slope * log_ratio)


def test_set_shift(v_test, test_z, test_shared: float):
    """The offset a task's one test set adds to each of its runs (``FitConfig.test_shared``):
    ``sqrt(test_shared v_test) test_z``, on the likelihood's scale (``v_test`` on that scale,
    ``test_z`` the run's task's standard-normal offset)."""
    return jnp.sqrt(test_shared * v_test) * test_z


def curve_on_test_set(mean, shift, *, likelihood: str = "logit"):
    """The curve ``mean`` (score expected on a new test set) moved by a task's test-set
    ``shift`` (:func:`test_set_shift`): where runs on that test set centre."""
    if likelihood == "logit":
        return jax.nn.sigmoid(_logit_mean(mean)[0] + shift)
    return mean + shift


def curve_model(task, sizes, n_test=None, n_test_pos=None, value=None, subsample=None,
                trajectory=None, test_score=None, point=None, point_task=None,
                point_sizes=None, *, family: CurveFamily, structure: str,
                n_tasks: int,
                n_ref: float = SIZE_UNIT, n_subsample: int = 0, n_trajectory: int = 0,
                max_cells: int = 0,
                metric: str = "auroc", transfer_scale: float = 1.0, global_scale: float = 0.1,
                context_shift: bool = True, pair_shift: bool = False,
                pairwise_prior: str = "fixed", curve_pooling: str = "fixed",
                random_effects: bool = True,
                centred_curves: bool = False, zero_sum_curves: bool = False,
                context_spread: str = "fixed", likelihood: str = "logit",
                seed_effects: str = "independent", test_noise: str = "observed",
                test_shared: float = 0.0, test_offsets: str = "sampled",
                context_prior: str = "rate", context_scale: float = 0.5, context_ref=None,
                noise_decay: str = "none", test_share_slope: float = 0.0):
    """NumPyro model of scores ``value`` (``None`` to predict) for observations ``task, sizes``.

    Parameters
    ----------
    task : int array (N,)
        Index of the evaluated task of each observation.
    sizes : float array (N, n_tasks)
        Training samples of every task in each observation's run.
    n_test, n_test_pos : float arrays (N,), optional
        Test-set size and positives; ``None`` uses the per-task noise scale alone.
    value : float array (N,), optional
        Observed scores in [0, 1]; ``None`` samples them (posterior predictive).
    subsample, trajectory : int arrays (N,), optional
        Group of each observation: shared nested subsample ``(task, seed, n_task)`` (of
        ``n_subsample``) and seed trajectory ``(task, seed)`` (of ``n_trajectory``). ``None``
        predicts new runs (the effects' variance is added to the noise).
    pair_shift : bool
        ``pairwise``/``joint``: add the per-task asymptote shift (``context_shift``, the
        contextual structure's) to every run with a partner.
    pairwise_prior : {"fixed", "hierarchical"}
        ``pairwise``: rates ``transfer_scale * z`` or ``transfer_sd * z`` with
        ``transfer_sd ~ HalfNormal(transfer_scale)`` (``FitConfig`` resolves ``"auto"``).
    curve_pooling : {"learned", "fixed"}
        Spread of each curve parameter across tasks (unconstrained scale):
        ``sd ~ HalfNormal(pool_scale)`` or ``sd = pool_scale``.
    random_effects : bool
        ``False`` drops the nested-design effects (rows treated as independent).
    centred_curves : bool
        Centred per-task curve parameters (``theta_raw ~ Normal(mu, sd)``) instead of
        non-centred; better when every task has many runs.
    zero_sum_curves : bool
        Non-centred only: ``theta = mu + sd z`` with ``z`` summing to zero over the tasks
        (``ZeroSumNormal``) and ``mu ~ Normal(loc, sqrt(scale^2 + sd^2 / K))``: the tasks'
        values have exactly the joint prior of ``mu ~ Normal(loc, scale)``, ``z`` iid, but
        ``mu`` is their mean, so the data identify it directly instead of through a ridge
        on which ``mu`` and every ``z`` trade off (the slowest-mixing quantities of the
        30-task ``joint`` fit were ``a_mu`` and ``alpha_mu``).
    context_spread : {"learned", "fixed"}
        ``contextual``: spread of the per-task rates around their mean, ``tau_i = mu + sd
        z_i``: ``sd ~ HalfNormal(s / sqrt(K-1))`` or ``sd = s / sqrt(K-1)`` (``"rate"``; under
        ``"data"`` the same for ``log_gain_i`` with ``s = context_scale``).
    context_prior : {"rate", "data"}
        ``contextual``: where the prior is stated. ``"rate"`` (this function's default; the
        only prior before 2026-12-07): ``tau_i = mu + sd z_i``, ``mu ~ Normal(0, s)``, ``s =
        transfer_scale / sqrt(K-1)``. ``"data"`` (:class:`lcurve.curves.FitConfig`'s default):
        the same pooled normal prior with ``s = context_scale`` on ``log_gain_i``, the log of
        the factor by which context multiplies the task's effective size at its reference
        context ratio ``R_i`` (``context_ref``, :func:`context_reference`), and ``tau_i =``
        :func:`context_rate` ``(log_gain_i, R_i)``, so a context of ~10^4 samples beside
        targets of ~10^2 is worth about their own samples at one prior sd, not ~10^3 times
        them.
    context_scale : float
        ``context_prior="data"``: prior scale ``s`` of ``log_gain`` (its mean's sd and the
        tasks' spread around it).
    context_ref : float array (n_tasks,), optional
        ``context_prior="data"``: each task's reference context ratio ``R_i``, from the
        fitted table (:func:`context_reference`), the same for its predictions; ``None``: 1.
    seed_effects : {"independent", "sum_to_zero"}
        Logit likelihood only: the seed-trajectory effects of a task are independent, or sum to
        zero over its seeds (``traj_sd (z - mean z)``), so they cannot shift a task's level:
        with few seeds, independent effects are confounded with the (pooled) asymptote. With
        ``"sum_to_zero"`` the log-likelihood has one term per task. ``"centred"`` also
        centres, at each own size, the subsample effects over the task's seeds, so they cannot
        carry the level of a size either (``max_cells``: most subsamples of one task); seen on
        MoleculeACE pairs, where a subsample shared by ~15 runs let independent effects carry
        every (task, seed, size) level and the curve drifted 0.2-0.4 below the runs.
    point, point_task, point_sizes : arrays (N,), (P,), (P, n_tasks), optional
        Distinct design points (:func:`design_points`): observation ``o`` has the design
        ``(point_task[point[o]], point_sizes[point[o]])``, equal to ``(task[o], sizes[o])``.
        With them the curve and its logit are evaluated once per design point instead of once
        per observation (the seeds of a nested design repeat every design point). The same
        model; ``None`` evaluates each observation.
    test_score : float array (N,), optional
        With ``test_noise="observed"``: the observed score at which each row's test-set
        variance is evaluated (:func:`observed_test_score`: the mean of the task's runs at that
        own size); ``None`` uses the row's own score.
    test_noise : {"observed", "curve", "none"}
        Where an observed score's test-set variance ``v_test`` (and its delta-method slope) is
        evaluated. ``"observed"`` (default): at the observed scores (``test_score``), a known
        sampling variance as in meta-analysis (Hanley & McNeil 1982 compute it from the
        observed AUC), so the variance does not depend on the parameters. Averaging over the
        runs of a (task, own size) keeps a run's weight from depending on its own noise (at a
        row's own score its high draws get more logit variance and less weight, which pulled
        the asymptotes low enough to fail the contextual recovery test). ``"curve"``: at the
        curve's mean, the exact generative story; but the variance then falls as the curve
        moves towards 0.5 (on the logit scale ``v_test / (f (1 - f))^2 ~ 1 / (n_test f (1 -
        f))``), and on designs where
        ~15-50 runs share a subsample (MoleculeACE pairs) the fit bought that smaller variance
        with a curve far below the runs and shared effects carrying the level. Predictions
        (no observed score) use the curve. ``"none"``: no per-run test-set term (the run noise
        ``noise_sd`` carries all run-level variation): when every run of a task is scored on
        one shared test set, that set's error is common to the runs (absorbed by the
        asymptote), not independent per run.
    test_shared : float in [0, 1)
        Share of each run's test-set variance ``v_test`` that is common to all runs of its
        task, because every run of a task is scored on the task's one test set: a per-task
        offset ``sqrt(test_shared v_test) * test_z[task]``, ``test_z ~ Normal(0, 1)``, shifts
        every run of the task, and only ``(1 - test_shared) v_test`` is independent per run.
        The offset is not part of the curve: ``expected_score`` is the score expected on a
        new test set drawn like this one, so its posterior carries the uncertainty of a
        finite test set, which the data of one test set cannot remove; predicted scores
        (``score``) are runs scored on the task's own test set and include the offset's
        posterior. ``0`` (this function's default): each run's test-set error is independent
        and the curve's level absorbs what the runs share.
    test_share_slope : float
        With ``test_shared > 0``: ``0`` (default), the share is ``test_shared`` at every size;
        above 0, the share grows with the run's own size as a logistic in its log,
        ``logit(share) = logit(test_shared) + test_share_slope log(n_own / SUBSAMPLE_REF)``,
        so ``test_shared`` is the share at :data:`SUBSAMPLE_REF` samples and the shared
        offset's load grows with the size (:func:`test_share_at`; ``FitConfig.test_share``).
    test_offsets : {"sampled", "integrated"}
        With ``test_shared > 0``: ``test_z`` is a sampled site (default), or the offsets are
        integrated out of :class:`~lcurve.curves.likelihood.NestedLogitNormal` exactly
        (needs the logit likelihood, the nested-design effects with their groups, and
        independent seed effects) and ``test_z`` is drawn as ``mean + sd *
        test_z_decentered`` from its conditional posterior (the likelihood's ``offset_z``,
        which the fit records as ``test_z``). The same model; the sampler meets no ridge
        between a task's asymptote and its offset, at more work per step.
    likelihood : {"logit", "truncnormal"}
        ``"logit"`` (default): the score is logit-normal; the nested-design effects live on
        the logit scale and, for observed scores, are integrated out exactly
        (:class:`~lcurve.curves.likelihood.NestedLogitNormal`; log-likelihood per seed
        trajectory). ``"truncnormal"``: a normal truncated to [0, 1] on the score scale with
        sampled (non-centred) effects; log-likelihood per row.
    noise_decay : {"none", "learned"}
        ``"none"`` (default): the run noise ``noise_sd[task]`` and the seed-trajectory
        effect's sd are the same at every size. ``"learned"``: both are their values at
        :data:`SUBSAMPLE_REF` samples of the run's own task, times ``(SUBSAMPLE_REF /
        n_own)^gamma`` at ``n_own``, with ``gamma ~ HalfNormal(NOISE_DECAY_SCALE)`` (site
        ``noise_decay``, one for all tasks; ``gamma = 0`` is the constant noise, ``1/2`` the
        ``1/sqrt(n)`` of sampling noise); a seed's trajectory effect stays one draw, scaled
        at each size (``NestedLogitNormal``'s ``traj_load``). On the 30 MoleculeACE targets
        the sd of two seeds' runs about each other (logit scale) falls from 0.30 at 32 labels
        to 0.13 at 512, where a constant-noise fit to <= 128 puts it at 0.28-0.29 at every
        size (``experiments/curves/RESULTS.md`` AC2). Not with ``seed_effects="centred"``.
    """
    params = _pooled(family, n_tasks, centred_curves, curve_pooling, zero_sum_curves)
    params.update(_transfer(structure, n_tasks, transfer_scale=transfer_scale,
                            global_scale=global_scale,
                            context_shift=(context_shift and structure == "contextual")
                            or (pair_shift and structure in ("pairwise", "joint")),
                            pairwise_prior=pairwise_prior, context_spread=context_spread,
                            context_prior=context_prior, context_scale=context_scale,
                            context_ref=context_ref))
    logit = likelihood == "logit"
    scales = LOGIT_SCALES if logit else SCORE_SCALES
    noise_sd = numpyro.sample("noise_sd", dist.HalfNormal(scales["noise"]).expand([n_tasks]))
    own = jnp.take_along_axis(sizes, task[:, None], axis=1)[:, 0]  # each run's own size
    if point is None:
        mean = expected_score(family, structure, params, task, sizes, n_ref)
        loc = _logit_mean(mean)[0] if logit else mean
    else:  # once per distinct design point, then one gather per observation
        at_points = expected_score(family, structure, params, point_task, point_sizes, n_ref)
        mean = at_points[point]
        loc = _logit_mean(at_points)[0][point] if logit else mean
    if value is None:
        numpyro.deterministic("expected_score", mean)
    var = noise_sd[task] ** 2
    shrink = None  # noise_decay="learned": the run-level sds' factor at each row's own size
    if noise_decay == "learned":
        if seed_effects == "centred":
            raise ValueError(NOISE_DECAY_NEEDS)
        decay = numpyro.sample("noise_decay", dist.HalfNormal(NOISE_DECAY_SCALE))
        shrink = (SUBSAMPLE_REF / jnp.maximum(own, 1.0)) ** decay
        var = var * shrink**2
    elif noise_decay != "none":
        raise ValueError(f"unknown noise_decay {noise_decay!r}; valid: {list(NOISE_DECAYS)}")
    grouped = subsample is not None and n_subsample > 0
    load = None  # the test-set offsets' loads, when they are integrated out (below)
    if n_test is not None and test_noise != "none":  # delta method onto the logit scale
        observed = None if value is None else (value if test_score is None else test_score)
        v_test = run_test_variance(mean, n_test, n_test_pos, metric, likelihood=likelihood,
                                   test_noise=test_noise, test_score=observed)
        if test_shared > 0:  # one test set per task: that share of its error is common
            share = test_share_at(own, test_shared, test_share_slope)  # per row, or one
            if test_offsets == "integrated" and value is not None:
                if not (logit and random_effects and grouped
                        and seed_effects == "independent"):
                    raise ValueError(INTEGRATED_NEEDS)
                load = test_set_shift(v_test, 1.0, share)  # NestedLogitNormal's
            else:
                test_z = numpyro.sample("test_z", dist.Normal(0.0, 1.0).expand([n_tasks]))
                shift = test_set_shift(v_test, test_z[task], share)
                loc = loc + shift
                if value is None:  # the curve on the task's own test set (its runs' centre)
                    numpyro.deterministic("test_set_score",
                                          curve_on_test_set(mean, shift, likelihood=likelihood))
            v_test = (1.0 - share) * v_test
        var = var + v_test
    if random_effects:
        sub_sd = numpyro.sample("subsample_sd", dist.HalfNormal(scales["effect"]))
        if logit:  # the sd of a subsample's effect shrinks like 1/sqrt(its size)
            sub_sd = sub_sd * jnp.sqrt(SUBSAMPLE_REF / jnp.maximum(own, 1.0))
        traj_sd = numpyro.sample("trajectory_sd", dist.HalfNormal(scales["effect"]))
        traj_row = traj_sd if shrink is None else traj_sd * shrink  # its sd at each row
        if not grouped:  # a new run: new subsamples and a new seed
            var = var + sub_sd**2 + traj_row**2
        elif logit and value is not None:
            centred = seed_effects == "centred"
            nested = NestedLogitNormal(
                loc, var, subsample, trajectory, sub_sd, traj_sd, n_subsample=n_subsample,
                n_trajectory=n_trajectory, n_tasks=n_tasks,
                task=task if seed_effects != "independent" else None,
                own=own if centred else None, max_cells=max_cells,
                offset_load=load, offset_task=None if load is None else task,
                traj_load=shrink)
            if load is not None:  # offsets integrated out, drawn from their exact conditional
                # (not a deterministic site, which the sampler would compute at every draw:
                # the fit reads it from the likelihood, with the pointwise log-likelihood)
                mean_z, sd_z = nested.offset_posterior(value)
                white = numpyro.sample("test_z_decentered",
                                       dist.Normal(0.0, 1.0).expand([n_tasks]))
                nested = nested.given_offsets(mean_z + sd_z * white)
            numpyro.sample(LIKELIHOOD_SITE, nested, obs=value)
            return
        else:
            for name, index, n_groups, sd in (("subsample", subsample, n_subsample, sub_sd),
                                              ("trajectory", trajectory, n_trajectory,
                                               traj_row)):
                z = numpyro.sample(f"{name}_z", dist.Normal(0.0, 1.0).expand([n_groups]))
                if name == "trajectory" and logit and seed_effects != "independent":
                    owner = jax.ops.segment_max(task, index, n_groups)
                    total = jax.ops.segment_sum(z, owner, n_tasks)
                    count = jax.ops.segment_sum(jnp.ones_like(z), owner, n_tasks)
                    z = z - (total / jnp.maximum(count, 1.0))[owner]
                if name == "subsample" and logit and seed_effects == "centred":
                    # centred over the seeds of the same task and own size
                    key_task = jax.ops.segment_max(task, index, n_groups)
                    key_size = jax.ops.segment_max(own, index, n_groups)
                    same = ((key_task[:, None] == key_task[None, :])
                            & (key_size[:, None] == key_size[None, :]))
                    same = same.astype(z.dtype)
                    z = z - (same @ z) / same.sum(-1)
                loc = loc + sd * z[index]
    with numpyro.plate("obs", task.shape[0]):
        if logit:
            numpyro.sample(LIKELIHOOD_SITE, LogitNormal(loc, jnp.sqrt(var + 1e-8)), obs=value)
        else:
            numpyro.sample(LIKELIHOOD_SITE, UnitTruncatedNormal(
                jnp.clip(loc, -1.0, 2.0), jnp.sqrt(var + 1e-8)), obs=value)
