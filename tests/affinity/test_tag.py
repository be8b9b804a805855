"""TAG: Eq. (2) against a closed form; vmapped lookaheads equal a sequential loop; planted
relatedness shows up; per-seed intervals."""

from __future__ import annotations

import functools

import flax.linen as nn

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


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _trunk_step_on_task(model, tx, i, lookahead, eta, params, opt_state, x, y, mask):
    """Task i's step alone (SGD or the real optimizer update), applied to the trunk only."""
    grads = jax.grad(lambda p: masked_bce(model.apply(p, x)[:, i], y[:, i], mask[:, i]))(params)
    if lookahead == "sgd":
        updates = jax.tree.map(lambda g: -eta * g, grads)
    else:
        updates, _ = tx.update(grads, opt_state, params)
    return {"params": {
        "trunk_0": optax.apply_updates(params["params"]["trunk_0"], updates["params"]["trunk_0"]),
        "heads": params["params"]["heads"],
    }}


def _sequential_lookahead(model, tx, params, opt_state, x, y, mask, lookahead="sgd", eta=1e-2):
    """Reference: one source task at a time in a plain Python loop."""
    n_tasks = y.shape[1]
    before = [float(_task_loss(model, j, params, x, y, mask)) for j in range(n_tasks)]
    z = np.zeros((n_tasks, n_tasks))
    valid = np.zeros((n_tasks, n_tasks), dtype=bool)
    present = np.asarray(mask).any(axis=0)
    for i in range(n_tasks):
        moved = _trunk_step_on_task(model, tx, i, lookahead, eta, params, opt_state, x, y, mask)
        for j in range(n_tasks):
            if present[i] and present[j] and before[j] > 0:
                valid[i, j] = True
                z[i, j] = 1.0 - float(_task_loss(model, j, moved, x, y, mask)) / before[j]
    return z, valid


class _LinearTwoTask(nn.Module):
    """A linear trunk (no activation) and two linear heads, named like MultiTaskMLP's."""

    @nn.compact
    def __call__(self, x):
        return nn.Dense(2, name="heads")(nn.Dense(3, name="trunk_0")(x))


def _bce(logits, y):
    return np.mean(np.logaddexp(0.0, logits) - y * logits)


def test_sgd_lookahead_matches_closed_form_on_linear_two_task_model():
    rng = np.random.default_rng(0)
    n, d, eta = 12, 4, 0.3
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (rng.random((n, 2)) < 0.5).astype(np.float32)
    mask = np.ones((n, 2), bool)
    mask[:4, 0] = False  # task 0 unlabelled on the first rows, task 1 on the last
    mask[-3:, 1] = False
    model = _LinearTwoTask()
    params = model.init(jax.random.key(1), jnp.zeros((1, d)))
    W = np.asarray(params["params"]["trunk_0"]["kernel"], np.float64)
    b = np.asarray(params["params"]["trunk_0"]["bias"], np.float64)
    V = np.asarray(params["params"]["heads"]["kernel"], np.float64)
    c = np.asarray(params["params"]["heads"]["bias"], np.float64)

    def loss(j, W, b):  # mean BCE of task j over its labelled rows
        logits = (x @ W + b) @ V[:, j] + c[j]
        return _bce(logits[mask[:, j]], y[mask[:, j], j])

    expected = np.zeros((2, 2))
    for i in range(2):  # analytic gradient of L_i with respect to the trunk (W, b)
        logits = (x @ W + b) @ V[:, i] + c[i]
        g = np.where(mask[:, i], 1 / (1 + np.exp(-logits)) - y[:, i], 0.0) / mask[:, i].sum()
        dW, db = np.outer(x.T @ g, V[:, i]), g.sum() * V[:, i]
        for j in range(2):
            expected[i, j] = 1 - loss(j, W - eta * dW, b - eta * db) / loss(j, W, b)
    tx = make_optimizer(1e-3, 0.0)
    z, valid = lookahead_affinity(model, tx, params, tx.init(params), jnp.asarray(x),
                                  jnp.asarray(y), jnp.asarray(mask), lookahead="sgd", eta=eta)
    assert np.asarray(valid).all()
    np.testing.assert_allclose(np.asarray(z), expected, rtol=2e-4, atol=1e-6)
    assert np.abs(expected).min() > 1e-3  # a non-trivial check: every entry moved


@pytest.fixture(scope="module")
def tiny():
    data, truth = make_synthetic(n_tasks=4, n_compounds=400, n_features=16, seed=2)
    config = TagConfig(hidden=(8,), steps=12, every=4, seeds=(0, 1), batch_size=32,
                       learning_rate=1e-2)
    return data, truth, config


@pytest.mark.parametrize("lookahead", ["sgd", "optimizer"])
def test_lookahead_matches_sequential_loop(tiny, lookahead):
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
    vmapped = jax.jit(functools.partial(lookahead_affinity, model, tx, lookahead=lookahead,
                                        eta=0.05))
    z, valid = vmapped(params, opt_state, x, y, mask)
    z_ref, valid_ref = _sequential_lookahead(model, tx, params, opt_state, x, y, mask,
                                             lookahead, 0.05)
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
    per_seed = []
    for s, seed in enumerate(config.seeds):
        z_sum = np.zeros((data.n_tasks, data.n_tasks))
        count = np.zeros_like(z_sum)  # plain loops over seeds, blocks, steps and tasks
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
                    z, valid = _sequential_lookahead(model, tx, params, opt_state, x, y, mask,
                                                     "sgd", config.learning_rate)
                    z_sum += z * valid
                    count += valid
                params, opt_state, _ = step(params, opt_state, x, y, mask)
        per_seed.append(z_sum / np.maximum(count, 1))  # mean of ratios within a seed
    expected, spread = np.mean(per_seed, axis=0), np.std(per_seed, axis=0, ddof=1)
    got = table.pivot(index="source", columns="target", values="affinity")
    sd = table.pivot(index="source", columns="target", values="sd")
    for i, src in enumerate(data.tasks):
        for j, tgt in enumerate(data.tasks):
            if i != j:
                assert got.loc[src, tgt] == pytest.approx(expected[i, j], rel=1e-3, abs=1e-6)
                assert sd.loc[src, tgt] == pytest.approx(spread[i, j], rel=1e-2, abs=1e-6)
    inside = (table["hdi_low"] <= table["affinity"]) & (table["affinity"] <= table["hdi_high"])
    assert inside.all() and (table["n"] == 2).all()
    assert table.attrs["lookahead_steps"] == 3 * data.n_tasks * 2
    assert list(table.columns) == ["source", "target", "affinity", "sd", "se", "hdi_low",
                                   "hdi_high", "n", "n_measurements"]
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


def test_ratio_of_means_differs_from_mean_of_ratios_and_eta_scales_z(tiny):
    data, _, config = tiny
    base = tag_affinity(data, config).sort_values(["source", "target"])
    ratio = tag_affinity(data, TagConfig(**{**config.to_dict(), "average": "ratio_of_means"}))
    ratio = ratio.sort_values(["source", "target"])
    assert np.corrcoef(base["affinity"], ratio["affinity"])[0, 1] > 0.9
    assert not np.allclose(base["affinity"], ratio["affinity"])
    small = tag_affinity(data, TagConfig(**{**config.to_dict(), "eta": config.learning_rate / 10}))
    small = small.sort_values(["source", "target"])  # Z is first order in eta for small steps
    np.testing.assert_allclose(small["affinity"] * 10, base["affinity"], rtol=0.2, atol=2e-5)


@pytest.mark.parametrize("bad", [{"every": 0}, {"every": 50, "steps": 10}, {"seeds": ()},
                                 {"max_size": 0}, {"lookahead": "adam"}, {"eta": 0.0},
                                 {"average": "median"}])
def test_tag_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError):
        TagConfig(**bad)
