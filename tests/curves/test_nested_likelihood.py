"""The logit-normal likelihoods: density on (0, 1), and the nested-design effects integrated
out exactly (checked against a dense multivariate normal)."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import multivariate_normal, norm

from lcurve.curves.fit import TEST_SHARED
from lcurve.curves.likelihood import LogitNormal, NestedLogitNormal


def _logit(y):
    return np.log(y / (1 - y))


def _assert_each_task_is_its_dense_block(d, y, loc, cov, task):
    """Each per-task log-likelihood term equals the dense normal of that task's rows (the
    logit's Jacobian added)."""
    per = np.asarray(d.pointwise(jnp.asarray(y)), float)
    jac = -np.log(y * (1 - y))
    for k in np.unique(task):
        rows = task == k
        ref = multivariate_normal(loc[rows], cov[np.ix_(rows, rows)],
                                  allow_singular=True).logpdf(_logit(y[rows]))
        np.testing.assert_allclose(per[k], ref + jac[rows].sum(), rtol=1e-4, atol=1e-4)


def test_logit_normal_matches_scipy_with_jacobian():
    y = np.linspace(0.01, 0.99, 50)
    ref = norm(0.8, 0.3).logpdf(_logit(y)) - np.log(y * (1 - y))
    np.testing.assert_allclose(LogitNormal(0.8, 0.3).log_prob(jnp.asarray(y)), ref, rtol=1e-4)


def test_nested_marginal_equals_dense_multivariate_normal():
    rng = np.random.default_rng(0)
    trajectory = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 3])
    subsample = np.array([0, 0, 1, 1, 2, 3, 3, 4, 5, 6, 7])
    n = len(trajectory)
    loc, var = rng.normal(1, 0.3, n), rng.uniform(0.01, 0.05, n)
    sub_sd, traj_sd = 0.15, 0.2
    y = 1 / (1 + np.exp(-(loc + rng.normal(0, 0.3, n))))
    cov = (np.diag(var) + sub_sd**2 * (subsample[:, None] == subsample)
           + traj_sd**2 * (trajectory[:, None] == trajectory))
    d = NestedLogitNormal(jnp.asarray(loc), jnp.asarray(var), jnp.asarray(subsample),
                          jnp.asarray(trajectory), sub_sd, traj_sd, n_subsample=8,
                          n_trajectory=4)
    per = np.asarray(d.per_trajectory(jnp.asarray(y)), float)
    jac = -np.log(y * (1 - y))
    for g in range(4):  # trajectories are independent: each term is its own block's density
        rows = trajectory == g
        ref = multivariate_normal(loc[rows], cov[np.ix_(rows, rows)]).logpdf(_logit(y[rows]))
        np.testing.assert_allclose(per[g], ref + jac[rows].sum(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(float(d.log_prob(jnp.asarray(y))), per.sum(), rtol=1e-5)
    # gradients in the variance parameters are finite (the sampler differentiates them)
    grad = jax.grad(lambda s: NestedLogitNormal(
        jnp.asarray(loc), jnp.asarray(var), jnp.asarray(subsample), jnp.asarray(trajectory),
        s, traj_sd, n_subsample=8, n_trajectory=4).log_prob(jnp.asarray(y)))(0.1)
    assert np.isfinite(grad)


def test_sum_to_zero_seed_effects_equal_dense_singular_normal():
    """Trajectory effects ``traj_sd (z - mean z)`` within a task: covariance
    ``traj_sd^2 (I - J/S)``; a task with one seed has no effect left."""
    rng = np.random.default_rng(1)
    trajectory = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 3])
    subsample = np.array([0, 0, 1, 1, 2, 3, 3, 4, 5, 6, 7])
    task = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    seeds = np.array([3] * 9 + [1] * 2)
    n = len(task)
    loc, var = rng.normal(1, 0.3, n), rng.uniform(0.01, 0.05, n)
    sub_sd, traj_sd = 0.15, 0.2
    y = 1 / (1 + np.exp(-(loc + rng.normal(0, 0.3, n))))
    cov = (np.diag(var) + sub_sd**2 * (subsample[:, None] == subsample)
           + traj_sd**2 * ((trajectory[:, None] == trajectory)
                           - (task[:, None] == task) / seeds[:, None]))
    d = NestedLogitNormal(jnp.asarray(loc), jnp.asarray(var), jnp.asarray(subsample),
                          jnp.asarray(trajectory), sub_sd, traj_sd, n_subsample=8,
                          n_trajectory=4, task=jnp.asarray(task), n_tasks=2)
    _assert_each_task_is_its_dense_block(d, y, loc, cov, task)
    assert d.unit == "task"


def test_centred_seed_effects_equal_dense_normal():
    """Trajectory effects centred over a task's seeds, ``traj_sd^2 (I - J/S)``, and at each
    own size the subsample effects centred over the seeds, ``sub_sd_n^2 (I - J/S_n)``; tasks
    with different numbers of cells (padding) and a size seen by one seed only."""
    rng = np.random.default_rng(2)
    # task 0: seeds 0, 1 at sizes 32 and 64, seed 2 only at 32; task 1: one seed, one size
    task = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    trajectory = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3])
    own = np.array([32, 32, 64, 64, 32, 64, 64, 32, 32, 128, 128], float)
    subsample = np.array([0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5])
    n = len(task)
    loc, var = rng.normal(1, 0.3, n), rng.uniform(0.01, 0.05, n)
    sub_sd = 0.15 * np.sqrt(100 / own)
    traj_sd = 0.2
    y = 1 / (1 + np.exp(-(loc + rng.normal(0, 0.3, n))))
    same_task = task[:, None] == task
    seeds = np.array([len(set(trajectory[task == t])) for t in task])
    same_size = same_task & (own[:, None] == own)
    n_at_size = np.array([len(set(trajectory[(task == task[i]) & (own == own[i])]))
                          for i in range(n)])
    cov = (np.diag(var)
           + traj_sd**2 * ((trajectory[:, None] == trajectory) - same_task / seeds[:, None])
           + np.outer(sub_sd, sub_sd) * ((subsample[:, None] == subsample)
                                         - same_size / n_at_size[:, None]))
    d = NestedLogitNormal(jnp.asarray(loc), jnp.asarray(var), jnp.asarray(subsample),
                          jnp.asarray(trajectory), jnp.asarray(sub_sd), traj_sd, n_subsample=6,
                          n_trajectory=4, task=jnp.asarray(task), n_tasks=2,
                          own=jnp.asarray(own), max_cells=5)
    _assert_each_task_is_its_dense_block(d, y, loc, cov, task)
    grad = jax.grad(lambda s: NestedLogitNormal(
        jnp.asarray(loc), jnp.asarray(var), jnp.asarray(subsample), jnp.asarray(trajectory),
        s * jnp.asarray(sub_sd), traj_sd, n_subsample=6, n_trajectory=4, task=jnp.asarray(task),
        n_tasks=2, own=jnp.asarray(own), max_cells=5).log_prob(jnp.asarray(y)))(1.0)
    assert np.isfinite(grad)


def _score_variance(test_noise, seed, test_shared=0.0):
    """The per-row variance the model hands the likelihood, at a prior draw with no run noise."""
    from numpyro import handlers

    from lcurve.curves import CurveFit, simulate_results

    table, _ = simulate_results(n_tasks=2, structure="pairwise", source_sizes=(256,),
                                sizes=(32, 512), seeds=(0, 1), seed=3)
    fit = CurveFit(table, family="exp3", transfer="pairwise", test_noise=test_noise,
                   test_shared=test_shared)
    fit._prepared()
    model = handlers.substitute(handlers.seed(fit.model(), seed),
                                data={"noise_sd": jnp.zeros(2)})
    site = handlers.trace(model).get_trace(**fit.model_args(fit._data))["score"]
    return np.asarray(site["fn"].var), fit._data


def test_observed_test_noise_does_not_depend_on_the_curve():
    """Evaluated at the curve, the test-set variance shrinks as the curve nears 0.5, a gain a
    fit can buy by moving the curve away from its runs; at the observed scores it is a known
    constant (Hanley & McNeil's variance of the observed AUC on the logit scale), evaluated at
    the mean of the task's runs at that own size."""
    from lcurve.curves.likelihood import test_variance
    from lcurve.curves.model import observed_test_score

    first, data = _score_variance("observed", 0)
    np.testing.assert_allclose(_score_variance("observed", 1)[0], first, rtol=1e-6)
    at = observed_test_score(data.task, data.sizes, data.value)
    own = data.sizes[np.arange(data.n_obs), data.task]
    for k, n in {(int(k), float(n)) for k, n in zip(data.task, own)}:  # one value per cell
        cell = (data.task == k) & (own == n)
        np.testing.assert_allclose(at[cell], data.value[cell].mean())
    expected = np.asarray(test_variance(jnp.asarray(at), data.n_test, data.n_test_pos, "auroc"))
    np.testing.assert_allclose(first, expected / (at * (1 - at)) ** 2, rtol=1e-4)
    # with a shared test set (the default), a run keeps (1 - test_shared) of it as its own
    own_part, _ = _score_variance("observed", 0, test_shared=None)
    np.testing.assert_allclose(own_part, (1 - TEST_SHARED) * first, rtol=1e-4)
    curve_a, curve_b = _score_variance("curve", 0)[0], _score_variance("curve", 1)[0]
    assert np.abs(curve_a - curve_b).max() > 1e-3


def test_test_set_offsets_integrated_out_equal_dense_normal_with_rank_one_blocks():
    """A task's test-set offset ``load_k o_t`` (loads differing between a trajectory's rows)
    integrated out: the dense normal with ``load load^T`` added within each task; its posterior
    given the rest is the dense normal's conditional; the pointwise terms are each
    trajectory's density given the drawn offset (the offset moved into ``loc``)."""
    rng = np.random.default_rng(2)
    trajectory = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 3])
    subsample = np.array([0, 0, 1, 1, 2, 3, 3, 4, 5, 6, 7])
    task = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    n = len(task)
    loc, var = rng.normal(1, 0.3, n), rng.uniform(0.01, 0.05, n)
    load = rng.uniform(0.05, 0.2, n)
    sub_sd, traj_sd = 0.15, 0.2
    y = 1 / (1 + np.exp(-(loc + rng.normal(0, 0.3, n))))
    same_task = task[:, None] == task
    base = (np.diag(var) + sub_sd**2 * (subsample[:, None] == subsample)
            + traj_sd**2 * (trajectory[:, None] == trajectory))
    cov = base + np.outer(load, load) * same_task
    args = (jnp.asarray(loc), jnp.asarray(var), jnp.asarray(subsample), jnp.asarray(trajectory))
    d = NestedLogitNormal(*args, sub_sd, traj_sd, n_subsample=8, n_trajectory=4,
                          offset_load=jnp.asarray(load), offset_task=jnp.asarray(task),
                          n_tasks=2)
    jac = -np.log(y * (1 - y))
    ref = multivariate_normal(loc, cov).logpdf(_logit(y)) + jac.sum()
    np.testing.assert_allclose(float(d.log_prob(jnp.asarray(y))), ref, rtol=1e-5)
    mean, sd = (np.asarray(v, float) for v in d.offset_posterior(jnp.asarray(y)))
    for t in range(2):  # o_t | y: the Gaussian conditional of (o_t, logit y_rows)
        rows = task == t
        cross, inv = load[rows], np.linalg.inv(cov[np.ix_(rows, rows)])
        np.testing.assert_allclose(mean[t], cross @ inv @ (_logit(y[rows]) - loc[rows]),
                                   rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(sd[t], np.sqrt(1 - cross @ inv @ cross), rtol=1e-4)
    offsets = np.array([0.7, -1.3])
    per = np.asarray(d.given_offsets(jnp.asarray(offsets)).pointwise(jnp.asarray(y)), float)
    shifted = loc + load * offsets[task]
    for g in range(4):
        rows = trajectory == g
        dense = multivariate_normal(shifted[rows], base[np.ix_(rows, rows)])
        np.testing.assert_allclose(per[g], dense.logpdf(_logit(y[rows])) + jac[rows].sum(),
                                   rtol=1e-4, atol=1e-4)
    with np.testing.assert_raises(ValueError):
        d.pointwise(jnp.asarray(y))  # the units need the offsets drawn first


def _loaded_design(seed):
    """A nested design whose trajectory effect is scaled at each row by a load equal within a
    subsample (``noise_decay="learned"``: ``(100 / n)^gamma`` at the row's own size)."""
    rng = np.random.default_rng(seed)
    trajectory = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 3])
    subsample = np.array([0, 0, 1, 1, 2, 3, 3, 4, 5, 6, 7])
    own = np.array([32, 32, 64, 64, 128, 32, 32, 512, 64, 32, 256], float)
    n = len(trajectory)
    loc, var = rng.normal(1, 0.3, n), rng.uniform(0.01, 0.05, n)
    w = (100 / own) ** 0.4
    y = 1 / (1 + np.exp(-(loc + rng.normal(0, 0.3, n))))
    return trajectory, subsample, loc, var, w, y


def test_trajectory_loads_equal_dense_normal():
    """``traj_load_k u_g``: the trajectory block is ``traj_sd^2 w w^T``; per trajectory, with
    trajectory effects summing to zero within a task, and with test-set offsets."""
    trajectory, subsample, loc, var, w, y = _loaded_design(4)
    sub_sd, traj_sd = 0.15, 0.2
    same_traj = trajectory[:, None] == trajectory
    base = np.diag(var) + sub_sd**2 * (subsample[:, None] == subsample)
    args = (jnp.asarray(loc), jnp.asarray(var), jnp.asarray(subsample), jnp.asarray(trajectory))
    d = NestedLogitNormal(*args, sub_sd, traj_sd, n_subsample=8, n_trajectory=4,
                          traj_load=jnp.asarray(w))
    cov = base + traj_sd**2 * np.outer(w, w) * same_traj
    _assert_each_task_is_its_dense_block(d, y, loc, cov, trajectory)  # one term per trajectory
    ones = NestedLogitNormal(*args, sub_sd, traj_sd, n_subsample=8, n_trajectory=4,
                             traj_load=jnp.ones(len(y)))
    plain = NestedLogitNormal(*args, sub_sd, traj_sd, n_subsample=8, n_trajectory=4)
    np.testing.assert_allclose(float(ones.log_prob(jnp.asarray(y))),
                               float(plain.log_prob(jnp.asarray(y))), rtol=1e-6)

    task = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])  # sum to zero over a task's seeds
    seeds = np.array([3] * 9 + [1] * 2)
    centred = NestedLogitNormal(*args, sub_sd, traj_sd, n_subsample=8, n_trajectory=4,
                                task=jnp.asarray(task), n_tasks=2, traj_load=jnp.asarray(w))
    cov = base + traj_sd**2 * np.outer(w, w) * (same_traj - (task[:, None] == task)
                                                / seeds[:, None])
    _assert_each_task_is_its_dense_block(centred, y, loc, cov, task)

    task = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1])  # test-set offsets integrated out
    load = np.random.default_rng(5).uniform(0.05, 0.2, len(y))
    offsets = NestedLogitNormal(*args, sub_sd, traj_sd, n_subsample=8, n_trajectory=4,
                                offset_load=jnp.asarray(load), offset_task=jnp.asarray(task),
                                n_tasks=2, traj_load=jnp.asarray(w))
    cov = (base + traj_sd**2 * np.outer(w, w) * same_traj
           + np.outer(load, load) * (task[:, None] == task))
    ref = multivariate_normal(loc, cov).logpdf(_logit(y)) - np.log(y * (1 - y)).sum()
    np.testing.assert_allclose(float(offsets.log_prob(jnp.asarray(y))), ref, rtol=1e-5)
    grad = jax.grad(lambda g: NestedLogitNormal(
        *args, sub_sd, traj_sd, n_subsample=8, n_trajectory=4,
        traj_load=jnp.asarray(w) ** g).log_prob(jnp.asarray(y)))(1.0)
    assert np.isfinite(grad)
