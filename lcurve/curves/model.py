"""The NumPyro multi-task learning-curve model: hierarchical curves, transfer, bounded likelihood.

Effective sample size
---------------------
For an observation of target task ``i`` in a run with ``n_j`` samples of each task ``j``::

    raw_i  = n_i + sum_j tau_ij * n_j           (pairwise, joint)
    raw_i  = n_i + tau_i_ctx * sum_{j != i} n_j  (contextual)
    n_eff_i = 1 + softplus(raw_i - 1)

The last line is a smooth ``max(raw_i, 1)``: negative transfer can lower the effective size to
(about) one sample but never to zero or below, so every family stays defined. For sizes of tens
of samples or more ``n_eff_i = raw_i`` to within ``exp(-raw_i)``. Curves are evaluated at
``x = n_eff_i / n_ref`` with ``n_ref`` the largest training size in the fitted table.

Priors
------
Every curve parameter is partially pooled across tasks on its unconstrained scale
(``mu + sd * z``, see :class:`lcurve.curves.families.Param`). Transfer rates:
``contextual``: ``tau_i_ctx = mu + sd * z`` (pooled across tasks), with an optional per-task
shift of the asymptote's logit when any other task is trained; ``pairwise``: independent
``Normal(0, transfer_scale)``; ``joint``: a regularised horseshoe (Piironen & Vehtari 2017) with
global scale ``HalfCauchy(global_scale)``, local scales ``HalfCauchy(1)`` and slab
``InverseGamma(2, 2 * transfer_scale**2)``, so most of the ``K(K-1)`` rates shrink to zero.

Likelihood
----------
One observed site, ``score``: ``Normal(mean, sd)`` truncated to ``[0, 1]`` with
``sd**2 = v_test + noise_sd[task]**2``. ``v_test`` is the Hanley–McNeil (1982) variance of an
AUROC with ``n_test_pos`` positives and ``n_test - n_test_pos`` negatives (AUPRC: ``m(1-m) /
n_test_pos``), so noise shrinks with the test set; ``noise_sd`` (per task, ``HalfNormal(0.05)``)
absorbs seed-to-seed training variation across replicate seeds. Without ``n_test`` only
``noise_sd`` is used.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import log_ndtr, ndtri
from numpyro.distributions.util import promote_shapes

from lcurve.curves.families import CurveFamily

__all__ = ["UnitTruncatedNormal", "curve_model", "effective_size", "expected_score", "offdiag_index", "LIKELIHOOD_SITE"]

#: Name of the single observed (log-likelihood) site.
LIKELIHOOD_SITE = "score"


def _log_mills(x):
    """``log(Phi(x)) + x**2 / 2`` (the log of Phi scaled by the Gaussian tail), for any real x.

    Directly for ``x >= -8`` (absolute error ~1e-6 in float32); below, the asymptotic series
    ``Phi(x) = phi(x)/(-x) * (1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8)`` (Abramowitz & Stegun
    26.2.12), whose truncation error is < 1e-6 there. Both branches see safe inputs, so
    gradients stay finite.
    """
    near = jnp.maximum(x, -8.0)
    far = jnp.minimum(x, -8.0)
    inv = 1.0 / far**2
    series = 1.0 - inv * (1.0 - inv * (3.0 - inv * (15.0 - 105.0 * inv)))
    asymptotic = -0.5 * jnp.log(2 * jnp.pi) - jnp.log(-far) + jnp.log(series)
    return jnp.where(x >= -8.0, log_ndtr(near) + 0.5 * near**2, asymptotic)


def _reflect(loc, scale, value=None):
    """Standardised bounds ``(lo, hi)`` (and value) reflected so that ``lo + hi <= 0``."""
    lower, upper = -loc / scale, (1 - loc) / scale
    flip = (upper + lower) > 0
    lo, hi = jnp.where(flip, -upper, lower), jnp.where(flip, -lower, upper)
    if value is None:
        return flip, lo, hi
    z = (value - loc) / scale
    return flip, lo, hi, jnp.where(flip, -z, z)


def _log_diff_ndtr(hi, lo):
    """``log(Phi(hi) - Phi(lo))`` for ``lo < hi`` with ``lo + hi <= 0`` (see :func:`_reflect`)."""
    log_ratio = -0.5 * (lo - hi) * (lo + hi) + _log_mills(lo) - _log_mills(hi)
    return log_ndtr(hi) + jnp.log(-jnp.expm1(jnp.minimum(log_ratio, -1e-30)))


class UnitTruncatedNormal(dist.Distribution):
    """Normal(loc, scale) truncated to [0, 1], with a normaliser that is stable in the tails.

    ``log_prob = log N(value | loc, scale) - log(Phi((1 - loc)/scale) - Phi(-loc/scale))`` with
    the log-normaliser from :func:`_log_diff_ndtr` (reflection + ``log_ndtr`` + log-diff-exp),
    so it stays accurate when ``loc`` lies many ``scale`` outside [0, 1] (tested against
    ``scipy.stats.truncnorm`` 20 sd out). A lean graph compared with numpyro's
    ``TruncatedNormal``, which matters because every fit compiles its model.
    """

    arg_constraints = {"loc": dist.constraints.real, "scale": dist.constraints.positive}
    support = dist.constraints.unit_interval
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc, scale, *, validate_args=None):
        self.loc, self.scale = promote_shapes(loc, scale)
        batch_shape = jax.lax.broadcast_shapes(jnp.shape(loc), jnp.shape(scale))
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def log_normaliser(self):
        """``log(Phi(b) - Phi(a))`` with ``a = -loc/scale``, ``b = (1 - loc)/scale``."""
        _, lo, hi = _reflect(self.loc, self.scale)
        return _log_diff_ndtr(hi, lo)

    def sample(self, key, sample_shape=()):
        # inverse CDF in the reflected frame (the interval in the lower tail), in log space
        flip, lo, hi = _reflect(self.loc, self.scale)
        u = jax.random.uniform(key, sample_shape + self.batch_shape, minval=1e-7, maxval=1.0)
        log_p = jnp.logaddexp(log_ndtr(lo), jnp.log(u) + _log_diff_ndtr(hi, lo))
        z = jnp.clip(ndtri(jnp.exp(jnp.maximum(log_p, -80.0))), lo, hi)
        # far in the tail (hi < -8) the truncated density is ~ exp(hi * (z - hi)) (an
        # exponential towards lo), sampled exactly: z = hi + log(1 - u (1 - e^{-|hi| w}))/|hi|
        rate = -jnp.minimum(hi, -8.0)
        tail_z = hi + jnp.log1p(-u * -jnp.expm1(-rate * (hi - lo))) / rate
        z = jnp.where(hi < -8.0, jnp.clip(tail_z, lo, hi), z)
        return jnp.clip(self.loc + self.scale * jnp.where(flip, -z, z), 0.0, 1.0)

    def log_prob(self, value):
        # In the reflected frame, with Phi(hi) = exp(-hi^2/2 + log_mills(hi)) when hi < 0, the
        # large terms -z^2/2 and +hi^2/2 are combined exactly as -(z - hi)(z + hi)/2 (no
        # cancellation of two huge numbers when loc is far outside [0, 1]).
        _, lo, hi, z = _reflect(self.loc, self.scale, value)
        log_ratio = -0.5 * (lo - hi) * (lo + hi) + _log_mills(lo) - _log_mills(hi)
        log_width = jnp.log(-jnp.expm1(jnp.minimum(log_ratio, -1e-30)))
        tail = jnp.minimum(hi, 0.0)  # hi < 0: the whole interval is in the lower tail
        scaled = -0.5 * (z - tail) * (z + tail) - _log_mills(tail)
        direct = -0.5 * z**2 - log_ndtr(jnp.maximum(hi, 0.0))
        core = jnp.where(hi < 0, scaled, direct)
        return core - log_width - jnp.log(self.scale) - 0.5 * jnp.log(2 * jnp.pi)


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
    """``n_eff`` of each observation (samples), kept >= 1 by a softplus floor (module docstring).

    Example
    -------
    >>> import jax.numpy as jnp
    >>> sizes = jnp.array([[100.0, 50.0]])
    >>> float(effective_size("pairwise", {"transfer": jnp.array([[0, .5], [0, 0]])},
    ...                      jnp.array([0]), sizes))
    125.0
    """
    own = jnp.take_along_axis(sizes, task[:, None], axis=1)[:, 0]
    if structure == "none":
        raw = own
    elif structure == "contextual":
        raw = own + params["transfer_context"][task] * (sizes.sum(axis=1) - own)
    else:
        raw = own + jnp.sum(params["transfer"][task] * sizes, axis=1)
    return 1.0 + jax.nn.softplus(raw - 1.0)


def expected_score(family: CurveFamily, structure: str, params, task, sizes, n_ref):
    """Expected score of each observation given per-task ``params`` (constrained values)."""
    x = effective_size(structure, params, task, sizes) / n_ref
    per_obs = {name: params[name][task] for name in family.param_names}
    if "context_shift" in params:
        own = jnp.take_along_axis(sizes, task[:, None], axis=1)[:, 0]
        has_context = (sizes.sum(axis=1) - own) > 0
        logit_c = jnp.log(per_obs["c"]) - jnp.log1p(-per_obs["c"])
        per_obs["c"] = jax.nn.sigmoid(logit_c + params["context_shift"][task] * has_context)
    return family(x, per_obs)


def test_variance(mean, n_test, n_test_pos, metric: str):
    """Sampling variance of a score on a finite test set (Hanley–McNeil for AUROC)."""
    a = jnp.clip(mean, 1e-3, 1 - 1e-3)
    if metric == "auprc":
        return a * (1 - a) / n_test_pos
    n_pos, n_neg = n_test_pos, n_test - n_test_pos
    q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
    return (a * (1 - a) + (n_pos - 1) * (q1 - a**2) + (n_neg - 1) * (q2 - a**2)) / (n_pos * n_neg)


def _pooled(family: CurveFamily, n_tasks: int) -> dict:
    params = {}
    for p in family.params:
        mu = numpyro.sample(f"{p.name}_mu", dist.Normal(p.loc, p.scale))
        sd = numpyro.sample(f"{p.name}_sd", dist.HalfNormal(p.pool_scale))
        z = numpyro.sample(f"{p.name}_z", dist.Normal(0.0, 1.0).expand([n_tasks]))
        params[p.name] = numpyro.deterministic(p.name, family.constrain(p.name, mu + sd * z))
    return params


def _transfer(structure: str, n_tasks: int, *, transfer_scale: float, global_scale: float,
              context_shift: bool) -> dict:
    if structure == "none":
        return {}
    if structure == "contextual":
        mu = numpyro.sample("transfer_context_mu", dist.Normal(0.0, 0.5))
        sd = numpyro.sample("transfer_context_sd", dist.HalfNormal(0.5))
        z = numpyro.sample("transfer_context_z", dist.Normal(0.0, 1.0).expand([n_tasks]))
        out = {"transfer_context": numpyro.deterministic("transfer_context", mu + sd * z)}
        if context_shift:
            out["context_shift"] = numpyro.sample(
                "context_shift", dist.Normal(0.0, 0.5).expand([n_tasks]))
        return out
    n_pairs = n_tasks * (n_tasks - 1)
    z = numpyro.sample("transfer_z", dist.Normal(0.0, 1.0).expand([n_pairs]))
    if structure == "pairwise":
        rates = transfer_scale * z
    else:  # joint: regularised horseshoe
        glob = numpyro.sample("hs_global", dist.HalfCauchy(global_scale))
        local = numpyro.sample("hs_local", dist.HalfCauchy(1.0).expand([n_pairs]))
        slab2 = numpyro.sample("hs_slab2", dist.InverseGamma(2.0, 2.0 * transfer_scale**2))
        lam = jnp.sqrt(slab2 * local**2 / (slab2 + glob**2 * local**2))
        rates = glob * lam * z
    rows, cols = offdiag_index(n_tasks)
    matrix = jnp.zeros((n_tasks, n_tasks)).at[rows, cols].set(rates)
    return {"transfer": numpyro.deterministic("transfer", matrix)}


def curve_model(task, sizes, n_test=None, n_test_pos=None, value=None, *,
                family: CurveFamily, structure: str, n_tasks: int, n_ref: float,
                metric: str = "auroc", transfer_scale: float = 1.0, global_scale: float = 0.1,
                context_shift: bool = True):
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
    """
    params = _pooled(family, n_tasks)
    params.update(_transfer(structure, n_tasks, transfer_scale=transfer_scale,
                            global_scale=global_scale,
                            context_shift=context_shift and structure == "contextual"))
    noise_sd = numpyro.sample("noise_sd", dist.HalfNormal(0.05).expand([n_tasks]))
    mean = expected_score(family, structure, params, task, sizes, n_ref)
    var = noise_sd[task] ** 2
    if n_test is not None:
        var = var + test_variance(mean, n_test, n_test_pos, metric)
    if value is None:
        numpyro.deterministic("expected_score", mean)
    with numpyro.plate("obs", task.shape[0]):
        numpyro.sample(LIKELIHOOD_SITE,
                       UnitTruncatedNormal(jnp.clip(mean, -0.5, 1.5), jnp.sqrt(var) + 1e-6),
                       obs=value)
