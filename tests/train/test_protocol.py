"""The training protocol: balanced loss, stratified batches, nested hold-out, early stopping."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lcurve.config import ConfigError, TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import make_design, size_columns, task_permutation
from lcurve.train import (
    RunTrainer,
    device_arrays,
    holdout_split,
    masked_bce,
    sample_stratified_batch,
    task_balanced_bce,
    validation_labels,
)


def _reference_balanced(logits, labels, mask):
    """Per-task mean BCE averaged over tasks with a label: a plain loop."""
    per_task = []
    for k in range(logits.shape[1]):
        sel = mask[:, k]
        if sel.any():
            z, y = logits[sel, k], labels[sel, k]
            per_task.append(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    return np.mean(per_task) if per_task else 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balanced_loss_equals_a_loop_and_pooled_with_one_task(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(20, 4)).astype(np.float32)
    labels = rng.integers(0, 2, (20, 4)).astype(np.float32)
    mask = rng.random((20, 4)) < 0.3
    mask[:, 3] = False  # a task absent from the batch does not count
    got = float(task_balanced_bce(jnp.array(logits), jnp.array(labels), jnp.array(mask)))
    assert got == pytest.approx(_reference_balanced(logits, labels, mask), rel=1e-5)
    one = np.zeros_like(mask)
    one[:, 1] = mask[:, 1]
    args = (jnp.array(logits), jnp.array(labels), jnp.array(one))
    assert float(task_balanced_bce(*args)) == pytest.approx(float(masked_bce(*args)), rel=1e-6)


def test_held_out_labels_are_nested_and_disjoint_from_training(synthetic):
    data, _ = synthetic
    order = device_arrays(data, [0])["order"][0]
    m = 5
    small, large = np.array([16, 0, 40, 3]), np.array([64, 20, 100, 130])
    v_small = set(zip(*validation_labels(order, small, m)))
    v_large = set(zip(*validation_labels(order, large, m)))
    assert v_small <= v_large  # a smaller run's held-out labels are inside a larger run's
    n_train, n_val = holdout_split(large, m)
    assert len(v_large) == n_val.sum() == (large // m).sum()
    for k, task in enumerate(data.tasks):
        perm = task_permutation(data, task, 0)[: large[k]]
        held = {c for c, t in v_large if t == k}
        assert len(set(perm) - held) == n_train[k]  # the rest of the first n_k trains
        assert held == set(perm[m - 1::m])


def test_stratified_batches_draw_each_task_equally_from_its_training_labels(synthetic):
    data, _ = synthetic
    d = device_arrays(data, [0])
    sizes = np.array([40, 0, 100, 7], np.int32)
    m = 5
    shared = {k: jnp.asarray(v) for k, v in d.items()}
    shared["X"] = jnp.arange(data.n_compounds, dtype=jnp.float32)[:, None]  # x = compound id
    x, y, mask = sample_stratified_batch(shared, shared["order"][0], jnp.asarray(sizes),
                                         jax.random.key(3), 60, holdout=m)
    mask, compounds = np.asarray(mask), np.asarray(x)[:, 0].astype(int)
    assert mask.sum(axis=1).tolist() == [1] * 60  # one label per slot
    assert mask.sum(axis=0).tolist() == [20, 0, 20, 20]  # equal shares of present tasks
    ranks = d["ranks"][0]
    for i, k in zip(*np.nonzero(mask)):
        r = ranks[compounds[i], k]
        assert r < sizes[k] and r % m != m - 1  # a training label of the run, not held out
        assert np.asarray(y)[i, k] == data.Y[compounds[i], k]
    assert len(set(compounds[mask[:, 3]])) > 1  # draws vary (7 labels, 6 of them training)


@pytest.fixture(scope="module")
def early():
    # the held-out loss stops these tiny runs within 60 steps (the mechanism under test does
    # not depend on the criterion; the AUROC criterion trains them longer)
    return TrainConfig(hidden=(16,), steps=60, batch_size=32, learning_rate=1e-2, chunk_size=8,
                       vmap_width=4, eval_every=10, patience=2, criterion="loss")


def _run(data, config, design):
    trainer = RunTrainer(data, config, seeds=sorted(design["seed"].unique()))
    out = trainer.train_chunk(design["seed"].to_numpy(), design["run_id"].to_numpy(),
                              design[size_columns(design)].to_numpy(), n_rows_bucket=512)
    return out


@pytest.fixture(scope="module")
def small_design(synthetic):
    data, _ = synthetic
    return make_design(data, kind="single", seeds=[0], min_size=32, max_size=128,
                       points_per_doubling=1, targets=["task00", "task01"])


def test_early_stopping_does_not_depend_on_the_maximum_budget(synthetic, early, small_design):
    """Runs that stop before the smaller maximum are bit-identical under a 5x larger one."""
    data, _ = synthetic
    b = _run(data, early, small_design)
    b5 = _run(data, dataclasses.replace(early, steps=5 * early.steps), small_design)
    stopped = b.steps_used < early.steps
    assert stopped.any(), b.steps_used
    for key in ("auroc", "auprc", "final_loss", "steps_used", "best_step"):
        np.testing.assert_array_equal(getattr(b, key)[stopped], getattr(b5, key)[stopped])
    # a stopped run trained exactly `patience` evaluations past its best checkpoint
    gap = b.steps_used[stopped] - b.best_step[stopped]
    assert (gap == early.patience * early.eval_every).all()
    assert (b.best_step <= b.steps_used).all() and (b5.steps_used <= 5 * early.steps).all()
    # runs that used the whole budget B are the ones that could go on under 5B
    assert (b5.steps_used[~stopped] >= early.steps).all()


def test_test_labels_never_steer_stopping(synthetic, early, small_design):
    """Flipping every test label changes the test scores, not when or where runs stop."""
    data, _ = synthetic
    flipped_Y = np.where(data.test_mask, 1.0 - np.nan_to_num(data.Y), data.Y)
    flipped = MultiTaskData(X=data.X, Y=flipped_Y, tasks=data.tasks,
                            compound_ids=data.compound_ids, test_mask=data.test_mask)
    a, b = _run(data, early, small_design), _run(flipped, early, small_design)
    np.testing.assert_array_equal(a.steps_used, b.steps_used)
    np.testing.assert_array_equal(a.best_step, b.best_step)
    np.testing.assert_allclose(a.auroc[:, :2], 1.0 - b.auroc[:, :2], atol=1e-6)


def test_fixed_protocol_trains_every_step_on_all_labels(synthetic, early, small_design):
    data, _ = synthetic
    fixed = dataclasses.replace(early, stopping="fixed", steps=35)  # not a multiple of 10
    out = _run(data, fixed, small_design)
    assert (out.steps_used == 35).all() and (out.best_step == 35).all()


@pytest.mark.parametrize("field,value", [("objective", "mean"), ("batches", "random"),
                                         ("stopping", "never"), ("criterion", "auprc"),
                                         ("holdout", 1),
                                         ("patience", 0), ("eval_every", 0)])
def test_protocol_settings_are_validated(field, value):
    with pytest.raises(ConfigError, match=f"train.{field}"):
        TrainConfig(**{field: value})
