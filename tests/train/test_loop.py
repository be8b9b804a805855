"""The trainer core's step loop, compile cache and run sharding, against plain references."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lcurve.train import (
    MultiTaskMLP,
    Program,
    compiled,
    full_batch,
    make_optimizer,
    masked_bce,
    sgd_step,
    shard_runs,
    train_steps,
)

N, FEATURES, TASKS = 40, 6, 3


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(N, FEATURES)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 2, (N, TASKS)), jnp.float32)
    mask = jnp.asarray(rng.random((N, TASKS)) < 0.6)
    model = MultiTaskMLP(hidden=(5,), n_tasks=TASKS)
    params = model.init(jax.random.key(1), x[:1])
    return model, x, y, mask, params


def _sample(x, y, mask, size=8):
    def sample(key):
        rows = jax.random.randint(key, (size,), 0, x.shape[0])
        return x[rows], y[rows], mask[rows]
    return sample


def _trunk_norm(params, opt_state, x, y, mask):
    """A measurement: the loss on the step's batch and the first layer's squared norm."""
    del opt_state
    return masked_bce(MultiTaskMLP(hidden=(5,), n_tasks=TASKS).apply(params, x), y, mask), \
        sum(jnp.sum(p ** 2) for p in jax.tree.leaves(params["params"]["trunk_0"]))


def test_measured_loop_trains_exactly_as_the_plain_loop(problem):
    """Measuring every ``k`` steps never changes the training, and measures the right state."""
    model, x, y, mask, params = problem
    tx = make_optimizer(1e-2, 1e-4)
    sample = _sample(x, y, mask)
    steps, every = 12, 4
    keys = jax.random.split(jax.random.key(3), steps)

    @jax.jit
    def run(keys):
        plain = train_steps(model, tx, masked_bce, sample, None, params, tx.init(params),
                            jnp.arange(steps), batch_keys=keys)
        measured = train_steps(model, tx, masked_bce, sample, None, params, tx.init(params),
                               jnp.arange(steps), batch_keys=keys, measure=_trunk_norm,
                               measure_every=every)
        return plain, measured

    (plain, (plain_losses, _)), (carry, (losses, live, measured)) = run(keys)
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(carry)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(plain_losses), np.asarray(losses))
    assert np.asarray(live).all() and measured[0].shape == (steps // every,)
    # reference: a Python loop of the core's optimizer step, measuring before steps 0, 4, 8
    step = jax.jit(lambda p, s, b: sgd_step(model, tx, p, s, *b))
    p, s = params, tx.init(params)
    expected = []
    for t in range(steps):
        batch = sample(keys[t])
        if t % every == 0:
            expected.append([float(v) for v in _trunk_norm(p, s, *batch)])
        p, s, _ = step(p, s, batch)
    np.testing.assert_allclose(np.stack([np.asarray(m) for m in measured], 1), expected,
                               rtol=1e-5)
    for a, b in zip(jax.tree.leaves(p), jax.tree.leaves(carry[0])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="must divide"):
        train_steps(model, tx, masked_bce, sample, None, params, tx.init(params),
                    jnp.arange(10), batch_keys=keys[:10], measure=_trunk_norm, measure_every=4)


def test_full_batch_loop_with_penalty_minimises_the_penalised_objective(problem):
    """Full-batch steps with an L2 penalty equal a hand-written gradient loop of the objective."""
    model, x, y, mask, params = problem
    tx = make_optimizer(5e-2, 0.0)
    l2 = 0.3

    def objective(p):
        return masked_bce(model.apply(p, x), y, mask) + 0.5 * l2 * sum(
            jnp.sum(q ** 2) for q in jax.tree.leaves(p))

    run = jax.jit(lambda: train_steps(
        model, tx, masked_bce, full_batch(x, y, mask), None, params, tx.init(params),
        jnp.arange(60), penalty=lambda p: 0.5 * l2 * sum(jnp.sum(q ** 2)
                                                          for q in jax.tree.leaves(p))))
    (fitted, _, finite, loss_sum), (losses, _) = run()

    @jax.jit
    def reference_step(p, s):
        value, grads = jax.value_and_grad(objective)(p)
        updates, s = tx.update(grads, s, p)
        return jax.tree.map(lambda a, b: a + b, p, updates), s, value

    p, s, values = params, tx.init(params), []
    for _ in range(60):
        p, s, value = reference_step(p, s)
        values.append(float(value))
    np.testing.assert_allclose(np.asarray(losses), values, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(p), jax.tree.leaves(fitted)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
    assert bool(finite) and float(loss_sum) == pytest.approx(sum(values), rel=1e-5)
    # the penalty is in the objective: without it the parameters end elsewhere
    (unpenalised, *_), _ = jax.jit(lambda: train_steps(
        model, tx, masked_bce, full_batch(x, y, mask), None, params, tx.init(params),
        jnp.arange(60)))()
    assert sum(float(jnp.sum(q ** 2)) for q in jax.tree.leaves(unpenalised)) > \
        1.05 * sum(float(jnp.sum(q ** 2)) for q in jax.tree.leaves(fitted))


def test_compiled_programs_are_cached_and_count_their_traces():
    calls = []

    def make():
        calls.append(1)
        return lambda x: x * 2

    key = ("test_loop", object())  # a key no other test uses
    program = compiled(key, make)
    assert compiled(key, make) is program and len(calls) == 1
    np.testing.assert_array_equal(program(jnp.arange(3)), [0, 2, 4])
    program(jnp.arange(3) + 1)  # same shape: no new trace
    program(jnp.arange(4))  # new shape: a new trace
    assert isinstance(program, Program) and program.n_traces == 2


def test_shard_runs_is_the_function_itself_on_one_device():
    fn = lambda a, b: a + b  # noqa: E731
    assert shard_runs(fn, jax.devices()[:1], in_axes=(0, None)) is fn
    with pytest.raises(ValueError, match="in_axes"):
        shard_runs(fn, [jax.devices()[0]] * 2, in_axes=(1, None))


_TWO_DEVICES = """
import jax, numpy as np
from lcurve.config import TrainConfig
from lcurve.datasets import make_synthetic
assert jax.device_count() == 2, jax.devices()
two, one = jax.devices(), jax.devices()[:1]
data, _ = make_synthetic(n_tasks=3, n_compounds=300, n_features=16, seed=1)
def close(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-7)
"""


def _on_two_devices(body: str) -> None:
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")
    script = _TWO_DEVICES + textwrap.dedent(body) + "\nprint('OK')\n"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("OK")


def test_tag_and_influence_runs_on_two_devices_equal_one():
    """Two forced host devices: TAG seeds and influence runs are split over them (3 runs,
    padded to 4) and give the one-device results (to float rounding: a device vmaps 2 runs,
    not 3, so a matrix product may round differently in its last bit)."""
    _on_two_devices("""
        from lcurve.affinity.tag import TagConfig, seed_affinities
        from lcurve.influence import fit_arrays, train_weighted
        from lcurve.train import MultiTaskMLP, shard_runs
        f = jax.jit(shard_runs(lambda a, b: a * b + 1.0, two, in_axes=(0, None)))
        np.testing.assert_array_equal(f(np.arange(3.0), 2.0), [1.0, 3.0, 5.0])  # padded run
        cfg = TagConfig(hidden=(8,), steps=4, every=2, seeds=(0, 1, 2), learning_rate=1e-2)
        close(seed_affinities(data, cfg, devices=two), seed_affinities(data, cfg, devices=one))
        a = fit_arrays(data)
        model = MultiTaskMLP(hidden=(4,), n_tasks=3)
        w = np.stack([a.weights] * 3); w[1, :5] = 0; w[2, 5:9] = 0
        close(*[train_weighted(model, a, w, jax.random.key(0), steps=20, learning_rate=2e-2,
                               l2=1e-2, devices=d) for d in (two, one)])
    """)


@pytest.mark.slow  # four compilations in a fresh process: ~20 s on 2 shared cores
def test_staged_runs_on_two_devices_equal_one():
    """Warm-started chains (fixed-width groups: bit-identical) and accumulating-data runs
    (3 seeds, padded to 4) split over two devices give the one-device results."""
    _on_two_devices("""
        from lcurve.train import WarmStartTrainer
        from lcurve.train.accumulating import accumulating_schedule, train_accumulating
        tc = TrainConfig(hidden=(8,), steps=12, batch_size=16, chunk_size=4, vmap_width=2)
        stages = [np.array([[16, 0, 0], [32, 0, 0]]), np.array([[16, 20, 0], [32, 20, 0]])]
        out = [WarmStartTrainer(data, tc, seeds=[0, 1], devices=d).train_chunk([0, 1], [0, 1],
                                                                                 stages)
               for d in (two, one)]
        np.testing.assert_array_equal(out[0].auroc, out[1].auroc)
        np.testing.assert_array_equal(out[0].final_loss, out[1].final_loss)
        sched = accumulating_schedule(data, min_size=16)[:2]
        acc = [train_accumulating(data, sched, np.ones((2, 3), bool), tc, seeds=(0, 1, 2),
                                  devices=d) for d in (two, one)]
        close(acc[0].auroc, acc[1].auroc)
    """)


def test_make_optimizer_is_adamw_with_its_bias_correction_written_as_a_multiply():
    # the library writes Adam's bias correction m / (1 - b^t) as m * (1 / (1 - b^t)) so that a
    # one-device and a sharded sweep compile to the same arithmetic (XLA rewrote the division
    # in one of them only: experiments/reliability/sweep_devices.py); the algorithm is optax's
    import optax

    from lcurve.train._core import _bias_correction

    ours = make_optimizer(3e-3, 1e-2)
    reference = optax.inject_hyperparams(optax.adamw)(learning_rate=3e-3, weight_decay=1e-2)
    params = {"w": jnp.linspace(-1.0, 1.0, 12).reshape(3, 4), "b": jnp.ones(4)}
    states = ours.init(params), reference.init(params)
    p_ours = p_ref = params
    for step in range(25):
        grads = jax.tree.map(lambda x: jnp.cos(3.0 * x + step), p_ours)
        u_ours, s0 = ours.update(grads, states[0], p_ours)
        u_ref, s1 = reference.update(grads, states[1], p_ref)
        states = s0, s1
        p_ours, p_ref = optax.apply_updates(p_ours, u_ours), optax.apply_updates(p_ref, u_ref)
    for a, b in zip(jax.tree.leaves(p_ours), jax.tree.leaves(p_ref)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    assert not np.allclose(np.asarray(p_ours["w"]), np.asarray(params["w"]))  # it trained
    moment = {"m": jnp.array([0.3, -0.2])}
    corrected = _bias_correction(moment, jnp.float32(0.9), jnp.int32(1))["m"]
    np.testing.assert_allclose(corrected, [3.0, -2.0], rtol=1e-6)
