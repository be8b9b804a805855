"""Bounded likelihoods of a score in [0, 1] and the sampling variance of a score on a finite
test set (Hanley & McNeil 1982).

- :class:`LogitNormal`: ``logit(score) ~ Normal(loc, scale)``, a density on (0, 1) (Jacobian
  included), one score per row.
- :class:`NestedLogitNormal`: the same, with the nested design's two Gaussian random effects
  (shared subsample within seed trajectory) integrated out exactly on the logit scale, so a
  sampler sees only the curve, transfer and variance parameters (the fit's default).
- :class:`UnitTruncatedNormal`: ``Normal(loc, scale)`` truncated to [0, 1] with a stably
  computed normaliser (``likelihood="truncnormal"``; its random effects are sampled).

Example
-------
>>> from lcurve.curves.likelihood import UnitTruncatedNormal
>>> round(float(UnitTruncatedNormal(1.2, 0.02).log_prob(0.99)), 3)  # mean 10 sd above 1
1.099
"""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax.scipy.special import log_ndtr, ndtri
from numpyro.distributions.util import promote_shapes

__all__ = ["LogitNormal", "NestedLogitNormal", "UnitTruncatedNormal", "logit_score",
           "test_variance"]

#: Scores are clipped to ``[EPS, 1 - EPS]`` before the logit (only exact 0 or 1 are moved).
EPS = 1e-4


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


class _LocScale(dist.Distribution):
    """A batch of ``(loc, scale)`` distributions on [0, 1] (the shared constructor)."""

    arg_constraints = {"loc": dist.constraints.real, "scale": dist.constraints.positive}
    support = dist.constraints.unit_interval
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc, scale, *, validate_args=None):
        self.loc, self.scale = promote_shapes(loc, scale)
        batch_shape = jax.lax.broadcast_shapes(jnp.shape(loc), jnp.shape(scale))
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)


class UnitTruncatedNormal(_LocScale):
    """Normal(loc, scale) truncated to [0, 1], with a normaliser that is stable in the tails.

    ``log_prob = log N(value | loc, scale) - log(Phi((1 - loc)/scale) - Phi(-loc/scale))`` with
    the log-normaliser from :func:`_log_diff_ndtr` (reflection + ``log_ndtr`` + log-diff-exp),
    so it stays accurate when ``loc`` lies many ``scale`` outside [0, 1] (tested against
    ``scipy.stats.truncnorm`` 20 sd out). A lean graph compared with numpyro's
    ``TruncatedNormal``, which matters because every fit compiles its model.
    """

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


def logit_score(value):
    """``logit(clip(value, EPS, 1 - EPS))`` and the log-Jacobian ``-log(v (1 - v))``.

    Only a score of exactly 0 or 1 (possible on a tiny test set) is moved by the clip.
    """
    v = jnp.clip(value, EPS, 1 - EPS)
    return jnp.log(v) - jnp.log1p(-v), -jnp.log(v) - jnp.log1p(-v)


class LogitNormal(_LocScale):
    """``logit(score) ~ Normal(loc, scale)``: a density on (0, 1) (Aitchison & Shen 1980).

    ``log_prob(v) = log N(logit v | loc, scale) - log(v (1 - v))``; scores of exactly 0 or 1
    are clipped to ``[EPS, 1 - EPS]`` first (:func:`logit_score`).
    """

    def sample(self, key, sample_shape=()):
        eps = jax.random.normal(key, sample_shape + self.batch_shape)
        return jax.nn.sigmoid(self.loc + self.scale * eps)

    def log_prob(self, value):
        z, log_jac = logit_score(value)
        return (-0.5 * ((z - self.loc) / self.scale) ** 2 - jnp.log(self.scale)
                - 0.5 * jnp.log(2 * jnp.pi) + log_jac)


def _collapse(resid, var, group, n_groups, load=None):
    """Integrate a shared Gaussian mean out of each group of independent Gaussian residuals.

    Rows ``k`` of group ``g`` have ``resid_k ~ Normal(m_g, var_k)``. With ``W_g = sum 1/var_k``
    and ``R_g = sum (resid_k / var_k) / W_g`` the product of their densities is
    ``within_g * Normal(R_g | m_g, 1/W_g)``, where ``log within_g = sum_k log N(resid_k | R_g,
    var_k) + log(2 pi / W_g) / 2`` does not depend on ``m_g``. Returns ``(R, 1/W, log within
    per row, log(2 pi / W)/2 per group)``.

    With ``load`` (per row), the residuals are ``resid_k - load_k o`` for one more shared
    variable ``o`` (a task's test-set offset), and ``within_g`` is a quadratic in ``o``,
    ``log within_g(o) = log within_g(0) + b o - a o^2 / 2``: then also returns the group
    means of the loads and, per row, ``b_k = w_k (resid_k - R_g)(load_k - L_g)`` and ``a_k =
    w_k (load_k - L_g)^2`` (the group mean moves to ``R_g - L_g o``).
    """
    w = 1.0 / var
    total = jax.ops.segment_sum(w, group, n_groups)
    mean = jax.ops.segment_sum(w * resid, group, n_groups) / total
    dev = resid - mean[group]
    per_row = -0.5 * (jnp.log(2 * jnp.pi * var) + w * dev**2)
    collapsed = (mean, 1.0 / total, per_row, 0.5 * jnp.log(2 * jnp.pi / total))
    if load is None:
        return collapsed
    load_mean = jax.ops.segment_sum(w * load, group, n_groups) / total
    load_dev = load - load_mean[group]
    return collapsed + (load_mean, w * dev * load_dev, w * load_dev**2)


def _top(mean, var, below):
    """A trajectory's log-density: its collapsed residual ``mean ~ Normal(0, var)`` plus the
    terms collapsed ``below`` it."""
    return below - 0.5 * (jnp.log(2 * jnp.pi * var) + mean**2 / var)


class NestedLogitNormal(dist.Distribution):
    """Scores of a nested design on the logit scale with both random effects integrated out.

    Row ``k`` of shared subsample ``h`` (task, seed, own size) in seed trajectory ``g``
    (task, seed)::

        logit(score_k) = loc_k + u_g + s_h + e_k,  u_g ~ N(0, traj_sd^2),
                         s_h ~ N(0, sub_sd_h^2),   e_k ~ N(0, var_k)

    ``sub_sd`` is a scalar or one value per row (equal within a subsample). ``traj_load``
    (optional, one value per row, equal within a subsample) scales the trajectory effect at
    each row, ``traj_load_k u_g`` (``FitConfig.noise_decay="learned"``: it shrinks with the
    run's own size); ``None`` is 1.

    The marginal density is computed exactly by collapsing rows into subsamples and subsamples
    into trajectories (:func:`_collapse`, the Gaussian identity behind REML/Kalman updates),
    in ``O(rows)``; no effect is sampled. The event is the whole vector of scores
    (``event_shape = (rows,)``, ``log_prob`` its joint log-density). Trajectories are
    independent, so :meth:`per_trajectory` splits it into one term per trajectory: the units
    of leave-one-out (a whole seed trajectory of a task is left out together). ``sample`` is
    not defined (predictions use :class:`LogitNormal` with the effects' variance added, or
    sampled effects).

    **Test-set offsets** (``offset_load``, ``offset_task``; independent trajectory effects
    only): every run of a task is scored on the task's one test set, so row ``k`` also has
    ``offset_load_k * o_t``, ``o_t ~ N(0, 1)`` one per task (``FitConfig.test_shared``).
    Given ``o``, a trajectory's log-density is a quadratic ``C_g + B_g o - A_g o^2 / 2`` (the
    loads are collapsed with the residuals, :func:`_collapse`), so ``o`` is integrated out of
    each task exactly, ``log_prob = sum_t [C_t + B_t^2 / (2 (1 + A_t)) - log(1 + A_t) / 2]``,
    and its posterior given everything else is ``N(B_t / (1 + A_t), 1 / (1 + A_t))``
    (:meth:`offset_posterior`). With the offsets drawn from it (:meth:`given_offsets`),
    :meth:`pointwise` gives each trajectory's log-density given its task's offset, so
    leave-one-out keeps trajectories as its units.
    """

    arg_constraints = {}
    support = dist.constraints.unit_interval

    def __init__(self, loc, var, subsample, trajectory, sub_sd, traj_sd, *, n_subsample: int,
                 n_trajectory: int, task=None, n_tasks: int = 0, own=None, max_cells: int = 0,
                 offset_load=None, offset_task=None, traj_load=None, validate_args=None):
        if offset_load is not None and (task is not None or offset_task is None
                                        or n_tasks < 1):
            raise ValueError("test-set offsets need independent trajectory effects (task=None),"
                             " offset_task and n_tasks")
        if traj_load is not None and own is not None:
            raise ValueError("trajectory loads are not defined with centred effects (own)")
        self.traj_load = traj_load
        self.task, self.n_tasks = task, n_tasks
        self.own, self.max_cells = own, max_cells
        self.unit = "trajectory" if task is None else "task"
        self.loc, self.var = loc, var
        self.subsample, self.trajectory = subsample, trajectory
        self.sub_sd, self.traj_sd = sub_sd, traj_sd
        self.n_subsample, self.n_trajectory = n_subsample, n_trajectory
        self.offset_load, self.offset_task, self.offset_z = offset_load, offset_task, None
        super().__init__(batch_shape=(), event_shape=jnp.shape(loc),
                         validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        raise NotImplementedError("NestedLogitNormal is a likelihood only; simulate with "
                                  "LogitNormal and sampled group effects")

    def log_prob(self, value):
        if self.offset_load is not None:  # the test-set offsets integrated out, per task
            c, b, a = self._per_task_quadratic(value)
            return jnp.sum(c + 0.5 * b**2 / (1.0 + a) - 0.5 * jnp.log1p(a))
        return jnp.sum(self.pointwise(value))

    def offset_posterior(self, value):
        """``(mean, sd)`` of each task's test-set offset given the other parameters."""
        _, b, a = self._per_task_quadratic(value)
        return b / (1.0 + a), jax.lax.rsqrt(1.0 + a)

    def given_offsets(self, offset_z):
        """This likelihood with the tasks' offsets ``offset_z`` fixed, for :meth:`pointwise`
        (``log_prob`` still integrates them out)."""
        other = copy.copy(self)
        other.offset_z = offset_z
        return other

    def pointwise(self, value):
        """Log-density per independent unit: per trajectory, or per task when the trajectory
        effects sum to zero within a task (``task`` given). With test-set offsets, per
        trajectory given the offsets of :meth:`given_offsets`."""
        if self.offset_load is not None:
            if self.offset_z is None:
                raise ValueError("pointwise with test-set offsets needs given_offsets(...)")
            c, b, a, traj_task = self._quadratic(value)
            z = self.offset_z[traj_task]
            return c + b * z - 0.5 * a * z**2
        if self.task is None:
            return self.per_trajectory(value)
        if self.own is not None:
            return self._per_task_centred(value)
        return self._per_task(value)

    def _per_task_centred(self, value):
        """Both effects centred over a task's S seeds: trajectory effects with covariance
        ``traj_sd^2 (I - J/S)`` and, at each own size n, the S subsample effects with
        ``sub_sd_n^2 (I - J/S_n)``, so neither can move a task's level or the level of one of
        its sizes: the curve has to. Rows collapse into cells (task, seed, n) exactly
        (:func:`_collapse`); a task's cells then form one dense normal (at most ``max_cells``
        of them, padded), whose log-density comes from a Cholesky factor."""
        z, log_jac = logit_score(value)
        r1, v1, rows, cell_norm = _collapse(z - self.loc, self.var, self.subsample,
                                            self.n_subsample)
        n_cells, k, m = self.n_subsample, self.n_tasks, self.max_cells
        cell_task = jax.ops.segment_max(self.task, self.subsample, n_cells)
        cell_traj = jax.ops.segment_max(self.trajectory, self.subsample, n_cells)
        cell_size = jax.ops.segment_max(self.own, self.subsample, n_cells)
        cell_sd = jax.ops.segment_max(jnp.broadcast_to(self.sub_sd, jnp.shape(self.loc)),
                                      self.subsample, n_cells)
        ids = jnp.arange(n_cells)
        slot = ids - jax.ops.segment_min(ids, cell_task, k)[cell_task]  # cells sorted by task

        def dense(values, fill):
            return jnp.full((k, m), fill, jnp.result_type(values)).at[cell_task, slot].set(values)

        valid = dense(jnp.ones(n_cells), 0.0)
        pair = valid[:, :, None] * valid[:, None, :]
        traj, size = dense(cell_traj, -1), dense(cell_size, -1.0)
        same_traj = (traj[:, :, None] == traj[:, None, :]) * pair
        same_size = (size[:, :, None] == size[:, None, :]) * pair
        n_seeds = jax.ops.segment_sum(jnp.ones(self.n_trajectory),
                                      jax.ops.segment_max(self.task, self.trajectory,
                                                          self.n_trajectory), k)
        sd = dense(cell_sd, 0.0)
        eye = jnp.eye(m)
        cov = (eye * dense(v1, 1.0)[:, :, None]
               + self.traj_sd**2 * (same_traj - pair / jnp.maximum(n_seeds, 1.0)[:, None, None])
               + sd[:, :, None] * sd[:, None, :]
               * (eye * pair - same_size / jnp.maximum(same_size.sum(-1), 1.0)[:, :, None]))
        chol = jnp.linalg.cholesky(cov)
        white = jax.scipy.linalg.solve_triangular(chol, dense(r1, 0.0)[..., None], lower=True)
        top = -0.5 * (jnp.sum(white[..., 0] ** 2, -1)
                      + 2 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), -1)
                      + valid.sum(-1) * jnp.log(2 * jnp.pi))
        below = (jax.ops.segment_sum(rows + log_jac, self.task, k)
                 + jax.ops.segment_sum(cell_norm, cell_task, k))
        return top + below

    def _collapsed(self, value, load=None):
        z, log_jac = logit_score(value)
        sub_traj = jax.ops.segment_max(self.trajectory, self.subsample, self.n_subsample)
        sub_sd = jax.ops.segment_max(jnp.broadcast_to(self.sub_sd, jnp.shape(self.loc)),
                                     self.subsample, self.n_subsample)
        first = _collapse(z - self.loc, self.var, self.subsample, self.n_subsample, load)
        r1, v1, rows, sub_norm = first[:4]
        v1, sub_load = v1 + sub_sd**2, None if load is None else first[4]
        if self.traj_load is not None:  # N(r; w u, v) = N(r / w; u, v / w^2) / w
            w = jax.ops.segment_max(self.traj_load, self.subsample, self.n_subsample)
            r1, v1 = r1 / w, v1 / w**2
            sub_load = None if sub_load is None else sub_load / w
            sub_norm = sub_norm - jnp.log(w)
        second = _collapse(r1, v1, sub_traj, self.n_trajectory, sub_load)
        r2, v2, subs, traj_norm = second[:4]

        def per_trajectory(row_terms, sub_terms):  # both levels' terms, summed per trajectory
            return (jax.ops.segment_sum(row_terms, self.trajectory, self.n_trajectory)
                    + jax.ops.segment_sum(sub_terms, sub_traj, self.n_trajectory))

        below = per_trajectory(rows + log_jac, sub_norm + subs) + traj_norm
        if load is None:
            return r2, v2, below
        # the offset's linear and quadratic terms of both levels
        return (r2, v2, below, second[4], per_trajectory(first[5], second[5]),
                per_trajectory(first[6], second[6]))

    def _quadratic(self, value):
        """Per trajectory ``(C, B, A, its task)``: its log-density given its task's offset
        ``o`` is ``C + B o - A o^2 / 2``."""
        r2, v2, below, load, b, a = self._collapsed(value, self.offset_load)
        d = v2 + self.traj_sd**2
        traj_task = jax.ops.segment_max(self.offset_task, self.trajectory, self.n_trajectory)
        return (_top(r2, d, below), b + r2 * load / d, a + load**2 / d, traj_task)

    def _per_task_quadratic(self, value):
        c, b, a, traj_task = self._quadratic(value)
        return tuple(jax.ops.segment_sum(x, traj_task, self.n_tasks) for x in (c, b, a))

    def _per_task(self, value):
        """Trajectory effects ``u = traj_sd (z - mean z)`` over a task's S seeds: covariance
        ``traj_sd^2 (I - J/S)``; with ``d = v + traj_sd^2`` and ``c = traj_sd^2 / S`` the
        block ``D - c 1 1^T`` is inverted by Sherman-Morrison (determinant lemma)."""
        r2, v2, below = self._collapsed(value)
        traj_task = jax.ops.segment_max(self.task, self.trajectory, self.n_trajectory)
        count = jax.ops.segment_sum(jnp.ones_like(r2), traj_task, self.n_tasks)
        d = v2 + self.traj_sd**2
        c = self.traj_sd**2 / jnp.maximum(count, 1.0)
        a = jax.ops.segment_sum(1.0 / d, traj_task, self.n_tasks)
        b = jax.ops.segment_sum(r2 / d, traj_task, self.n_tasks)
        q = jax.ops.segment_sum(r2**2 / d + jnp.log(2 * jnp.pi * d),
                                traj_task, self.n_tasks)
        rest = 1.0 - c * a
        top = -0.5 * (q + jnp.log(rest) + c * b**2 / rest)
        return top + jax.ops.segment_sum(below, traj_task, self.n_tasks)

    def per_trajectory(self, value):
        """Log-density of each trajectory's scores, shape ``(n_trajectory,)``."""
        r2, v2, below = self._collapsed(value)
        return _top(r2, v2 + self.traj_sd**2, below)
