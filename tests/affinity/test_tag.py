"""TAG: the vmapped lookaheads equal a sequential per-task loop; planted relatedness shows up."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lcurve.affinity import TagConfig, lookahead_affinity, tag_affinity
from lcurve.affinity.tag import TAG_RUN_ID, tag_inputs
from lcurve.config import ConfigError
from lcurve.datasets import make_synthetic
from lcurve.train import MultiTaskMLP, make_optimizer, masked_bce, run_key, sample_batch, sgd_step


@functools.partial(jax.jit, static_argnums=(0, 1))
def _task_loss(model, j, params, x, y, mask):
    return masked_bce(model.apply(params, x)[:, j], y[:, j], mask[:, j])


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _trunk_step_on_task(model, tx, i, params, opt_state, x, y, mask):
    """The real optimizer update for task i's loss alone, applied to the trunk only."""
    grads = jax.grad(lambda p: masked_bce(model.apply(p, x)[:, i], y[:, i], mask[:, i]))(params)
    updates, _ = tx.update(grads, opt_state, params)
    return {"params": {
        "trunk_0": optax.apply_updates(params["params"]["trunk_0"], updates["params"]["trunk_0"]),
        "heads": params["params"]["heads"],
    }}


def _sequential_lookahead(model, tx, params, opt_state, x, y, mask):
    """Reference: one source task at a time in a plain Python loop."""
    n_tasks = y.shape[1]
    before = [float(_task_loss(model, j, params, x, y, mask)) for j in range(n_tasks)]
    z = np.zeros((n_tasks, n_tasks))
    valid = np.zeros((n_tasks, n_tasks), dtype=bool)
    present = np.asarray(mask).any(axis=0)
    for i in range(n_tasks):
        moved = _trunk_step_on_task(model, tx, i, params, opt_state, x, y, mask)
        for j in range(n_tasks):
            if present[i] and present[j] and before[j] > 0:
                valid[i, j] = True
                z[i, j] = 1.0 - float(_task_loss(model, j, moved, x, y, mask)) / before[j]
    return z, valid


@pytest.fixture(scope="module")
def tiny():
    data, truth = make_synthetic(n_tasks=4, n_compounds=400, n_features=16, seed=2)
    config = TagConfig(hidden=(8,), steps=12, every=4, seeds=(0, 1), batch_size=32,
                       learning_rate=1e-2)
    return data, truth, config


def test_lookahead_matches_sequential_loop(tiny):
    data, _, config = tiny
    model = MultiTaskMLP(hidden=(8,), n_tasks=data.n_tasks)
    params = model.init(jax.random.key(0), jnp.zeros((1, data.n_features)))
    tx = make_optimizer(1e-2, 1e-4)
    opt_state = tx.init(params)
    x = jnp.asarray(data.X[:32], jnp.float32)
    y = jnp.nan_to_num(jnp.asarray(data.Y[:32]))
    mask = jnp.asarray(~np.isnan(data.Y[:32]))
    step = jax.jit(functools.partial(sgd_step, model, tx))
    params, opt_state, _ = step(params, opt_state, x, y, mask)  # a non-trivial optimizer state
    vmapped = jax.jit(functools.partial(lookahead_affinity, model, tx))
    z, valid = vmapped(params, opt_state, x, y, mask)
    z_ref, valid_ref = _sequential_lookahead(model, tx, params, opt_state, x, y, mask)
    np.testing.assert_array_equal(np.asarray(valid), valid_ref)
    np.testing.assert_allclose(np.asarray(z), z_ref, rtol=1e-4, atol=1e-6)


def test_tag_affinity_matches_sequential_training_loop(tiny):
    data, _, config = tiny
    table = tag_affinity(data, config)
    model = MultiTaskMLP(hidden=config.hidden, n_tasks=data.n_tasks)
    inputs = tag_inputs(data, config)
    d = {k: jnp.asarray(v) for k, v in inputs["d"].items()}
    tx = make_optimizer(config.learning_rate, config.weight_decay)
    batch_of = jax.jit(functools.partial(sample_batch, batch_size=config.batch_size))
    step = jax.jit(functools.partial(sgd_step, model, tx))
    z_sum = np.zeros((data.n_tasks, data.n_tasks))
    count = np.zeros_like(z_sum)
    for s, seed in enumerate(config.seeds):  # plain loops over seeds, blocks, steps and tasks
        init_key, step_key = jax.random.split(run_key(jnp.uint32(seed), TAG_RUN_ID))
        params = model.init(init_key, jnp.zeros((1, data.n_features), jnp.float32))
        opt_state = tx.init(params)
        keys = jax.random.split(step_key, config.steps).reshape(-1, config.every)
        rows, n_rows = jnp.asarray(inputs["rows"][s]), jnp.int32(inputs["n_rows"][s])
        sizes = jnp.asarray(inputs["sizes"])
        for block in keys:
            for k_pos, key in enumerate(block):
                x, y, mask = batch_of(d, d["ranks"][s], rows, n_rows, sizes, key)
                if k_pos == 0:
                    z, valid = _sequential_lookahead(model, tx, params, opt_state, x, y, mask)
                    z_sum += z * valid
                    count += valid
                params, opt_state, _ = step(params, opt_state, x, y, mask)
    expected = z_sum / np.maximum(count, 1)
    got = table.pivot(index="source", columns="target", values="affinity")
    for i, src in enumerate(data.tasks):
        for j, tgt in enumerate(data.tasks):
            if i != j:
                assert got.loc[src, tgt] == pytest.approx(expected[i, j], rel=1e-3, abs=1e-6)
    assert table.attrs["lookahead_steps"] == 3 * data.n_tasks * 2
    assert list(table.columns) == ["source", "target", "affinity", "n_measurements"]
    assert table["affinity"].is_monotonic_decreasing


def test_tag_is_reproducible_and_seeds_differ(tiny):
    data, _, config = tiny
    a, b = tag_affinity(data, config), tag_affinity(data, config)
    np.testing.assert_array_equal(a["affinity"].to_numpy(), b["affinity"].to_numpy())
    other = tag_affinity(data, TagConfig(**{**config.to_dict(), "seeds": (5, 6)}))
    assert not np.allclose(a.sort_values(["source", "target"])["affinity"],
                           other.sort_values(["source", "target"])["affinity"])


def test_tag_ranks_planted_related_pairs_above_unrelated():
    data, truth = make_synthetic(n_tasks=6, n_compounds=1200, n_features=32, seed=1)
    table = tag_affinity(data, TagConfig(hidden=(16,), steps=100, every=5, seeds=(0, 1),
                                         learning_rate=1e-2))
    merged = table.merge(truth.relatedness, on=["source", "target"])
    related = merged.loc[merged["relatedness"] >= 0.5, "affinity"]
    unrelated = merged.loc[merged["relatedness"].abs() < 0.5, "affinity"]
    opposed = merged.loc[merged["relatedness"] <= -0.5, "affinity"]
    assert related.mean() > unrelated.mean() > opposed.mean()


@pytest.mark.parametrize("bad", [{"every": 0}, {"every": 50, "steps": 10}, {"seeds": ()},
                                 {"max_size": 0}])
def test_tag_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError):
        TagConfig(**bad)
