"""The bounded likelihood of a score in [0, 1]: a stably normalised truncated normal, and the
sampling variance of a score on a finite test set (Hanley & McNeil 1982).

Example
-------
>>> from lcurve.curves.likelihood import UnitTruncatedNormal
>>> round(float(UnitTruncatedNormal(1.2, 0.02).log_prob(0.99)), 3)  # mean 10 sd above 1
1.099
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax.scipy.special import log_ndtr, ndtri
from numpyro.distributions.util import promote_shapes

__all__ = ["UnitTruncatedNormal", "test_variance"]


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


def test_variance(mean, n_test, n_test_pos, metric: str):
    """Sampling variance of a score on a finite test set (Hanley–McNeil for AUROC)."""
    a = jnp.clip(mean, 1e-3, 1 - 1e-3)
    if metric == "auprc":
        return a * (1 - a) / n_test_pos
    n_pos, n_neg = n_test_pos, n_test - n_test_pos
    q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
    return (a * (1 - a) + (n_pos - 1) * (q1 - a**2) + (n_neg - 1) * (q2 - a**2)) / (n_pos * n_neg)
